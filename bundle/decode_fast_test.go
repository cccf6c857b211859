package bundle

import (
	"reflect"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
)

// decodePropertyFast decodes a properties line in canonical form with its required fields
// set, without reflection (decodeFast); anything else returns ok=false.
func decodePropertyFast(line []byte) (rec *actingweb.Property, ok bool) {
	r, ok := decodeFast(actingweb.TableProperties, line, nil)
	if !ok || CheckRequired(r) != nil {
		return nil, false
	}
	return r.(*actingweb.Property), true
}

// TestDecodePropertyFast checks that the reflection-free properties path gives exactly what
// the generic decoder gives, and leaves every other form to it.
func TestDecodePropertyFast(t *testing.T) {
	cases := []struct {
		line string
		fast bool // the fast path takes it
	}{
		{`{"id":"a","name":"n","value":"v"}`, true},
		{`{"value":"v","name":"n","id":"a"}`, true},
		{`{"id":"a","name":"n","value":""}`, true},
		{`{"id":"a","name":"Chloé ☃","value":"日本語 😀"}`, true},
		{`{"id":"a","name":"n","value":"{\"k\":[1,2,\"x\\\"y\"]}\n\t\\\/"}`, true},
		{`{"id":"a","name":"n","value":"\u00e9\ud83d\ude00\u0000"}`, true},
		{`{"id":"a","name":"n","value":"\ud83d lone surrogate \udc00"}`, true},
		{`{"id":"a","name":"n","value":"\uD83D\uDE00 \ud83d\u0041 \udc00\ud83d"}`, true},
		{`{"id":"a","name":"n","value":"\ud83d\ud83d\ude00"}`, true},
		{`{"id":"a","name":"n","value":"\u00zz"}`, false},
		{`{"id":"a","name":"n","value":"\u00e"}`, false},
		{`{"id":"a","name":"n","value":"\'"}`, false},
		{`{"id":"a","name":"n","value":"bad \x escape"}`, false},
		{`{"id":"a","name":"n","value":"trailing backslash\"}`, false},
		{`{"id":"a","name":"n","value":"v","extra":"x"}`, false},
		{`{"id":"a","name":"n","value":null}`, false},
		{`{"id":"a","name":"n","value":1}`, false},
		{`{"id":"a","name":"n"}`, true}, // value absent: "" as encoding/json gives
		{`{"id":"","name":"n","value":"v"}`, false},
		{`{"id":"a","name":"","value":"v"}`, false},
		{`{"id":"a","id":"b","name":"n","value":"v"}`, false},
		{`{ "id":"a","name":"n","value":"v"}`, false},
		{`{"id":"a","name":"n","value":"v"} `, false},
		{`{"id":"a","name":"n","value":"v"}x`, false},
		{`{"id":"a","name":"n","value":"v"`, false},
		{`{"id":"a","name":"n","value":"v",}`, false},
		{`{"ID":"a","name":"n","value":"v"}`, false},
		{`{"i\u0064":"a","name":"n","value":"v"}`, false},
		{"{\"id\":\"a\",\"name\":\"n\",\"value\":\"bad \xff utf8\"}", false},
		{"{\"id\":\"a\",\"name\":\"n\",\"value\":\"ctl \x01\"}", false},
		{`[]`, false},
		{`{}`, false},
	}
	for _, c := range cases {
		t.Run(c.line, func(t *testing.T) {
			fp, ok := decodePropertyFast([]byte(c.line))
			if ok != c.fast {
				t.Fatalf("fast path took it: %v, want %v", ok, c.fast)
			}
			// the generic decoder, bypassing the fast path
			r := actingweb.NewRecord(actingweb.TableProperties)
			gerr := decodeGeneric(r, []byte(c.line))
			if !ok {
				return
			}
			if gerr != nil {
				t.Fatalf("fast path accepted a line the generic decoder rejects: %v", gerr)
			}
			if !reflect.DeepEqual(fp, r) {
				t.Fatalf("fast %#v, generic %#v", fp, r)
			}
			got, err := DecodeRecord(actingweb.TableProperties, []byte(c.line))
			if err != nil || !reflect.DeepEqual(got, r) {
				t.Fatalf("DecodeRecord %#v, %v; want %#v", got, err, r)
			}
		})
	}
}

// FuzzDecodePropertyFast: whatever the fast path accepts, the generic decoder accepts with the
// same record. `go test -fuzz FuzzDecodePropertyFast ./bundle/` explores further.
func FuzzDecodePropertyFast(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","name":"n","value":"v"}`,
		`{"id":"a","name":"n","value":"{\"k\":\"\u00e9\ud83d\ude00\\\/\b\f\n\r\t\"}"}`,
		`{"id":"a","name":"n","value":"\ud83d\u0041\udc00"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		fp, ok := decodePropertyFast(line)
		if !ok {
			return
		}
		r := actingweb.NewRecord(actingweb.TableProperties)
		if err := decodeGeneric(r, line); err != nil {
			t.Fatalf("fast path accepted %q, generic: %v", line, err)
		}
		if !reflect.DeepEqual(fp, r) {
			t.Fatalf("%q: fast %#v, generic %#v", line, fp, r)
		}
	})
}
