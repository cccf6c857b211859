package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// scanAll collects every record and reject of t (consistent reads).
func scanAll(t testing.TB, s *Store, table actingweb.Table, opts bulk.ScanOptions) ([]actingweb.Record, []bulk.Reject) {
	t.Helper()
	opts.Consistent = true
	var recs []actingweb.Record
	var rejects []bulk.Reject
	err := s.Scan(context.Background(), table, opts, func(p bulk.Page) error {
		recs = append(recs, p.Records...)
		rejects = append(rejects, p.Rejects...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs, rejects
}

func byKey(t testing.TB, recs []actingweb.Record) map[string]actingweb.Record {
	t.Helper()
	m := map[string]actingweb.Record{}
	for _, r := range recs {
		if _, dup := m[r.Key()]; dup {
			t.Fatalf("duplicate key %s", actingweb.KeyString(r.Key()))
		}
		m[r.Key()] = r
	}
	return m
}

// TestTableRoundTripFixture writes every fixture table through WriteBatch and reads it back
// through Scan: same rows, equal canonical records, Count agrees; the physical items equal the
// fixture's wire lines.
func TestTableRoundTripFixture(t *testing.T) {
	s := openTestStore(t, true)
	ctx := context.Background()
	// DynamoDB Local sweeps expired rows once TTL is on; the fixture's TTLs are in the past.
	if _, err := s.client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(s.TableName(actingweb.TableAttributes)),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(ttlAttribute), Enabled: aws.Bool(false)},
	}); err != nil {
		t.Fatalf("disable TTL: %v", err)
	}
	for _, table := range actingweb.Tables {
		want := fixtureRecords(t, table)
		res, err := s.WriteBatch(ctx, table, want, bulk.ConflictFail)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if res.Written != len(want) || res.Skipped != 0 || len(res.Rejects) != 0 {
			t.Fatalf("%s: %+v", table, res)
		}
		got, rejects := scanAll(t, s, table, bulk.ScanOptions{PageSize: 100})
		if len(rejects) != 0 {
			t.Fatalf("%s: rejects %+v", table, rejects)
		}
		gm := byKey(t, got)
		if len(gm) != len(want) {
			t.Fatalf("%s: scanned %d rows, wrote %d", table, len(gm), len(want))
		}
		for _, w := range want {
			g, ok := gm[w.Key()]
			if !ok {
				t.Errorf("%s: %s missing", table, actingweb.KeyString(w.Key()))
				continue
			}
			if d := actingweb.CompareRecords(w, g); len(d) != 0 {
				t.Errorf("%s %s: %+v", table, actingweb.KeyString(w.Key()), d)
			}
		}
		n, err := s.Count(ctx, table)
		if err != nil || n != int64(len(want)) {
			t.Errorf("%s: Count = %d, %v; want %d", table, n, err, len(want))
		}
		// Physical items equal upstream's, byte for byte.
		lines := fixtureItems(t, table)
		wantLines := map[string]bool{}
		for _, l := range lines {
			wantLines[string(l)] = true
		}
		p := dynamodb.NewScanPaginator(s.client, &dynamodb.ScanInput{TableName: aws.String(s.TableName(table)), ConsistentRead: aws.Bool(true)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range out.Items {
				w, _ := MarshalWireItem(it)
				if !wantLines[string(w)] {
					t.Errorf("%s: stored item not in fixture: %s", table, w)
				}
			}
		}
	}
}

func propertyRecs(n int, owner string) []actingweb.Record {
	recs := make([]actingweb.Record, n)
	for i := range recs {
		recs[i] = &actingweb.Property{ID: fmt.Sprintf("%s%03d", owner, i%7), Name: fmt.Sprintf("p%04d", i), Value: fmt.Sprint(i)}
	}
	return recs
}

func TestScanCursorResumeAndSegments(t *testing.T) {
	s := openTestStore(t, true)
	ctx := context.Background()
	recs := propertyRecs(230, "a")
	if _, err := s.WriteBatch(ctx, actingweb.TableProperties, recs, bulk.ConflictOverwrite); err != nil {
		t.Fatal(err)
	}
	// Stop after two pages, resume from the cursor of the second.
	var first []actingweb.Record
	var cursor string
	stop := errors.New("stop")
	pages := 0
	err := s.Scan(ctx, actingweb.TableProperties, bulk.ScanOptions{PageSize: 40, Consistent: true}, func(p bulk.Page) error {
		first = append(first, p.Records...)
		cursor = p.Cursor
		if pages++; pages == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || len(first) != 80 || cursor == "" {
		t.Fatalf("first part: err %v, %d rows, cursor %q", err, len(first), cursor)
	}
	rest, _ := scanAll(t, s, actingweb.TableProperties, bulk.ScanOptions{PageSize: 40, Cursor: cursor})
	all := byKey(t, append(first, rest...)) // fails on duplicates
	if len(all) != len(recs) {
		t.Fatalf("resumed scan: %d distinct rows, want %d", len(all), len(recs))
	}
	if err := s.Scan(ctx, actingweb.TableProperties, bulk.ScanOptions{Cursor: "{not json"}, func(bulk.Page) error { return nil }); err == nil {
		t.Error("bad cursor accepted")
	}

	// Segments: disjoint and complete.
	seen := map[string]int{}
	for seg := 0; seg < 3; seg++ {
		got, _ := scanAll(t, s, actingweb.TableProperties, bulk.ScanOptions{Segment: seg, TotalSegments: 3, PageSize: 30})
		for _, r := range got {
			seen[r.Key()]++
		}
	}
	if len(seen) != len(recs) {
		t.Errorf("segments cover %d rows, want %d", len(seen), len(recs))
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("row %s in %d segments", actingweb.KeyString(k), n)
		}
	}
}

func TestScanRejectsBadItems(t *testing.T) {
	s := openTestStore(t, true)
	ctx := context.Background()
	bad, err := ParseWireItem([]byte(`{"id":{"S":"a"},"bucket_name":{"S":"b:n"},"bucket":{"S":"b"},"name":{"S":"n"},"data":{"S":"{\"x\": NaN}"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.TableName(actingweb.TableAttributes)), Item: bad}); err != nil {
		t.Fatal(err)
	}
	good := &actingweb.Attribute{ID: "a", BucketName: "b:m", Bucket: "b", Name: "m", Data: []byte(`{"x": 1}`)}
	if _, err := s.WriteBatch(ctx, actingweb.TableAttributes, []actingweb.Record{good}, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	recs, rejects := scanAll(t, s, actingweb.TableAttributes, bulk.ScanOptions{})
	if len(recs) != 1 || len(rejects) != 1 {
		t.Fatalf("records %d rejects %d", len(recs), len(rejects))
	}
	r := rejects[0]
	if r.Key != "a"+actingweb.KeySep+"b:n" || !strings.Contains(r.Reason, "NaN") || !strings.Contains(r.Raw, `NaN`) || r.Record != nil {
		t.Errorf("reject: %+v", r)
	}
}

func TestWriteBatchPolicies(t *testing.T) {
	s := openTestStore(t, true)
	ctx := context.Background()
	p := func(id, name, v string) actingweb.Record { return &actingweb.Property{ID: id, Name: name, Value: v} }
	if _, err := s.WriteBatch(ctx, actingweb.TableProperties, []actingweb.Record{p("a", "x", "old")}, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	value := func(name string) string {
		recs, _ := scanAll(t, s, actingweb.TableProperties, bulk.ScanOptions{})
		for _, r := range recs {
			if r.(*actingweb.Property).Name == name {
				return r.(*actingweb.Property).Value
			}
		}
		return "<absent>"
	}

	// fail: an existing key refuses the whole batch, naming the key.
	_, err := s.WriteBatch(ctx, actingweb.TableProperties, []actingweb.Record{p("a", "y", "1"), p("a", "x", "new")}, bulk.ConflictFail)
	if !errors.Is(err, actingweb.ErrConflict) || !strings.Contains(err.Error(), "a / x") {
		t.Fatalf("fail policy: %v", err)
	}
	if value("y") != "<absent>" || value("x") != "old" {
		t.Fatal("fail policy wrote something")
	}
	// fail: a key twice in one batch.
	if _, err := s.WriteBatch(ctx, actingweb.TableProperties, []actingweb.Record{p("a", "z", "1"), p("a", "z", "2")}, bulk.ConflictFail); !errors.Is(err, actingweb.ErrConflict) {
		t.Fatalf("fail policy duplicate: %v", err)
	}

	// skip: existing kept, in-batch duplicate: first kept.
	res, err := s.WriteBatch(ctx, actingweb.TableProperties, []actingweb.Record{p("a", "x", "new"), p("a", "y", "1"), p("a", "y", "2")}, bulk.ConflictSkip)
	if err != nil || res.Written != 1 || res.Skipped != 2 {
		t.Fatalf("skip: %+v %v", res, err)
	}
	if value("x") != "old" || value("y") != "1" {
		t.Fatalf("skip: x=%s y=%s", value("x"), value("y"))
	}

	// overwrite: existing replaced, in-batch duplicate: last kept.
	res, err = s.WriteBatch(ctx, actingweb.TableProperties, []actingweb.Record{p("a", "x", "new"), p("a", "y", "3"), p("a", "y", "4")}, bulk.ConflictOverwrite)
	if err != nil || res.Written != 2 || res.Skipped != 0 {
		t.Fatalf("overwrite: %+v %v", res, err)
	}
	if value("x") != "new" || value("y") != "4" {
		t.Fatalf("overwrite: x=%s y=%s", value("x"), value("y"))
	}

	// Suspensions that collide on target_key are one physical row.
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	sus := []actingweb.Record{
		&actingweb.SubscriptionSuspension{ID: "a", Target: "t:u", SuspendedAt: at},
		&actingweb.SubscriptionSuspension{ID: "a", Target: "t", Subtarget: "u", SuspendedAt: at},
	}
	if _, err := s.WriteBatch(ctx, actingweb.TableSubscriptionSuspensions, sus, bulk.ConflictFail); !errors.Is(err, actingweb.ErrConflict) {
		t.Fatalf("target_key collision under fail: %v", err)
	}
	res, err = s.WriteBatch(ctx, actingweb.TableSubscriptionSuspensions, sus, bulk.ConflictSkip)
	if err != nil || res.Written != 1 || res.Skipped != 1 {
		t.Fatalf("target_key collision under skip: %+v %v", res, err)
	}
}

func TestWriteBatchRejects(t *testing.T) {
	s := openTestStore(t, true)
	ctx := context.Background()
	tests := []struct {
		table  actingweb.Table
		rec    actingweb.Record
		reason string
	}{
		{actingweb.TableProperties, &actingweb.Property{ID: "a", Name: "big", Value: strings.Repeat("x", MaxItemSize)}, "400 KB"},
		{actingweb.TableProperties, &actingweb.Property{ID: "a", Name: strings.Repeat("n", 1025), Value: "v"}, "range key name is 1025 bytes"},
		{actingweb.TableProperties, &actingweb.Property{ID: strings.Repeat("i", 2049), Name: "n", Value: "v"}, "hash key id is 2049 bytes"},
		{actingweb.TableProperties, &actingweb.Property{ID: "a", Name: "", Value: "v"}, "range key name is empty"},
		{actingweb.TableActors, &actingweb.Actor{ID: "a", Creator: "", Passphrase: "p"}, "creator-index key creator is empty"},
		{actingweb.TableTrusts, &actingweb.Trust{ID: "a", PeerID: "p", Secret: ""}, "secret-index key secret is empty"},
		{actingweb.TableAttributes, &actingweb.Attribute{ID: "a", BucketName: "b:n", Data: []byte(`NaN`)}, "NaN"},
		{actingweb.TableProperties, &actingweb.Actor{ID: "a", Creator: "c"}, "a actors record"},
	}
	for _, tc := range tests {
		ok := map[actingweb.Table]actingweb.Record{
			actingweb.TableProperties: &actingweb.Property{ID: "ok", Name: "n", Value: "v"},
			actingweb.TableActors:     &actingweb.Actor{ID: "ok", Creator: "c", Passphrase: "p"},
			actingweb.TableTrusts:     &actingweb.Trust{ID: "ok", PeerID: "p", Secret: "s"},
			actingweb.TableAttributes: &actingweb.Attribute{ID: "ok", BucketName: "b:n"},
		}[tc.table]
		res, err := s.WriteBatch(ctx, tc.table, []actingweb.Record{tc.rec, ok}, bulk.ConflictOverwrite)
		if err != nil {
			t.Fatalf("%s: %v", tc.reason, err)
		}
		if res.Written != 1 || len(res.Rejects) != 1 || !strings.Contains(res.Rejects[0].Reason, tc.reason) || res.Rejects[0].Record != tc.rec {
			t.Errorf("%s: %+v", tc.reason, res)
		}
	}
	// Just under the limit is accepted: item = names + values.
	name := "fits"
	n := MaxItemSize - len("id") - 1 - len("name") - len(name) - len("value")
	res, err := s.WriteBatch(ctx, actingweb.TableProperties, []actingweb.Record{&actingweb.Property{ID: "a", Name: name, Value: strings.Repeat("x", n)}}, bulk.ConflictOverwrite)
	if err != nil || res.Written != 1 {
		t.Fatalf("item of exactly 400 KB: %+v %v", res, err)
	}
}

func TestRebuildPropertyLookup(t *testing.T) {
	s := openTestStore(t, true)
	ctx := context.Background()
	actors := []actingweb.Record{
		&actingweb.Actor{ID: "a1", Creator: "c", Passphrase: "p"},
		&actingweb.Actor{ID: "a2", Creator: "c", Passphrase: "p"},
	}
	if _, err := s.WriteBatch(ctx, actingweb.TableActors, actors, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	props := []actingweb.Record{
		&actingweb.Property{ID: "a1", Name: "email", Value: "same@example.com"},
		&actingweb.Property{ID: "a2", Name: "email", Value: "same@example.com"}, // collision with a1
		&actingweb.Property{ID: "a2", Name: "oauthId", Value: "o2"},
		&actingweb.Property{ID: "a2", Name: "color", Value: "blue"},                  // not indexed
		&actingweb.Property{ID: "a2", Name: "list:email", Value: "x"},                // list row
		&actingweb.Property{ID: "ghost", Name: "externalUserId", Value: "secretval"}, // orphan
	}
	if _, err := s.WriteBatch(ctx, actingweb.TableProperties, props, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	names := []string{"email", "oauthId", "externalUserId", "list:email"}
	res, err := s.RebuildPropertyLookup(ctx, names)
	if err != nil {
		t.Fatal(err)
	}
	if res.Scanned != 4 || res.Written != 3 || res.Collisions != 1 || res.Existing != 0 || res.Orphans != 1 {
		t.Fatalf("first rebuild: %+v", res)
	}
	for _, smp := range res.Samples {
		if strings.Contains(smp, "same@example.com") || strings.Contains(smp, "secretval") {
			t.Errorf("sample shows a value: %q", smp)
		}
	}
	joined := strings.Join(res.Samples, "\n")
	if !strings.Contains(joined, "email / ") || !strings.Contains(joined, "externalUserId / ghost") {
		t.Errorf("samples: %q", res.Samples)
	}
	recs, _ := scanAll(t, s, actingweb.TablePropertyLookup, bulk.ScanOptions{})
	got := map[string]string{}
	for _, r := range recs {
		l := r.(*actingweb.PropertyLookup)
		if l.Value != nil {
			t.Errorf("lookup read from DynamoDB has a value")
		}
		got[l.LookupKey] = l.ActorID
	}
	if len(got) != 3 || got[actingweb.LookupKey("oauthId", "o2")] != "a2" || got[actingweb.LookupKey("externalUserId", "secretval")] != "ghost" {
		t.Errorf("lookup rows: %v", got)
	}
	if owner := got[actingweb.LookupKey("email", "same@example.com")]; owner != "a1" && owner != "a2" {
		t.Errorf("email owner %q", owner)
	}
	// Idempotent: everything is Existing, except the collision.
	res, err = s.RebuildPropertyLookup(ctx, names)
	if err != nil || res.Written != 0 || res.Existing != 3 || res.Collisions != 1 {
		t.Fatalf("second rebuild: %+v %v", res, err)
	}
}

func TestBatchWriteContextEndAndMissingTable(t *testing.T) {
	s := openTestStore(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	reqs := make([]types.WriteRequest, 60)
	for i := range reqs {
		reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{"id": avS(fmt.Sprint(i))}}}
	}
	err := s.batchWrite(ctx, s.TableName(actingweb.TableActors), reqs)
	if err == nil || !strings.Contains(err.Error(), "of 60 items remain unwritten") || !errors.Is(err, context.Canceled) {
		t.Errorf("batchWrite on an ended context: %v", err)
	}
	// No tables: the table face says to run the schema upgrade.
	err = s.Scan(context.Background(), actingweb.TableActors, bulk.ScanOptions{}, func(bulk.Page) error { return nil })
	if !errors.Is(err, actingweb.ErrSchema) || !strings.Contains(err.Error(), "schema upgrade") {
		t.Errorf("scan of a missing table: %v", err)
	}
	if _, err := s.Count(context.Background(), actingweb.TableActors); !errors.Is(err, actingweb.ErrSchema) {
		t.Errorf("count of a missing table: %v", err)
	}
	if err := s.Scan(context.Background(), actingweb.Table("nope"), bulk.ScanOptions{}, nil); !errors.Is(err, actingweb.ErrUnknownTable) {
		t.Errorf("scan of an unknown table: %v", err)
	}
}

// TestScanSplit: the split follows the table's item count (ScanSplitItems a segment), unless
// fixed by Config.ScanSplit; 1 when not sized, for an empty table and for a missing one.
func TestScanSplit(t *testing.T) {
	s := openTestStore(t, true)
	ctx := context.Background()
	n := 2*ScanSplitItems + 100
	recs := make([]actingweb.Record, n)
	for i := range recs {
		recs[i] = &actingweb.Property{ID: fmt.Sprintf("a%03d", i%97), Name: fmt.Sprintf("p%05d", i), Value: "v"}
	}
	if _, err := s.WriteBatch(ctx, actingweb.TableProperties, recs, bulk.ConflictOverwrite); err != nil {
		t.Fatal(err)
	}
	fixed := *s
	fixed.cfg.ScanSplit = 5
	missing := *s
	missing.prefix = s.prefix + "_none"
	for _, c := range []struct {
		name     string
		s        *Store
		table    actingweb.Table
		scanners int
		sized    bool
		want     int
	}{
		{"one scanner", s, actingweb.TableProperties, 1, true, 3},
		{"two scanners", s, actingweb.TableProperties, 2, true, 2},
		{"three scanners", s, actingweb.TableProperties, 3, true, 1},
		{"not sized", s, actingweb.TableProperties, 1, false, 1},
		{"empty table", s, actingweb.TableTrusts, 1, true, 1},
		{"fixed", &fixed, actingweb.TableProperties, 1, true, 5},
		{"fixed, not sized", &fixed, actingweb.TableTrusts, 1, false, 5},
		{"fixed, within DynamoDB's 1,000,000 segments", &fixed, actingweb.TableTrusts, 300_000, false, 3},
		{"missing table", &missing, actingweb.TableProperties, 1, true, 1},
	} {
		if got := c.s.ScanSplit(ctx, c.table, c.scanners, c.sized); got != c.want {
			t.Errorf("%s: ScanSplit(%s, %d scanners, sized %v) = %d, want %d", c.name, c.table, c.scanners, c.sized, got, c.want)
		}
	}
	// Count reads countSegments × ScanSplit segments: sized (1 × 4 here) and fixed (5 × 4)
	for _, st := range []*Store{s, &fixed} {
		if got, err := st.Count(ctx, actingweb.TableProperties); err != nil || got != int64(n) {
			t.Errorf("Count with split %d: %d, %v; want %d", st.ScanSplit(ctx, actingweb.TableProperties, countSegments, true), got, err, n)
		}
	}
}
