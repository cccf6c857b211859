package benchdata

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/postgres"
)

func collect(t *testing.T, c Config, tb actingweb.Table) []actingweb.Record {
	t.Helper()
	var out []actingweb.Record
	if err := c.Table(tb, func(r actingweb.Record) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTables checks every table: row count as announced, unique keys, rows PostgreSQL can
// store, owners that exist (or are reserved), composite keys that agree with their parts.
func TestTables(t *testing.T) {
	c := Default(0.005) // 100 actors
	if c.Actors != 100 {
		t.Fatalf("Default(0.005).Actors = %d, want 100", c.Actors)
	}
	actors := map[string]bool{}
	for _, r := range collect(t, c, actingweb.TableActors) {
		actors[r.Owner()] = true
	}
	var total int64
	for _, tb := range actingweb.Tables {
		t.Run(string(tb), func(t *testing.T) {
			recs := collect(t, c, tb)
			total += int64(len(recs))
			if int64(len(recs)) != c.Rows(tb) {
				t.Fatalf("%d rows, Rows says %d", len(recs), c.Rows(tb))
			}
			keys := map[string]bool{}
			for _, r := range recs {
				if r.Table() != tb {
					t.Fatalf("record of %s in table %s", r.Table(), tb)
				}
				if keys[r.Key()] {
					t.Fatalf("duplicate key %s", actingweb.KeyString(r.Key()))
				}
				keys[r.Key()] = true
				if reason := postgres.CheckRecord(r); reason != "" {
					t.Fatalf("%s: PostgreSQL cannot store it: %s", actingweb.KeyString(r.Key()), reason)
				}
				if d := actingweb.Drift(r); d != "" {
					t.Fatalf("%s: key drift: %s", actingweb.KeyString(r.Key()), d)
				}
				if !actors[r.Owner()] && !actingweb.IsReservedOwner(r.Owner()) {
					t.Fatalf("%s: owner %s has no actor", actingweb.KeyString(r.Key()), r.Owner())
				}
				if a, ok := r.(*actingweb.Attribute); ok && !json.Valid(a.Data) {
					t.Fatalf("%s: attribute data is not JSON", actingweb.KeyString(r.Key()))
				}
			}
		})
	}
	if total != c.TotalRows() {
		t.Errorf("TotalRows %d, generated %d", c.TotalRows(), total)
	}
}

// TestDeterministic: the same configuration gives the same rows; another seed other rows.
func TestDeterministic(t *testing.T) {
	c := Default(0.001)
	a, _ := json.Marshal(collect(t, c, actingweb.TableTrusts))
	b, _ := json.Marshal(collect(t, c, actingweb.TableTrusts))
	if string(a) != string(b) {
		t.Fatal("two runs differ")
	}
	c.Seed++
	d, _ := json.Marshal(collect(t, c, actingweb.TableTrusts))
	if string(a) == string(d) {
		t.Fatal("another seed gives the same rows")
	}
}

// TestRealistic: full-scale proportions and values that are not all ASCII or tiny.
func TestRealistic(t *testing.T) {
	full := Default(1)
	if got := full.Rows(actingweb.TableProperties); got < 1_000_000 {
		t.Fatalf("full scale has %d property rows, want >= 1,000,000", got)
	}
	c := Default(0.001)
	var bytes, nonASCII, lists int
	recs := collect(t, c, actingweb.TableProperties)
	for _, r := range recs {
		p := r.(*actingweb.Property)
		bytes += len(p.Value)
		if utf8.RuneCountInString(p.Value) != len(p.Value) {
			nonASCII++
		}
		if strings.HasPrefix(p.Name, "list:") {
			lists++
		}
	}
	if avg := bytes / len(recs); avg < 50 || avg > 2000 {
		t.Errorf("average property value %d bytes, want 50..2000", avg)
	}
	if nonASCII == 0 || lists == 0 {
		t.Errorf("non-ASCII values %d, list rows %d: want some of each", nonASCII, lists)
	}
}

func TestValidate(t *testing.T) {
	bad := []Config{{}, {Actors: 1, Properties: 1}, {Actors: 1, Properties: 2, Diffs: 1},
		{Actors: 1, Properties: 2, Subscriptions: 1}, {Actors: 1, Properties: 2, Attributes: -1}}
	for _, c := range bad {
		if err := c.Validate(); !errors.Is(err, actingweb.ErrInvalid) {
			t.Errorf("%+v: Validate = %v, want ErrInvalid", c, err)
		}
	}
	if err := (Config{}).Table(actingweb.TableActors, func(actingweb.Record) error { return nil }); err == nil {
		t.Error("Table with an invalid configuration succeeded")
	}
	if err := Default(0.001).Table("nope", func(actingweb.Record) error { return nil }); !errors.Is(err, actingweb.ErrUnknownTable) {
		t.Errorf("unknown table: %v", err)
	}
}
