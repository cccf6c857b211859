package storetest

import (
	"encoding/json"
	"fmt"
	"sort"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

// Paged lists (store.go: ListActorsPage, ListDiffsPage, GetBucketPage): a walk through more
// rows than one page returns each row exactly once, in the documented order, with next empty
// (0) exactly at the end; a limit below 1 is ErrInvalid.

// testListActorsPage walks the actors of a fresh store in pages of 7. Reading: the order is
// the backend's (by id on PostgreSQL, scan order on DynamoDB), so only completeness and
// uniqueness are checked.
func testListActorsPage(t *testing.T, open Opener) {
	s := open(t) // needs a globally empty store
	ctx := ctxOf(t)
	got, next, err := s.ListActorsPage(ctx, "", 5)
	wantEmptySlice(t, got, err, "ListActorsPage on an empty store", "ListActorsPage on an empty store")
	eq(t, next, "", "next on an empty store")
	_, _, err = s.ListActorsPage(ctx, "", 0)
	wantErr(t, err, actingweb.ErrInvalid, "ListActorsPage with limit 0")

	want := map[string]bool{}
	for range 25 {
		id := newID(t)
		want[id] = true
		createActor(t, s, id, "page."+id+"@example.com")
	}
	seen := map[string]bool{}
	after, pages := "", 0
	for {
		page, next, err := s.ListActorsPage(ctx, after, 7)
		must(t, err, fmt.Sprintf("ListActorsPage after %q", after))
		if pages++; pages > 10 {
			t.Fatalf("ListActorsPage: more than 10 pages of 7 for 25 actors (next %q)", next)
		}
		if len(page) > 7 {
			t.Fatalf("ListActorsPage gave %d actors, limit 7", len(page))
		}
		if next != "" && len(page) != 7 {
			t.Fatalf("ListActorsPage gave %d actors and next %q: a page before the end must be full", len(page), next)
		}
		for _, a := range page {
			if seen[a.ID] {
				t.Fatalf("ListActorsPage returned actor %s twice", a.ID)
			}
			if !want[a.ID] {
				t.Fatalf("ListActorsPage returned unknown actor %s", a.ID)
			}
			seen[a.ID] = true
			eq(t, a.Creator, "page."+a.ID+"@example.com", "paged creator")
			eq(t, a.Passphrase, "", "paged passphrase (omitted)")
		}
		if next == "" {
			break
		}
		eq(t, next, page[len(page)-1].ID, "next = the last id of the page")
		after = next
	}
	eq(t, len(seen), len(want), "actors seen over all pages")
	eq(t, pages, 4, "pages of 7 for 25 actors")
}

// testListDiffsPage walks the diffs of one subscription whose seqnrs have 1 to 10 digits (PostgreSQL's seqnr is an integer)
// (DynamoDB's range key is a string: "s:10" sorts before "s:2") in pages of 4, next to
// subscriptions whose keys share its prefix ("s:1" has keys "s:1:<n>", "s1" has "s1:<n>").
func testListDiffsPage(t *testing.T, s bulk.Backend) {
	ctx := ctxOf(t)
	a := newID(t)
	createActor(t, s, a, "diffpage@example.com")
	got, next, err := s.ListDiffsPage(ctx, a, "s", 0, 4)
	wantEmptySlice(t, got, err, "ListDiffsPage without diffs", "ListDiffsPage without diffs")
	eq(t, next, int64(0), "next without diffs")
	_, _, err = s.ListDiffsPage(ctx, a, "s", 0, 0)
	wantErr(t, err, actingweb.ErrInvalid, "ListDiffsPage with limit 0")

	var want []int64
	for i := int64(1); i <= 12; i++ {
		want = append(want, i)
	}
	want = append(want, 99, 100, 101, 999, 1000, 1234567890)
	for _, n := range want {
		must(t, s.CreateDiff(ctx, actingweb.SubscriptionDiff{ID: a, SubID: "s", Seqnr: n, Diff: fmt.Sprint(n)}), "CreateDiff")
	}
	for _, o := range []struct {
		sub string
		n   int64
	}{{"s:1", 2}, {"s:1", 50}, {"s1", 3}, {"s1", 77}, {"t", 5}} {
		must(t, s.CreateDiff(ctx, actingweb.SubscriptionDiff{ID: a, SubID: o.sub, Seqnr: o.n, Diff: "other"}), "CreateDiff other subscription")
	}
	var seqnrs []int64
	var after int64
	for pages := 1; ; pages++ {
		page, next, err := s.ListDiffsPage(ctx, a, "s", after, 4)
		must(t, err, fmt.Sprintf("ListDiffsPage after %d", after))
		if pages > 10 {
			t.Fatalf("ListDiffsPage: more than 10 pages of 4 for %d diffs", len(want))
		}
		if len(page) > 4 || (next != 0 && len(page) != 4) {
			t.Fatalf("ListDiffsPage gave %d diffs and next %d (limit 4)", len(page), next)
		}
		for _, d := range page {
			eq(t, d.SubID, "s", "paged diff's subscription")
			eq(t, d.Diff, fmt.Sprint(d.Seqnr), "paged diff text")
			seqnrs = append(seqnrs, d.Seqnr)
		}
		if next == 0 {
			break
		}
		eq(t, next, page[len(page)-1].Seqnr, "next = the last seqnr of the page")
		after = next
	}
	deepEq(t, seqnrs, want, "seqnrs over all pages, in numeric order")
	page, next, err := s.ListDiffsPage(ctx, a, "s", 100, 3)
	must(t, err, "ListDiffsPage after 100")
	var mid []int64
	for _, d := range page {
		mid = append(mid, d.Seqnr)
	}
	deepEq(t, mid, []int64{101, 999, 1000}, "ListDiffsPage after 100 (exclusive)")
	eq(t, next, int64(1000), "next after 100")
	page, next, err = s.ListDiffsPage(ctx, a, "s", 1000, 3)
	must(t, err, "ListDiffsPage after 1000")
	eq(t, len(page), 1, "diffs after 1000")
	eq(t, next, int64(0), "next at the end")
}

// testGetBucketPage walks a bucket of 23 attributes (names in byte order: upper case before
// lower case, multi-byte UTF-8 last) in pages of 5, next to buckets whose keys share its
// prefix ("b:x") or start like it ("bb").
func testGetBucketPage(t *testing.T, s bulk.Backend) {
	ctx := ctxOf(t)
	o := newID(t)
	got, next, err := s.GetBucketPage(ctx, o, "b", "", 5)
	wantEmptySlice(t, got, err, "GetBucketPage of an empty bucket", "GetBucketPage of an empty bucket")
	eq(t, next, "", "next of an empty bucket")
	_, _, err = s.GetBucketPage(ctx, o, "b", "", 0)
	wantErr(t, err, actingweb.ErrInvalid, "GetBucketPage with limit 0")

	var want []string
	for i := range 20 {
		want = append(want, fmt.Sprintf("n%02d", i))
	}
	want = append(want, "Z", "é", "n:1")
	for _, n := range want {
		setAttr(t, s, o, "b", n, fmt.Sprintf(`{"name": %q}`, n), nil, 0)
	}
	setAttr(t, s, o, "b:x", "n05", `1`, nil, 0)
	setAttr(t, s, o, "bb", "n00", `1`, nil, 0)
	sort.Strings(want) // byte order
	var names []string
	after := ""
	for pages := 1; ; pages++ {
		page, next, err := s.GetBucketPage(ctx, o, "b", after, 5)
		must(t, err, fmt.Sprintf("GetBucketPage after %q", after))
		if pages > 10 {
			t.Fatalf("GetBucketPage: more than 10 pages of 5 for %d attributes", len(want))
		}
		if len(page) > 5 || (next != "" && len(page) != 5) {
			t.Fatalf("GetBucketPage gave %d attributes and next %q (limit 5)", len(page), next)
		}
		for _, a := range page {
			eq(t, a.Bucket, "b", "paged attribute's bucket")
			var d struct{ Name string }
			must(t, json.Unmarshal(a.Data, &d), "paged attribute's data")
			eq(t, d.Name, a.Name, "paged attribute's data")
			names = append(names, a.Name)
		}
		if next == "" {
			break
		}
		eq(t, next, page[len(page)-1].Name, "next = the last name of the page")
		after = next
	}
	deepEq(t, names, want, "names over all pages, in byte order")
}
