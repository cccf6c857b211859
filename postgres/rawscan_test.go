package postgres

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/internal/arena"
)

// Scan decodes rows from their raw values (tableSpec.decode); it must give what rows.Scan
// gives (tableSpec.scan), for every table, NULLs and time zones included.
func TestRawDecodeMatchesScan(t *testing.T) {
	s := newAppStore(t)
	ctx := context.Background()
	byTable := map[actingweb.Table][]actingweb.Record{}
	seeds := []struct {
		s1, s2 string
		n, ns  int64
		flags  uint8
		data   string
	}{
		{"a1", "email", 1750000000, 123456789, 0, `{"a": [1, 2.5, null]}`},
		{"a2", "", 0, 0, 1, `null`},
		{"ä-ünïcødé", strings.Repeat("é", 200), -1, 999, 2 | 4 | 8, ` {"k" : "v"} `},
		{"x", "y", 1 << 38, 1, 15, `"\ud83d\ude00"`},
		{"x2", "y2", -(1 << 38), 1e9 - 1, 14, `0`},
		{"x3", "y3", 946684800, 500, 4, `[]`},
		{"x4", "y4", 12345, 1000, 6, "{}"},
		{"x5", "y5", 77, 5, 4, `false`},
	}
	for _, c := range seeds {
		// encodingRecords' times are n%2^40 - 2^39 seconds: near 1970 here.
		for _, r := range encodingRecords(c.s1, c.s2, c.n+1<<39, c.ns, c.flags, []byte(c.data)) {
			if CheckRecord(r) == "" {
				byTable[r.Table()] = append(byTable[r.Table()], r)
			}
		}
	}
	// Owners for the lookup rows (foreign key).
	for _, r := range byTable[actingweb.TablePropertyLookup] {
		byTable[actingweb.TableActors] = append(byTable[actingweb.TableActors], &actingweb.Actor{ID: r.Owner(), Creator: "c"})
	}
	for _, tb := range []actingweb.Table{actingweb.TableActors, actingweb.TableProperties, actingweb.TablePropertyLookup,
		actingweb.TableAttributes, actingweb.TableTrusts, actingweb.TablePeerTrustees, actingweb.TableSubscriptions,
		actingweb.TableSubscriptionDiffs, actingweb.TableSubscriptionSuspensions} {
		if _, err := s.WriteBatch(ctx, tb, byTable[tb], bulk.ConflictOverwrite); err != nil {
			t.Fatal(tb, err)
		}
	}
	// One decoder per table, as Scan uses it, with arena chunks of a few values and slabs
	// reused across rows: every record must still equal rows.Scan's after all rows are
	// decoded (nothing shared with pgx's reused buffers, nothing overwritten later).
	defer func(c, m int) { arena.Chunk, arena.MaxShared = c, m }(arena.Chunk, arena.MaxShared)
	arena.Chunk, arena.MaxShared = 96, 40
	for tb, sp := range specs {
		rows, err := s.pool.Query(ctx, "SELECT "+quoteList(sp.cols)+" FROM "+s.qtable(tb)+" ORDER BY "+quoteList(sp.pk))
		if err != nil {
			t.Fatal(err)
		}
		var got, want []actingweb.Record
		d := rawRow{fds: rows.FieldDescriptions()}
		for rows.Next() {
			d.load(rows.RawValues())
			g, ok := sp.decode(&d)
			w, err := sp.scan(rows)
			if err != nil {
				t.Fatal(tb, err)
			}
			if !ok {
				t.Fatalf("%s: decode refused %+v", tb, w)
			}
			got, want = append(got, g), append(want, w)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			t.Fatalf("%s: no rows", tb)
		}
		for i := range got {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("%s row %d: decode\n%+v\nscan\n%+v", tb, i, got[i], want[i])
			}
		}
		// ScanOptions.Retain: the same records, none from the arena or a slab
		rows, err = s.pool.Query(ctx, "SELECT "+quoteList(sp.cols)+" FROM "+s.qtable(tb)+" ORDER BY "+quoteList(sp.pk))
		if err != nil {
			t.Fatal(err)
		}
		own := rawRow{fds: rows.FieldDescriptions(), own: true}
		for i := 0; rows.Next(); i++ {
			own.load(rows.RawValues())
			if g, ok := sp.decode(&own); !ok || !reflect.DeepEqual(g, want[i]) {
				t.Fatalf("%s row %d (own allocations): decode\n%+v\nscan\n%+v", tb, i, g, want[i])
			}
		}
		rows.Close()
		if own.slab != nil || own.arena.Used() {
			t.Fatalf("%s: a Retain scan used the arena or a slab", tb)
		}
	}

	// Scan gives back what WriteBatch wrote, in canonical form (times in UTC to the
	// microsecond, payloads as jsonb keeps them), for every table: NULLs, time zones,
	// sub-microsecond times, extreme integers and non-ASCII text included.
	for tb, recs := range byTable {
		got := map[string]actingweb.Record{}
		if err := s.Scan(ctx, tb, bulk.ScanOptions{PageSize: 3}, func(p bulk.Page) error {
			for _, r := range p.Records {
				got[r.Key()] = r
			}
			return nil
		}); err != nil {
			t.Fatal(tb, err)
		}
		for _, want := range recs {
			g, ok := got[want.Key()]
			if !ok {
				t.Fatalf("%s: key %s written, not scanned", tb, actingweb.KeyString(want.Key()))
			}
			if d := actingweb.CompareRecords(actingweb.Canonical(want), actingweb.Canonical(g)); len(d) > 0 {
				t.Fatalf("%s key %s: scanned differs from written: %+v", tb, actingweb.KeyString(want.Key()), d)
			}
		}
	}

	// A NULL where the record has no pointer: Scan fails as rows.Scan does (if the schema
	// allows the NULL at all).
	if _, err := s.pool.Exec(ctx, "INSERT INTO "+s.qtable(actingweb.TableActors)+" (id, creator, passphrase) VALUES ('zz-null', NULL, 'p')"); err == nil {
		err := s.Scan(ctx, actingweb.TableActors, bulk.ScanOptions{}, func(bulk.Page) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "NULL") {
			t.Fatalf("scan of a NULL creator: %v", err)
		}
	} else {
		t.Logf("NULL creator refused by the schema: %v", err)
	}
}

// TestWriteBatchFailRepeatedKey: under ConflictFail a key twice in the batch fails it with
// ErrConflict naming that key (checked after the COPY fails now), before any existing key,
// nothing written; an existing key alone is named as existing.
func TestWriteBatchFailRepeatedKey(t *testing.T) {
	s := newAppStore(t)
	ctx := context.Background()
	p := func(id, name string) actingweb.Record { return &actingweb.Property{ID: id, Name: name, Value: "v"} }
	if _, err := s.WriteBatch(ctx, actingweb.TableProperties, []actingweb.Record{p("a", "x")}, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		recs []actingweb.Record
		want string
	}{
		{[]actingweb.Record{p("b", "1"), p("b", "2"), p("b", "1")}, "key b / 1 appears twice in the batch"},
		{[]actingweb.Record{p("a", "x"), p("c", "1"), p("c", "1")}, "key c / 1 appears twice in the batch"},
		{[]actingweb.Record{p("d", "1"), p("a", "x")}, "key a / x exists"},
	} {
		_, err := s.WriteBatch(ctx, actingweb.TableProperties, tc.recs, bulk.ConflictFail)
		if !errors.Is(err, actingweb.ErrConflict) || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("WriteBatch = %v, want ErrConflict with %q", err, tc.want)
		}
		if n, err := s.Count(ctx, actingweb.TableProperties); err != nil || n != 1 {
			t.Fatalf("count = %d, %v; want 1 (nothing written)", n, err)
		}
	}
	// A lookup row twice: the value stays withheld.
	mustNil(t, func() error {
		_, err := s.WriteBatch(ctx, actingweb.TableActors, []actingweb.Record{&actingweb.Actor{ID: "a", Creator: "c"}}, bulk.ConflictFail)
		return err
	}())
	l := actingweb.NewPropertyLookup("email", "secret@x", "a")
	_, err := s.WriteBatch(ctx, actingweb.TablePropertyLookup, []actingweb.Record{&l, &l}, bulk.ConflictFail)
	if !errors.Is(err, actingweb.ErrConflict) || !strings.Contains(err.Error(), "appears twice") || strings.Contains(err.Error(), "secret@x") {
		t.Fatalf("lookup WriteBatch = %v", err)
	}
}
