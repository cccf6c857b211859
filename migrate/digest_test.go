package migrate

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
)

// TestDigestNonJSONPayload: an attribute payload that is not JSON (NaN, Infinity: DynamoDB can
// hold Python's output) still contributes its content to the validation digest.
func TestDigestNonJSONPayload(t *testing.T) {
	attr := func(data string) actingweb.Record {
		return &actingweb.Attribute{ID: "a", BucketName: "b:n", Bucket: "b", Name: "n", Data: json.RawMessage(data)}
	}
	cases := []struct {
		a, b  string
		equal bool
	}{
		{"NaN", "NaN", true},
		{"NaN", "Infinity", false},
		{`{"x": NaN}`, `{"x": Infinity}`, false},
		{`"NaN"`, "NaN", false},
		{`{"a":1,"b":2}`, `{"b": 2, "a": 1.0}`, true},
		{`{"a":1}`, `{"a":2}`, false},
	}
	for _, c := range cases {
		x1, x2 := digest(attr(c.a))
		y1, y2 := digest(attr(c.b))
		if got := x1 == y1 && x2 == y2; got != c.equal {
			t.Errorf("digest(%s) == digest(%s): %v, want %v", c.a, c.b, got, c.equal)
		}
	}
}

// TestDigestFieldsComplete: for every record type, changing any one field (each kind of
// change: another value, absent, empty) changes the digest whenever it changes the canonical
// record, and moving bytes between two neighbouring string fields changes it too. A field
// left out of appendDigestFields fails here.
func TestDigestFieldsComplete(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 23, 52, 15, 411360000, time.UTC)
	str := func(s string) *string { return &s }
	i64 := func(v int64) *int64 { return &v }
	tp := func(t time.Time) *time.Time { return &t }
	// base values and the variants of each field type
	variants := map[reflect.Type][]any{
		reflect.TypeFor[string]():          {"v1", "v2", ""},
		reflect.TypeFor[*string]():         {str("p1"), nil, str("p2"), str("")},
		reflect.TypeFor[bool]():            {true, false},
		reflect.TypeFor[int64]():           {int64(7), int64(8), int64(-1)},
		reflect.TypeFor[*int64]():          {i64(7), nil, i64(8)},
		reflect.TypeFor[time.Time]():       {t0, t0.Add(time.Second), t0.Add(time.Microsecond)},
		reflect.TypeFor[*time.Time]():      {tp(t0), nil, tp(t0.Add(time.Second))},
		reflect.TypeFor[json.RawMessage](): {json.RawMessage(`{"a":1}`), json.RawMessage(nil), json.RawMessage(`{"a":2}`), json.RawMessage(`NaN`)},
	}
	for _, tb := range actingweb.Tables {
		typ := reflect.TypeOf(actingweb.NewRecord(tb)).Elem()
		base := reflect.New(typ)
		for i := range typ.NumField() {
			vs, ok := variants[typ.Field(i).Type]
			if !ok {
				t.Fatalf("%s.%s: field type %s has no variants in this test", typ.Name(), typ.Field(i).Name, typ.Field(i).Type)
			}
			base.Elem().Field(i).Set(reflect.ValueOf(vs[0]).Convert(typ.Field(i).Type))
		}
		rec := func(v reflect.Value) actingweb.Record { return v.Interface().(actingweb.Record) }
		d1, d2 := digest(rec(base))
		tested := 0
		for i := range typ.NumField() {
			f := typ.Field(i)
			for _, alt := range variants[f.Type][1:] {
				mod := reflect.New(typ)
				mod.Elem().Set(base.Elem())
				if alt == nil {
					mod.Elem().Field(i).Set(reflect.Zero(f.Type))
				} else {
					mod.Elem().Field(i).Set(reflect.ValueOf(alt).Convert(f.Type))
				}
				if reflect.DeepEqual(actingweb.Canonical(rec(mod)), actingweb.Canonical(rec(base))) {
					continue // a difference Canonical erases by design (e.g. actors.created_at)
				}
				tested++
				if e1, e2 := digest(rec(mod)); e1 == d1 && e2 == d2 {
					t.Errorf("%s.%s = %v: digest unchanged", typ.Name(), f.Name, alt)
				}
			}
			// a byte moved from this string field into the next one
			if f.Type.Kind() == reflect.String && i+1 < typ.NumField() && typ.Field(i+1).Type.Kind() == reflect.String {
				mod := reflect.New(typ)
				mod.Elem().Set(base.Elem())
				mod.Elem().Field(i).SetString("v")
				mod.Elem().Field(i + 1).SetString("1v1")
				if !reflect.DeepEqual(actingweb.Canonical(rec(mod)), actingweb.Canonical(rec(base))) {
					if e1, e2 := digest(rec(mod)); e1 == d1 && e2 == d2 {
						t.Errorf("%s.%s/%s: a byte moved between them leaves the digest unchanged", typ.Name(), f.Name, typ.Field(i+1).Name)
					}
				}
			}
		}
		if tested < typ.NumField() {
			t.Errorf("%s: only %d changes of %d fields reached the canonical record", typ.Name(), tested, typ.NumField())
		}
	}
}
