package postgres_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/postgres"
	"github.com/jackc/pgx/v5"
)

func sp(s string) *string { return &s }
func i64(v int64) *int64  { return &v }
func tp(s string) *time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// sampleRecords returns records of every table, with NULLs, falsy payloads, non-UTC times
// and keys that disagree with their parts.
func sampleRecords() map[actingweb.Table][]actingweb.Record {
	berlin := time.FixedZone("CEST", 2*3600)
	ts := time.Date(2025, 6, 1, 10, 30, 0, 123456000, berlin)
	lk := actingweb.NewPropertyLookup("email", "a@example.com", "a1")
	return map[actingweb.Table][]actingweb.Record{
		actingweb.TableActors: {
			&actingweb.Actor{ID: "a1", Creator: "a@example.com", Passphrase: "pw1", CreatedAt: tp("2025-06-01T08:00:00.000001Z")},
			&actingweb.Actor{ID: "a2", Creator: "creator", Passphrase: "pw2"},
			&actingweb.Actor{ID: "ä-ünïcødé-" + strings.Repeat("x", 245), Creator: strings.Repeat("é", 255), Passphrase: ""},
		},
		actingweb.TableProperties: {
			&actingweb.Property{ID: "a1", Name: "email", Value: "a@example.com"},
			&actingweb.Property{ID: "a1", Name: "list:" + strings.Repeat("n", 400), Value: `{"x": [1, 2.50]}`},
			&actingweb.Property{ID: "a2", Name: "Email", Value: ""},
		},
		actingweb.TablePropertyLookup: {&lk},
		actingweb.TableAttributes: {
			&actingweb.Attribute{ID: "a1", BucketName: "b:n", Bucket: "b", Name: "n", Data: json.RawMessage(`{"b": 1, "a": [true, null]}`), Timestamp: &ts, TTLTimestamp: i64(1750000000)},
			&actingweb.Attribute{ID: "a1", BucketName: "b:zero", Bucket: "b", Name: "zero", Data: json.RawMessage(`0`)},
			&actingweb.Attribute{ID: "a1", BucketName: "b:false", Bucket: "b", Name: "false", Data: json.RawMessage(`false`)},
			&actingweb.Attribute{ID: "a1", BucketName: "b:empty", Bucket: "b", Name: "empty", Data: json.RawMessage(`""`)},
			&actingweb.Attribute{ID: "a1", BucketName: "b:list", Bucket: "b", Name: "list", Data: json.RawMessage(`[]`)},
			&actingweb.Attribute{ID: "a1", BucketName: "b:obj", Bucket: "b", Name: "obj", Data: json.RawMessage(`{}`)},
			&actingweb.Attribute{ID: "a1", BucketName: "b:none", Bucket: "b", Name: "none"},
			&actingweb.Attribute{ID: "_actingweb_system", BucketName: "x:oauth_tokens:peer", Bucket: "x", Name: "oauth_tokens:peer", Data: json.RawMessage(`"\ud83d\ude00 \\u0000"`)},
			&actingweb.Attribute{ID: "a2", BucketName: "drift:key", Bucket: "other", Name: "name"},
		},
		actingweb.TableTrusts: {
			&actingweb.Trust{ID: "a1", PeerID: "p1", BaseURI: "https://peer/p1", Type: "urn:x", Relationship: "friend", Secret: "s3cr3t",
				Approved: true, PeerApproved: false, Verified: true, VerificationToken: sp("vt"), PeerIdentifier: sp("pi"),
				EstablishedVia: sp("oauth"), CreatedAt: &ts, LastAccessed: tp("2025-06-02T00:00:00Z"), LastConnectedVia: sp("Trust"),
				ClientName: sp("cn"), ClientVersion: sp("1"), ClientPlatform: sp("Mozilla"), OAuthClientID: sp("oc"),
				AWSupported: sp("a,b"), AWVersion: sp(strings.Repeat("9", 50)), CapabilitiesFetchedAt: &ts, Desc: sp("")},
			&actingweb.Trust{ID: "a1", PeerID: "p2", BaseURI: "", Type: "", Relationship: "", Secret: ""},
		},
		actingweb.TablePeerTrustees: {
			&actingweb.PeerTrustee{ID: "a1", PeerID: "p1", BaseURI: "https://x", Type: "t", Passphrase: "pp"},
		},
		actingweb.TableSubscriptions: {
			&actingweb.Subscription{ID: "a1", PeerSubID: "p1:s1", PeerID: "p1", SubID: "s1", Granularity: sp("high"), Target: sp("properties"),
				Subtarget: sp(""), Resource: sp("r"), Seqnr: 2147483647, Callback: true},
			&actingweb.Subscription{ID: "a1", PeerSubID: "p1:old", PeerID: "p9", SubID: "new", Seqnr: -5},
		},
		actingweb.TableSubscriptionDiffs: {
			&actingweb.SubscriptionDiff{ID: "a1", SubIDSeqnr: "s1:1", SubID: "s1", Timestamp: ts, Diff: `{"k": "v"}`, Seqnr: 1},
			&actingweb.SubscriptionDiff{ID: "a1", SubIDSeqnr: "s1:10", SubID: "s1", Timestamp: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Diff: "", Seqnr: 10},
		},
		actingweb.TableSubscriptionSuspensions: {
			&actingweb.SubscriptionSuspension{ID: "a1", Target: "properties", Subtarget: "", SuspendedAt: ts},
			&actingweb.SubscriptionSuspension{ID: "a1", Target: "properties", Subtarget: "email", SuspendedAt: ts.Add(time.Second)},
			&actingweb.SubscriptionSuspension{ID: "a1", Target: "properties:email", Subtarget: "", SuspendedAt: ts},
		},
	}
}

func scanAll(t testing.TB, s *postgres.Store, tb actingweb.Table, opts bulk.ScanOptions) ([]actingweb.Record, int) {
	t.Helper()
	var out []actingweb.Record
	pages := 0
	err := s.Scan(coreCtx(t), tb, opts, func(p bulk.Page) error {
		pages++
		if len(p.Rejects) > 0 {
			t.Errorf("scan %s: rejects %v", tb, p.Rejects)
		}
		out = append(out, p.Records...)
		return nil
	})
	if err != nil {
		t.Fatalf("scan %s: %v", tb, err)
	}
	return out, pages
}

func byKey(recs []actingweb.Record) map[string]actingweb.Record {
	m := make(map[string]actingweb.Record, len(recs))
	for _, r := range recs {
		m[r.Key()] = r
	}
	return m
}

func TestTableRoundTrip(t *testing.T) {
	ctx := coreCtx(t)
	s, _ := coreHead(t)
	samples := sampleRecords()
	for _, tb := range actingweb.Tables { // actors first: the lookup row needs its actor
		recs := samples[tb]
		res, err := s.WriteBatch(ctx, tb, recs, bulk.ConflictFail)
		if err != nil {
			t.Fatalf("%s: %v", tb, err)
		}
		if res.Written != len(recs) || res.Skipped != 0 || len(res.Rejects) != 0 {
			t.Fatalf("%s: result %+v", tb, res)
		}
		if n, err := s.Count(ctx, tb); err != nil || n != int64(len(recs)) {
			t.Fatalf("%s: count %d, %v", tb, n, err)
		}
		got := byKey(mustScan(t, s, tb))
		if len(got) != len(recs) {
			t.Fatalf("%s: scanned %d rows, wrote %d", tb, len(got), len(recs))
		}
		for _, want := range recs {
			g, ok := got[want.Key()]
			if !ok {
				t.Errorf("%s: %s not scanned back", tb, actingweb.KeyString(want.Key()))
				continue
			}
			if d := actingweb.CompareRecords(want, g); len(d) > 0 {
				t.Errorf("%s %s: differs: %+v", tb, actingweb.KeyString(want.Key()), d)
			}
		}
	}
	// What Canonical ignores must survive too.
	a1 := byKey(mustScan(t, s, actingweb.TableActors))["a1"].(*actingweb.Actor)
	if a1.CreatedAt == nil || !a1.CreatedAt.Equal(*tp("2025-06-01T08:00:00.000001Z")) {
		t.Errorf("actors.created_at = %v", a1.CreatedAt)
	}
	lk := mustScan(t, s, actingweb.TablePropertyLookup)[0].(*actingweb.PropertyLookup)
	if lk.Value == nil || *lk.Value != "a@example.com" || lk.LookupKey != actingweb.LookupKey("email", "a@example.com") {
		t.Errorf("lookup row = %+v", lk)
	}
	// Naive UTC in timestamp columns (the session is UTC; a CEST time is stored as its UTC wall time).
	var wall string
	if err := s.Pool().QueryRow(ctx, `SELECT "timestamp"::text FROM `+pgx.Identifier{s.Schema(), "attributes"}.Sanitize()+` WHERE bucket_name = 'b:n'`).Scan(&wall); err != nil || wall != "2025-06-01 08:30:00.123456" {
		t.Errorf("attributes.timestamp stored as %q (%v), want UTC wall time 2025-06-01 08:30:00.123456", wall, err)
	}
	// Falsy payloads are data; absent stays NULL.
	attrs := byKey(mustScan(t, s, actingweb.TableAttributes))
	for name, want := range map[string]string{"zero": "0", "false": "false", "empty": `""`, "list": "[]", "obj": "{}"} {
		a := attrs["a1"+actingweb.KeySep+"b:"+name].(*actingweb.Attribute)
		if string(a.Data) != want {
			t.Errorf("payload %s = %q, want %q", name, a.Data, want)
		}
	}
	if a := attrs["a1"+actingweb.KeySep+"b:none"].(*actingweb.Attribute); a.Data != nil {
		t.Errorf("absent payload read back as %q", a.Data)
	}
}

func mustScan(t testing.TB, s *postgres.Store, tb actingweb.Table) []actingweb.Record {
	recs, _ := scanAll(t, s, tb, bulk.ScanOptions{})
	return recs
}

func TestWriteJSONNullIsSQLNull(t *testing.T) {
	ctx := coreCtx(t)
	s, _ := coreHead(t)
	rec := &actingweb.Attribute{ID: "a", BucketName: "b:n", Bucket: "b", Name: "n", Data: json.RawMessage(`null`)}
	if _, err := s.WriteBatch(ctx, actingweb.TableAttributes, []actingweb.Record{rec}, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	var isNull bool
	if err := s.Pool().QueryRow(ctx, `SELECT data IS NULL FROM `+pgx.Identifier{s.Schema(), "attributes"}.Sanitize()).Scan(&isNull); err != nil || !isNull {
		t.Fatalf("JSON null stored as non-NULL (%v)", err)
	}
}

func props(n int, owner func(i int) string) []actingweb.Record {
	out := make([]actingweb.Record, n)
	for i := range out {
		out[i] = &actingweb.Property{ID: owner(i), Name: fmt.Sprintf("name-%05d", i), Value: fmt.Sprintf("value %d", i)}
	}
	return out
}

func TestScanPagesAndCursor(t *testing.T) {
	ctx := coreCtx(t)
	s, _ := coreHead(t)
	recs := props(2500, func(i int) string { return fmt.Sprintf("actor-%02d", i%37) })
	if _, err := s.WriteBatch(ctx, actingweb.TableProperties, recs, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	// Full scan: 3 pages of 1000, 1000, 500; only the last has Last.
	var sizes []int
	var lasts []bool
	var cursors []string
	err := s.Scan(ctx, actingweb.TableProperties, bulk.ScanOptions{PageSize: 1000}, func(p bulk.Page) error {
		sizes = append(sizes, len(p.Records))
		lasts = append(lasts, p.Last)
		cursors = append(cursors, p.Cursor)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sizes, []int{1000, 1000, 500}) || !slices.Equal(lasts, []bool{false, false, true}) {
		t.Fatalf("pages %v last %v", sizes, lasts)
	}
	// Stop after the first page, resume from its cursor: every row exactly once, in order.
	stop := errors.New("stop")
	var first []actingweb.Record
	var cur string
	err = s.Scan(ctx, actingweb.TableProperties, bulk.ScanOptions{PageSize: 1000}, func(p bulk.Page) error {
		first, cur = p.Records, p.Cursor
		return stop
	})
	if !errors.Is(err, stop) {
		t.Fatalf("fn error not returned: %v", err)
	}
	if cur != cursors[0] || !json.Valid([]byte(cur)) {
		t.Fatalf("cursor %q vs %q", cur, cursors[0])
	}
	rest, _ := scanAll(t, s, actingweb.TableProperties, bulk.ScanOptions{Cursor: cur, PageSize: 700})
	all := append(first, rest...)
	if len(all) != 2500 {
		t.Fatalf("resumed scan gave %d rows, want 2500", len(all))
	}
	seen := map[string]bool{}
	for i, r := range all {
		if seen[r.Key()] {
			t.Fatalf("row %s twice", actingweb.KeyString(r.Key()))
		}
		seen[r.Key()] = true
		if i > 0 && all[i-1].Key() >= r.Key() {
			// Keys here are ASCII, so collation order equals byte order.
			t.Fatalf("not in key order at %d: %q then %q", i, all[i-1].Key(), r.Key())
		}
	}
	// Resuming from the final cursor yields one empty last page.
	end, pages := scanAll(t, s, actingweb.TableProperties, bulk.ScanOptions{Cursor: cursors[2]})
	if len(end) != 0 || pages != 1 {
		t.Fatalf("scan after end: %d rows in %d pages", len(end), pages)
	}
	// A cursor of another table is refused.
	if err := s.Scan(ctx, actingweb.TableTrusts, bulk.ScanOptions{Cursor: cur}, func(bulk.Page) error { return nil }); !errors.Is(err, actingweb.ErrInvalid) {
		t.Fatalf("foreign cursor: %v", err)
	}
	if err := s.Scan(ctx, "nope", bulk.ScanOptions{}, func(bulk.Page) error { return nil }); !errors.Is(err, actingweb.ErrUnknownTable) {
		t.Fatalf("unknown table: %v", err)
	}
}

func TestScanSegments(t *testing.T) {
	ctx := coreCtx(t)
	s, _ := coreHead(t)
	recs := props(3000, func(i int) string { return fmt.Sprintf("actor-%03d", i%211) })
	if _, err := s.WriteBatch(ctx, actingweb.TableProperties, recs, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	const n = 4
	seen := map[string]int{}
	owners := map[string]int{}
	for seg := range n {
		got, _ := scanAll(t, s, actingweb.TableProperties, bulk.ScanOptions{Segment: seg, TotalSegments: n, PageSize: 333})
		if len(got) == 0 {
			t.Errorf("segment %d is empty", seg)
		}
		for _, r := range got {
			seen[r.Key()]++
			if o, ok := owners[r.Owner()]; ok && o != seg {
				t.Errorf("owner %s in segments %d and %d", r.Owner(), o, seg)
			}
			owners[r.Owner()] = seg
		}
	}
	if len(seen) != len(recs) {
		t.Fatalf("segments cover %d of %d rows", len(seen), len(recs))
	}
	for k, c := range seen {
		if c != 1 {
			t.Fatalf("%s in %d segments", k, c)
		}
	}
	if err := s.Scan(ctx, actingweb.TableProperties, bulk.ScanOptions{Segment: 4, TotalSegments: 4}, func(bulk.Page) error { return nil }); !errors.Is(err, actingweb.ErrInvalid) {
		t.Fatalf("segment out of range: %v", err)
	}
}

func propValue(t testing.TB, s *postgres.Store, id, name string) string {
	t.Helper()
	var v string
	err := s.Pool().QueryRow(coreCtx(t), `SELECT value FROM `+pgx.Identifier{s.Schema(), "properties"}.Sanitize()+` WHERE id = $1 AND name = $2`, id, name).Scan(&v)
	if err != nil {
		t.Fatalf("read %s/%s: %v", id, name, err)
	}
	return v
}

func TestWriteBatchPolicies(t *testing.T) {
	p := func(id, name, v string) actingweb.Record { return &actingweb.Property{ID: id, Name: name, Value: v} }
	cases := []struct {
		name        string
		policy      bulk.ConflictPolicy
		batch       []actingweb.Record
		wantErr     error
		errMentions string
		written     int
		skipped     int
		want        map[string]string // name -> value of actor a after the write
	}{
		{"fail existing", bulk.ConflictFail, []actingweb.Record{p("a", "new", "1"), p("a", "old", "2")}, actingweb.ErrConflict, "a / old", 0, 0,
			map[string]string{"old": "orig"}},
		{"fail duplicate in batch", bulk.ConflictFail, []actingweb.Record{p("a", "x", "1"), p("a", "x", "2")}, actingweb.ErrConflict, "a / x", 0, 0,
			map[string]string{"old": "orig"}},
		{"skip", bulk.ConflictSkip, []actingweb.Record{p("a", "new", "1"), p("a", "old", "2")}, nil, "", 1, 1,
			map[string]string{"old": "orig", "new": "1"}},
		{"skip duplicate in batch keeps first", bulk.ConflictSkip, []actingweb.Record{p("a", "x", "first"), p("a", "x", "second")}, nil, "", 1, 1,
			map[string]string{"old": "orig", "x": "first"}},
		{"overwrite", bulk.ConflictOverwrite, []actingweb.Record{p("a", "new", "1"), p("a", "old", "2")}, nil, "", 2, 0,
			map[string]string{"old": "2", "new": "1"}},
		{"overwrite duplicate in batch keeps last", bulk.ConflictOverwrite, []actingweb.Record{p("a", "x", "first"), p("a", "x", "second"), p("a", "old", "3")}, nil, "", 3, 0,
			map[string]string{"old": "3", "x": "second"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := coreCtx(t)
			s, _ := coreHead(t)
			if _, err := s.WriteBatch(ctx, actingweb.TableProperties, []actingweb.Record{p("a", "old", "orig")}, bulk.ConflictFail); err != nil {
				t.Fatal(err)
			}
			res, err := s.WriteBatch(ctx, actingweb.TableProperties, c.batch, c.policy)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) || !strings.Contains(err.Error(), c.errMentions) || !strings.Contains(err.Error(), "properties") {
					t.Fatalf("err = %v, want %v mentioning %q and the table", err, c.wantErr, c.errMentions)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if res.Written != c.written || res.Skipped != c.skipped {
				t.Fatalf("result %+v, want written %d skipped %d", res, c.written, c.skipped)
			}
			n, _ := s.Count(ctx, actingweb.TableProperties)
			if n != int64(len(c.want)) {
				t.Fatalf("rows = %d, want %d (nothing else written)", n, len(c.want))
			}
			for name, v := range c.want {
				if got := propValue(t, s, "a", name); got != v {
					t.Errorf("%s = %q, want %q", name, got, v)
				}
			}
		})
	}
}

func TestWriteBatchOverwriteActorKeepsCreatedAt(t *testing.T) {
	ctx := coreCtx(t)
	s, _ := coreHead(t)
	created := tp("2025-01-01T00:00:00Z")
	if _, err := s.WriteBatch(ctx, actingweb.TableActors, []actingweb.Record{&actingweb.Actor{ID: "a", Creator: "c", Passphrase: "p", CreatedAt: created}}, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteBatch(ctx, actingweb.TableActors, []actingweb.Record{&actingweb.Actor{ID: "a", Creator: "c2", Passphrase: "p2"}}, bulk.ConflictOverwrite); err != nil {
		t.Fatal(err)
	}
	a := mustScan(t, s, actingweb.TableActors)[0].(*actingweb.Actor)
	if a.Creator != "c2" || a.CreatedAt == nil || !a.CreatedAt.Equal(*created) {
		t.Fatalf("after overwrite: %+v", a)
	}
}

func TestWriteBatchRejects(t *testing.T) {
	long := strings.Repeat("é", 256) // 256 characters, 512 bytes
	cases := []struct {
		name   string
		table  actingweb.Table
		rec    actingweb.Record
		reason string
	}{
		{"varchar 255", actingweb.TableActors, &actingweb.Actor{ID: "x", Creator: long, Passphrase: "p"}, "creator is 256 characters"},
		{"key varchar 255", actingweb.TableAttributes, &actingweb.Attribute{ID: "a", BucketName: "b:" + long, Bucket: "b", Name: long}, "bucket_name is 258 characters"},
		{"varchar 50", actingweb.TableTrusts, &actingweb.Trust{ID: "a", PeerID: "p", Secret: "s", AWVersion: sp(strings.Repeat("1", 51))}, "aw_version is 51 characters long, the column is varchar(50)"},
		{"NUL", actingweb.TableProperties, &actingweb.Property{ID: "a", Name: "n", Value: "x\x00y"}, "value contains a NUL"},
		{"NUL in optional", actingweb.TableTrusts, &actingweb.Trust{ID: "a", PeerID: "p", Secret: "s", Desc: sp("\x00")}, "desc contains a NUL"},
		{"invalid UTF-8", actingweb.TableProperties, &actingweb.Property{ID: "a", Name: "n", Value: "\xff"}, "not valid UTF-8"},
		{"NaN JSON", actingweb.TableAttributes, &actingweb.Attribute{ID: "a", BucketName: "b:n", Bucket: "b", Name: "n", Data: json.RawMessage(`{"x": NaN}`)}, "not valid JSON"},
		{"Infinity JSON", actingweb.TableAttributes, &actingweb.Attribute{ID: "a", BucketName: "b:n", Bucket: "b", Name: "n", Data: json.RawMessage(`-Infinity`)}, "not valid JSON"},
		{"u0000 JSON", actingweb.TableAttributes, &actingweb.Attribute{ID: "a", BucketName: "b:n", Bucket: "b", Name: "n", Data: json.RawMessage(`{"x": "a\u0000"}`)}, `\u0000`},
		{"lone surrogate JSON", actingweb.TableAttributes, &actingweb.Attribute{ID: "a", BucketName: "b:n", Bucket: "b", Name: "n", Data: json.RawMessage(`"\ud800"`)}, "surrogate"},
		{"int32 overflow", actingweb.TableSubscriptions, &actingweb.Subscription{ID: "a", PeerSubID: "p:s", Seqnr: 2147483648}, "seqnr = 2147483648"},
		{"diff int32 underflow", actingweb.TableSubscriptionDiffs, &actingweb.SubscriptionDiff{ID: "a", SubIDSeqnr: "s:1", Seqnr: -2147483649}, "seqnr"},
		{"empty key", actingweb.TablePeerTrustees, &actingweb.PeerTrustee{ID: "a", PeerID: ""}, "peerid (primary key) is empty"},
		{"empty owner", actingweb.TableSubscriptionSuspensions, &actingweb.SubscriptionSuspension{ID: "", Target: "t"}, "id (primary key) is empty"},
		{"lookup without value", actingweb.TablePropertyLookup, &actingweb.PropertyLookup{PropertyName: "email", LookupKey: "abc", ActorID: "a1"}, "RebuildPropertyLookup"},
		{"lookup orphan", actingweb.TablePropertyLookup, ptrLookup(actingweb.NewPropertyLookup("email", "x@y", "ghost")), "orphan"},
		{"lookup too large", actingweb.TablePropertyLookup, ptrLookup(actingweb.NewPropertyLookup("email", strings.Repeat("v", 3000), "a1")), "B-tree"},
	}
	ctx := coreCtx(t)
	s, _ := coreHead(t)
	if _, err := s.WriteBatch(ctx, actingweb.TableActors, []actingweb.Record{&actingweb.Actor{ID: "a1", Creator: "c", Passphrase: "p"}}, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	good := map[actingweb.Table]actingweb.Record{
		actingweb.TableActors:                  &actingweb.Actor{ID: "ok", Creator: "c", Passphrase: "p"},
		actingweb.TableAttributes:              &actingweb.Attribute{ID: "ok", BucketName: "b:n", Bucket: "b", Name: "n", Data: json.RawMessage(`1`)},
		actingweb.TableTrusts:                  &actingweb.Trust{ID: "ok", PeerID: "p", Secret: "s"},
		actingweb.TableProperties:              &actingweb.Property{ID: "ok", Name: "n", Value: "v"},
		actingweb.TableSubscriptions:           &actingweb.Subscription{ID: "ok", PeerSubID: "p:s"},
		actingweb.TableSubscriptionDiffs:       &actingweb.SubscriptionDiff{ID: "ok", SubIDSeqnr: "s:1", Timestamp: time.Now()},
		actingweb.TablePeerTrustees:            &actingweb.PeerTrustee{ID: "ok", PeerID: "p"},
		actingweb.TableSubscriptionSuspensions: &actingweb.SubscriptionSuspension{ID: "ok", Target: "t", SuspendedAt: time.Now()},
		actingweb.TablePropertyLookup:          ptrLookup(actingweb.NewPropertyLookup("email", "ok@x", "a1")),
	}
	goodWritten := map[actingweb.Table]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, policy := range []bulk.ConflictPolicy{bulk.ConflictFail, bulk.ConflictSkip, bulk.ConflictOverwrite} {
				// Under fail the good row is new only once per table; skip/overwrite accept it again.
				batch := []actingweb.Record{c.rec, good[c.table]}
				res, err := s.WriteBatch(ctx, c.table, batch, policy)
				if policy == bulk.ConflictFail && goodWritten[c.table] {
					if !errors.Is(err, actingweb.ErrConflict) {
						t.Fatalf("fail policy with the good row present: %v", err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", policy, err)
				}
				if len(res.Rejects) != 1 || res.Written+res.Skipped != 1 {
					t.Fatalf("%s: result %+v", policy, res)
				}
				rj := res.Rejects[0]
				if rj.Table != c.table || rj.Key != c.rec.Key() || rj.Record != c.rec || !strings.Contains(rj.Reason, c.reason) {
					t.Fatalf("%s: reject %+v, want reason containing %q", policy, rj, c.reason)
				}
				if strings.Contains(rj.Reason, "\x00") || (c.name == "varchar 255" && strings.Contains(rj.Reason, long)) {
					t.Fatalf("reason quotes the value: %q", rj.Reason)
				}
				goodWritten[c.table] = true
			}
			if n, _ := s.Count(ctx, c.table); n < 1 {
				t.Fatalf("good row of %s not written", c.table)
			}
		})
	}
}

func ptrLookup(l actingweb.PropertyLookup) *actingweb.PropertyLookup { return &l }

func TestWriteBatchRejectsWrongTable(t *testing.T) {
	s, _ := coreHead(t)
	_, err := s.WriteBatch(coreCtx(t), actingweb.TableActors, []actingweb.Record{&actingweb.Property{ID: "a", Name: "n"}}, bulk.ConflictSkip)
	if !errors.Is(err, actingweb.ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
}

func TestWriteBatchLookupConflictWithholdsValue(t *testing.T) {
	ctx := coreCtx(t)
	s, _ := coreHead(t)
	if _, err := s.WriteBatch(ctx, actingweb.TableActors, []actingweb.Record{&actingweb.Actor{ID: "a1", Creator: "c", Passphrase: "p"}}, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	l := ptrLookup(actingweb.NewPropertyLookup("email", "secret-value@x", "a1"))
	if _, err := s.WriteBatch(ctx, actingweb.TablePropertyLookup, []actingweb.Record{l}, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	_, err := s.WriteBatch(ctx, actingweb.TablePropertyLookup, []actingweb.Record{l}, bulk.ConflictFail)
	if !errors.Is(err, actingweb.ErrConflict) || strings.Contains(err.Error(), "secret-value") || !strings.Contains(err.Error(), "email") {
		t.Fatalf("err = %v", err)
	}
}

func TestRebuildPropertyLookup(t *testing.T) {
	ctx := coreCtx(t)
	s, _ := coreHead(t)
	actors := []actingweb.Record{
		&actingweb.Actor{ID: "a1", Creator: "c", Passphrase: "p"},
		&actingweb.Actor{ID: "a2", Creator: "c", Passphrase: "p"},
		&actingweb.Actor{ID: "a3", Creator: "c", Passphrase: "p"},
	}
	if _, err := s.WriteBatch(ctx, actingweb.TableActors, actors, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	p := func(id, name, v string) actingweb.Record { return &actingweb.Property{ID: id, Name: name, Value: v} }
	rows := []actingweb.Record{
		p("a1", "email", "shared@x"),                  // kept: first by id
		p("a2", "email", "shared@x"),                  // collision
		p("a2", "oauthId", "o2"),                      // written
		p("a3", "email", "pre@x"),                     // collision with a pre-existing row of a1
		p("a1", "email2", "pre@x"),                    // not indexed
		p("ghost", "email", "g@x"),                    // orphan
		p("a1", "list:email", "l"),                    // list rows excluded
		p("a3", "oauthId", strings.Repeat("z", 3000)), // too large for the index
		p("a1", "oauthId", "o1"),                      // existing (same actor)
	}
	if _, err := s.WriteBatch(ctx, actingweb.TableProperties, rows, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	pre := []actingweb.Record{ptrLookup(actingweb.NewPropertyLookup("email", "pre@x", "a1")), ptrLookup(actingweb.NewPropertyLookup("oauthId", "o1", "a1"))}
	if _, err := s.WriteBatch(ctx, actingweb.TablePropertyLookup, pre, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	names := []string{"email", "oauthId", "list:email"}
	got, err := s.RebuildPropertyLookup(ctx, names)
	if err != nil {
		t.Fatal(err)
	}
	want := bulk.LookupRebuild{Scanned: 7, Written: 2, Existing: 1, Collisions: 2, Orphans: 1}
	if got.Scanned != want.Scanned || got.Written != want.Written || got.Existing != want.Existing || got.Collisions != want.Collisions || got.Orphans != want.Orphans {
		t.Fatalf("rebuild = %+v, want counts %+v", got, want)
	}
	joined := strings.Join(got.Samples, "\n")
	for _, must := range []string{"email / a2 (collision", "email / a3 (collision: value already owned by a1)", "email / ghost (orphan", "oauthId / a3 (value too large"} {
		if !strings.Contains(joined, must) {
			t.Errorf("samples lack %q:\n%s", must, joined)
		}
	}
	for _, v := range []string{"shared@x", "pre@x", "g@x", "zzzz"} {
		if strings.Contains(joined, v) {
			t.Errorf("samples show value %q", v)
		}
	}
	lookups := map[string]string{}
	for _, r := range mustScan(t, s, actingweb.TablePropertyLookup) {
		l := r.(*actingweb.PropertyLookup)
		lookups[l.PropertyName+"="+*l.Value] = l.ActorID
	}
	wantRows := map[string]string{"email=shared@x": "a1", "email=pre@x": "a1", "oauthId=o1": "a1", "oauthId=o2": "a2"}
	if fmt.Sprint(lookups) != fmt.Sprint(wantRows) {
		t.Fatalf("lookup rows %v, want %v", lookups, wantRows)
	}
	// Idempotent: a second run writes nothing.
	again, err := s.RebuildPropertyLookup(ctx, names)
	if err != nil || again.Written != 0 || again.Existing != 3 || again.Collisions != 2 || again.Orphans != 1 {
		t.Fatalf("second rebuild = %+v, %v", again, err)
	}
	if none, err := s.RebuildPropertyLookup(ctx, nil); err != nil || none.Scanned != 0 {
		t.Fatalf("rebuild of no names = %+v, %v", none, err)
	}
}

// TestScanUpstreamData scans every table of the upstream fixture (written by Python ActingWeb)
// and checks the rows against the dump's row counts.
func TestScanUpstreamData(t *testing.T) {
	ctx := coreCtx(t)
	s, schema := coreOpen(t)
	loadDump(t, s, schema, "testdata/upstream-seed1/postgresql/schema.sql")
	loadDump(t, s, schema, "testdata/upstream-seed1/postgresql/data.sql")
	data := repoFile(t, "testdata/upstream-seed1/postgresql/data.sql")
	for _, tb := range actingweb.Tables {
		want := strings.Count(data, "INSERT INTO public."+string(tb)+" ")
		got := mustScan(t, s, tb)
		if len(got) != want || want == 0 && tb != actingweb.TableSubscriptionSuspensions {
			t.Errorf("%s: scanned %d rows, dump has %d", tb, len(got), want)
		}
		// Whatever was scanned can be written back unchanged (overwrite of itself).
		res, err := s.WriteBatch(ctx, tb, got, bulk.ConflictOverwrite)
		if err != nil || len(res.Rejects) != 0 || res.Written != len(got) {
			t.Errorf("%s: rewrite %+v, %v", tb, res, err)
		}
		again := byKey(mustScan(t, s, tb))
		for _, r := range got {
			if d := actingweb.CompareRecords(r, again[r.Key()]); len(d) > 0 {
				t.Errorf("%s %s changed: %+v", tb, actingweb.KeyString(r.Key()), d)
			}
		}
	}
}

// TestScanPagesBoundedByBytes: a page of large rows ends at about bulk.MaxPageBytes
// whatever PageSize asks, and the cursor of such a page resumes after its last row.
func TestScanPagesBoundedByBytes(t *testing.T) {
	ctx := coreCtx(t)
	s, _ := coreHead(t)
	const rows = 12
	value := strings.Repeat("v", 1<<20) // 1 MiB per row
	var recs []actingweb.Record
	for i := 0; i < rows; i++ {
		recs = append(recs, &actingweb.Property{ID: fmt.Sprintf("a%02d", i), Name: "n", Value: value})
	}
	if _, err := s.WriteBatch(ctx, actingweb.TableProperties, recs, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	got, pages := scanAll(t, s, actingweb.TableProperties, bulk.ScanOptions{PageSize: 1000})
	if len(got) != rows || pages < rows/5 {
		t.Fatalf("%d rows in %d pages, want %d rows in at least %d pages", len(got), pages, rows, rows/5)
	}
	var first bulk.Page
	err := s.Scan(ctx, actingweb.TableProperties, bulk.ScanOptions{PageSize: 1000}, func(p bulk.Page) error {
		if first.Cursor == "" {
			first = p
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rest, _ := scanAll(t, s, actingweb.TableProperties, bulk.ScanOptions{PageSize: 1000, Cursor: first.Cursor})
	if len(first.Records)+len(rest) != rows {
		t.Fatalf("first page %d rows + resumed %d rows, want %d", len(first.Records), len(rest), rows)
	}
}
