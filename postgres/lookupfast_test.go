package postgres

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

// RebuildPropertyLookup lists the contested keys in its own statement; contestedLookupsRef is
// the separate query that did it before (run after the rebuild, it sees the same rows).

// contestedLookupsRef returns the lookup rows of names (list: excluded) whose value is also held
// by other actors that have an actors row, at most bulk.MaxLookupContests of them (true
// when there were more), ordered by name and lookup key.
func (s *Store) contestedLookupsRef(ctx context.Context, names []string) ([]bulk.LookupContest, bool, error) {
	q := `SELECT l.property_name, l.value, l.actor_id, array_agg(p.id ORDER BY p.id)
		FROM ` + s.qtable(actingweb.TablePropertyLookup) + ` l
		JOIN ` + s.qtable(actingweb.TableProperties) + ` p ON p.name = l.property_name AND p.value = l.value
		WHERE l.property_name = ANY($1::text[]) AND left(l.property_name, 5) <> 'list:' AND p.id <> l.actor_id
			AND EXISTS (SELECT 1 FROM ` + s.qtable(actingweb.TableActors) + ` a WHERE a.id = p.id)
		GROUP BY l.property_name, l.value, l.actor_id
		LIMIT $2`
	rows, err := s.pool.Query(ctx, q, names, bulk.MaxLookupContests+1)
	if err != nil {
		return nil, false, s.tableErr(actingweb.TablePropertyLookup, "list contested keys of", err)
	}
	defer rows.Close()
	out := []bulk.LookupContest{}
	truncated := false
	for rows.Next() {
		var c bulk.LookupContest
		if err := rows.Scan(&c.PropertyName, &c.Value, &c.Kept, &c.Others); err != nil {
			return nil, false, s.tableErr(actingweb.TablePropertyLookup, "list contested keys of", err)
		}
		if len(out) == bulk.MaxLookupContests {
			truncated = true
			break
		}
		c.LookupKey = actingweb.LookupKey(c.PropertyName, c.Value)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, false, s.tableErr(actingweb.TablePropertyLookup, "list contested keys of", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PropertyName != out[j].PropertyName {
			return out[i].PropertyName < out[j].PropertyName
		}
		return out[i].LookupKey < out[j].LookupKey
	})
	return out, truncated, nil
}

func TestRebuildContestedMatchesReference(t *testing.T) {
	s := newAppStore(t)
	ctx := context.Background()
	var actors, props []actingweb.Record
	for i := 0; i < 12; i++ {
		actors = append(actors, &actingweb.Actor{ID: fmt.Sprintf("a%02d", i), Creator: "c", Passphrase: "p"})
	}
	p := func(id, name, v string) { props = append(props, &actingweb.Property{ID: id, Name: name, Value: v}) }
	for i := 0; i < 12; i++ {
		id := fmt.Sprintf("a%02d", i)
		p(id, "email", fmt.Sprintf("shared%d@x", i%3))   // three values, four owners each
		p(id, "oauthId", fmt.Sprintf("o%d", i))          // uncontested
		p(id, "externalUserId", fmt.Sprintf("e%d", i%2)) // two values
		p(id, "list:email", "l")                         // excluded
		p(id, "other", "shared0@x")                      // not indexed
	}
	p("ghost", "email", "shared1@x")              // orphan: no actors row, never an "other"
	p("a05", "email2", "x\"\\\n\u00e9\U0001F600") // name not asked for
	actors = append(actors, &actingweb.Actor{ID: "b01", Creator: "c", Passphrase: "p"})
	p("b01", "oauthId", "o1") // b01 also holds a01's value
	actors = append(actors, &actingweb.Actor{ID: "c03", Creator: "c", Passphrase: "p"}, &actingweb.Actor{ID: "c04", Creator: "c", Passphrase: "p"}, &actingweb.Actor{ID: "c09", Creator: "c", Passphrase: "p"})
	p("c03", "externalUserId", strings.Repeat("z", 3000))
	p("c04", "externalUserId", strings.Repeat("z", 3000)) // too large for the index, yet contested in properties
	mustNil(t, func() error {
		_, err := s.WriteBatch(ctx, actingweb.TableActors, actors, bulk.ConflictFail)
		return err
	}())
	mustNil(t, func() error {
		_, err := s.WriteBatch(ctx, actingweb.TableProperties, props, bulk.ConflictFail)
		return err
	}())
	pre := []actingweb.Record{ // pre-existing lookup rows: one owned by a later actor, one unrelated
		ptrLookupInt(actingweb.NewPropertyLookup("email", "shared2@x", "a11")),
		ptrLookupInt(actingweb.NewPropertyLookup("email", "nobody@x", "a00")),
		ptrLookupInt(actingweb.NewPropertyLookup("oauthId", "weird \"\\\t\u00e9", "a02")),
	}
	mustNil(t, func() error {
		_, err := s.WriteBatch(ctx, actingweb.TablePropertyLookup, pre, bulk.ConflictFail)
		return err
	}())
	p("c09", "oauthId", "weird \"\\\t\u00e9")
	mustNil(t, func() error {
		_, err := s.WriteBatch(ctx, actingweb.TableProperties, props[len(props)-1:], bulk.ConflictFail)
		return err
	}())

	for _, names := range [][]string{{"email", "oauthId", "externalUserId", "list:email"}, {"email"}, {"nothing"}} {
		for run := 0; run < 2; run++ { // first run writes, the second finds everything existing
			got, err := s.RebuildPropertyLookup(ctx, names)
			if err != nil {
				t.Fatal(err)
			}
			want, wantTrunc, err := s.contestedLookupsRef(ctx, names)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Contested, want) || got.ContestedTruncated != wantTrunc {
				t.Fatalf("names %v run %d: contested\n%+v (truncated %v), reference\n%+v (truncated %v)", names, run, got.Contested, got.ContestedTruncated, want, wantTrunc)
			}
			if len(names) > 1 && run == 0 && len(want) < 6 {
				t.Fatalf("test data has only %d contested keys: %+v", len(want), want)
			}
		}
	}
}

// TestDecodeContestsTruncated: more than MaxLookupContests rows from the statement.
func TestDecodeContestsTruncated(t *testing.T) {
	var b strings.Builder
	b.WriteString("[")
	for i := 0; i <= bulk.MaxLookupContests; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `["email", "v%06d", "a%06d", ["b%06d", "c"]]`, i, i, i)
	}
	b.WriteString("]")
	got, truncated, err := decodeContests([]byte(b.String()))
	if err != nil || !truncated || len(got) != bulk.MaxLookupContests {
		t.Fatalf("decodeContests: %d rows, truncated %v, %v", len(got), truncated, err)
	}
	for _, c := range got {
		if c.Value == fmt.Sprintf("v%06d", bulk.MaxLookupContests) {
			t.Fatal("the row past the limit was kept")
		}
	}
	if !sort.SliceIsSorted(got, func(i, j int) bool { return got[i].LookupKey < got[j].LookupKey }) {
		t.Fatal("not sorted by lookup key")
	}
	c := got[0]
	if c.LookupKey != actingweb.LookupKey(c.PropertyName, c.Value) || c.Kept != "a"+c.Value[1:] || !reflect.DeepEqual(c.Others, []string{"b" + c.Value[1:], "c"}) {
		t.Fatalf("row %+v", c)
	}
	if got, truncated, err := decodeContests([]byte("[]")); err != nil || truncated || got == nil || len(got) != 0 {
		t.Fatalf("empty: %v %v %v", got, truncated, err)
	}
}

func ptrLookupInt(l actingweb.PropertyLookup) *actingweb.PropertyLookup { return &l }
