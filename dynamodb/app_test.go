package dynamodb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/testenv"
)

// appStore opens a store on DynamoDB Local under a fresh prefix with all nine tables, dropped
// at cleanup.
func appStore(t testing.TB) *Store {
	t.Helper()
	ep := testenv.DynamoDBEndpoint(t)
	// No EC2 metadata probe when the environment has no AWS credentials (Open then falls back
	// to static dummy credentials for the local endpoint).
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Open(ctx, Config{Prefix: testenv.UniqueDynamoPrefix(t), Region: "us-west-1", Endpoint: ep,
		Lookup: actingweb.DefaultLookupConfig()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpgradeSchema(ctx); err != nil {
		t.Fatalf("upgrade schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := s.DropTables(ctx); err != nil {
			t.Errorf("drop tables: %v", err)
		}
	})
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestAppAddDiffConcurrent(t *testing.T) {
	s := appStore(t)
	ctx := context.Background()
	must(t, s.CreateSubscription(ctx, actingweb.Subscription{ID: "a1", PeerID: "p1", SubID: "s1"}))
	if _, err := s.AddDiff(ctx, "a1", "p1", "nosuch", "{}"); !errors.Is(err, actingweb.ErrNotFound) {
		t.Fatalf("AddDiff on missing subscription: %v, want ErrNotFound", err)
	}
	const workers, each = 8, 5
	start := time.Now().Add(-time.Second)
	var mu sync.Mutex
	var got []int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				d, err := s.AddDiff(ctx, "a1", "p1", "s1", fmt.Sprintf(`{"w": %d, "i": %d}`, w, i))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				got = append(got, d.Seqnr)
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	for i, n := range got {
		if n != int64(i+1) {
			t.Fatalf("sequence numbers %v: want 1..%d without gaps or duplicates", got, workers*each)
		}
	}
	sub, err := s.GetSubscription(ctx, "a1", "p1", "s1")
	must(t, err)
	if sub.Seqnr != workers*each {
		t.Fatalf("subscription seqnr %d, want %d", sub.Seqnr, workers*each)
	}
	ds, err := s.ListDiffs(ctx, "a1", "s1")
	must(t, err)
	if len(ds) != workers*each {
		t.Fatalf("%d diffs listed, want %d", len(ds), workers*each)
	}
	for i, d := range ds {
		if d.Seqnr != int64(i+1) || d.SubIDSeqnr != fmt.Sprintf("s1:%d", i+1) {
			t.Fatalf("diff %d is %s (seqnr %d): want numeric order", i, d.SubIDSeqnr, d.Seqnr)
		}
		if d.Timestamp.Before(start) || d.Timestamp.After(time.Now().Add(time.Second)) {
			t.Fatalf("diff %s timestamp %v is not the write time", d.SubIDSeqnr, d.Timestamp)
		}
	}
	low, err := s.GetLowestDiff(ctx, "a1", "s1")
	must(t, err)
	if low.Seqnr != 1 {
		t.Fatalf("lowest diff %d", low.Seqnr)
	}
	n, err := s.DeleteDiffs(ctx, "a1", "s1", 10)
	must(t, err)
	if n != 10 {
		t.Fatalf("DeleteDiffs(upTo 10) deleted %d", n)
	}
	low, err = s.GetLowestDiff(ctx, "a1", "s1")
	must(t, err)
	if low.Seqnr != 11 {
		t.Fatalf("lowest diff after delete %d, want 11", low.Seqnr)
	}
	if _, err := s.GetDiff(ctx, "a1", "s1", 10); !errors.Is(err, actingweb.ErrNotFound) {
		t.Fatalf("GetDiff of deleted diff: %v", err)
	}
	// A diff created outside AddDiff at the next number is reported, not overwritten.
	must(t, s.CreateDiff(ctx, actingweb.SubscriptionDiff{ID: "a1", SubID: "s1", Seqnr: 41, Diff: "x"}))
	if _, err := s.AddDiff(ctx, "a1", "p1", "s1", "y"); !errors.Is(err, actingweb.ErrExists) {
		t.Fatalf("AddDiff onto an occupied number: %v, want ErrExists", err)
	}
	if err := s.CreateDiff(ctx, actingweb.SubscriptionDiff{ID: "a1", SubID: "s1", Seqnr: 41}); !errors.Is(err, actingweb.ErrExists) {
		t.Fatalf("CreateDiff duplicate: %v, want ErrExists", err)
	}
}

func TestAppPropertyLookupMaintenance(t *testing.T) {
	s := appStore(t)
	ctx := context.Background()
	for _, id := range []string{"A", "B"} {
		must(t, s.CreateActor(ctx, actingweb.Actor{ID: id, Creator: id + "@Example.com", Passphrase: "x"}))
	}
	owner := func(value string) string {
		t.Helper()
		id, err := s.GetPropertyLookup(ctx, "email", value)
		if errors.Is(err, actingweb.ErrNotFound) {
			return ""
		}
		must(t, err)
		return id
	}
	must(t, s.SetProperty(ctx, "A", "email", "a1@x"))
	if o := owner("a1@x"); o != "A" {
		t.Fatalf("lookup a1@x owned by %q", o)
	}
	must(t, s.SetProperty(ctx, "A", "email", "a2@x"))
	if o, o2 := owner("a1@x"), owner("a2@x"); o != "" || o2 != "A" {
		t.Fatalf("after change: old owner %q, new owner %q", o, o2)
	}
	// Collision: B takes a value A owns; B's property is written, the lookup stays A's.
	must(t, s.SetProperty(ctx, "B", "email", "a2@x"))
	if v, err := s.GetProperty(ctx, "B", "email"); err != nil || v != "a2@x" {
		t.Fatalf("B's property after collision: %q %v", v, err)
	}
	if o := owner("a2@x"); o != "A" {
		t.Fatalf("collision overwrote lookup: owner %q", o)
	}
	// B moving away must not delete A's row.
	must(t, s.SetProperty(ctx, "B", "email", "b@x"))
	if o, o2 := owner("a2@x"), owner("b@x"); o != "A" || o2 != "B" {
		t.Fatalf("after B moved: a2 owner %q, b owner %q", o, o2)
	}
	if id, err := s.GetActorIDFromProperty(ctx, "email", "b@x"); err != nil || id != "B" {
		t.Fatalf("reverse lookup b@x: %q %v", id, err)
	}
	// Not indexed: no lookup row, reverse lookup not found.
	must(t, s.SetProperty(ctx, "A", "nick", "alpha"))
	if _, err := s.GetPropertyLookup(ctx, "nick", "alpha"); !errors.Is(err, actingweb.ErrNotFound) {
		t.Fatalf("non-indexed name got a lookup row: %v", err)
	}
	if _, err := s.GetActorIDFromProperty(ctx, "nick", "alpha"); !errors.Is(err, actingweb.ErrNotFound) {
		t.Fatalf("reverse lookup of non-indexed name: %v", err)
	}
	// Empty value deletes the row and the owned lookup row.
	must(t, s.SetProperty(ctx, "B", "email", ""))
	if o := owner("b@x"); o != "" {
		t.Fatalf("lookup b@x survives delete: %q", o)
	}
	if _, err := s.GetProperty(ctx, "B", "email"); !errors.Is(err, actingweb.ErrNotFound) {
		t.Fatalf("deleted property: %v", err)
	}
	// A stale lookup row whose owner lost the property does not resolve.
	ok, err := s.CreatePropertyLookup(ctx, "email", "stale@x", "B", false)
	if err != nil || !ok {
		t.Fatalf("create lookup: %v %v", ok, err)
	}
	if _, err := s.GetActorIDFromProperty(ctx, "email", "stale@x"); !errors.Is(err, actingweb.ErrNotFound) {
		t.Fatalf("stale lookup resolved: %v", err)
	}
	if ok, err := s.CreatePropertyLookup(ctx, "email", "stale@x", "B", false); err != nil || !ok {
		t.Fatalf("idempotent create for same actor: %v %v", ok, err)
	}
	if ok, err := s.CreatePropertyLookup(ctx, "email", "stale@x", "A", false); err != nil || ok {
		t.Fatalf("create for another actor: %v %v, want false", ok, err)
	}
	must(t, s.DeletePropertyLookup(ctx, "email", "stale@x"))
	// DeleteAllProperties removes A's owned lookup row; DeleteActor that of a current value.
	must(t, s.DeleteAllProperties(ctx, "A"))
	if o := owner("a2@x"); o != "" {
		t.Fatalf("DeleteAllProperties left lookup owned by %q", o)
	}
	must(t, s.SetProperty(ctx, "B", "oauthId", "oid-1"))
	must(t, s.DeleteActor(ctx, "B"))
	if id, err := s.GetPropertyLookup(ctx, "oauthId", "oid-1"); !errors.Is(err, actingweb.ErrNotFound) {
		t.Fatalf("DeleteActor left lookup row owned by %q (%v)", id, err)
	}
	if _, err := s.GetActor(ctx, "B"); !errors.Is(err, actingweb.ErrNotFound) {
		t.Fatalf("deleted actor: %v", err)
	}
}

func TestAppPropertyRanges(t *testing.T) {
	s := appStore(t)
	ctx := context.Background()
	names := []string{"a", "list:l-meta", "list:l-#0", "list:l-#1", "list:l-#Z", "list:l-#a", "list;x", "m"}
	for _, n := range names {
		must(t, s.SetProperty(ctx, "X", n, "v-"+n))
	}
	plain, err := s.ListProperties(ctx, "X")
	must(t, err)
	if len(plain) != 3 || plain["a"] != "v-a" || plain["m"] != "v-m" || plain["list;x"] != "v-list;x" {
		t.Fatalf("ListProperties: %v", plain)
	}
	all, err := s.ListAllProperties(ctx, "X")
	must(t, err)
	if len(all) != len(names) {
		t.Fatalf("ListAllProperties: %v", all)
	}
	rng, err := s.GetPropertyRange(ctx, "X", "list:l-#", "list:l-$", true)
	must(t, err)
	if len(rng) != 4 || rng["list:l-#Z"] != "" {
		t.Fatalf("range keys only: %v", rng)
	}
	last, err := s.GetLastPropertyInRange(ctx, "X", "list:l-#", "list:l-$")
	must(t, err)
	if last != "list:l-#a" { // byte order: 'a' (0x61) > 'Z' (0x5a) > '1'
		t.Fatalf("last in range %q", last)
	}
	if _, err := s.GetLastPropertyInRange(ctx, "X", "q", "r"); !errors.Is(err, actingweb.ErrNotFound) {
		t.Fatalf("empty range: %v", err)
	}
	if ok, err := s.CreatePropertyIfNotExists(ctx, "X", "a", "new"); err != nil || ok {
		t.Fatalf("create-if-not-exists on existing: %v %v", ok, err)
	}
	if ok, err := s.SetPropertyIfValueEquals(ctx, "X", "a", "wrong", "z"); err != nil || ok {
		t.Fatalf("CAS with wrong expected: %v %v", ok, err)
	}
	if ok, err := s.SetPropertyIfValueEquals(ctx, "X", "nosuch", "", "z"); err != nil || ok {
		t.Fatalf("CAS on missing row: %v %v", ok, err)
	}
	if ok, err := s.SetPropertyIfValueEquals(ctx, "X", "a", "v-a", "z"); err != nil || !ok {
		t.Fatalf("CAS: %v %v", ok, err)
	}
	if ok, err := s.DeletePropertyIfValueEquals(ctx, "X", "a", "v-a"); err != nil || ok {
		t.Fatalf("conditional delete with old value: %v %v", ok, err)
	}
	if ok, err := s.DeletePropertyIfValueEquals(ctx, "X", "a", "z"); err != nil || !ok {
		t.Fatalf("conditional delete: %v %v", ok, err)
	}
	must(t, s.BatchDeleteProperties(ctx, "X", []string{"list:l-#0", "list:l-#0", "nosuch"}))
	all, err = s.ListAllProperties(ctx, "X")
	must(t, err)
	if len(all) != len(names)-2 {
		t.Fatalf("after batch delete: %v", all)
	}
}

func TestAppBucketExact(t *testing.T) {
	s := appStore(t)
	ctx := context.Background()
	ts := time.Date(2025, 1, 15, 10, 30, 0, 123456000, time.UTC)
	for _, b := range []string{"foo", "foobar", "fo", "foo:bar"} { // "foo:bar:x" begins with "foo:"
		for _, n := range []string{"x", "list:y:3"} {
			must(t, s.SetAttribute(ctx, "o", b, n, json.RawMessage(`{"b": "`+b+`"}`), &ts, 0))
		}
	}
	got, err := s.GetBucket(ctx, "o", "foo")
	must(t, err)
	if len(got) != 2 || string(got["list:y:3"].Data) != `{"b": "foo"}` {
		t.Fatalf("GetBucket foo: %v", got)
	}
	must(t, s.DeleteBucket(ctx, "o", "foo"))
	all, err := s.ListAttributes(ctx, "o")
	must(t, err)
	if len(all) != 3 || len(all["foobar"]) != 2 || len(all["fo"]) != 2 || len(all["foo:bar"]) != 2 || all["foo"] != nil {
		t.Fatalf("after DeleteBucket foo: %v", all)
	}
	tsMax := ts.Add(time.Hour)
	must(t, s.SetAttribute(ctx, "o", "fo", "z", json.RawMessage(`1`), &tsMax, 0))
	bt, err := s.BucketTimestamps(ctx, "o")
	must(t, err)
	if !bt["fo"].Equal(tsMax) || !bt["foobar"].Equal(ts) {
		t.Fatalf("bucket timestamps %v", bt)
	}
	// Chain revocation: exact bucket, chain_id string or number text.
	must(t, s.SetAttribute(ctx, "o", "rt", "1", json.RawMessage(`{"chain_id": "c-1"}`), nil, 0))
	must(t, s.SetAttribute(ctx, "o", "rt", "2", json.RawMessage(`{"chain_id": "c-2"}`), nil, 0))
	must(t, s.SetAttribute(ctx, "o", "rtx", "3", json.RawMessage(`{"chain_id": "c-1"}`), nil, 0))
	n, err := s.DeleteAttributesByChain(ctx, "o", []string{"rt"}, "c-1")
	must(t, err)
	if n != 1 {
		t.Fatalf("DeleteAttributesByChain deleted %d", n)
	}
	if _, err := s.GetAttribute(ctx, "o", "rtx", "3"); err != nil {
		t.Fatalf("chain delete touched another bucket: %v", err)
	}
	// Expiry purge: only rows with ttl_timestamp < now, only listed buckets.
	must(t, s.SetAttribute(ctx, "o", "tmp", "a", json.RawMessage(`"v"`), nil, time.Second))
	must(t, s.SetAttribute(ctx, "o", "tmp2", "a", json.RawMessage(`"v"`), nil, time.Second))
	future := time.Now().Add(2 * time.Hour)
	n, err = s.DeleteExpiredAttributes(ctx, future, []string{"tmp"})
	must(t, err)
	if n != 1 {
		t.Fatalf("DeleteExpiredAttributes deleted %d, want 1", n)
	}
	if a, err := s.GetAttribute(ctx, "o", "tmp2", "a"); err != nil || a.TTLTimestamp == nil {
		t.Fatalf("tmp2 row: %+v %v", a, err)
	} else if exp := time.Now().Unix() + 1 + actingweb.TTLClockSkewBuffer; *a.TTLTimestamp < exp-5 || *a.TTLTimestamp > exp+5 {
		t.Fatalf("ttl_timestamp %d, want about %d", *a.TTLTimestamp, exp)
	}
	if _, err := s.GetAttributeStrict(ctx, "o", "tmp2", "a"); err != nil {
		t.Fatalf("strict read of unexpired row: %v", err)
	}
	must(t, s.DeleteAllAttributes(ctx, "o"))
	all, err = s.ListAttributes(ctx, "o")
	must(t, err)
	if len(all) != 0 {
		t.Fatalf("after DeleteAllAttributes: %v", all)
	}
}

func TestAppConditionalAttributeFalsy(t *testing.T) {
	s := appStore(t)
	ctx := context.Background()
	ts := time.Date(2025, 1, 15, 10, 30, 0, 0, time.UTC)
	must(t, s.SetAttribute(ctx, "o", "b", "n", json.RawMessage(`{"a": 1, "b": [true]}`), &ts, time.Hour))
	before, err := s.GetAttribute(ctx, "o", "b", "n")
	must(t, err)
	steps := []struct {
		old, new string
		want     bool
	}{
		{`{"b":[true],"a":1.0}`, `0`, true}, // key order and number form irrelevant
		{`1`, `false`, false},
		{`0`, `false`, true},
		{`false`, `""`, true},
		{`""`, `[]`, true},
		{`[]`, `{}`, true},
		{`{}`, `null`, true},
		{`null`, `{"é": "ü"}`, true},
		{`{"é": "ü"}`, `"done"`, true},
		{`"other"`, `1`, false},
	}
	cur := ""
	for i, st := range steps {
		ok, err := s.ConditionalUpdateAttribute(ctx, "o", "b", "n", json.RawMessage(st.old), json.RawMessage(st.new), nil)
		must(t, err)
		if ok != st.want {
			t.Fatalf("step %d %s -> %s: %v, want %v", i, st.old, st.new, ok, st.want)
		}
		if ok {
			cur = st.new
		}
		a, err := s.GetAttribute(ctx, "o", "b", "n")
		must(t, err)
		wantData := cur
		if cur == "null" {
			wantData = ""
		}
		if c1, c2 := canon(t, a.Data), canon(t, json.RawMessage(wantData)); c1 != c2 {
			t.Fatalf("step %d: stored %s, want %s", i, a.Data, wantData)
		}
		if a.Timestamp == nil || !a.Timestamp.Equal(ts) || a.TTLTimestamp == nil || *a.TTLTimestamp != *before.TTLTimestamp {
			t.Fatalf("step %d: timestamp/ttl changed: %v %v", i, a.Timestamp, a.TTLTimestamp)
		}
	}
	ts2 := ts.Add(time.Minute)
	ok, err := s.ConditionalUpdateAttribute(ctx, "o", "b", "n", json.RawMessage(`"done"`), json.RawMessage(`2`), &ts2)
	must(t, err)
	a, err := s.GetAttribute(ctx, "o", "b", "n")
	must(t, err)
	if !ok || a.Timestamp == nil || !a.Timestamp.Equal(ts2) {
		t.Fatalf("update with timestamp: %v %v", ok, a.Timestamp)
	}
	if ok, err := s.ConditionalUpdateAttribute(ctx, "o", "b", "missing", json.RawMessage(`null`), json.RawMessage(`1`), nil); err != nil || ok {
		t.Fatalf("conditional update of missing row: %v %v", ok, err)
	}
	// Falsy SetAttribute deletes; conditional delete is single-use.
	must(t, s.SetAttribute(ctx, "o", "b", "n", json.RawMessage(`0`), nil, 0))
	if _, err := s.GetAttribute(ctx, "o", "b", "n"); !errors.Is(err, actingweb.ErrNotFound) {
		t.Fatalf("falsy set did not delete: %v", err)
	}
	must(t, s.SetAttribute(ctx, "o", "b", "once", json.RawMessage(`"t"`), nil, 0))
	if ok, err := s.DeleteAttributeConditional(ctx, "o", "b", "once"); err != nil || !ok {
		t.Fatalf("first conditional delete: %v %v", ok, err)
	}
	if ok, err := s.DeleteAttributeConditional(ctx, "o", "b", "once"); err != nil || ok {
		t.Fatalf("second conditional delete: %v %v", ok, err)
	}
}

func canon(t *testing.T, d json.RawMessage) string {
	t.Helper()
	if len(d) == 0 {
		return ""
	}
	c, err := actingweb.CanonicalJSON(d)
	must(t, err)
	return string(c)
}

func TestAppTrustRecreateKeepsCreatedAt(t *testing.T) {
	s := appStore(t)
	ctx := context.Background()
	t0 := time.Date(2024, 3, 1, 12, 0, 0, 123456000, time.UTC)
	client := "app"
	via := "OAuth2_interactive"
	must(t, s.CreateTrust(ctx, actingweb.Trust{ID: "a", PeerID: "p", BaseURI: "u1", Type: "t", Relationship: "friend",
		Secret: "s1", CreatedAt: &t0, ClientName: &client, EstablishedVia: &via}))
	tr, err := s.GetTrust(ctx, "a", "p")
	must(t, err)
	if tr.LastConnectedVia == nil || *tr.LastConnectedVia != "oauth" || !tr.LastAccessed.Equal(t0) {
		t.Fatalf("defaults: via %v last_accessed %v", tr.LastConnectedVia, tr.LastAccessed)
	}
	must(t, s.CreateTrust(ctx, actingweb.Trust{ID: "a", PeerID: "p", BaseURI: "u2", Type: "t", Relationship: "admin", Secret: "s2"}))
	tr, err = s.GetTrust(ctx, "a", "p")
	must(t, err)
	if tr.CreatedAt == nil || !tr.CreatedAt.Equal(t0) {
		t.Fatalf("created_at %v, want %v", tr.CreatedAt, t0)
	}
	if tr.BaseURI != "u2" || tr.Relationship != "admin" || tr.Secret != "s2" || tr.ClientName != nil || tr.EstablishedVia != nil {
		t.Fatalf("re-create did not replace the trust: %+v", tr)
	}
	if tr.LastAccessed == nil || !tr.LastAccessed.After(t0) {
		t.Fatalf("last_accessed %v", tr.LastAccessed)
	}
	if ok, err := s.IsTokenInDB(ctx, "a", "s2"); err != nil || !ok {
		t.Fatalf("IsTokenInDB new secret: %v %v", ok, err)
	}
	if ok, err := s.IsTokenInDB(ctx, "a", "s1"); err != nil || ok {
		t.Fatalf("IsTokenInDB old secret: %v %v", ok, err)
	}
	if got, err := s.GetTrustBySecret(ctx, "a", "s2"); err != nil || got.PeerID != "p" {
		t.Fatalf("GetTrustBySecret: %v %v", got.PeerID, err)
	}
	yes, empty := true, ""
	must(t, s.ModifyTrust(ctx, "a", "p", actingweb.TrustUpdate{Approved: &yes, BaseURI: &empty, LastConnectedVia: &via}))
	tr, err = s.GetTrust(ctx, "a", "p")
	must(t, err)
	if !tr.Approved || tr.BaseURI != "u2" || tr.LastConnectedVia == nil || *tr.LastConnectedVia != "oauth" {
		t.Fatalf("after modify: %+v", tr)
	}
	if err := s.ModifyTrust(ctx, "a", "nosuch", actingweb.TrustUpdate{Approved: &yes}); !errors.Is(err, actingweb.ErrNotFound) {
		t.Fatalf("modify missing trust: %v", err)
	}
	if err := s.CreateTrust(ctx, actingweb.Trust{ID: "a", PeerID: "q"}); !errors.Is(err, actingweb.ErrInvalid) {
		t.Fatalf("trust without secret: %v", err)
	}
}

func TestAppCreatesAndSuspensions(t *testing.T) {
	s := appStore(t)
	ctx := context.Background()
	must(t, s.CreateActor(ctx, actingweb.Actor{ID: "a", Creator: "Me@X.org", Passphrase: "pw"}))
	if err := s.CreateActor(ctx, actingweb.Actor{ID: "a", Creator: "c", Passphrase: "pw"}); !errors.Is(err, actingweb.ErrExists) {
		t.Fatalf("duplicate actor: %v", err)
	}
	if as, err := s.GetActorsByCreator(ctx, "ME@x.org"); err != nil || len(as) != 1 || as[0].Creator != "me@x.org" {
		t.Fatalf("by creator: %v %v", as, err)
	}
	must(t, s.CreatePeerTrustee(ctx, actingweb.PeerTrustee{ID: "a", PeerID: "p", Type: "t", BaseURI: "u", Passphrase: "pp"}))
	if err := s.CreatePeerTrustee(ctx, actingweb.PeerTrustee{ID: "a", PeerID: "p", Type: "t"}); !errors.Is(err, actingweb.ErrExists) {
		t.Fatalf("duplicate peer trustee: %v", err)
	}
	must(t, s.CreatePeerTrustee(ctx, actingweb.PeerTrustee{ID: "a", PeerID: "p2", Type: "t"}))
	if _, err := s.GetPeerTrusteeByType(ctx, "a", "t"); !errors.Is(err, actingweb.ErrAmbiguous) {
		t.Fatalf("ambiguous type: %v", err)
	}
	must(t, s.CreateSubscription(ctx, actingweb.Subscription{ID: "a", PeerID: "p", SubID: "s"}))
	if err := s.CreateSubscription(ctx, actingweb.Subscription{ID: "a", PeerID: "p", SubID: "s"}); !errors.Is(err, actingweb.ErrExists) {
		t.Fatalf("duplicate subscription: %v", err)
	}

	cases := []struct {
		do           string
		target, sub  string
		want         bool
		checkT, chkS string
		suspended    bool
	}{
		{"suspend", "props", "email", true, "props", "", false},
		{"check", "", "", false, "props", "email", true},
		{"check", "", "", false, "props", "emailx", false},
		{"suspend", "props", "", true, "props", "other", true},
		{"suspend", "props", "", false, "props", "", true},
		{"resume", "props", "", true, "props", "email", true},
		{"resume", "props", "", false, "props", "", false},
		// target "x:y" collides with target x, subtarget y on DynamoDB.
		{"suspend", "x:y", "", true, "x", "y", false},
		{"suspend", "x", "y", false, "x:y", "", true},
		{"resume", "x", "y", false, "x:y", "", true},
	}
	for i, c := range cases {
		var got bool
		var err error
		switch c.do {
		case "suspend":
			got, err = s.Suspend(ctx, "a", c.target, c.sub)
		case "resume":
			got, err = s.Resume(ctx, "a", c.target, c.sub)
		}
		must(t, err)
		if c.do != "check" && got != c.want {
			t.Fatalf("case %d %s %s/%s: %v, want %v", i, c.do, c.target, c.sub, got, c.want)
		}
		is, err := s.IsSuspended(ctx, "a", c.checkT, c.chkS)
		must(t, err)
		if is != c.suspended {
			t.Fatalf("case %d: IsSuspended(%s, %s) = %v, want %v", i, c.checkT, c.chkS, is, c.suspended)
		}
	}
	ls, err := s.ListSuspensions(ctx, "a")
	must(t, err)
	if len(ls) != 2 || ls[0].Target != "props" || ls[0].Subtarget != "email" || ls[1].Target != "x:y" {
		t.Fatalf("ListSuspensions: %+v", ls)
	}
	must(t, actingweb.DeleteActorCascade(ctx, s, "a", time.Now()))
	ls, err = s.ListSuspensions(ctx, "a")
	must(t, err)
	ps, err := s.ListPeerTrustees(ctx, "a")
	must(t, err)
	subs, err := s.ListSubscriptions(ctx, "a")
	must(t, err)
	if len(ls)+len(ps)+len(subs) != 0 {
		t.Fatalf("cascade left %d suspensions, %d peer trustees, %d subscriptions", len(ls), len(ps), len(subs))
	}
	if _, err := s.GetAttribute(ctx, actingweb.ReservedOwnerPrefix+"deleted", "_deleted_actors", "a"); err != nil {
		t.Fatalf("tombstone: %v", err)
	}
}
