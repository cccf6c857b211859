package postgres

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

// lookupScenario fills s with actors, pre-existing lookup rows and, through write, the
// properties: contested values, orphans, list: names, values too large for the index, names
// not asked for, a pre-existing row of another owner.
func lookupScenario(t *testing.T, s *Store, write func(props []actingweb.Record), settle func()) {
	t.Helper()
	ctx := context.Background()
	var actors, props []actingweb.Record
	for i := 0; i < 12; i++ {
		actors = append(actors, &actingweb.Actor{ID: fmt.Sprintf("a%02d", i), Creator: "c", Passphrase: "p"})
	}
	p := func(id, name, v string) { props = append(props, &actingweb.Property{ID: id, Name: name, Value: v}) }
	// owners whose actors row comes after all properties (written first, so that small
	// flushes see them without an owner): shared0@x goes to a-late (the smallest id), late@x
	// to zz-late
	p("a-late", "email", "shared0@x")
	p("zz-late", "email", "late@x")
	for i := 11; i >= 0; i-- { // written in descending id order: the rebuild still keeps the smallest id
		id := fmt.Sprintf("a%02d", i)
		p(id, "email", fmt.Sprintf("shared%d@x", i%3))
		p(id, "oauthId", fmt.Sprintf("o%d", i))
		p(id, "externalUserId", fmt.Sprintf("e%d", i%2))
		p(id, "list:email", "l")
		p(id, "other", "shared0@x")
	}
	p("ghost", "email", "shared1@x")
	p("a05", "email2", "x\"\\\n\u00e9\U0001F600")
	p("a03", "externalUserId2", strings.Repeat("z", 3000))
	p("a04", "oauthId2", "weird \"\\\t\u00e9")
	actors = append(actors, &actingweb.Actor{ID: "t01", Creator: "c", Passphrase: "p"})
	p("t01", "externalUserId", strings.Repeat("y", 3000)) // too large for the index
	if _, err := s.WriteBatch(ctx, actingweb.TableActors, actors, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	pre := []actingweb.Record{
		ptrLookupInt(actingweb.NewPropertyLookup("email", "shared2@x", "a11")),
		ptrLookupInt(actingweb.NewPropertyLookup("email", "nobody@x", "a00")),
		ptrLookupInt(actingweb.NewPropertyLookup("oauthId", "o3", "a03")),
	}
	if _, err := s.WriteBatch(ctx, actingweb.TablePropertyLookup, pre, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	// in batches, as the migration engine writes them
	for i := 0; i < len(props); i += 7 {
		write(props[i:min(i+7, len(props))])
	}
	settle()
	late := []actingweb.Record{
		&actingweb.Actor{ID: "a-late", Creator: "c", Passphrase: "p"},
		&actingweb.Actor{ID: "zz-late", Creator: "c", Passphrase: "p"},
	}
	if _, err := s.WriteBatch(ctx, actingweb.TableActors, late, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
}

// TestLookupFeedMatchesRebuild: a lookup feed given the property rows as they are written
// reports exactly what RebuildPropertyLookup reports after the same writes (counts, samples,
// contested keys), and leaves the same lookup rows; with one flush at Close and with flushes
// of a few rows, so that keys first go to a larger actor id or find no actors row yet.
func TestLookupFeedMatchesRebuild(t *testing.T) {
	for _, rows := range []int{10000, 1, 5, 13} {
		t.Run(fmt.Sprintf("flush=%d", rows), func(t *testing.T) {
			defer func(n int) { feedFlushRows = n }(feedFlushRows)
			feedFlushRows = rows
			testLookupFeedMatchesRebuild(t)
		})
	}
}

func testLookupFeedMatchesRebuild(t *testing.T) {
	ctx := context.Background()
	names := []string{"email", "oauthId", "externalUserId", "list:email"}
	write := func(s *Store, props []actingweb.Record) {
		if _, err := s.WriteBatchFresh(ctx, actingweb.TableProperties, props); err != nil {
			t.Fatal(err)
		}
	}

	ref := newAppStore(t)
	if empty, err := ref.IsEmpty(ctx, actingweb.TableProperties); err != nil || !empty {
		t.Fatalf("IsEmpty on a new table = %v, %v", empty, err)
	}
	lookupScenario(t, ref, func(props []actingweb.Record) { write(ref, props) }, func() {})
	if empty, err := ref.IsEmpty(ctx, actingweb.TableProperties); err != nil || empty {
		t.Fatalf("IsEmpty after writes = %v, %v", empty, err)
	}
	want, err := ref.RebuildPropertyLookup(ctx, names)
	if err != nil {
		t.Fatal(err)
	}

	fs := newAppStore(t)
	feed := fs.NewLookupFeed(ctx, names)
	lookupScenario(t, fs, func(props []actingweb.Record) {
		write(fs, props)
		var ps []*actingweb.Property
		for _, r := range props {
			ps = append(ps, r.(*actingweb.Property))
		}
		if err := feed.Add(ctx, ps); err != nil {
			t.Fatal(err)
		}
	}, feed.(*lookupFeed).waitFlushed)
	got, err := feed.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("feed result\n%+v\nrebuild result\n%+v", got, want)
	}
	if want.Written == 0 || want.Collisions == 0 || want.Orphans == 0 || len(want.Contested) < 3 || want.Existing == 0 {
		t.Fatalf("scenario does not exercise every outcome: %+v", want)
	}
	if g, w := lookupRows(t, fs), lookupRows(t, ref); !reflect.DeepEqual(g, w) {
		t.Fatalf("lookup rows after the feed\n%q\nafter the rebuild\n%q", g, w)
	}
	// the staging table went with Close: a second feed on the same pool starts clean
	f2 := fs.NewLookupFeed(ctx, names)
	if res, err := f2.Close(); err != nil || res.Scanned != 0 {
		t.Fatalf("second feed: %+v, %v", res, err)
	}
}

// TestLookupFeedCleanClose: when the flushes' counts show nothing left to complete
// (feedCounts.clean) Close only commits; each case below breaks one of the conditions and
// must take the full completion. Either way the result and the lookup rows are what
// RebuildPropertyLookup gives.
func TestLookupFeedCleanClose(t *testing.T) {
	ctx := context.Background()
	names := []string{"email", "oauthId", "list:email"}
	type prop struct{ id, name, value string }
	base := []prop{{"a0", "email", "a0@x"}, {"a1", "email", "a1@x"}, {"a2", "oauthId", "o2"}, {"a1", "other", "a0@x"}, {"a2", "list:email", "l"}}
	cases := []struct {
		name  string
		extra []prop
		pre   []actingweb.Record // lookup rows held before the import
		flush int
		clean bool
	}{
		{name: "clean", clean: true},
		{name: "clean, a flush per row", flush: 1, clean: true},
		{name: "orphan", extra: []prop{{"ghost", "email", "g@x"}}},
		{name: "too long for the index", extra: []prop{{"a3", "oauthId", strings.Repeat("z", 3000)}}},
		{name: "one value, two owners, one flush", extra: []prop{{"a3", "email", "a0@x"}}},
		{name: "one value, two owners, two flushes", extra: []prop{{"a3", "email", "a0@x"}}, flush: 1},
		{name: "held before by the same owner", pre: []actingweb.Record{ptrLookupInt(actingweb.NewPropertyLookup("email", "a1@x", "a1"))}},
		{name: "held before by another owner", pre: []actingweb.Record{ptrLookupInt(actingweb.NewPropertyLookup("email", "a1@x", "a2"))}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.flush > 0 {
				defer func(n int) { feedFlushRows = n }(feedFlushRows)
				feedFlushRows = c.flush
			}
			var props []actingweb.Record
			for _, p := range append(append([]prop{}, base...), c.extra...) {
				props = append(props, &actingweb.Property{ID: p.id, Name: p.name, Value: p.value})
			}
			fill := func(s *Store, add func([]actingweb.Record)) {
				var actors []actingweb.Record
				for i := 0; i < 4; i++ {
					actors = append(actors, &actingweb.Actor{ID: fmt.Sprintf("a%d", i), Creator: "c", Passphrase: "p"})
				}
				if _, err := s.WriteBatch(ctx, actingweb.TableActors, actors, bulk.ConflictFail); err != nil {
					t.Fatal(err)
				}
				if len(c.pre) > 0 {
					if _, err := s.WriteBatch(ctx, actingweb.TablePropertyLookup, c.pre, bulk.ConflictFail); err != nil {
						t.Fatal(err)
					}
				}
				for i := 0; i < len(props); i += 2 {
					batch := props[i:min(i+2, len(props))]
					if _, err := s.WriteBatchFresh(ctx, actingweb.TableProperties, batch); err != nil {
						t.Fatal(err)
					}
					add(batch)
				}
			}
			ref := newAppStore(t)
			fill(ref, func([]actingweb.Record) {})
			want, err := ref.RebuildPropertyLookup(ctx, names)
			if err != nil {
				t.Fatal(err)
			}
			fs := newAppStore(t)
			feed := fs.NewLookupFeed(ctx, names).(*lookupFeed)
			fill(fs, func(batch []actingweb.Record) {
				var ps []*actingweb.Property
				for _, r := range batch {
					ps = append(ps, r.(*actingweb.Property))
				}
				if err := feed.Add(ctx, ps); err != nil {
					t.Fatal(err)
				}
			})
			got, err := feed.Close()
			if err != nil {
				t.Fatal(err)
			}
			if feed.counts.clean() != c.clean {
				t.Errorf("counts %+v: clean %v, want %v", feed.counts, feed.counts.clean(), c.clean)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("feed result\n%+v\nrebuild result\n%+v", got, want)
			}
			if g, w := lookupRows(t, fs), lookupRows(t, ref); !reflect.DeepEqual(g, w) {
				t.Fatalf("lookup rows after the feed\n%q\nafter the rebuild\n%q", g, w)
			}
		})
	}
}

// lookupRows lists the lookup table as "name NUL value NUL actor" in scan order.
func lookupRows(t *testing.T, s *Store) []string {
	t.Helper()
	var out []string
	err := s.Scan(context.Background(), actingweb.TablePropertyLookup, bulk.ScanOptions{}, func(p bulk.Page) error {
		for _, r := range p.Records {
			l := r.(*actingweb.PropertyLookup)
			out = append(out, l.PropertyName+"\x00"+*l.Value+"\x00"+l.ActorID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
