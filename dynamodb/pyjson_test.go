package dynamodb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
)

// TestPythonJSONDuplicateKeys: a Python dict keeps each key once, at its first position, with
// its last value; keys are equal when their decodings are (escaped or not).
func TestPythonJSONDuplicateKeys(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a":1,"b":2,"a":3,"c":4,"b":5,"a":6}`, `{"a": 6, "b": 5, "c": 4}`},
		{`{"b":{"x":1,"x":2},"a":[{"k":1,"k":{"z":0,"z":1}}],"b":3}`, `{"b": 3, "a": [{"k": {"z": 1}}]}`},
		{`{"a":1,"\u0061":2}`, `{"a": 2}`},
		{`{"é":1,"\u00e9":2,"\u00E9":3}`, `{"\u00e9": 3}`},
		{`{"\ud800":1,"\ud800":2,"\ud83d\ude00":3,"😀":4}`, `{"\ud800": 2, "\ud83d\ude00": 4}`},
		{`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15,"p":16,"q":17,"a":18}`,
			`{"a": 18, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9, "j": 10, "k": 11, "l": 12, "m": 13, "n": 14, "o": 15, "p": 16, "q": 17}`},
		{"{\"a\\tb\": \"x\ty\", \"a\\u0009b\": 1}", `{"a\tb": 1}`},
		{`{"":1,"":2}`, `{"": 2}`},
	} {
		if got, err := PythonJSON([]byte(tc.in)); err != nil || got != tc.want {
			t.Errorf("PythonJSON(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

// TestPythonJSONDepth: values nested up to 10000 levels below the top are taken.
func TestPythonJSONDepth(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{strings.Repeat("[", 10001) + strings.Repeat("]", 10001), true},
		{strings.Repeat("[", 10002) + strings.Repeat("]", 10002), false},
		{strings.Repeat("[", 10000) + "1" + strings.Repeat("]", 10000), true},
		{strings.Repeat("[", 10001) + "1" + strings.Repeat("]", 10001), false},
	} {
		if _, err := PythonJSON([]byte(tc.in)); (err == nil) != tc.ok {
			t.Errorf("PythonJSON(%.20s… %d bytes) = %v, want ok %v", tc.in, len(tc.in), err, tc.ok)
		}
	}
}

// TestPythonJSONProperties: on random documents in encoding/json's and in whitespace-rich
// form, PythonJSON's output is JSON of the same value (CanonicalJSON; integers only, so that
// no float rounding intervenes), json.dumps of it again gives it back, readJSONText keeps it
// verbatim and parseJSON finds it strict.
func TestPythonJSONProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	words := []string{"café", "naïve", "会議", "😀", "a<b&c", "q\"uote", `back\slash`, "tab\there", "\x01", "\u2028", "\x7f", "", "plain"}
	var gen func(depth int) any
	gen = func(depth int) any {
		switch k := r.IntN(8); {
		case k == 0:
			return []any{nil, true, false}[r.IntN(3)]
		case k == 1:
			return r.Int64N(2_000_000) - 1_000_000
		case k < 5 || depth > 3:
			return words[r.IntN(len(words))] + words[r.IntN(len(words))]
		case k == 5:
			a := make([]any, r.IntN(4))
			for i := range a {
				a[i] = gen(depth + 1)
			}
			return a
		default:
			m := map[string]any{}
			for range r.IntN(6) {
				m[words[r.IntN(len(words))]+fmt.Sprint(r.IntN(3))] = gen(depth + 1)
			}
			return m
		}
	}
	for range 3000 {
		v := gen(0)
		compact, _ := json.Marshal(v)
		var spaced bytes.Buffer
		_ = json.Indent(&spaced, compact, " ", "\t")
		for _, in := range [][]byte{compact, spaced.Bytes()} {
			py, err := PythonJSON(in)
			if err != nil {
				t.Fatalf("PythonJSON(%s): %v", in, err)
			}
			a, errA := actingweb.CanonicalJSON(in)
			b, errB := actingweb.CanonicalJSON([]byte(py))
			if errA != nil || errB != nil || !bytes.Equal(a, b) {
				t.Fatalf("PythonJSON(%s) = %s: canonical %s, %v; input's %s, %v", in, py, b, errB, a, errA)
			}
			if again, err := PythonJSON([]byte(py)); err != nil || again != py {
				t.Fatalf("PythonJSON(%s) = %s, %v; want it unchanged", py, again, err)
			}
			if got, err := readJSONText(py); err != nil || string(got) != py {
				t.Fatalf("readJSONText(%s) = %s, %v", py, got, err)
			}
			if _, strict, err := parseJSON(py, false); err != nil || !strict {
				t.Fatalf("parseJSON(%s, false) = %v, %v", py, strict, err)
			}
		}
	}
}
