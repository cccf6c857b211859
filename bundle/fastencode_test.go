package bundle

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
)

// checkEncodeEquiv fails t unless AppendRecordJSON gives json.Marshal's bytes (or its error)
// for r. It reports whether the hand encoder took r.
func checkEncodeEquiv(t *testing.T, r actingweb.Record) bool {
	t.Helper()
	want, werr := json.Marshal(r)
	got, err := AppendRecordJSON([]byte("prefix"), r)
	if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
		t.Fatalf("%#v: AppendRecordJSON error %v, json.Marshal %v", r, err, werr)
	}
	if werr == nil && !bytes.Equal(got, append([]byte("prefix"), want...)) {
		t.Fatalf("%#v:\n got %s\nwant prefix%s", r, got, want)
	}
	if werr != nil && string(got) != "prefix" {
		t.Fatalf("%#v: dst changed on error: %q", r, got)
	}
	if werr == nil && recordStringsValid(want) {
		// the same bytes when the strings are vouched for as valid UTF-8 (WriterOptions.Validated)
		if vgot, err := appendRecordJSON([]byte("prefix"), r, true); err != nil || !bytes.Equal(vgot, got) {
			t.Fatalf("%#v: valid-UTF-8 encoder %s (%v), want %s", r, vgot, err, got)
		}
	}
	_, ok := appendRecordFast(nil, r, false)
	return ok
}

// recordStringsValid reports whether the record json.Marshal encoded as line had only valid
// UTF-8 strings: json.Marshal writes an invalid byte as \ufffd, a valid U+FFFD as itself.
func recordStringsValid(line []byte) bool { return !bytes.Contains(line, []byte(`\ufffd`)) }

func sp(s string) *string         { return &s }
func ip(n int64) *int64           { return &n }
func tp(t time.Time) *time.Time   { return &t }
func rm(s string) json.RawMessage { return json.RawMessage(s) }

// TestEncodeFastTables: records of every table with edge-case values encode exactly as with
// json.Marshal, and the hand encoder takes all but the ones json.Marshal refuses or that need
// its slow path.
func TestEncodeFastTables(t *testing.T) {
	utc := time.Date(2025, 4, 13, 2, 21, 39, 694133000, time.UTC)
	times := []time.Time{
		utc,
		time.Date(2025, 4, 13, 2, 21, 39, 0, time.UTC),
		time.Date(2025, 4, 13, 2, 21, 39, 100, time.FixedZone("x", 5*3600+1800)),
		time.Date(2025, 4, 13, 2, 21, 39, 120000000, time.FixedZone("", -3600)),
		time.Date(2025, 4, 13, 2, 21, 39, 1, time.Local),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		{},
		time.Now(), // monotonic reading
	}
	badTimes := []time.Time{
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2025, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600)),
		time.Date(2025, 1, 1, 0, 0, 0, 0, time.FixedZone("", -25*3600)),
	}
	strs := []string{
		"", "plain", `quote " backslash \ slash /`, "<html>&amp;</html>", "\b\f\n\r\t\x00\x01\x1f\x7f",
		"Chloé ☃ 日本語 😀", "\u2028\u2029", "bad \xff\xfe utf8 \xc3", "\xed\xa0\x80", `{"k":[1,2,"x\"y"]}`,
	}
	datas := []json.RawMessage{
		nil, {}, rm(`0`), rm(`false`), rm(`""`), rm(`[]`), rm(`{}`), rm(`null`), rm(`-1.5e+10`),
		rm(`{"a":[1,true,null,"<&>\u2028"],"b":{}}`),
		rm(" { \"a\" : [ 1 , 2 ] ,\n\t\"b\" : \"x y\" }\r\n"),
		rm("\"\u2028\u2029<>&\""),
		rm("\"\xff\xe2\x80\""),
		rm(`"\u00e9\ud800\/"`),
	}
	badDatas := []json.RawMessage{
		rm(` `), rm(`{`), rm(`[1,]`), rm(`{"a":1,}`), rm(`01`), rm(`1.`), rm(`tru`), rm(`"\x"`), rm("\"\x01\""),
		rm(`{"a" 1}`), rm(`1 2`), rm(`{1:2}`), rm(`"abc`), rm(`-`), rm(`+1`), rm(`NaN`),
	}
	var recs []actingweb.Record
	var fallback []actingweb.Record // json.Marshal refuses them
	for i, s := range strs {
		tm := times[i%len(times)]
		recs = append(recs,
			&actingweb.Actor{ID: s, Creator: s, Passphrase: s},
			&actingweb.Actor{ID: s, Creator: s, Passphrase: s, CreatedAt: tp(tm)},
			&actingweb.Property{ID: s, Name: "n" + s, Value: s + s},
			&actingweb.PropertyLookup{PropertyName: s, LookupKey: s, ActorID: s},
			&actingweb.PropertyLookup{PropertyName: s, Value: sp(s), LookupKey: s, ActorID: s},
			&actingweb.Attribute{ID: s, BucketName: s, Bucket: s, Name: s},
			&actingweb.Attribute{ID: s, BucketName: s, Bucket: s, Name: s, Data: datas[i%len(datas)], Timestamp: tp(tm), TTLTimestamp: ip(int64(i) - 5)},
			&actingweb.Trust{ID: s, PeerID: s, BaseURI: s, Type: s, Relationship: s, Secret: s, Approved: i%2 == 0, Verified: true},
			&actingweb.Trust{ID: s, PeerID: s, BaseURI: s, Type: s, Relationship: s, Secret: s, Desc: sp(s), PeerApproved: true,
				VerificationToken: sp(s), PeerIdentifier: sp(s), EstablishedVia: sp(s), CreatedAt: tp(tm), LastAccessed: tp(tm),
				LastConnectedVia: sp(s), ClientName: sp(s), ClientVersion: sp(s), ClientPlatform: sp(s), OAuthClientID: sp(s),
				AWSupported: sp(s), AWVersion: sp(s), CapabilitiesFetchedAt: tp(tm)},
			&actingweb.PeerTrustee{ID: s, PeerID: s, BaseURI: s, Type: s, Passphrase: s},
			&actingweb.Subscription{ID: s, PeerSubID: s, PeerID: s, SubID: s, Seqnr: int64(i), Callback: i%2 == 1},
			&actingweb.Subscription{ID: s, PeerSubID: s, PeerID: s, SubID: s, Granularity: sp(s), Target: sp(s), Subtarget: sp(s), Resource: sp(s), Seqnr: math.MinInt64},
			&actingweb.SubscriptionDiff{ID: s, SubIDSeqnr: s, SubID: s, Timestamp: tm, Diff: s, Seqnr: math.MaxInt64},
			&actingweb.SubscriptionSuspension{ID: s, Target: s, Subtarget: s, SuspendedAt: tm},
		)
	}
	for _, d := range datas {
		recs = append(recs, &actingweb.Attribute{ID: "a", BucketName: "b:n", Data: d})
	}
	for _, d := range badDatas {
		fallback = append(fallback, &actingweb.Attribute{ID: "a", BucketName: "b:n", Data: d})
	}
	for _, tm := range badTimes {
		fallback = append(fallback,
			&actingweb.Actor{ID: "a", CreatedAt: tp(tm)},
			&actingweb.Attribute{ID: "a", Timestamp: tp(tm)},
			&actingweb.Trust{ID: "a", LastAccessed: tp(tm)},
			&actingweb.Trust{ID: "a", CapabilitiesFetchedAt: tp(tm)},
			&actingweb.SubscriptionDiff{ID: "a", Timestamp: tm},
			&actingweb.SubscriptionSuspension{ID: "a", SuspendedAt: tm},
		)
	}
	for _, r := range recs {
		if !checkEncodeEquiv(t, r) {
			t.Errorf("%#v: the hand encoder did not take it", r)
		}
	}
	for _, r := range fallback {
		if checkEncodeEquiv(t, r) {
			t.Errorf("%#v: the hand encoder took it", r)
		}
		if _, err := json.Marshal(r); err == nil {
			t.Errorf("%#v: json.Marshal takes it", r)
		}
	}
	// nil records are left to json.Marshal ("null")
	for _, tb := range actingweb.Tables {
		nilRec := reflectNil(actingweb.NewRecord(tb))
		if checkEncodeEquiv(t, nilRec) {
			t.Errorf("%s: nil record taken by the hand encoder", tb)
		}
	}
}

// reflectNil returns a typed nil pointer of r's type.
func reflectNil(r actingweb.Record) actingweb.Record {
	switch r.(type) {
	case *actingweb.Actor:
		return (*actingweb.Actor)(nil)
	case *actingweb.Property:
		return (*actingweb.Property)(nil)
	case *actingweb.PropertyLookup:
		return (*actingweb.PropertyLookup)(nil)
	case *actingweb.Attribute:
		return (*actingweb.Attribute)(nil)
	case *actingweb.Trust:
		return (*actingweb.Trust)(nil)
	case *actingweb.PeerTrustee:
		return (*actingweb.PeerTrustee)(nil)
	case *actingweb.Subscription:
		return (*actingweb.Subscription)(nil)
	case *actingweb.SubscriptionDiff:
		return (*actingweb.SubscriptionDiff)(nil)
	case *actingweb.SubscriptionSuspension:
		return (*actingweb.SubscriptionSuspension)(nil)
	}
	return nil
}

// FuzzEncodeEquivalence: records of every table built from the fuzz input (strings, numbers,
// a JSON payload, a time with any offset, fields present or absent) encode as json.Marshal
// encodes them. `go test -fuzz FuzzEncodeEquivalence ./bundle/` explores further.
func FuzzEncodeEquivalence(f *testing.F) {
	for _, s := range encodeSeeds {
		f.Add(s, s+"x", int64(len(s)), uint32(len(s)*2654435761), []byte(`{"a":[1, 2],"b":"<x>"}`), int64(1767225600), int64(123456789), int32(3600))
	}
	for tb, lines := range seedLines(f) {
		for i, l := range lines {
			r, err := DecodeRecord(tb, l)
			if err != nil {
				f.Fatal(err)
			}
			var data []byte
			if a, ok := r.(*actingweb.Attribute); ok {
				data = a.Data
			}
			f.Add(string(l[:len(l)/2]), r.Key(), int64(i)-3, uint32(i*0x9e3779b9), data, int64(1700000000+i*86400), int64(i*1000), int32(-i*1800))
		}
	}
	f.Fuzz(func(t *testing.T, s1, s2 string, n int64, bits uint32, data []byte, sec, nsec int64, off int32) {
		tm := time.Unix(sec, nsec)
		switch bits >> 28 {
		case 0:
			tm = tm.UTC()
		case 1:
			tm = tm.Local()
		case 2:
			tm = time.Now().Add(time.Duration(n))
		default:
			tm = tm.In(time.FixedZone("z", int(off)))
		}
		bit := func(i uint) bool { return bits&(1<<i) != 0 }
		str := func(i uint) string {
			if bit(i) {
				return s1
			}
			return s2
		}
		ptr := func(i uint) *string {
			if !bit(i) {
				return nil
			}
			v := str(i + 1)
			return &v
		}
		tptr := func(i uint) *time.Time {
			if !bit(i) {
				return nil
			}
			return &tm
		}
		var raw json.RawMessage
		if bit(20) {
			raw = data
		}
		var ttl *int64
		if bit(21) {
			ttl = &n
		}
		recs := []actingweb.Record{
			&actingweb.Actor{ID: s1, Creator: s2, Passphrase: str(0), CreatedAt: tptr(1)},
			&actingweb.Property{ID: s1, Name: s2, Value: str(2)},
			&actingweb.PropertyLookup{PropertyName: s1, Value: ptr(3), LookupKey: s2, ActorID: str(5)},
			&actingweb.Attribute{ID: s1, BucketName: s2, Bucket: str(6), Name: str(7), Data: raw, Timestamp: tptr(8), TTLTimestamp: ttl},
			&actingweb.Trust{ID: s1, PeerID: s2, BaseURI: str(0), Type: str(1), Relationship: str(2), Secret: str(3),
				Desc: ptr(4), Approved: bit(5), PeerApproved: bit(6), Verified: bit(7), VerificationToken: ptr(8),
				PeerIdentifier: ptr(9), EstablishedVia: ptr(10), CreatedAt: tptr(11), LastAccessed: tptr(12),
				LastConnectedVia: ptr(13), ClientName: ptr(14), ClientVersion: ptr(15), ClientPlatform: ptr(16),
				OAuthClientID: ptr(17), AWSupported: ptr(18), AWVersion: ptr(19), CapabilitiesFetchedAt: tptr(22)},
			&actingweb.PeerTrustee{ID: s1, PeerID: s2, BaseURI: str(0), Type: str(1), Passphrase: str(2)},
			&actingweb.Subscription{ID: s1, PeerSubID: s2, PeerID: str(0), SubID: str(1), Granularity: ptr(2),
				Target: ptr(4), Subtarget: ptr(6), Resource: ptr(8), Seqnr: n, Callback: bit(10)},
			&actingweb.SubscriptionDiff{ID: s1, SubIDSeqnr: s2, SubID: str(0), Timestamp: tm, Diff: str(1), Seqnr: n},
			&actingweb.SubscriptionSuspension{ID: s1, Target: s2, Subtarget: str(0), SuspendedAt: tm},
		}
		for _, r := range recs {
			checkEncodeEquiv(t, r)
		}
		// the payload alone, also as a string value
		a := &actingweb.Attribute{ID: "a", Data: data}
		checkEncodeEquiv(t, a)
		if b, err := json.Marshal(string(data)); err == nil {
			a.Data = b
			checkEncodeEquiv(t, a)
		}
	})
}

// BenchmarkEncode encodes the records of each table's seed lines (AppendRecordJSON, hand
// encoders included) and, for comparison, with json.Marshal.
func BenchmarkEncode(b *testing.B) {
	for _, t := range actingweb.Tables {
		var recs []actingweb.Record
		n := 0
		for _, l := range seedLines(b)[t] {
			r, err := DecodeRecord(t, l)
			if err != nil {
				b.Fatal(err)
			}
			recs = append(recs, r)
			n += len(l) + 1
		}
		b.Run(string(t), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				for _, r := range recs {
					var err error
					if buf, err = AppendRecordJSON(buf[:0], r); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(string(t)+"/encoding-json", func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				for _, r := range recs {
					if _, err := json.Marshal(r); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
