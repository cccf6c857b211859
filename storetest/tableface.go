package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

// sampleRecords returns a few records of every table, owned by the actors a and b (both
// included in the actors records, which must be written first: PostgreSQL's lookup table has
// a foreign key to actors).
func sampleRecords(a, b string) map[actingweb.Table][]actingweb.Record {
	ttl := time.Now().Unix() + 86400
	ts := microTime(0)
	lk1, lk2 := actingweb.NewPropertyLookup("email", "tf."+a+"@example.com", a), actingweb.NewPropertyLookup("oauthId", "oid "+uniEmoji, b)
	t1, t2 := fullTrust(a, "peer1", "tfs1-"+a), fullTrust(b, "peer2", "tfs2-"+b)
	t2.Desc, t2.EstablishedVia, t2.LastConnectedVia, t2.ClientName = nil, nil, nil, nil
	s1 := sub(a, "peer1", "s1")
	s1.PeerSubID = "peer1:s1"
	s2 := actingweb.Subscription{ID: b, PeerSubID: "peer2:s2", PeerID: "peer2", SubID: "s2", Seqnr: 3}
	return map[actingweb.Table][]actingweb.Record{
		actingweb.TableActors: {
			&actingweb.Actor{ID: a, Creator: "tf@example.com", Passphrase: "p-a"},
			&actingweb.Actor{ID: b, Creator: "Free Text " + uniRTL, Passphrase: "p-b"},
		},
		actingweb.TableProperties: {
			&actingweb.Property{ID: a, Name: "email", Value: "tf." + a + "@example.com"},
			&actingweb.Property{ID: a, Name: "list:notes-#V", Value: uniCombining},
			&actingweb.Property{ID: b, Name: "name " + uniEmoji, Value: uniRTL},
		},
		actingweb.TablePropertyLookup: {&lk1, &lk2},
		actingweb.TableAttributes: {
			&actingweb.Attribute{ID: a, BucketName: "_internal:oauth_tokens:peer", Bucket: "_internal", Name: "oauth_tokens:peer",
				Data: json.RawMessage(`{"b": [1, 2.5], "a": "ü"}`), Timestamp: &ts, TTLTimestamp: &ttl},
			&actingweb.Attribute{ID: a, BucketName: "b:zero", Bucket: "b", Name: "zero", Data: json.RawMessage(`0`)},
			&actingweb.Attribute{ID: "_actingweb_oauth2", BucketName: "_client_index:c", Bucket: "_client_index", Name: "c", Data: json.RawMessage(`{}`)},
		},
		actingweb.TableTrusts:       {&t1, &t2},
		actingweb.TablePeerTrustees: {&actingweb.PeerTrustee{ID: a, PeerID: "pt", BaseURI: "https://pt", Type: "t", Passphrase: "pp"}},
		actingweb.TableSubscriptions: {
			&s1, &s2,
		},
		actingweb.TableSubscriptionDiffs: {
			&actingweb.SubscriptionDiff{ID: a, SubIDSeqnr: "s1:1", SubID: "s1", Seqnr: 1, Diff: `{"x": 1}`, Timestamp: ts},
			&actingweb.SubscriptionDiff{ID: a, SubIDSeqnr: "s1:10", SubID: "s1", Seqnr: 10, Diff: "", Timestamp: ts.Add(time.Second)},
		},
		actingweb.TableSubscriptionSuspensions: {
			&actingweb.SubscriptionSuspension{ID: a, Target: "properties", Subtarget: "", SuspendedAt: ts},
			&actingweb.SubscriptionSuspension{ID: a, Target: "properties", Subtarget: "email", SuspendedAt: ts.Add(time.Minute)},
		},
	}
}

// scanAll collects every record of table tb, failing on rejects and on duplicate keys.
func scanAll(t *testing.T, s bulk.Backend, tb actingweb.Table, opts bulk.ScanOptions) map[string]actingweb.Record {
	t.Helper()
	out := map[string]actingweb.Record{}
	must(t, s.Scan(ctxOf(t), tb, opts, func(p bulk.Page) error {
		if len(p.Rejects) > 0 {
			return fmt.Errorf("scan of %s rejected %d rows, first: %s", tb, len(p.Rejects), p.Rejects[0].Reason)
		}
		for _, r := range p.Records {
			if r.Table() != tb {
				return fmt.Errorf("scan of %s returned a %s record", tb, r.Table())
			}
			if _, dup := out[r.Key()]; dup {
				return fmt.Errorf("scan of %s returned key %s twice", tb, actingweb.KeyString(r.Key()))
			}
			out[r.Key()] = r
		}
		return nil
	}), "Scan "+string(tb))
	return out
}

func sameSet(t *testing.T, got map[string]actingweb.Record, want []actingweb.Record, what string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d records, want %d (keys %v)", what, len(got), len(want), sortedKeys(got))
	}
	for _, w := range want {
		g, ok := got[w.Key()]
		if !ok {
			t.Fatalf("%s: key %s missing (got %v)", what, actingweb.KeyString(w.Key()), sortedKeys(got))
		}
		sameRecord(t, g, w, what+" "+actingweb.KeyString(w.Key()))
	}
}

func testTableFace(t *testing.T, open Opener) {
	t.Run("RoundTrip", func(t *testing.T) {
		s := open(t)
		ctx := ctxOf(t)
		a, b := newID(t), newID(t)
		recs := sampleRecords(a, b)
		for _, tb := range actingweb.Tables {
			t.Run(string(tb), func(t *testing.T) {
				want := recs[tb]
				res, err := s.WriteBatch(ctx, tb, want, bulk.ConflictFail)
				must(t, err, "WriteBatch")
				if len(res.Rejects) > 0 {
					t.Fatalf("WriteBatch rejected %d rows, first %s: %s", len(res.Rejects), actingweb.KeyString(res.Rejects[0].Key), res.Rejects[0].Reason)
				}
				eq(t, res.Written, len(want), "Written")
				eq(t, res.Skipped, 0, "Skipped")
				sameSet(t, scanAll(t, s, tb, bulk.ScanOptions{}), want, "scan of "+string(tb))
				n, err := s.Count(ctx, tb)
				must(t, err, "Count")
				eq(t, n, int64(len(want)), "Count")
			})
		}
		// The application face reads what the table face wrote.
		t.Run("ApplicationFaceReads", func(t *testing.T) {
			v, err := s.GetProperty(ctx, b, "name "+uniEmoji)
			must(t, err, "GetProperty")
			eq(t, v, uniRTL, "property written by WriteBatch")
			owner, err := s.GetActorIDFromProperty(ctx, "email", "tf."+a+"@example.com")
			must(t, err, "GetActorIDFromProperty")
			eq(t, owner, a, "reverse lookup of rows written by WriteBatch")
			at, err := s.GetAttribute(ctx, a, "b", "zero")
			must(t, err, "GetAttribute")
			jsonEq(t, at.Data, json.RawMessage(`0`), "falsy payload written by WriteBatch")
			d, err := s.GetLowestDiff(ctx, a, "s1")
			must(t, err, "GetLowestDiff")
			eq(t, d.Seqnr, int64(1), "lowest diff written by WriteBatch")
			ok, err := s.IsSuspended(ctx, a, "properties", "anything")
			mustBool(t, ok, err, true, "IsSuspended of rows written by WriteBatch")
			sb, err := s.GetSubscription(ctx, b, "peer2", "s2")
			must(t, err, "GetSubscription")
			eq(t, sb.Seqnr, int64(3), "seqnr written by WriteBatch")
		})
	})

	t.Run("ConflictPolicies", func(t *testing.T) {
		s := open(t)
		ctx := ctxOf(t)
		a := newID(t)
		mk := func(v string) []actingweb.Record {
			return []actingweb.Record{
				&actingweb.Property{ID: a, Name: "p1", Value: "1" + v},
				&actingweb.Property{ID: a, Name: "p2", Value: "2" + v},
			}
		}
		orig := mk("")
		res, err := s.WriteBatch(ctx, actingweb.TableProperties, orig, bulk.ConflictFail)
		must(t, err, "WriteBatch")
		eq(t, res.Written, 2, "Written")

		// Reading: under ConflictFail the existing rows are untouched; whether the batch's new
		// row (p3) was written before the conflict was found is left open (Count 2 or 3).
		_, err = s.WriteBatch(ctx, actingweb.TableProperties, append(mk("-fail"), &actingweb.Property{ID: a, Name: "p3", Value: "3"}), bulk.ConflictFail)
		wantErr(t, err, actingweb.ErrConflict, "WriteBatch with existing keys under ConflictFail")
		got := scanAll(t, s, actingweb.TableProperties, bulk.ScanOptions{})
		for _, w := range orig {
			sameRecord(t, got[w.Key()], w, "row after refused batch")
		}

		res, err = s.WriteBatch(ctx, actingweb.TableProperties, mk("-skip"), bulk.ConflictSkip)
		must(t, err, "WriteBatch ConflictSkip")
		eq(t, res.Skipped, 2, "Skipped")
		eq(t, res.Written, 0, "Written under skip")
		got = scanAll(t, s, actingweb.TableProperties, bulk.ScanOptions{})
		for _, w := range orig {
			sameRecord(t, got[w.Key()], w, "row after skip")
		}

		over := mk("-over")
		res, err = s.WriteBatch(ctx, actingweb.TableProperties, over, bulk.ConflictOverwrite)
		must(t, err, "WriteBatch ConflictOverwrite")
		eq(t, res.Written, 2, "Written under overwrite")
		got = scanAll(t, s, actingweb.TableProperties, bulk.ScanOptions{})
		for _, w := range over {
			sameRecord(t, got[w.Key()], w, "row after overwrite")
		}
		n, err := s.Count(ctx, actingweb.TableProperties)
		must(t, err, "Count")
		if n != 2 && n != 3 {
			t.Fatalf("Count = %d, want 2 (or 3 if the refused batch wrote its new row)", n)
		}
	})

	t.Run("RejectsEmptyKey", func(t *testing.T) {
		// WriteResult: rows the target cannot store (here an empty key) are rejects, not
		// errors, and the rest of the batch is written.
		s := open(t)
		ctx := ctxOf(t)
		a := newID(t)
		good := &actingweb.Property{ID: a, Name: "ok", Value: "v"}
		res, err := s.WriteBatch(ctx, actingweb.TableProperties, []actingweb.Record{
			good, &actingweb.Property{ID: "", Name: "n", Value: "v"}, &actingweb.Property{ID: a, Name: "", Value: "v"},
		}, bulk.ConflictFail)
		must(t, err, "WriteBatch with empty keys")
		eq(t, res.Written, 1, "Written")
		eq(t, len(res.Rejects), 2, "Rejects")
		for _, r := range res.Rejects {
			eq(t, r.Table, actingweb.TableProperties, "reject table")
			if r.Reason == "" {
				t.Fatal("reject without reason")
			}
		}
		sameSet(t, scanAll(t, s, actingweb.TableProperties, bulk.ScanOptions{}), []actingweb.Record{good}, "rows after a batch with rejects")
	})

	t.Run("ScanPagingAndSegments", func(t *testing.T) {
		s := open(t)
		ctx := ctxOf(t)
		var want []actingweb.Record
		for i := 0; i < 4; i++ {
			owner := newID(t)
			for j := 0; j < 5; j++ {
				want = append(want, &actingweb.Property{ID: owner, Name: fmt.Sprintf("n%02d", j), Value: fmt.Sprintf("v%d-%d", i, j)})
			}
		}
		res, err := s.WriteBatch(ctx, actingweb.TableProperties, want, bulk.ConflictFail)
		must(t, err, "WriteBatch")
		eq(t, res.Written, len(want), "Written")

		sameSet(t, scanAll(t, s, actingweb.TableProperties, bulk.ScanOptions{PageSize: 3}), want, "scan with PageSize 3")

		// Stop after the first page, then resume from its cursor.
		errStop := errors.New("stop")
		first := map[string]actingweb.Record{}
		var cursor string
		var last bool
		err = s.Scan(ctx, actingweb.TableProperties, bulk.ScanOptions{PageSize: 3}, func(p bulk.Page) error {
			for _, r := range p.Records {
				first[r.Key()] = r
			}
			cursor, last = p.Cursor, p.Last
			return errStop
		})
		if !errors.Is(err, errStop) {
			t.Fatalf("Scan must return the callback's error, got %v", err)
		}
		rest := map[string]actingweb.Record{}
		if !last {
			rest = scanAll(t, s, actingweb.TableProperties, bulk.ScanOptions{PageSize: 3, Cursor: cursor})
		}
		for k, r := range first {
			if _, dup := rest[k]; dup {
				t.Fatalf("resumed scan repeated key %s", actingweb.KeyString(k))
			}
			rest[k] = r
		}
		sameSet(t, rest, want, "first page + resumed scan")

		// Segments are disjoint and complete.
		union := map[string]actingweb.Record{}
		for seg := 0; seg < 3; seg++ {
			for k, r := range scanAll(t, s, actingweb.TableProperties, bulk.ScanOptions{Segment: seg, TotalSegments: 3, PageSize: 4}) {
				if _, dup := union[k]; dup {
					t.Fatalf("segment %d repeated key %s", seg, actingweb.KeyString(k))
				}
				union[k] = r
			}
		}
		sameSet(t, union, want, "union of 3 segments")
	})
}
