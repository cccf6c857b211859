package dynamodb

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

// TestRebuildPropertyLookupBatches drives the batched rebuild past one batch per worker: a key
// contended by 30 actors (so contenders meet inside one batch and across batches), a key whose
// lookup item another actor holds already, a reserved owner (not an orphan) and orphans.
func TestRebuildPropertyLookupBatches(t *testing.T) {
	s := openTestStore(t, true)
	ctx := context.Background()
	const nActors, nShared, nGhosts = 250, 30, 5
	const shared = "shared@example.com"
	id := func(i int) string { return fmt.Sprintf("act%03d", i) }
	var actors, props []actingweb.Record
	for i := 0; i < nActors; i++ {
		actors = append(actors, &actingweb.Actor{ID: id(i), Creator: "c", Passphrase: "p"})
		email := fmt.Sprintf("u%d@example.com", i)
		if i < nShared {
			email = shared
		}
		props = append(props,
			&actingweb.Property{ID: id(i), Name: "email", Value: email},
			&actingweb.Property{ID: id(i), Name: "oauthId", Value: fmt.Sprintf("o%d", i)},
			&actingweb.Property{ID: id(i), Name: "color", Value: "blue"}) // not indexed
	}
	reserved := actingweb.ReservedOwnerPrefix + "system"
	props = append(props, &actingweb.Property{ID: reserved, Name: "email", Value: "system@example.com"})
	for i := 0; i < nGhosts; i++ {
		props = append(props, &actingweb.Property{ID: fmt.Sprintf("ghost%d", i), Name: "externalUserId", Value: fmt.Sprintf("x%d", i)})
	}
	for _, w := range []struct {
		t    actingweb.Table
		recs []actingweb.Record
	}{{actingweb.TableActors, actors}, {actingweb.TableProperties, props}} {
		if _, err := s.WriteBatch(ctx, w.t, w.recs, bulk.ConflictFail); err != nil {
			t.Fatal(err)
		}
	}
	// act100's oauthId key is held by another actor already.
	held := actingweb.NewPropertyLookup("oauthId", "o100", "someone-else")
	if _, err := s.WriteBatch(ctx, actingweb.TablePropertyLookup, []actingweb.Record{&held}, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	names := []string{"email", "oauthId", "externalUserId"}
	scanned := int64(2*nActors + 1 + nGhosts)
	fresh := scanned - (nShared - 1) - 1

	wantContests := func(t *testing.T, res bulk.LookupRebuild, kept string) string {
		t.Helper()
		if len(res.Contested) != 2 || res.ContestedTruncated {
			t.Fatalf("contested = %d keys (truncated %v), want 2", len(res.Contested), res.ContestedTruncated)
		}
		byKey := map[string]bulk.LookupContest{}
		for _, c := range res.Contested {
			byKey[c.LookupKey] = c
		}
		c := byKey[actingweb.LookupKey("email", shared)]
		all := append([]string{c.Kept}, c.Others...)
		slices.Sort(all)
		var want []string
		for i := 0; i < nShared; i++ {
			want = append(want, id(i))
		}
		if c.PropertyName != "email" || c.Value != shared || !slices.Equal(all, want) ||
			!slices.IsSorted(c.Others) || (kept != "" && c.Kept != kept) {
			t.Errorf("shared contest = %+v, want kept+others = act000..act029 (kept %q)", c, kept)
		}
		h := byKey[held.LookupKey]
		if h.PropertyName != "oauthId" || h.Value != "o100" || h.Kept != "someone-else" || !slices.Equal(h.Others, []string{id(100)}) {
			t.Errorf("held contest = %+v", h)
		}
		return c.Kept
	}

	res, err := s.RebuildPropertyLookup(ctx, names)
	if err != nil {
		t.Fatal(err)
	}
	if res.Scanned != scanned || res.Written != fresh || res.Existing != 0 || res.Collisions != nShared || res.Orphans != nGhosts {
		t.Fatalf("first rebuild: %+v; want scanned %d written %d collisions %d orphans %d", res, scanned, fresh, nShared, nGhosts)
	}
	if len(res.Samples) != maxSamples {
		t.Errorf("samples: %d, want %d", len(res.Samples), maxSamples)
	}
	kept := wantContests(t, res, "")

	recs, _ := scanAll(t, s, actingweb.TablePropertyLookup, bulk.ScanOptions{})
	got := map[string]string{}
	for _, r := range recs {
		l := r.(*actingweb.PropertyLookup)
		got[l.LookupKey] = l.ActorID
	}
	if int64(len(got)) != fresh+1 {
		t.Errorf("lookup items: %d, want %d", len(got), fresh+1)
	}
	for _, c := range []struct{ name, value, owner string }{
		{"email", shared, kept}, {"oauthId", "o100", "someone-else"}, {"oauthId", "o7", id(7)},
		{"email", "u249@example.com", id(249)}, {"email", "system@example.com", reserved},
		{"externalUserId", "x3", "ghost3"},
	} {
		if o := got[actingweb.LookupKey(c.name, c.value)]; o != c.owner {
			t.Errorf("lookup %s owner = %q, want %q", c.name, o, c.owner)
		}
	}

	res, err = s.RebuildPropertyLookup(ctx, names)
	if err != nil {
		t.Fatal(err)
	}
	if res.Scanned != scanned || res.Written != 0 || res.Existing != fresh || res.Collisions != nShared || res.Orphans != nGhosts {
		t.Fatalf("second rebuild: %+v; want existing %d", res, fresh)
	}
	wantContests(t, res, kept)
}

// TestRebuildPropertyLookupCancelled: a cancelled context ends the rebuild with an error
// (no hang in the scan → worker pipeline).
func TestRebuildPropertyLookupCancelled(t *testing.T) {
	s := openTestStore(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	recs := make([]actingweb.Record, 500)
	for i := range recs {
		recs[i] = &actingweb.Property{ID: fmt.Sprintf("a%04d", i), Name: "email", Value: fmt.Sprintf("%d@x", i)}
	}
	if _, err := s.WriteBatch(ctx, actingweb.TableProperties, recs, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	cancel()
	done := make(chan error, 1)
	go func() {
		_, err := s.RebuildPropertyLookup(ctx, []string{"email"})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("rebuild with a cancelled context succeeded")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("rebuild with a cancelled context did not return")
	}
}

// BenchmarkRebuildPropertyLookup measures RebuildPropertyLookup on 20,000 actors with 5
// properties each (one of them "email", a few values shared) on DynamoDB Local: the first
// rebuild into an empty lookup table, then reruns over the complete one (b.N of them).
//
//	. .run/env && go test -run '^$' -bench RebuildPropertyLookup -benchtime 3x ./dynamodb/
func BenchmarkRebuildPropertyLookup(b *testing.B) {
	s := openTestStore(b, true)
	ctx := context.Background()
	const nActors = 20000 // 5 properties each, one of them "email"
	var actors, props []actingweb.Record
	flush := func(tb actingweb.Table, recs *[]actingweb.Record) {
		if _, err := s.WriteBatch(ctx, tb, *recs, bulk.ConflictOverwrite); err != nil {
			b.Fatal(err)
		}
		*recs = (*recs)[:0]
	}
	for i := 0; i < nActors; i++ {
		a := fmt.Sprintf("actor%06d", i)
		actors = append(actors, &actingweb.Actor{ID: a, Creator: "c", Passphrase: "p"})
		email := fmt.Sprintf("user%d@example.com", i)
		if i%1000 == 0 {
			email = fmt.Sprintf("shared%d@example.com", i%3)
		}
		props = append(props, &actingweb.Property{ID: a, Name: "email", Value: email})
		for _, n := range []string{"color", "size", "nickname", "locale"} {
			props = append(props, &actingweb.Property{ID: a, Name: n, Value: n + "-" + a})
		}
		if len(props) >= 500 {
			flush(actingweb.TableProperties, &props)
		}
		if len(actors) >= 500 {
			flush(actingweb.TableActors, &actors)
		}
	}
	flush(actingweb.TableProperties, &props)
	flush(actingweb.TableActors, &actors)
	names := []string{"email", "oauthId", "externalUserId"}
	start := time.Now()
	res, err := s.RebuildPropertyLookup(ctx, names)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(start).Seconds(), "first-rebuild-s")
	if res.Written == 0 {
		b.Fatalf("first rebuild wrote nothing: %+v", res)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.RebuildPropertyLookup(ctx, names); err != nil {
			b.Fatal(err)
		}
	}
}
