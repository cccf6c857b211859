package storetest

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

func setAttr(t *testing.T, s bulk.Backend, owner, bucket, name, data string, ts *time.Time, ttl time.Duration) {
	t.Helper()
	must(t, s.SetAttribute(ctxOf(t), owner, bucket, name, json.RawMessage(data), ts, ttl), "SetAttribute "+bucket+":"+name)
}

func getAttr(t *testing.T, s bulk.Backend, owner, bucket, name string) actingweb.Attribute {
	t.Helper()
	a, err := s.GetAttribute(ctxOf(t), owner, bucket, name)
	must(t, err, "GetAttribute "+bucket+":"+name)
	return a
}

func attrGone(t *testing.T, s bulk.Backend, owner, bucket, name, what string) {
	t.Helper()
	_, err := s.GetAttribute(ctxOf(t), owner, bucket, name)
	wantErr(t, err, actingweb.ErrNotFound, what)
}

// putAttrRecord writes attribute rows through the table face (SetAttribute cannot write a
// past expiry).
func putAttrRecord(t *testing.T, s bulk.Backend, recs ...*actingweb.Attribute) {
	t.Helper()
	rs := make([]actingweb.Record, len(recs))
	for i, r := range recs {
		if r.BucketName == "" {
			r.BucketName = r.Bucket + ":" + r.Name
		}
		rs[i] = r
	}
	res, err := s.WriteBatch(ctxOf(t), actingweb.TableAttributes, rs, bulk.ConflictOverwrite)
	must(t, err, "WriteBatch attributes")
	if len(res.Rejects) > 0 {
		t.Fatalf("WriteBatch attributes rejected %d rows: %+v", len(res.Rejects), res.Rejects[0])
	}
	eq(t, res.Written, len(recs), "attributes written")
}

func testAttributes(t *testing.T, open Opener) {
	s := open(t)

	t.Run("GetBucketPage", func(t *testing.T) {
		t.Parallel()
		testGetBucketPage(t, s)
	})

	t.Run("RoundTrip", func(t *testing.T) {
		ctx := ctxOf(t)
		o := newID(t)
		ts := time.Date(2025, 6, 1, 9, 46, 21, 267313999, time.UTC) // nanoseconds are cut to microseconds
		setAttr(t, s, o, "_internal", "counter", `{"n": 2, "nested": {"b": [1, 2.5, "x"], "a": null}, "t": true}`, &ts, 0)
		got := getAttr(t, s, o, "_internal", "counter")
		eq(t, got.ID, o, "owner")
		eq(t, got.Bucket, "_internal", "bucket")
		eq(t, got.Name, "counter", "name")
		eq(t, got.BucketName, "_internal:counter", "bucket_name")
		jsonEq(t, got.Data, json.RawMessage(`{"t":true,"nested":{"a":null,"b":[1,2.5,"x"]},"n":2}`), "data")
		if got.Timestamp == nil || !got.Timestamp.Equal(actingweb.NormalizeTime(ts)) {
			t.Fatalf("timestamp = %v, want %v", got.Timestamp, actingweb.NormalizeTime(ts))
		}
		if got.TTLTimestamp != nil {
			t.Fatalf("ttl_timestamp = %d, want none (ttl 0)", *got.TTLTimestamp)
		}
		strict, err := s.GetAttributeStrict(ctx, o, "_internal", "counter")
		must(t, err, "GetAttributeStrict")
		sameRecord(t, &strict, &got, "strict read")
		// Numbers keep their value (no float rounding): 0.1, a 20-digit integer, an exponent.
		nums := `{"f": 0.1, "big": 12345678901234567890, "e": 1.5e300, "neg": -0.000001}`
		setAttr(t, s, o, "_internal", "numbers", nums, nil, 0)
		jsonEq(t, getAttr(t, s, o, "_internal", "numbers").Data, json.RawMessage(nums), "numeric payload")
		setAttr(t, s, o, "_internal", "nots", `"text"`, nil, 0)
		got = getAttr(t, s, o, "_internal", "nots")
		if got.Timestamp != nil {
			t.Fatalf("timestamp = %v, want none", got.Timestamp)
		}
		jsonEq(t, got.Data, json.RawMessage(`"text"`), "string payload")
		_, err = s.GetAttribute(ctx, o, "_internal", "missing")
		wantErr(t, err, actingweb.ErrNotFound, "GetAttribute missing")
		_, err = s.GetAttributeStrict(ctx, o, "_internal", "missing")
		wantErr(t, err, actingweb.ErrNotFound, "GetAttributeStrict missing")
	})

	t.Run("NamesWithColon", func(t *testing.T) {
		o := newID(t)
		names := map[string][]string{
			"_internal": {"oauth_tokens:peer", "oauth_tokens:peer:2", "plain"},
			"notes":     {"list:x:meta", "list:x:3", "list:x:10"},
		}
		for b, ns := range names {
			for i, n := range ns {
				setAttr(t, s, o, b, n, fmt.Sprintf(`{"i": %d}`, i+1), nil, 0)
			}
		}
		for b, ns := range names {
			bucket, err := s.GetBucket(ctxOf(t), o, b)
			must(t, err, "GetBucket "+b)
			deepEq(t, sortedKeys(bucket), sortedStrings(ns), "names in bucket "+b)
			for i, n := range ns {
				a := bucket[n]
				eq(t, a.Bucket, b, "bucket of "+n)
				eq(t, a.Name, n, "name of "+n)
				eq(t, a.BucketName, b+":"+n, "bucket_name of "+n)
				jsonEq(t, a.Data, json.RawMessage(fmt.Sprintf(`{"i": %d}`, i+1)), "data of "+n)
			}
		}
		got := getAttr(t, s, o, "_internal", "oauth_tokens:peer")
		eq(t, got.Name, "oauth_tokens:peer", "point read of a name with ':'")
		all, err := s.ListAttributes(ctxOf(t), o)
		must(t, err, "ListAttributes")
		eq(t, len(all), 2, "buckets listed")
		deepEq(t, sortedKeys(all["notes"]), sortedStrings(names["notes"]), "ListAttributes names of notes")
	})

	t.Run("ExactBuckets", func(t *testing.T) {
		ctx := ctxOf(t)
		o := newID(t)
		for _, b := range []string{"fo", "foo", "foobar", "foo_", "Foo"} {
			setAttr(t, s, o, b, "x", `{"b": "`+b+`"}`, nil, 0)
			setAttr(t, s, o, b, "y", `{"b": "`+b+`"}`, nil, 0)
		}
		got, err := s.GetBucket(ctx, o, "foo")
		must(t, err, "GetBucket foo")
		deepEq(t, sortedKeys(got), []string{"x", "y"}, "GetBucket foo names")
		for _, a := range got {
			eq(t, a.Bucket, "foo", "bucket of returned row (no foobar/fo/foo_ rows)")
		}
		empty, err := s.GetBucket(ctx, o, "f")
		wantEmptyMap(t, empty, err, "GetBucket of a prefix-only bucket", "GetBucket(f)")
		must(t, s.DeleteBucket(ctx, o, "foo"), "DeleteBucket foo")
		all, err := s.ListAttributes(ctx, o)
		must(t, err, "ListAttributes")
		deepEq(t, sortedKeys(all), []string{"Foo", "fo", "foo_", "foobar"}, "buckets left after DeleteBucket foo")
		for b, m := range all {
			eq(t, len(m), 2, "rows left in bucket "+b)
		}
		must(t, s.DeleteBucket(ctx, o, "foo"), "DeleteBucket again (idempotent)")
	})

	t.Run("SetFalsyDeletes", func(t *testing.T) {
		falsy := []struct{ name, data string }{
			{"nil", ""}, {"null", "null"}, {"empty-string", `""`}, {"zero", "0"}, {"false", "false"},
			{"empty-array", "[]"}, {"empty-object", "{}"},
		}
		for _, f := range falsy {
			t.Run(f.name, func(t *testing.T) {
				ctx := ctxOf(t)
				o := newID(t)
				setAttr(t, s, o, "b", "n", `{"keep": true}`, nil, 0)
				var data json.RawMessage
				if f.data != "" {
					data = json.RawMessage(f.data)
				}
				must(t, s.SetAttribute(ctx, o, "b", "n", data, nil, 0), "SetAttribute falsy "+f.name)
				attrGone(t, s, o, "b", "n", "attribute after SetAttribute with falsy data "+f.name)
				must(t, s.SetAttribute(ctx, o, "b", "never", data, nil, time.Hour), "SetAttribute falsy on a missing row")
				attrGone(t, s, o, "b", "never", "falsy SetAttribute must not create "+f.name)
			})
		}
		truthy := []struct{ name, data string }{
			{"string-zero", `"0"`}, {"string-false", `"false"`}, {"string-space", `" "`}, {"array-zero", `[0]`},
			{"object-null-member", `{"a": null}`}, {"half", `0.5`}, {"true", `true`}, {"negative", `-1`}, {"array-empty-array", `[[]]`},
		}
		for _, f := range truthy {
			t.Run("kept/"+f.name, func(t *testing.T) {
				o := newID(t)
				setAttr(t, s, o, "b", "n", f.data, nil, 0)
				got := getAttr(t, s, o, "b", "n")
				jsonEq(t, got.Data, json.RawMessage(f.data), "truthy payload "+f.name)
			})
		}
	})

	t.Run("ConditionalUpdate", func(t *testing.T) {
		ctx := ctxOf(t)
		o := newID(t)
		ts := microTime(0)
		must(t, s.SetAttribute(ctx, o, "cas", "n", json.RawMessage(`{"a": 1, "b": [1, 2]}`), &ts, time.Hour), "SetAttribute")
		orig := getAttr(t, s, o, "cas", "n")
		if orig.TTLTimestamp == nil {
			t.Fatal("ttl_timestamp not set")
		}
		ok, err := s.ConditionalUpdateAttribute(ctx, o, "cas", "n", json.RawMessage(`{"a": 2, "b": [1, 2]}`), json.RawMessage(`{"x": 1}`), nil)
		mustBool(t, ok, err, false, "ConditionalUpdateAttribute with a differing old payload")
		jsonEq(t, getAttr(t, s, o, "cas", "n").Data, json.RawMessage(`{"a":1,"b":[1,2]}`), "data after refused update")
		ok, err = s.ConditionalUpdateAttribute(ctx, o, "cas", "n", json.RawMessage(`{"b":[2,1],"a":1}`), json.RawMessage(`{"x": 1}`), nil)
		mustBool(t, ok, err, false, "ConditionalUpdateAttribute with reordered array (arrays are ordered)")
		ok, err = s.ConditionalUpdateAttribute(ctx, o, "cas", "n", json.RawMessage(`{"b":[1,2],"a":1.0}`), json.RawMessage(`{"x": 1}`), nil)
		mustBool(t, ok, err, true, "ConditionalUpdateAttribute with reordered keys (key order irrelevant)")
		got := getAttr(t, s, o, "cas", "n")
		jsonEq(t, got.Data, json.RawMessage(`{"x":1}`), "data after update")
		if got.Timestamp == nil || !got.Timestamp.Equal(ts) {
			t.Fatalf("timestamp after update without ts = %v, want unchanged %v (§8.1)", got.Timestamp, ts)
		}
		if got.TTLTimestamp == nil || *got.TTLTimestamp != *orig.TTLTimestamp {
			t.Fatalf("ttl_timestamp after update = %v, want unchanged %d", got.TTLTimestamp, *orig.TTLTimestamp)
		}
		ts2 := microTime(time.Minute)
		ok, err = s.ConditionalUpdateAttribute(ctx, o, "cas", "n", json.RawMessage(`{"x":1}`), json.RawMessage(`{"x": 2}`), &ts2)
		mustBool(t, ok, err, true, "ConditionalUpdateAttribute with ts")
		got = getAttr(t, s, o, "cas", "n")
		if got.Timestamp == nil || !got.Timestamp.Equal(ts2) {
			t.Fatalf("timestamp after update with ts = %v, want %v", got.Timestamp, ts2)
		}
		ok, err = s.ConditionalUpdateAttribute(ctx, o, "cas", "missing", json.RawMessage(`{}`), json.RawMessage(`{"x": 1}`), nil)
		mustBool(t, ok, err, false, "ConditionalUpdateAttribute on a missing row")
		attrGone(t, s, o, "cas", "missing", "ConditionalUpdateAttribute must not create a row")
	})

	t.Run("ConditionalUpdateFalsyKept", func(t *testing.T) {
		for _, f := range []string{"0", "false", `""`, "[]", "{}"} {
			t.Run(f, func(t *testing.T) {
				ctx := ctxOf(t)
				o := newID(t)
				setAttr(t, s, o, "b", "n", `{"v": 1}`, nil, 0)
				ok, err := s.ConditionalUpdateAttribute(ctx, o, "b", "n", json.RawMessage(`{"v": 1}`), json.RawMessage(f), nil)
				mustBool(t, ok, err, true, "ConditionalUpdateAttribute to falsy "+f)
				got := getAttr(t, s, o, "b", "n")
				jsonEq(t, got.Data, json.RawMessage(f), "falsy payload kept as data")
				strict, err := s.GetAttributeStrict(ctx, o, "b", "n")
				must(t, err, "GetAttributeStrict of a falsy payload")
				jsonEq(t, strict.Data, json.RawMessage(f), "strict read of falsy payload")
				bucket, err := s.GetBucket(ctx, o, "b")
				must(t, err, "GetBucket")
				jsonEq(t, bucket["n"].Data, json.RawMessage(f), "bucket read of falsy payload")
				// The falsy payload can itself be the expected old value.
				ok, err = s.ConditionalUpdateAttribute(ctx, o, "b", "n", json.RawMessage(f), json.RawMessage(`{"v": 2}`), nil)
				mustBool(t, ok, err, true, "ConditionalUpdateAttribute from falsy "+f)
				jsonEq(t, getAttr(t, s, o, "b", "n").Data, json.RawMessage(`{"v": 2}`), "payload after update from falsy")
			})
		}
	})

	t.Run("TTL", func(t *testing.T) {
		ctx := ctxOf(t)
		o := newID(t)
		before := time.Now().Unix()
		setAttr(t, s, o, "tokens", "t1", `{"tok": "abc"}`, nil, 2*time.Hour)
		after := time.Now().Unix()
		got := getAttr(t, s, o, "tokens", "t1")
		if got.TTLTimestamp == nil {
			t.Fatal("ttl_timestamp not set for ttl > 0")
		}
		lo, hi := before+7200+actingweb.TTLClockSkewBuffer, after+7200+actingweb.TTLClockSkewBuffer
		if *got.TTLTimestamp < lo-2 || *got.TTLTimestamp > hi+2 {
			t.Fatalf("ttl_timestamp = %d, want now + 7200 + %d in [%d, %d]", *got.TTLTimestamp, actingweb.TTLClockSkewBuffer, lo, hi)
		}
		strict, err := s.GetAttributeStrict(ctx, o, "tokens", "t1")
		must(t, err, "GetAttributeStrict of a live row")
		jsonEq(t, strict.Data, json.RawMessage(`{"tok":"abc"}`), "strict data")
		ts := microTime(0)
		setAttr(t, s, o, "tokens", "t1", `{"tok": "def"}`, &ts, 0)
		got = getAttr(t, s, o, "tokens", "t1")
		if got.TTLTimestamp != nil {
			t.Fatalf("ttl_timestamp after rewrite without TTL = %d, want none (permanent)", *got.TTLTimestamp)
		}
		// SetAttribute replaces the whole row: a rewrite without ts clears the timestamp.
		setAttr(t, s, o, "tokens", "t1", `{"tok": "ghi"}`, nil, 0)
		got = getAttr(t, s, o, "tokens", "t1")
		if got.Timestamp != nil {
			t.Fatalf("timestamp after rewrite without ts = %v, want none (row replaced)", got.Timestamp)
		}
		jsonEq(t, got.Data, json.RawMessage(`{"tok":"ghi"}`), "data after rewrite")
	})

	t.Run("Expired", func(t *testing.T) {
		s := open(t) // DeleteExpiredAttributes counts across owners
		ctx := ctxOf(t)
		now := time.Now().Truncate(time.Second)
		o, sys := newID(t), actingweb.ReservedOwnerPrefix+"oauth2"
		past, future, boundary := now.Unix()-100, now.Unix()+100000, now.Unix()
		data := json.RawMessage(`{"v": 1}`)
		putAttrRecord(t, s,
			&actingweb.Attribute{ID: o, Bucket: "b1", Name: "old", Data: data, TTLTimestamp: &past},
			&actingweb.Attribute{ID: o, Bucket: "b1", Name: "live", Data: data, TTLTimestamp: &future},
			&actingweb.Attribute{ID: o, Bucket: "b1", Name: "forever", Data: data},
			&actingweb.Attribute{ID: o, Bucket: "b2", Name: "old", Data: data, TTLTimestamp: &past},
			&actingweb.Attribute{ID: o, Bucket: "b2", Name: "edge", Data: data, TTLTimestamp: &boundary},
			&actingweb.Attribute{ID: sys, Bucket: "_auth_code_index", Name: "code:1", Data: data, TTLTimestamp: &past},
		)
		// GetAttribute does no expiry filtering; GetAttributeStrict treats expired as absent.
		got := getAttr(t, s, o, "b1", "old")
		jsonEq(t, got.Data, data, "expired row through GetAttribute")
		_, err := s.GetAttributeStrict(ctx, o, "b1", "old")
		wantErr(t, err, actingweb.ErrNotFound, "GetAttributeStrict of an expired row")
		_, err = s.GetAttributeStrict(ctx, o, "b2", "edge")
		wantErr(t, err, actingweb.ErrNotFound, "GetAttributeStrict of a row with ttl_timestamp == now (<= now is expired)")
		if _, err := s.GetAttributeStrict(ctx, o, "b1", "live"); err != nil {
			t.Fatalf("GetAttributeStrict of a live row: %v", err)
		}
		bucket, err := s.GetBucket(ctx, o, "b1")
		must(t, err, "GetBucket")
		deepEq(t, sortedKeys(bucket), []string{"forever", "live", "old"}, "GetBucket without expiry filtering")

		// Purge only in b1: one row.
		n, err := s.DeleteExpiredAttributes(ctx, now, []string{"b1"})
		must(t, err, "DeleteExpiredAttributes b1")
		eq(t, n, int64(1), "rows purged in b1")
		attrGone(t, s, o, "b1", "old", "expired row in b1 after purge")
		getAttr(t, s, o, "b2", "old")
		getAttr(t, s, o, "b1", "live")
		// Purge everywhere: b2:old and the reserved owner's row. Reading: §6.9 purges
		// ttl_timestamp < now (strict), so the boundary row (ttl == now, whole seconds) stays,
		// while strict reads already treat it as expired (<= now).
		n, err = s.DeleteExpiredAttributes(ctx, now, nil)
		must(t, err, "DeleteExpiredAttributes all")
		eq(t, n, int64(2), "rows purged everywhere")
		attrGone(t, s, o, "b2", "old", "expired row in b2 after purge")
		attrGone(t, s, sys, "_auth_code_index", "code:1", "expired reserved-owner row after purge")
		getAttr(t, s, o, "b2", "edge")
		getAttr(t, s, o, "b1", "forever")
		cnt, err := s.Count(ctx, actingweb.TableAttributes)
		must(t, err, "Count attributes")
		eq(t, cnt, int64(3), "attributes left (live, forever, edge)")
		n, err = s.DeleteExpiredAttributes(ctx, now, nil)
		must(t, err, "DeleteExpiredAttributes again")
		eq(t, n, int64(0), "rows purged on repeat")
	})

	t.Run("ReservedOwners", func(t *testing.T) {
		ctx := ctxOf(t)
		for _, owner := range []string{"_actingweb_oauth2", "_actingweb_system"} {
			setAttr(t, s, owner, "_client_index", "client-"+owner, `{"actor_id": "x"}`, nil, 0)
			setAttr(t, s, owner, "spa_refresh_tokens", "rt:1", `{"chain_id": "c"}`, nil, time.Hour)
		}
		_, err := s.GetActor(ctx, "_actingweb_oauth2")
		wantErr(t, err, actingweb.ErrNotFound, "no actor row for the reserved owner")
		// Actor operations on real actors do not touch reserved owners' rows.
		a := newID(t)
		createActor(t, s, a, "res@example.com")
		setAttr(t, s, a, "_client_index", "client-_actingweb_oauth2", `{"mine": true}`, nil, 0)
		must(t, actingweb.DeleteActorCascade(ctx, s, a, time.Now()), "DeleteActorCascade")
		must(t, s.DeleteAllAttributes(ctx, newID(t)), "DeleteAllAttributes of another owner")
		for _, owner := range []string{"_actingweb_oauth2", "_actingweb_system"} {
			got := getAttr(t, s, owner, "_client_index", "client-"+owner)
			jsonEq(t, got.Data, json.RawMessage(`{"actor_id":"x"}`), "reserved owner payload")
			all, err := s.ListAttributes(ctx, owner)
			must(t, err, "ListAttributes "+owner)
			deepEq(t, sortedKeys(all), []string{"_client_index", "spa_refresh_tokens"}, "reserved owner's buckets")
		}
	})

	t.Run("DeleteAttributeAndConditional", func(t *testing.T) {
		ctx := ctxOf(t)
		o := newID(t)
		setAttr(t, s, o, "b", "x", `1`, nil, 0)
		setAttr(t, s, o, "b", "y", `2`, nil, 0)
		must(t, s.DeleteAttribute(ctx, o, "b", "x"), "DeleteAttribute")
		attrGone(t, s, o, "b", "x", "after DeleteAttribute")
		must(t, s.DeleteAttribute(ctx, o, "b", "x"), "DeleteAttribute again (idempotent)")
		ok, err := s.DeleteAttributeConditional(ctx, o, "b", "y")
		mustBool(t, ok, err, true, "DeleteAttributeConditional of an existing row")
		ok, err = s.DeleteAttributeConditional(ctx, o, "b", "y")
		mustBool(t, ok, err, false, "DeleteAttributeConditional second use")
		attrGone(t, s, o, "b", "y", "after DeleteAttributeConditional")
	})

	t.Run("DeleteAttributesByChain", func(t *testing.T) {
		ctx := ctxOf(t)
		o, other := newID(t), newID(t)
		setAttr(t, s, o, "_refresh_token_index", "rt1", `{"chain_id": "c1", "used": false}`, nil, 0)
		setAttr(t, s, o, "_refresh_token_index", "rt2", `{"chain_id": "c1"}`, nil, 0)
		setAttr(t, s, o, "_refresh_token_index", "rt3", `{"chain_id": "c2"}`, nil, 0)
		setAttr(t, s, o, "_access_token_index", "at1", `{"chain_id": "c1"}`, nil, 0)
		setAttr(t, s, o, "_access_token_index", "at2", `["c1"]`, nil, 0)
		setAttr(t, s, o, "_access_token_index", "at3", `"c1"`, nil, 0)
		setAttr(t, s, o, "_access_token_index", "at4", `{"nested": {"chain_id": "c1"}}`, nil, 0)
		setAttr(t, s, o, "_refresh_token_index_x", "rt9", `{"chain_id": "c1"}`, nil, 0) // prefix of no listed bucket
		setAttr(t, s, o, "other_bucket", "x", `{"chain_id": "c1"}`, nil, 0)
		setAttr(t, s, other, "_refresh_token_index", "rt1", `{"chain_id": "c1"}`, nil, 0)
		n, err := s.DeleteAttributesByChain(ctx, o, []string{"_refresh_token_index", "_access_token_index"}, "c1")
		must(t, err, "DeleteAttributesByChain")
		eq(t, n, int64(3), "rows deleted (rt1, rt2, at1)")
		all, err := s.ListAttributes(ctx, o)
		must(t, err, "ListAttributes")
		deepEq(t, sortedKeys(all["_refresh_token_index"]), []string{"rt3"}, "refresh tokens left")
		deepEq(t, sortedKeys(all["_access_token_index"]), []string{"at2", "at3", "at4"}, "access tokens left")
		deepEq(t, sortedKeys(all["_refresh_token_index_x"]), []string{"rt9"}, "unlisted bucket")
		deepEq(t, sortedKeys(all["other_bucket"]), []string{"x"}, "unlisted bucket")
		getAttr(t, s, other, "_refresh_token_index", "rt1")
		n, err = s.DeleteAttributesByChain(ctx, o, []string{"_refresh_token_index"}, "c1")
		must(t, err, "DeleteAttributesByChain again")
		eq(t, n, int64(0), "rows deleted on repeat")
	})

	t.Run("ListAndBucketTimestamps", func(t *testing.T) {
		ctx := ctxOf(t)
		o := newID(t)
		empty, err := s.ListAttributes(ctx, o)
		wantEmptyMap(t, empty, err, "ListAttributes empty", "ListAttributes(none)")
		emptyTS, err := s.BucketTimestamps(ctx, o)
		wantEmptyMap(t, emptyTS, err, "BucketTimestamps empty", "BucketTimestamps(none)")
		t1, t2, t3 := microTime(0), microTime(time.Hour), microTime(30*time.Minute)
		// Range-key order within bucket "a" is a1, a2, a3; the greatest timestamp is on a2.
		setAttr(t, s, o, "a", "a1", `1`, &t1, 0)
		setAttr(t, s, o, "a", "a2", `2`, &t2, 0)
		setAttr(t, s, o, "a", "a3", `3`, &t3, 0)
		setAttr(t, s, o, "a", "a4", `4`, nil, 0)
		setAttr(t, s, o, "b", "b1", `5`, &t3, 0)
		setAttr(t, s, o, "c", "c1", `6`, nil, 0)
		got, err := s.BucketTimestamps(ctx, o)
		must(t, err, "BucketTimestamps")
		deepEq(t, sortedKeys(got), []string{"a", "b"}, "buckets with timestamps (c has none)")
		if !got["a"].Equal(t2) {
			t.Fatalf("BucketTimestamps[a] = %s, want the maximum %s", got["a"], t2)
		}
		if !got["b"].Equal(t3) {
			t.Fatalf("BucketTimestamps[b] = %s, want %s", got["b"], t3)
		}
		all, err := s.ListAttributes(ctx, o)
		must(t, err, "ListAttributes")
		deepEq(t, sortedKeys(all), []string{"a", "b", "c"}, "ListAttributes buckets")
		deepEq(t, sortedKeys(all["a"]), []string{"a1", "a2", "a3", "a4"}, "ListAttributes names of a")
		jsonEq(t, all["c"]["c1"].Data, json.RawMessage(`6`), "listed payload")
		eq(t, all["a"]["a2"].BucketName, "a:a2", "listed bucket_name")
	})

	t.Run("DeleteAllAttributes", func(t *testing.T) {
		ctx := ctxOf(t)
		o, other := newID(t), newID(t)
		for i := 0; i < 30; i++ {
			setAttr(t, s, o, fmt.Sprintf("bucket%d", i%3), fmt.Sprintf("n%d", i), `{"i": 1}`, nil, 0)
		}
		setAttr(t, s, other, "bucket0", "n0", `{"i": 2}`, nil, 0)
		must(t, s.DeleteAllAttributes(ctx, o), "DeleteAllAttributes")
		all, err := s.ListAttributes(ctx, o)
		must(t, err, "ListAttributes")
		eq(t, len(all), 0, "buckets left")
		jsonEq(t, getAttr(t, s, other, "bucket0", "n0").Data, json.RawMessage(`{"i": 2}`), "other owner's row")
		must(t, s.DeleteAllAttributes(ctx, o), "DeleteAllAttributes again (idempotent)")
	})

	t.Run("UnicodeAndLarge", func(t *testing.T) {
		o := newID(t)
		for _, u := range unicodeSamples {
			payload, _ := json.Marshal(map[string]any{"text": u.value, u.value: []string{u.value}})
			setAttr(t, s, o, "bucket "+u.value, "name "+u.value, string(payload), nil, 0)
			got := getAttr(t, s, o, "bucket "+u.value, "name "+u.value)
			jsonEq(t, got.Data, payload, "unicode payload "+u.name)
			eq(t, got.Name, "name "+u.value, "unicode name "+u.name)
		}
		// Escaped and raw forms of the same text are the same JSON.
		setAttr(t, s, o, "esc", "n", `{"k": "\u00fc\ud83d\ude80"}`, nil, 0)
		jsonEq(t, getAttr(t, s, o, "esc", "n").Data, json.RawMessage(`{"k":"ü🚀"}`), "escaped unicode payload")
		big, _ := json.Marshal(map[string]string{"blob": strings.Repeat("x", 100*1024)})
		setAttr(t, s, o, "big", "n", string(big), nil, 0)
		jsonEq(t, getAttr(t, s, o, "big", "n").Data, big, "100 KB payload")
	})
}

func sortedStrings(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}
