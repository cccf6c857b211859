package dynamodb

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	actingweb "github.com/actingweb/actingweb-go"
)

const fixtureDir = "../testdata/upstream-seed1/dynamodb"

// fixtureItems returns the wire lines of the fixture file of t.
func fixtureItems(t testing.TB, table actingweb.Table) [][]byte {
	t.Helper()
	f, err := os.Open(filepath.Join(fixtureDir, table.DynamoDBSuffix()+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			lines = append(lines, append([]byte(nil), sc.Bytes()...))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// fixtureRecords decodes every item of the fixture file of t.
func fixtureRecords(t *testing.T, table actingweb.Table) []actingweb.Record {
	t.Helper()
	var recs []actingweb.Record
	for _, line := range fixtureItems(t, table) {
		item, err := ParseWireItem(line)
		if err != nil {
			t.Fatal(err)
		}
		r, err := decodeRecord(table, item)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	return recs
}

func avEqual(a, b types.AttributeValue) bool { return reflect.DeepEqual(a, b) }

// TestCodecFixtureRoundTrip is the compatibility proof: every item upstream wrote decodes and
// re-encodes to the identical item, attribute by attribute, type and bytes.
func TestCodecFixtureRoundTrip(t *testing.T) {
	for _, table := range actingweb.Tables {
		t.Run(string(table), func(t *testing.T) {
			lines := fixtureItems(t, table)
			if len(lines) == 0 {
				t.Fatal("fixture has no items")
			}
			for i, line := range lines {
				item, err := ParseWireItem(line)
				if err != nil {
					t.Fatalf("line %d: parse: %v", i+1, err)
				}
				rec, err := decodeRecord(table, item)
				if err != nil {
					t.Fatalf("line %d: decode: %v", i+1, err)
				}
				if rec.Table() != table {
					t.Fatalf("line %d: decoded a %s record", i+1, rec.Table())
				}
				back, err := encodeRecord(rec)
				if err != nil {
					t.Fatalf("line %d: encode: %v", i+1, err)
				}
				for name, want := range item {
					got, ok := back[name]
					if !ok {
						t.Errorf("line %d (%s): attribute %s missing after re-encode", i+1, actingweb.KeyString(rec.Key()), name)
					} else if !avEqual(got, want) {
						t.Errorf("line %d (%s): attribute %s = %#v, want %#v", i+1, actingweb.KeyString(rec.Key()), name, got, want)
					}
				}
				for name := range back {
					if _, ok := item[name]; !ok {
						t.Errorf("line %d (%s): extra attribute %s after re-encode", i+1, actingweb.KeyString(rec.Key()), name)
					}
				}
				// keyOf must be exactly the key-schema attributes of the item.
				hash, rng := keySchema(table)
				k := keyOf(rec)
				wantLen := 1
				if rng != "" {
					wantLen = 2
				}
				if len(k) != wantLen || !avEqual(k[hash], item[hash]) || (rng != "" && !avEqual(k[rng], item[rng])) {
					t.Errorf("line %d: keyOf = %v", i+1, k)
				}
				// The wire form survives a marshal/parse round trip byte for byte (sorted names).
				w, err := MarshalWireItem(item)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(w, line) {
					t.Errorf("line %d: MarshalWireItem differs from the fixture line:\n got %s\nwant %s", i+1, w, line)
				}
			}
		})
	}
}

func TestPythonJSON(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`{"a":1,"b":[true,false,null]}`, `{"a": 1, "b": [true, false, null]}`},
		{`{"b": 1, "a": 2}`, `{"b": 1, "a": 2}`},                       // order kept
		{`{"a": 1, "b": 2, "a": 3}`, `{"a": 3, "b": 2}`},               // dup: last value, first position
		{`"Renée"`, `"Ren\u00e9e"`},                                    // non-ASCII
		{`"😀"`, `"\ud83d\ude00"`},                                      // astral -> surrogate pair
		{`"\ud83d\ude00"`, `"\ud83d\ude00"`},                           // escaped pair kept
		{`"\uD800x"`, `"\ud800x"`},                                     // lone surrogate kept, lowercase
		{`"\u0041\/\u0008\u000C\u001f\u007f"`, `"A/\b\f\u001f\u007f"`}, // Python's short escapes
		{"\"a\tb\"", `"a\tb"`},                                         // raw control char (non-strict)
		{`"q\"b\\"`, `"q\"b\\"`},
		{`[]`, `[]`}, {`{}`, `{}`}, {` [ 1 , 2 ] `, `[1, 2]`},
		{`-0`, `0`}, {`12345678901234567890123`, `12345678901234567890123`},
		{`1.0`, `1.0`}, {`1e2`, `100.0`}, {`1E+2`, `100.0`}, {`2.71828`, `2.71828`},
		{`1e16`, `1e+16`}, {`1.5e16`, `1.5e+16`}, {`1e15`, `1000000000000000.0`},
		{`0.0001`, `0.0001`}, {`0.00001`, `1e-05`}, {`-0.0`, `-0.0`}, {`0.1`, `0.1`},
		{`123456789.123`, `123456789.123`}, {`1e-400`, `0.0`},
	}
	for _, tc := range tests {
		got, err := PythonJSON([]byte(tc.in))
		if err != nil {
			t.Errorf("PythonJSON(%s): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("PythonJSON(%s) = %s, want %s", tc.in, got, tc.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("PythonJSON(%s) = %s is not valid JSON", tc.in, got)
		}
	}
	for _, bad := range []string{`NaN`, `[Infinity]`, `-Infinity`, `{"a":1`, `[1,]`, `01`, `1e400`, `"\x"`, ``, `{} x`, "\"\xff\""} {
		if got, err := PythonJSON([]byte(bad)); !errors.Is(err, actingweb.ErrInvalid) {
			t.Errorf("PythonJSON(%q) = %q, %v; want ErrInvalid", bad, got, err)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		table actingweb.Table
		wire  string
		why   string
	}{
		{actingweb.TableAttributes, `{"id":{"S":"a"},"bucket_name":{"S":"b:n"},"bucket":{"S":"b"},"name":{"S":"n"},"data":{"S":"NaN"}}`, "NaN data"},
		{actingweb.TableAttributes, `{"id":{"S":"a"},"bucket_name":{"S":"b:n"},"bucket":{"S":"b"},"name":{"S":"n"},"data":{"S":"{\"x\": Infinity}"}}`, "Infinity data"},
		{actingweb.TableAttributes, `{"id":{"S":"a"},"bucket_name":{"S":"b:n"},"data":{"S":"{"}}`, "broken data"},
		{actingweb.TableAttributes, `{"id":{"S":"a"},"bucket_name":{"S":"b:n"},"timestamp":{"S":"2025-01-15T10:30:00Z"}}`, "bad timestamp"},
		{actingweb.TableAttributes, `{"id":{"S":"a"},"bucket_name":{"S":"b:n"},"ttl_timestamp":{"N":"1.5"}}`, "fractional ttl"},
		{actingweb.TableTrusts, `{"id":{"S":"a"},"peerid":{"S":"p"},"approved":{"N":"1"}}`, "numeric boolean"},
		{actingweb.TableActors, `{"creator":{"S":"c"}}`, "missing key"},
		{actingweb.TableActors, `{"id":{"N":"1"}}`, "key of type N"},
		{actingweb.TableSubscriptionSuspensions, `{"id":{"S":"a"},"target_key":{"S":"x:y"},"target":{"S":"x"},"suspended_at":{"S":"2025-01-15T10:30:00.000000+0000"}}`, "target_key drift"},
		{actingweb.TableSubscriptionSuspensions, `{"id":{"S":"a"},"target_key":{"S":"x"},"target":{"S":"x"}}`, "no suspended_at"},
	}
	for _, tc := range tests {
		item, err := ParseWireItem([]byte(tc.wire))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeRecord(tc.table, item); !errors.Is(err, actingweb.ErrInvalid) {
			t.Errorf("%s: decode error = %v, want ErrInvalid", tc.why, err)
		}
	}
}

func TestDecodeDefaults(t *testing.T) {
	parse := func(s string) map[string]types.AttributeValue {
		item, err := ParseWireItem([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return item
	}
	r, err := decodeRecord(actingweb.TableSubscriptions, parse(`{"id":{"S":"a"},"peer_sub_id":{"S":"p:s"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s := r.(*actingweb.Subscription); s.Seqnr != 0 || s.Callback || s.Target != nil {
		t.Errorf("subscription defaults: %+v", s)
	}
	before := time.Now().Add(-time.Second)
	r, err = decodeRecord(actingweb.TableSubscriptionDiffs, parse(`{"id":{"S":"a"},"subid_seqnr":{"S":"s:1"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if d := r.(*actingweb.SubscriptionDiff); d.Seqnr != 1 || d.Timestamp.Before(before) {
		t.Errorf("diff defaults: %+v", d)
	}
	r, err = decodeRecord(actingweb.TableTrusts, parse(`{"id":{"S":"a"},"peerid":{"S":"p"}}`))
	if err != nil {
		t.Fatal(err)
	}
	tr := r.(*actingweb.Trust)
	if tr.Approved || tr.Desc != nil {
		t.Errorf("trust defaults: %+v", tr)
	}
	item, err := encodeRecord(tr)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"desc", "verification_token"} {
		if !avEqual(item[name], avS("")) {
			t.Errorf("trust %s nil encodes as %#v, want S \"\"", name, item[name])
		}
	}
	// Raw control characters are accepted (Python's non-strict parser) and normalised.
	r, err = decodeRecord(actingweb.TableAttributes, parse(`{"id":{"S":"a"},"bucket_name":{"S":"b:n"},"data":{"S":"\"a\tb\""}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(r.(*actingweb.Attribute).Data); got != `"a\tb"` {
		t.Errorf("lenient data = %s", got)
	}
}

func TestEncodeShapes(t *testing.T) {
	empty, some := "", "x"
	ts := time.Date(999, 1, 2, 3, 4, 5, 6000, time.FixedZone("x", 3600))
	tests := []struct {
		rec  actingweb.Record
		want string
	}{
		{&actingweb.Actor{ID: "a", Creator: "c", Passphrase: "p", CreatedAt: &ts},
			`{"creator":{"S":"c"},"id":{"S":"a"},"passphrase":{"S":"p"}}`},
		{&actingweb.Subscription{ID: "a", PeerSubID: "p:s", PeerID: "p", SubID: "s", Granularity: &empty, Target: &some},
			`{"callback":{"BOOL":false},"id":{"S":"a"},"peer_sub_id":{"S":"p:s"},"peerid":{"S":"p"},"seqnr":{"N":"0"},"subid":{"S":"s"},"target":{"S":"x"}}`},
		{&actingweb.SubscriptionSuspension{ID: "a", Target: "t", SuspendedAt: ts},
			`{"id":{"S":"a"},"suspended_at":{"S":"0999-01-02T02:04:05.000006+0000"},"target":{"S":"t"},"target_key":{"S":"t"}}`},
		{&actingweb.SubscriptionSuspension{ID: "a", Target: "t", Subtarget: "u", SuspendedAt: ts},
			`{"id":{"S":"a"},"subtarget":{"S":"u"},"suspended_at":{"S":"0999-01-02T02:04:05.000006+0000"},"target":{"S":"t"},"target_key":{"S":"t:u"}}`},
		{&actingweb.Attribute{ID: "a", BucketName: "b:n", Bucket: "b", Name: "n", Data: json.RawMessage(`null`)},
			`{"bucket":{"S":"b"},"bucket_name":{"S":"b:n"},"id":{"S":"a"},"name":{"S":"n"}}`},
		{&actingweb.Attribute{ID: "a", BucketName: "b:n", Bucket: "b", Name: "n", Data: json.RawMessage(`{"z":"ü","a":[]}`)},
			`{"bucket":{"S":"b"},"bucket_name":{"S":"b:n"},"data":{"S":"{\"z\": \"\\u00fc\", \"a\": []}"},"id":{"S":"a"},"name":{"S":"n"}}`},
		{func() actingweb.Record { l := actingweb.NewPropertyLookup("email", "a@b", "A"); return &l }(),
			`{"actor_id":{"S":"A"},"lookup_key":{"S":"` + actingweb.LookupKey("email", "a@b") + `"},"property_name":{"S":"email"}}`},
	}
	for _, tc := range tests {
		item, err := encodeRecord(tc.rec)
		if err != nil {
			t.Fatal(err)
		}
		got, err := MarshalWireItem(item)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("%T:\n got %s\nwant %s", tc.rec, got, tc.want)
		}
	}
	if _, err := encodeRecord(&actingweb.Attribute{ID: "a", BucketName: "b:n", Data: json.RawMessage(`NaN`)}); !errors.Is(err, actingweb.ErrInvalid) {
		t.Errorf("NaN data encodes: %v", err)
	}
}

func TestWireRoundTripAllTypes(t *testing.T) {
	in := `{"b":{"B":"AAEC"},"bs":{"BS":["AA==","AQ=="]},"l":{"L":[{"S":"x"},{"N":"1"},{"NULL":true}]},"m":{"M":{"k":{"BOOL":true}}},"ns":{"NS":["1","2.5"]},"s":{"S":"<&>"},"ss":{"SS":["a","b"]}}`
	item, err := ParseWireItem([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := MarshalWireItem(item)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Errorf("wire round trip:\n got %s\nwant %s", out, in)
	}
	for _, bad := range []string{`[]`, `{"a":{}}`, `{"a":{"S":"x","N":"1"}}`, `{"a":{"X":"1"}}`, `{"a":{"S":1}}`, `{"a":{"NULL":false}}`, `null`} {
		if _, err := ParseWireItem([]byte(bad)); !errors.Is(err, actingweb.ErrInvalid) {
			t.Errorf("ParseWireItem(%s): %v, want ErrInvalid", bad, err)
		}
	}
}
