package storetest

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

func testPeerTrustees(t *testing.T, open Opener) {
	s := open(t)
	pt := func(id, peer, typ string) actingweb.PeerTrustee {
		return actingweb.PeerTrustee{ID: id, PeerID: peer, BaseURI: "https://trustee.example.com/" + peer, Type: typ, Passphrase: "pp-" + peer}
	}

	t.Run("RoundTripAndExists", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "pt@example.com")
		want := pt(a, "peer1", "urn:actingweb:actingweb.org:actingwebdemo")
		must(t, s.CreatePeerTrustee(ctx, want), "CreatePeerTrustee")
		got, err := s.GetPeerTrustee(ctx, a, "peer1")
		must(t, err, "GetPeerTrustee")
		sameRecord(t, &got, &want, "peer trustee")
		dup := pt(a, "peer1", "other-type")
		dup.Passphrase = "changed"
		wantErr(t, s.CreatePeerTrustee(ctx, dup), actingweb.ErrExists, "CreatePeerTrustee of an existing key")
		got, err = s.GetPeerTrustee(ctx, a, "peer1")
		must(t, err, "GetPeerTrustee after refused create")
		sameRecord(t, &got, &want, "peer trustee after refused create")
		_, err = s.GetPeerTrustee(ctx, a, "missing")
		wantErr(t, err, actingweb.ErrNotFound, "GetPeerTrustee missing")
	})

	t.Run("ByType", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "pt@example.com")
		must(t, s.CreatePeerTrustee(ctx, pt(a, "p1", "single")), "create p1")
		must(t, s.CreatePeerTrustee(ctx, pt(a, "p2", "double")), "create p2")
		must(t, s.CreatePeerTrustee(ctx, pt(a, "p3", "double")), "create p3")
		b := newID(t)
		createActor(t, s, b, "pt2@example.com")
		must(t, s.CreatePeerTrustee(ctx, pt(b, "q1", "single")), "create q1 (other actor, same type)")
		got, err := s.GetPeerTrusteeByType(ctx, a, "single")
		must(t, err, "GetPeerTrusteeByType single")
		eq(t, got.PeerID, "p1", "peer trustee of type single")
		eq(t, got.ID, a, "owner")
		_, err = s.GetPeerTrusteeByType(ctx, a, "double")
		wantErr(t, err, actingweb.ErrAmbiguous, "GetPeerTrusteeByType with two rows of the type")
		_, err = s.GetPeerTrusteeByType(ctx, a, "none")
		wantErr(t, err, actingweb.ErrNotFound, "GetPeerTrusteeByType with no row of the type")
		_, err = s.GetPeerTrusteeByType(ctx, a, "Single")
		wantErr(t, err, actingweb.ErrNotFound, "GetPeerTrusteeByType is case-sensitive")
	})

	t.Run("Modify", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "pt@example.com")
		want := pt(a, "p", "t1")
		must(t, s.CreatePeerTrustee(ctx, want), "create")
		must(t, s.ModifyPeerTrustee(ctx, a, "p", "", "", ""), "ModifyPeerTrustee nothing")
		got, err := s.GetPeerTrustee(ctx, a, "p")
		must(t, err, "get")
		sameRecord(t, &got, &want, "after empty modify")
		must(t, s.ModifyPeerTrustee(ctx, a, "p", "t2", "", "new-pass"), "ModifyPeerTrustee type+passphrase")
		want.Type, want.Passphrase = "t2", "new-pass"
		got, err = s.GetPeerTrustee(ctx, a, "p")
		must(t, err, "get")
		sameRecord(t, &got, &want, "after modify")
		must(t, s.ModifyPeerTrustee(ctx, a, "p", "", "https://moved", ""), "ModifyPeerTrustee baseuri")
		want.BaseURI = "https://moved"
		got, err = s.GetPeerTrustee(ctx, a, "p")
		must(t, err, "get")
		sameRecord(t, &got, &want, "after baseuri modify")
		wantErr(t, s.ModifyPeerTrustee(ctx, a, "missing", "t", "", ""), actingweb.ErrNotFound, "ModifyPeerTrustee missing")
	})

	t.Run("DeleteListDeleteAll", func(t *testing.T) {
		ctx := ctxOf(t)
		a, b := newID(t), newID(t)
		createActor(t, s, a, "pt@example.com")
		createActor(t, s, b, "pt2@example.com")
		empty, err := s.ListPeerTrustees(ctx, a)
		wantEmptySlice(t, empty, err, "ListPeerTrustees empty", "ListPeerTrustees(none)")
		for _, p := range []string{"c", "a", "b", "d"} {
			must(t, s.CreatePeerTrustee(ctx, pt(a, p, "t"+p)), "create "+p)
		}
		must(t, s.CreatePeerTrustee(ctx, pt(b, "x", "tx")), "create other")
		must(t, s.DeletePeerTrustee(ctx, a, "d"), "DeletePeerTrustee")
		must(t, s.DeletePeerTrustee(ctx, a, "d"), "DeletePeerTrustee again (idempotent)")
		_, err = s.GetPeerTrustee(ctx, a, "d")
		wantErr(t, err, actingweb.ErrNotFound, "GetPeerTrustee after delete")
		list, err := s.ListPeerTrustees(ctx, a)
		must(t, err, "ListPeerTrustees")
		var got []string
		for _, p := range list {
			got = append(got, p.PeerID)
		}
		deepEq(t, got, []string{"a", "b", "c"}, "ListPeerTrustees ordered by peer id")
		want := pt(a, "b", "tb")
		sameRecord(t, &list[1], &want, "listed peer trustee")
		must(t, s.DeleteAllPeerTrustees(ctx, a), "DeleteAllPeerTrustees")
		list, err = s.ListPeerTrustees(ctx, a)
		must(t, err, "ListPeerTrustees after DeleteAll")
		eq(t, len(list), 0, "peer trustees left")
		if _, err := s.GetPeerTrustee(ctx, b, "x"); err != nil {
			t.Fatalf("other actor's peer trustee after DeleteAllPeerTrustees: %v", err)
		}
	})
}

func sub(id, peer, subid string) actingweb.Subscription {
	return actingweb.Subscription{ID: id, PeerID: peer, SubID: subid, Granularity: ptr("high"),
		Target: ptr("properties"), Subtarget: ptr("email"), Resource: ptr("a/b/" + uniEmoji), Callback: true}
}

func testSubscriptions(t *testing.T, open Opener) {
	s := open(t)

	t.Run("RoundTrip", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "sub@example.com")
		in := sub(a, "peer", "sub1")
		must(t, s.CreateSubscription(ctx, in), "CreateSubscription")
		got, err := s.GetSubscription(ctx, a, "peer", "sub1")
		must(t, err, "GetSubscription")
		want := in
		want.PeerSubID = "peer:sub1"
		sameRecord(t, &got, &want, "subscription")
		eq(t, got.PeerSubID, "peer:sub1", "peer_sub_id built from peerid and subid")
		eq(t, got.Seqnr, int64(0), "seqnr on creation")
		_, err = s.GetSubscription(ctx, a, "peer", "missing")
		wantErr(t, err, actingweb.ErrNotFound, "GetSubscription missing")
		wantErr(t, s.CreateSubscription(ctx, in), actingweb.ErrExists, "CreateSubscription of an existing key")
	})

	t.Run("EmptyOptionalStringsAbsent", func(t *testing.T) {
		// Reading: store.go says "empty optional strings are stored as absent/NULL", and records carry
		// absence as nil pointers, so "" and nil both read back as nil.
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "sub@example.com")
		in := actingweb.Subscription{ID: a, PeerID: "peer", SubID: "empty", Granularity: ptr(""), Target: ptr(""), Subtarget: ptr(""), Resource: nil}
		must(t, s.CreateSubscription(ctx, in), "CreateSubscription")
		got, err := s.GetSubscription(ctx, a, "peer", "empty")
		must(t, err, "GetSubscription")
		for name, p := range map[string]*string{"granularity": got.Granularity, "target": got.Target, "subtarget": got.Subtarget, "resource": got.Resource} {
			if p != nil {
				t.Errorf("%s = %q, want absent (nil)", name, *p)
			}
		}
		eq(t, got.Callback, false, "callback")
		// The table face shows the same absence.
		var found *actingweb.Subscription
		must(t, s.Scan(ctx, actingweb.TableSubscriptions, bulk.ScanOptions{}, func(p bulk.Page) error {
			for _, r := range p.Records {
				if r.Owner() == a {
					found = r.(*actingweb.Subscription)
				}
			}
			return nil
		}), "Scan subscriptions")
		if found == nil {
			t.Fatal("subscription not seen by Scan")
		}
		if found.Granularity != nil || found.Target != nil || found.Subtarget != nil || found.Resource != nil {
			t.Fatalf("scanned optional strings = %q %q %q %q, want all absent", strp(found.Granularity), strp(found.Target), strp(found.Subtarget), strp(found.Resource))
		}
	})

	t.Run("KeyedByPeerSubID", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "sub@example.com")
		first := sub(a, "p:x", "y")
		must(t, s.CreateSubscription(ctx, first), "CreateSubscription p:x + y")
		second := sub(a, "p", "x:y")
		wantErr(t, s.CreateSubscription(ctx, second), actingweb.ErrExists, "CreateSubscription p + x:y (same key p:x:y)")
		got, err := s.GetSubscription(ctx, a, "p", "x:y")
		must(t, err, "GetSubscription by the other split of the same key")
		eq(t, got.PeerID, "p:x", "peerid of the stored row")
		eq(t, got.SubID, "y", "subid of the stored row")
		eq(t, got.PeerSubID, "p:x:y", "peer_sub_id")
		// An explicit PeerSubID is carried verbatim (§5.1).
		drift := sub(a, "peerA", "subA")
		drift.PeerSubID = "legacy:key"
		must(t, s.CreateSubscription(ctx, drift), "CreateSubscription with explicit PeerSubID")
		got, err = s.GetSubscription(ctx, a, "legacy", "key")
		must(t, err, "GetSubscription by the stored key")
		eq(t, got.PeerID, "peerA", "peerid of drifted row")
		eq(t, got.PeerSubID, "legacy:key", "drifted key kept")
	})

	t.Run("Modify", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "sub@example.com")
		in := sub(a, "peer", "m")
		must(t, s.CreateSubscription(ctx, in), "CreateSubscription")
		want := in
		want.PeerSubID = "peer:m"
		check := func(what string) {
			t.Helper()
			got, err := s.GetSubscription(ctx, a, "peer", "m")
			must(t, err, "GetSubscription "+what)
			sameRecord(t, &got, &want, "subscription after "+what)
		}
		must(t, s.ModifySubscription(ctx, a, "peer", "m", actingweb.SubscriptionUpdate{}), "ModifySubscription nothing")
		check("empty update")
		must(t, s.ModifySubscription(ctx, a, "peer", "m", actingweb.SubscriptionUpdate{Granularity: ptr(""), Target: ptr("")}), "ModifySubscription empty strings")
		check("empty strings (ignored)")
		must(t, s.ModifySubscription(ctx, a, "peer", "m", actingweb.SubscriptionUpdate{Target: ptr("trust"), Resource: ptr("r2")}), "ModifySubscription strings")
		want.Target, want.Resource = ptr("trust"), ptr("r2")
		check("target+resource")
		must(t, s.ModifySubscription(ctx, a, "peer", "m", actingweb.SubscriptionUpdate{Seqnr: ptr(int64(41)), Callback: ptr(false)}), "ModifySubscription seqnr+callback")
		want.Seqnr, want.Callback = 41, false
		check("seqnr+callback")
		must(t, s.ModifySubscription(ctx, a, "peer", "m", actingweb.SubscriptionUpdate{Seqnr: ptr(int64(0))}), "ModifySubscription seqnr 0")
		want.Seqnr = 0
		check("seqnr 0 (non-nil pointer applies)")
		// Reading: ModifySubscription of a missing row returns ErrNotFound like the other
		// Modify* methods (upstream: false without a handle).
		wantErr(t, s.ModifySubscription(ctx, a, "peer", "missing", actingweb.SubscriptionUpdate{Target: ptr("x")}), actingweb.ErrNotFound, "ModifySubscription missing")
		_, err := s.GetSubscription(ctx, a, "peer", "missing")
		wantErr(t, err, actingweb.ErrNotFound, "ModifySubscription must not create a row")
	})

	t.Run("DeleteListDeleteAll", func(t *testing.T) {
		ctx := ctxOf(t)
		a, b := newID(t), newID(t)
		createActor(t, s, a, "sub@example.com")
		createActor(t, s, b, "sub2@example.com")
		empty, err := s.ListSubscriptions(ctx, a)
		wantEmptySlice(t, empty, err, "ListSubscriptions empty", "ListSubscriptions(none)")
		keys := [][2]string{{"pb", "s1"}, {"pa", "s2"}, {"pa", "s10"}, {"PZ", "s"}, {"pa-x", "s"}}
		for _, k := range keys {
			must(t, s.CreateSubscription(ctx, sub(a, k[0], k[1])), "CreateSubscription "+k[0]+":"+k[1])
		}
		must(t, s.CreateSubscription(ctx, sub(b, "pa", "s2")), "CreateSubscription other actor")
		list, err := s.ListSubscriptions(ctx, a)
		must(t, err, "ListSubscriptions")
		var got []string
		for _, x := range list {
			got = append(got, x.PeerSubID)
		}
		deepEq(t, got, []string{"PZ:s", "pa-x:s", "pa:s10", "pa:s2", "pb:s1"}, "ListSubscriptions (byte order of peer_sub_id)")
		must(t, s.DeleteSubscription(ctx, a, "pa", "s2"), "DeleteSubscription")
		_, err = s.GetSubscription(ctx, a, "pa", "s2")
		wantErr(t, err, actingweb.ErrNotFound, "GetSubscription after delete")
		if _, err := s.GetSubscription(ctx, b, "pa", "s2"); err != nil {
			t.Fatalf("other actor's subscription with the same key after DeleteSubscription: %v", err)
		}
		must(t, s.DeleteSubscription(ctx, a, "pa", "s2"), "DeleteSubscription again (idempotent)")
		must(t, s.DeleteAllSubscriptions(ctx, a), "DeleteAllSubscriptions")
		list, err = s.ListSubscriptions(ctx, a)
		must(t, err, "ListSubscriptions after DeleteAll")
		eq(t, len(list), 0, "subscriptions left")
		if _, err := s.GetSubscription(ctx, b, "pa", "s2"); err != nil {
			t.Fatalf("other actor's subscription after DeleteAllSubscriptions: %v", err)
		}
	})
}

func diffSeqs(ds []actingweb.SubscriptionDiff) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%s:%d", d.SubID, d.Seqnr))
	}
	return out
}

func testDiffs(t *testing.T, open Opener) {
	s := open(t)

	t.Run("ListDiffsPage", func(t *testing.T) {
		t.Parallel()
		testListDiffsPage(t, s)
	})

	t.Run("AddDiffSequential", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "diff@example.com")
		must(t, s.CreateSubscription(ctx, sub(a, "peer", "sub")), "CreateSubscription")
		texts := []string{`{"email": "v1@example.com", "seq": 1, "ü": "ë"}`, "plain " + uniEmoji, `[]`}
		for i, txt := range texts {
			before := time.Now()
			d, err := s.AddDiff(ctx, a, "peer", "sub", txt)
			must(t, err, "AddDiff")
			after := time.Now()
			eq(t, d.Seqnr, int64(i+1), "AddDiff seqnr")
			eq(t, d.SubIDSeqnr, fmt.Sprintf("sub:%d", i+1), "AddDiff subid_seqnr")
			eq(t, d.SubID, "sub", "AddDiff subid")
			eq(t, d.ID, a, "AddDiff owner")
			within(t, d.Timestamp, before, after, "AddDiff timestamp")
			got, err := s.GetDiff(ctx, a, "sub", int64(i+1))
			must(t, err, "GetDiff")
			eq(t, got.Diff, txt, "diff text")
			sameRecord(t, &got, &d, "stored diff vs AddDiff result")
		}
		sb, err := s.GetSubscription(ctx, a, "peer", "sub")
		must(t, err, "GetSubscription")
		eq(t, sb.Seqnr, int64(len(texts)), "subscription seqnr after AddDiff")
		_, err = s.AddDiff(ctx, a, "peer", "missing", "x")
		wantErr(t, err, actingweb.ErrNotFound, "AddDiff on a missing subscription")
	})

	t.Run("AddDiffConcurrent", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "diff@example.com")
		must(t, s.CreateSubscription(ctx, sub(a, "peer", "conc")), "CreateSubscription")
		const writers, each = 16, 4
		var mu sync.Mutex
		var seqs []int64
		var errs []error
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					d, err := s.AddDiff(ctx, a, "peer", "conc", fmt.Sprintf("writer %d diff %d", w, i))
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
					} else {
						seqs = append(seqs, d.Seqnr)
					}
					mu.Unlock()
				}
			}(w)
		}
		wg.Wait()
		for _, err := range errs {
			t.Errorf("concurrent AddDiff: %v", err)
		}
		if len(errs) > 0 {
			t.FailNow()
		}
		const n = writers * each
		sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
		for i, v := range seqs {
			if v != int64(i+1) {
				t.Fatalf("handed-out sequence numbers are not exactly 1..%d: %v", n, seqs)
			}
		}
		eq(t, len(seqs), n, "number of diffs handed out")
		list, err := s.ListDiffs(ctx, a, "conc")
		must(t, err, "ListDiffs")
		eq(t, len(list), n, "stored diffs")
		for i, d := range list {
			eq(t, d.Seqnr, int64(i+1), "stored diff seqnr (ordered)")
		}
		sb, err := s.GetSubscription(ctx, a, "peer", "conc")
		must(t, err, "GetSubscription")
		eq(t, sb.Seqnr, int64(n), "subscription seqnr after concurrent AddDiff")
	})

	t.Run("CreateDiffGetDiff", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "diff@example.com")
		ts := microTime(5 * time.Minute)
		d := actingweb.SubscriptionDiff{ID: a, SubID: "s", Seqnr: 7, Diff: "given", Timestamp: ts}
		must(t, s.CreateDiff(ctx, d), "CreateDiff")
		got, err := s.GetDiff(ctx, a, "s", 7)
		must(t, err, "GetDiff")
		eq(t, got.SubIDSeqnr, "s:7", "subid_seqnr built")
		eq(t, got.Diff, "given", "diff")
		if !got.Timestamp.Equal(ts) {
			t.Fatalf("timestamp = %s, want %s", got.Timestamp, ts)
		}
		wantErr(t, s.CreateDiff(ctx, d), actingweb.ErrExists, "CreateDiff of an existing key")
		before := time.Now()
		must(t, s.CreateDiff(ctx, actingweb.SubscriptionDiff{ID: a, SubID: "s", Seqnr: 8, Diff: ""}), "CreateDiff zero timestamp, empty diff")
		after := time.Now()
		got, err = s.GetDiff(ctx, a, "s", 8)
		must(t, err, "GetDiff 8")
		within(t, got.Timestamp, before, after, "timestamp defaulted to now")
		eq(t, got.Diff, "", "empty diff text")
		_, err = s.GetDiff(ctx, a, "s", 9)
		wantErr(t, err, actingweb.ErrNotFound, "GetDiff of a missing seqnr")
		_, err = s.GetDiff(ctx, a, "other", 7)
		wantErr(t, err, actingweb.ErrNotFound, "GetDiff of a missing subscription")
	})

	mkDiffs := func(t *testing.T, a string, keys map[string][]int64) {
		t.Helper()
		ctx := ctxOf(t)
		for subid, seqs := range keys {
			for _, n := range seqs {
				must(t, s.CreateDiff(ctx, actingweb.SubscriptionDiff{ID: a, SubID: subid, Seqnr: n, Diff: fmt.Sprintf("%s#%d", subid, n)}), "CreateDiff")
			}
		}
	}

	t.Run("GetLowestDiff", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "diff@example.com")
		mkDiffs(t, a, map[string][]int64{"s": {10, 2, 3}, "s1": {1}, "r": {1}})
		got, err := s.GetLowestDiff(ctx, a, "s")
		must(t, err, "GetLowestDiff")
		eq(t, got.Seqnr, int64(2), "lowest seqnr (numeric, not s:10; exact subid, not s1)")
		eq(t, got.Diff, "s#2", "lowest diff text")
		_, err = s.GetLowestDiff(ctx, a, "none")
		wantErr(t, err, actingweb.ErrNotFound, "GetLowestDiff without diffs")
		_, err = s.GetLowestDiff(ctx, newID(t), "s")
		wantErr(t, err, actingweb.ErrNotFound, "GetLowestDiff of another actor")
	})

	t.Run("ListDiffs", func(t *testing.T) {
		ctx := ctxOf(t)
		a, b := newID(t), newID(t)
		createActor(t, s, a, "diff@example.com")
		createActor(t, s, b, "diff2@example.com")
		mkDiffs(t, a, map[string][]int64{"s": {10, 2, 3, 1}, "s1": {1}, "r": {5}})
		mkDiffs(t, b, map[string][]int64{"s": {4}})
		empty, err := s.ListDiffs(ctx, newID(t), "")
		wantEmptySlice(t, empty, err, "ListDiffs of an actor without diffs", "ListDiffs(none)")
		all, err := s.ListDiffs(ctx, a, "")
		must(t, err, "ListDiffs all")
		deepEq(t, diffSeqs(all), []string{"r:5", "s:1", "s:2", "s:3", "s:10", "s1:1"}, "ListDiffs order (subid, numeric seqnr)")
		one, err := s.ListDiffs(ctx, a, "s")
		must(t, err, "ListDiffs s")
		deepEq(t, diffSeqs(one), []string{"s:1", "s:2", "s:3", "s:10"}, "ListDiffs exact subid")
		eq(t, one[3].Diff, "s#10", "listed diff text")
	})

	t.Run("DeleteDiffs", func(t *testing.T) {
		ctx := ctxOf(t)
		a, b := newID(t), newID(t)
		createActor(t, s, a, "diff@example.com")
		createActor(t, s, b, "diff2@example.com")
		mkDiffs(t, a, map[string][]int64{"s": {1, 2, 3, 4, 5, 10}, "s1": {1, 2}, "r": {1, 9}})
		mkDiffs(t, b, map[string][]int64{"s": {1, 2}})
		n, err := s.DeleteDiffs(ctx, a, "s", 3)
		must(t, err, "DeleteDiffs up to 3")
		eq(t, n, int64(3), "rows deleted up to 3 (inclusive)")
		left, err := s.ListDiffs(ctx, a, "")
		must(t, err, "ListDiffs")
		deepEq(t, diffSeqs(left), []string{"r:1", "r:9", "s:4", "s:5", "s:10", "s1:1", "s1:2"}, "diffs after DeleteDiffs(s, 3)")
		n, err = s.DeleteDiffs(ctx, a, "s", 3)
		must(t, err, "DeleteDiffs up to 3 again")
		eq(t, n, int64(0), "rows deleted on repeat")
		n, err = s.DeleteDiffs(ctx, a, "s", 0)
		must(t, err, "DeleteDiffs upTo 0 (all of the subscription)")
		eq(t, n, int64(3), "rows deleted with upTo 0")
		left, err = s.ListDiffs(ctx, a, "")
		must(t, err, "ListDiffs")
		deepEq(t, diffSeqs(left), []string{"r:1", "r:9", "s1:1", "s1:2"}, "diffs after DeleteDiffs(s, 0)")
		n, err = s.DeleteDiffs(ctx, a, "", 1)
		must(t, err, "DeleteDiffs whole actor up to 1")
		eq(t, n, int64(2), "rows deleted for the actor up to 1")
		n, err = s.DeleteDiffs(ctx, a, "", 0)
		must(t, err, "DeleteDiffs whole actor")
		eq(t, n, int64(2), "rows deleted for the actor")
		left, err = s.ListDiffs(ctx, a, "")
		must(t, err, "ListDiffs")
		eq(t, len(left), 0, "diffs left for the actor")
		other, err := s.ListDiffs(ctx, b, "")
		must(t, err, "ListDiffs other actor")
		deepEq(t, diffSeqs(other), []string{"s:1", "s:2"}, "other actor's diffs untouched")
	})

	t.Run("DeleteDiff", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "diff@example.com")
		mkDiffs(t, a, map[string][]int64{"s": {1, 2}})
		must(t, s.DeleteDiff(ctx, a, "s", 1), "DeleteDiff")
		_, err := s.GetDiff(ctx, a, "s", 1)
		wantErr(t, err, actingweb.ErrNotFound, "GetDiff after DeleteDiff")
		if _, err := s.GetDiff(ctx, a, "s", 2); err != nil {
			t.Fatalf("other diff after DeleteDiff: %v", err)
		}
		must(t, s.DeleteDiff(ctx, a, "s", 1), "DeleteDiff again (idempotent)")
	})
}
