package dynamodb

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	actingweb "github.com/actingweb/actingweb-go"
)

// keyNames returns the HASH and RANGE attribute names of a key schema ("" when absent), and
// whether it holds anything else.
func keyNames(ks []types.KeySchemaElement) (hash, rng string, ok bool) {
	ok = len(ks) >= 1 && len(ks) <= 2
	for _, k := range ks {
		switch k.KeyType {
		case types.KeyTypeHash:
			hash = aws.ToString(k.AttributeName)
		case types.KeyTypeRange:
			rng = aws.ToString(k.AttributeName)
		default:
			ok = false
		}
	}
	return hash, rng, ok
}

// TestModelKeySchema: the key attributes of each table as the model names them are those the
// package creates (createTableInput: key schema and S attribute definitions), those upstream's
// models created (tables.json of the seed fixture), and those keyOf and keySchema use.
func TestModelKeySchema(t *testing.T) {
	upstream := fixtureTableShapes(t)
	s := &Store{prefix: "model"}
	for _, tb := range actingweb.Tables {
		m := actingweb.Model(tb)
		if m == nil || m.HashKey == "" {
			t.Fatalf("%s: model without hash key", tb)
		}
		in := s.createTableInput(tb)
		h, r, ok := keyNames(in.KeySchema)
		if !ok || h != m.HashKey || r != m.RangeKey {
			t.Errorf("%s: created key schema %s/%s, model %s/%s", tb, h, r, m.HashKey, m.RangeKey)
		}
		defs := map[string]types.ScalarAttributeType{}
		for _, d := range in.AttributeDefinitions {
			defs[aws.ToString(d.AttributeName)] = d.AttributeType
		}
		for _, k := range []string{m.HashKey, m.RangeKey} {
			if k != "" && defs[k] != types.ScalarAttributeTypeS {
				t.Errorf("%s: key attribute %s defined as %q, want S", tb, k, defs[k])
			}
		}
		up, found := upstream[tb.DynamoDBSuffix()]
		if !found {
			t.Fatalf("%s: not in tables.json", tb)
		}
		if h, r, ok := keyNames(up.KeySchema); !ok || h != m.HashKey || r != m.RangeKey {
			t.Errorf("%s: upstream key schema %s/%s, model %s/%s", tb, h, r, m.HashKey, m.RangeKey)
		}
		if h, r := keySchema(tb); h != m.HashKey || r != m.RangeKey {
			t.Errorf("%s: keySchema %s/%s, model %s/%s", tb, h, r, m.HashKey, m.RangeKey)
		}
		want := []string{m.HashKey}
		if m.RangeKey != "" {
			want = append(want, m.RangeKey)
		}
		var got []string
		for k := range keyOf(fullRecord(t, m)) {
			got = append(got, k)
		}
		sort.Strings(got)
		sort.Strings(want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: keyOf attributes %v, want %v", tb, got, want)
		}
	}
	if h, r := keySchema("nope"); h != "" || r != "" {
		t.Errorf("keySchema of an unknown table = %q, %q", h, r)
	}
}

// TestPlanCoversModel: every field of each model is a key field, a DynamoDBNone field or a
// stored field of the plan, once; the plan's offsets address the fields Field.Ptr returns.
func TestPlanCoversModel(t *testing.T) {
	for _, tb := range actingweb.Tables {
		m, p := actingweb.Model(tb), planOf(tb)
		r := m.New()
		base := p.base(r)
		if want := reflect.ValueOf(r).Pointer(); uintptr(base) != want {
			t.Errorf("%s: base %p, record at %#x", tb, base, want)
		}
		seen := map[string]int{}
		for i := range p.fields {
			f := &p.fields[i]
			seen[f.Name]++
			if got, want := unsafe.Add(base, f.off), ptrOf(f.Field, r); got != want {
				t.Errorf("%s.%s: offset %d addresses %p, Field.Ptr %p", tb, f.Name, f.off, got, want)
			}
		}
		for _, k := range []struct {
			f   *actingweb.Field
			off uintptr
		}{{p.hashField, p.hashOff}, {p.rngField, p.rngOff}} {
			if k.f == nil {
				continue
			}
			seen[k.f.Name]++
			if got, want := unsafe.Add(base, k.off), ptrOf(k.f, r); got != want {
				t.Errorf("%s.%s (key): offset addresses %p, Field.Ptr %p", tb, k.f.Name, got, want)
			}
		}
		for _, f := range m.Fields {
			if f.DynamoDB == actingweb.DynamoDBNone {
				seen[f.Name]++
			}
			if seen[f.Name] != 1 {
				t.Errorf("%s.%s: covered %d times by the plan", tb, f.Name, seen[f.Name])
			}
		}
		if len(seen) != len(m.Fields) {
			t.Errorf("%s: plan covers %v, model has %d fields", tb, seen, len(m.Fields))
		}
	}
}

// fullRecord returns a record of m with every field set to a value of its kind that the codec
// stores (non-empty strings, a JSON object, microsecond UTC times), consistent with the key
// hooks (a suspension's target_key is derived from its parts).
func fullRecord(t *testing.T, m *actingweb.TableModel) actingweb.Record {
	t.Helper()
	r := m.New()
	ts := time.Date(2025, 6, 1, 9, 42, 39, 395820000, time.UTC)
	for i := range m.Fields {
		f := &m.Fields[i]
		v := "v-" + f.Name
		switch p := f.Ptr(r).(type) {
		case *string:
			*p = v
		case **string:
			*p = &v
		case *bool:
			*p = true
		case *int64:
			*p = int64(1000 + i)
		case **int64:
			n := int64(1000 + i)
			*p = &n
		case *time.Time:
			*p = ts.Add(time.Duration(i) * time.Second)
		case **time.Time:
			x := ts.Add(time.Duration(i) * time.Second)
			*p = &x
		case *json.RawMessage:
			*p = json.RawMessage(`{"k": [1, "x"]}`)
		default:
			t.Fatalf("%s.%s: kind %s", m.Table, f.Name, f.Kind)
		}
	}
	return r
}

// TestCodecFullRecords: a record with every field set encodes to an item with one attribute of
// the kind's type per stored field (plus a derived key attribute) and decodes back to itself,
// DynamoDBNone fields zero.
func TestCodecFullRecords(t *testing.T) {
	for _, tb := range actingweb.Tables {
		m := actingweb.Model(tb)
		r := fullRecord(t, m)
		item, err := encodeRecord(r)
		if err != nil {
			t.Fatalf("%s: %v", tb, err)
		}
		want := m.New()
		stored := 0
		for i := range m.Fields {
			f := &m.Fields[i]
			if f.DynamoDB == actingweb.DynamoDBNone {
				continue
			}
			stored++
			reflect.ValueOf(f.Ptr(want)).Elem().Set(reflect.ValueOf(f.Ptr(r)).Elem())
			v, ok := item[f.Name]
			if !ok {
				t.Errorf("%s.%s: not in the item", tb, f.Name)
				continue
			}
			wantType := map[actingweb.FieldKind]string{actingweb.KindBool: "BOOL", actingweb.KindInt64: "N", actingweb.KindOptInt64: "N"}[f.Kind]
			if wantType == "" {
				wantType = "S"
			}
			if avType(v) != wantType {
				t.Errorf("%s.%s: attribute type %s, want %s", tb, f.Name, avType(v), wantType)
			}
		}
		if m.Field(m.RangeKey) == nil && m.RangeKey != "" {
			stored++ // the derived target_key
		}
		if len(item) != stored {
			t.Errorf("%s: item has %d attributes, want %d: %v", tb, len(item), stored, item)
		}
		back, err := decodeRecord(tb, item)
		if err != nil {
			t.Fatalf("%s: decode: %v", tb, err)
		}
		if !reflect.DeepEqual(back, want) {
			t.Errorf("%s: round trip\n got %+v\nwant %+v", tb, back, want)
		}
	}
}

// TestCodecErrorTexts pins the error texts of the item codec (those of the per-table codec the
// model-driven one replaced): table, key, attribute and cause.
func TestCodecErrorTexts(t *testing.T) {
	for _, c := range []struct {
		table      actingweb.Table
		wire, want string
	}{
		{actingweb.TableActors, `{"creator":{"S":"c"}}`, "decode actors item : invalid record: key attribute id is missing"},
		{actingweb.TableActors, `{"id":{"N":"1"}}`, "decode actors item : invalid record: attribute id has type N, want S"},
		{actingweb.TableActors, `{"id":{"S":"a"},"creator":{"BOOL":true}}`, "decode actors item a: invalid record: attribute creator has type BOOL, want S"},
		{actingweb.TableProperties, `{"id":{"S":"a"},"value":{"S":"v"}}`, "decode properties item a / : invalid record: key attribute name is missing"},
		{actingweb.TablePropertyLookup, `{"actor_id":{"S":"a"}}`, "decode property_lookup item : invalid record: key attribute lookup_key is missing"},
		{actingweb.TableAttributes, `{"id":{"S":"a"},"bucket_name":{"S":"b:n"},"data":{"S":"NaN"}}`,
			"decode attributes item a / b:n: attribute data: invalid record: JSON text at offset 0: NaN is not JSON (Python's non-standard token)"},
		{actingweb.TableAttributes, `{"id":{"S":"a"},"bucket_name":{"S":"b:n"},"data":{"N":"1"}}`,
			"decode attributes item a / b:n: invalid record: attribute data has type N, want S"},
		{actingweb.TableAttributes, `{"id":{"S":"a"},"bucket_name":{"S":"b:n"},"timestamp":{"S":"2025-01-15T10:30:00Z"}}`,
			`decode attributes item a / b:n: attribute timestamp: invalid record: timestamp "2025-01-15T10:30:00Z" is not PynamoDB's 31-character form`},
		{actingweb.TableAttributes, `{"id":{"S":"a"},"bucket_name":{"S":"b:n"},"ttl_timestamp":{"N":"1.5"}}`,
			`decode attributes item a / b:n: invalid record: attribute ttl_timestamp: number "1.5" is not an integer in int64 range`},
		{actingweb.TableTrusts, `{"id":{"S":"a"},"peerid":{"S":"p"},"approved":{"N":"1"}}`, "decode trusts item a / p: invalid record: attribute approved has type N, want BOOL"},
		{actingweb.TableTrusts, `{"id":{"S":"a"},"peerid":{"S":"p"},"desc":{"N":"1"}}`, "decode trusts item a / p: invalid record: attribute desc has type N, want S"},
		{actingweb.TableSubscriptions, `{"id":{"S":"a"},"peer_sub_id":{"S":"p:s"},"seqnr":{"S":"1"}}`,
			"decode subscriptions item a / p:s: invalid record: attribute seqnr has type S, want N"},
		{actingweb.TableSubscriptionDiffs, `{"id":{"S":"a"},"subid_seqnr":{"S":"s:1"},"timestamp":{"S":"x"}}`,
			`decode subscription_diffs item a / s:1: attribute timestamp: invalid record: timestamp "x" is not PynamoDB's 31-character form`},
		{actingweb.TableSubscriptionSuspensions, `{"id":{"S":"a"},"target_key":{"S":"x:y"},"target":{"S":"x"},"suspended_at":{"S":"2025-01-15T10:30:00.000000+0000"}}`,
			`decode subscription_suspensions item a / x / : invalid record: target_key "x:y" disagrees with target/subtarget (expected "x")`},
		{actingweb.TableSubscriptionSuspensions, `{"id":{"S":"a"},"target_key":{"S":"x"},"target":{"S":"x"}}`,
			"decode subscription_suspensions item a / x / : invalid record: required timestamp attribute suspended_at is missing"},
		{actingweb.TableSubscriptionSuspensions, `{"id":{"S":"a"},"target":{"S":"x"},"subtarget":{"S":"y"},"suspended_at":{"S":"2025-01-15T10:30:00.000000+0000"}}`,
			"decode subscription_suspensions item a / x / y: invalid record: key attribute target_key is missing"},
	} {
		item, err := ParseWireItem([]byte(c.wire))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeRecord(c.table, item); err == nil || err.Error() != c.want {
			t.Errorf("%s %s:\n got %v\nwant %s", c.table, c.wire, err, c.want)
		}
	}
	_, err := encodeRecord(&actingweb.Attribute{ID: "a", BucketName: "b:n", Data: json.RawMessage(`NaN`)})
	if want := "encode attributes item a / b:n: data: invalid record: JSON text at offset 0: NaN is not JSON (Python's non-standard token)"; err == nil || err.Error() != want {
		t.Errorf("encode NaN data: %v, want %s", err, want)
	}
	if _, err := encodeRecord(nil); err == nil || err.Error() != "unknown table: record type <nil>" {
		t.Errorf("encode nil: %v", err)
	}
	if _, err := encodeRecord(foreignRecord{}); err == nil || !strings.Contains(err.Error(), "unknown table: record type dynamodb.foreignRecord") {
		t.Errorf("encode a foreign record type: %v", err)
	}
	if _, err := decodeRecord("nope", item{}); err == nil || err.Error() != `unknown table: "nope"` {
		t.Errorf("decode of an unknown table: %v", err)
	}
}

// foreignRecord is a Record of a known table that is not the model's record type.
type foreignRecord struct{}

func (foreignRecord) Table() actingweb.Table { return actingweb.TableTrusts }
func (foreignRecord) Key() string            { return "x" }
func (foreignRecord) Owner() string          { return "x" }

// TestFieldUpdateTrust: ModifyTrust's update (fieldUpdate of TrustUpdate.Apply) sets exactly
// what the per-field code it replaced set: baseuri/secret/desc/verification_token only when
// non-empty, booleans and other strings (empty included) when given, timestamps in PynamoDB's
// form, last_connected_via canonicalised (removed when that is "").
func TestFieldUpdateTrust(t *testing.T) {
	s := func(v string) *string { return &v }
	no := false
	at := time.Date(2025, 6, 1, 9, 42, 39, 395820999, time.FixedZone("x", 3600))
	tu := actingweb.TrustUpdate{BaseURI: s(""), Secret: s("sec"), Desc: s(""), VerificationToken: s("tok"),
		Approved: &no, ClientName: s(""), AWVersion: s("1.1"), LastConnectedVia: s("  "), CapabilitiesFetchedAt: &at}
	var tr actingweb.Trust
	u, err := fieldUpdate(&tr, tu.Apply(&tr))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range u.sets {
		n, v, _ := strings.Cut(c, " = ")
		got[u.names[n]] = fmt.Sprintf("%s %v", avType(u.values[v]), reflect.ValueOf(u.values[v]).Elem().Field(0).Interface())
	}
	for _, n := range u.removes {
		got[u.names[n]] = "REMOVE"
	}
	want := map[string]string{"secret": "S sec", "verification_token": "S tok", "approved": "BOOL false",
		"client_name": "S ", "aw_version": "S 1.1", "last_connected_via": "REMOVE",
		"capabilities_fetched_at": "S 2025-06-01T08:42:39.395820+0000"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("update:\n got %v\nwant %v", got, want)
	}
	if _, err := fieldUpdate(&tr, []string{"peerid"}); err == nil {
		t.Error("fieldUpdate of a key attribute succeeded")
	}
}

// ptrOf is the address Field.Ptr gives for f in r.
func ptrOf(f *actingweb.Field, r actingweb.Record) unsafe.Pointer {
	return reflect.ValueOf(f.Ptr(r)).UnsafePointer()
}
