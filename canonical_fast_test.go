package actingweb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode/utf16"
)

// Real payloads in the three shapes CanonicalJSON sees: Go-written compact sorted JSON (the
// bench bundle), PostgreSQL jsonb text output (", " / ": ", keys by length then bytes) and
// Python json.dumps text from DynamoDB (insertion order, ASCII-escaped non-ASCII).
var canonShapeSamples = []string{
	`{"café_0":false,"café_12":false,"café_2":"piñata piñata projet","café_9":["retro","sprint"],"calendar_7":"résumé 🚀 meeting sprint Überblick","calendar_8":["Ελλάδα","smörgåsbord"],"größe_13":["naïve","projet"],"meeting_1":"jalapeño smörgåsbord Überblick retro naïve","meeting_6":["réunion","kickoff"],"notes_5":["会議","📅"],"projet_10":["notes","budget"],"projet_11":"sprint roadmap deadline","projet_14":"roadmap Москва kickoff","projet_4":84877,"Überblick_15":["会議","meeting"],"Überblick_3":"projet Москва calendar retro sprint"}`,
	`{"café_6": 27285, "notes_5": 87648, "naïve_0": "piñata café Ελλάδα", "naïve_7": true, "meeting_1": "naïve ✅ projet sync", "meeting_9": false, "calendar_4": "meeting ünïcödé メモ deadline ünïcödé piñata", "réunion_2": "meeting naïve naïve roadmap résumé réunion", "calendar_13": "smörgåsbord projet 🚀 projet notes", "réunion_10": false, "réunion_12": "Überblick smörgåsbord メモ", "Überblick_3": ["Ελλάδα", "calendar"], "Überblick_8": false, "Überblick_11": true}`,
	`{"notes_2": false, "notes_4": true, "projet_5": ["weekly", "café"], "réunion_0": 3758, "Überblick_1": "deadline naïve retro calendar", "Überblick_3": false}`,
	`{"b": 1, "a": "\u00e9", "c": [1, 2, {"z": null, "y": "\ud83d\ude80 \u4f1a\u8b70"}], "\u00dcberblick_3": "projet \u041c\u043e\u0441\u043a\u0432\u0430"}`,
	`{"meeting_1": "na\u00efve \u2705 projet sync", "caf\u00e9_6": 27285, "notes_5": 87648, "x": 1.5, "y": -2e-3}`,
}

// canonEdgeCases are inputs whose fast and slow results (bytes, error-ness) must agree.
var canonEdgeCases = []string{
	// empty containers, top-level scalars, whitespace everywhere
	`{}`, `[]`, ` { } `, "\t[\n]\r\n", `{"a":{}}`, `[[],{}]`, `""`, `"x"`, `true`, `false`, `null`,
	`0`, `-0`, `1`, `-1`, ` 42 `, " \n\t\r{ \"a\" \n: [ 1 , 2 ,\t3 ] ,\r\"b\" : { } } \n",
	// duplicate keys: the last wins, wherever they are
	`{"a":1,"a":2}`, `{"b":1,"a":2,"b":3}`, `{"a":1,"b":2,"a":3,"b":4}`, `{"a":{"x":1},"a":[2]}`,
	`{"":1,"":2}`, `{"b":{"d":1,"c":2,"d":3},"a":0}`,
	// key order by decoded bytes, not by escaped text
	`{"\u003c":1,";":2,"=":3}`, `{"\"":1,"!":2,"#":3}`, `{"é":1,"\u00e9":2}`, `{"z":1,"\u007a":2}`,
	`{"a\u0000":1,"a":2}`, `{"\ud83d\ude80":1,"\uffff":2,"\ue000":3}`, `{"aa":1,"b":2,"a":3}`,
	// escapes and strings
	`"\"\\\/\b\f\n\r\t"`, `"\u0000\u001f\u0020\u007f"`, `"<>&"`, `"\u003c\u003e\u0026"`,
	`"\u2028\u2029"`, "\"\u2028\u2029\"", `"\u00e9\u00E9é"`, `"\uFFFD"`, "\"\uFFFD\"",
	`"\ud800"`, `"\udc00"`, `"\ud800\ud800"`, `"\ud800\udc00"`, `"\udbff\udfff"`, `"\ud800x"`,
	`"\ud800\u0041"`, `"\ud800\n"`, `"\ud800\"`, `"\ud83d"`, `"\ud83d\ude"`, `"a\ud800\udc00\ud800b"`,
	"\"\xff\"", "\"a\xc3\"", "\"\xe2\x80\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xc0\xaf\"",
	"{\"\xff\":1,\"\xfe\":2}", "{\"\xff\":1,\"\\ufffd\":2}",
	`"\'"`, `"\x41"`, `"\u12"`, `"\u12g4"`, `"\`, `"abc`, "\"a\nb\"", "\"a\tb\"", "\"\x7f\"",
	// numbers
	`1.0`, `1`, `1e2`, `100`, `1E2`, `1e+2`, `1e-2`, `0.1e1`, `-0.0`, `-0e5`, `0e0`, `1.50`, `10E0`,
	`123456789012345678901234567890`, `-123456789012345678901234567890`, `9007199254740993`,
	`1e-101`, `12.5e-200`, `1e400`, `1e-400`, `1e4000`, `1e-4000`, `1E+0999`, `-1e-99999999999999999999`,
	`0.000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001`,
	`[1.0, 1, 1e0, 100e-2, -0, -0.0]`, `{"n": 2.50e+1}`,
	// not JSON
	``, ` `, `NaN`, `-NaN`, `Infinity`, `-Infinity`, `{"a": NaN}`, `[1, Infinity]`, `{`, `}`, `[`, `]`,
	`{"a":1}}`, `[1]]`, `1 2`, `{"a":1} {}`, `'x'`, `01`, `-01`, `1.`, `.5`, `+1`, `-`, `1e`, `1e+`, `1.e3`,
	`0x10`, `[1,]`, `{"a":1,}`, `{,}`, `[,1]`, `{"a"}`, `{"a":}`, `{"a" 1}`, `{1:2}`, `{a:1}`, `tru`,
	`truex`, `nul`, `nulll`, `[true false]`, "\ufeff{}", "{}\x00", `[1,,2]`, `{"a":1 "b":2}`, "\v1",
	`"a"  "b"`, `[]]`, `{}}`, `{"a":[}`, `[{]`,
}

func checkFastEqualsSlow(t *testing.T, in []byte) {
	t.Helper()
	want, werr := canonicalJSONSlow(in)
	got, gerr := CanonicalJSON(in)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("CanonicalJSON(%q): error %v, reference error %v", in, gerr, werr)
	}
	if gerr != nil {
		if !errors.Is(gerr, ErrInvalid) {
			t.Fatalf("CanonicalJSON(%q): error %v does not wrap ErrInvalid", in, gerr)
		}
		return
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("CanonicalJSON(%q)\n = %s\nwant %s", in, got, want)
	}
}

func TestCanonicalJSONFastEqualsSlow(t *testing.T) {
	cases := append(append([]string{}, canonShapeSamples...), canonEdgeCases...)
	for _, c := range cases {
		checkFastEqualsSlow(t, []byte(c))
		// The same value inside containers and with extra whitespace.
		checkFastEqualsSlow(t, []byte("[ "+c+" ]"))
		checkFastEqualsSlow(t, []byte(`{"k": `+c+`, "a": `+c+"}"))
		checkFastEqualsSlow(t, []byte("\n"+c+"\t"))
	}
}

func TestCanonicalJSONFastForms(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"b": [1, 2], "a": "\u00e9"}`, `{"a":"é","b":[1,2]}`},
		{`{"a":1,"b":2,"a":3}`, `{"a":3,"b":2}`},
		{`-0`, `0`},
		{`[1.0, 1e2, 0.1e1, -0.0]`, `[1,100,1,0]`},
		{`"\u003c\ud800\u2028"`, `"\u003c` + "\uFFFD" + `\u2028"`},
		{"\"\xff\"", "\"\uFFFD\""},
	} {
		got, err := CanonicalJSON([]byte(c.in))
		if err != nil || string(got) != c.want {
			t.Errorf("CanonicalJSON(%s) = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
}

func TestCanonicalJSONFastDeepNesting(t *testing.T) {
	for _, depth := range []int{1, 2, fastMaxDepth - 1, fastMaxDepth, fastMaxDepth + 1, 3000, 10000, 10001, 10002} {
		arr := strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth)
		obj := strings.Repeat(`{"b":1,"a":`, depth) + "1.50" + strings.Repeat("}", depth)
		mixed := strings.Repeat(`[{"x":`, depth/2+1) + `"\ud800"` + strings.Repeat("}]", depth/2+1)
		for _, in := range []string{arr, obj, mixed, arr[:len(arr)-1], obj + "}"} {
			t.Run(fmt.Sprintf("%d/%.12s", depth, in), func(t *testing.T) { checkFastEqualsSlow(t, []byte(in)) })
		}
	}
}

// TestCanonicalJSONFastShapes renders random values in the three stored shapes and checks that
// fast == slow on each and that the three canonical forms are equal.
func TestCanonicalJSONFastShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 500; i++ {
		v := randomCanonValue(rng, 0)
		shapes := renderShapes(v)
		var first []byte
		for _, sh := range shapes {
			checkFastEqualsSlow(t, sh)
			got, err := CanonicalJSON(sh)
			if err != nil {
				t.Fatalf("CanonicalJSON(%s): %v", sh, err)
			}
			if first == nil {
				first = got
			} else if !bytes.Equal(first, got) {
				t.Fatalf("shapes differ:\n%s\n%s\n(%s)", first, got, sh)
			}
		}
	}
}

var canonWords = []string{"café", "naïve", "Überblick", "会議", "📅", "🚀", "Москва", "Ελλάδα", "a<b", "x&y", "\u2028", "tab\there", `q"uote`, `back\slash`, "\x01", "", "meeting", "größe", "\ufffd", "\U0010FFFF"}

func randomCanonValue(rng *rand.Rand, depth int) any {
	k := rng.IntN(9)
	if depth > 3 && k >= 7 {
		k = rng.IntN(7)
	}
	switch k {
	case 0:
		return nil
	case 1:
		return rng.IntN(2) == 0
	case 2:
		return json.Number(fmt.Sprint(rng.Int64N(200000) - 100000))
	case 3:
		return json.Number([]string{"1.5", "-0.25", "1e3", "2.50", "0.1", "1e-120", "123456789012345678901234567890"}[rng.IntN(7)])
	case 4, 5, 6:
		return canonWords[rng.IntN(len(canonWords))] + canonWords[rng.IntN(len(canonWords))]
	case 7:
		n := rng.IntN(5)
		a := make([]any, n)
		for i := range a {
			a[i] = randomCanonValue(rng, depth+1)
		}
		return a
	default:
		n := rng.IntN(12)
		m := make(map[string]any, n)
		for i := 0; i < n; i++ {
			m[fmt.Sprintf("%s_%d", canonWords[rng.IntN(len(canonWords))], rng.IntN(20))] = randomCanonValue(rng, depth+1)
		}
		return m
	}
}

// renderShapes renders v as Go's json.Marshal, as PostgreSQL's jsonb text output and as
// Python's json.dumps (insertion order — here reverse-sorted — and ensure_ascii).
func renderShapes(v any) [][]byte {
	goForm, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var pg, py bytes.Buffer
	renderStyled(&pg, v, false)
	renderStyled(&py, v, true)
	return [][]byte{goForm, pg.Bytes(), py.Bytes()}
}

func renderStyled(b *bytes.Buffer, v any, python bool) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		if python {
			sort.Sort(sort.Reverse(sort.StringSlice(keys)))
		} else {
			sort.Slice(keys, func(i, j int) bool {
				if len(keys[i]) != len(keys[j]) {
					return len(keys[i]) < len(keys[j])
				}
				return keys[i] < keys[j]
			})
		}
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			renderStyledString(b, k, python)
			b.WriteString(": ")
			renderStyled(b, v[k], python)
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			renderStyled(b, e, python)
		}
		b.WriteByte(']')
	case string:
		renderStyledString(b, v, python)
	default:
		j, _ := json.Marshal(v)
		b.Write(j)
	}
}

// renderStyledString writes s as PostgreSQL (raw UTF-8, minimal escapes) or Python
// (ensure_ascii: \uXXXX, surrogate pairs) would.
func renderStyledString(b *bytes.Buffer, s string, python bool) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			fmt.Fprintf(b, `\u%04x`, r)
		case r < 0x80 || !python:
			b.WriteRune(r)
		case r > 0xFFFF:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(b, `\u%04x`, r)
		}
	}
	b.WriteByte('"')
}

var hugeExponent = regexp.MustCompile(`[eE][-+]?0*[1-9][0-9]{5}`)

func FuzzCanonicalJSON(f *testing.F) {
	for _, c := range canonShapeSamples {
		f.Add([]byte(c))
	}
	for _, c := range canonEdgeCases {
		f.Add([]byte(c))
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20; i++ {
		for _, sh := range renderShapes(randomCanonValue(rng, 0)) {
			f.Add(sh)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if hugeExponent.Match(in) {
			// canonicalNumber's big.Rat arithmetic takes a second on 1e-999999 (both paths
			// use it alike); keep the fuzzer fast.
			t.Skip()
		}
		checkFastEqualsSlow(t, in)
	})
}

// benchShapes returns bench-like payloads in the three shapes.
func benchShapes() map[string][][]byte {
	rng := rand.New(rand.NewPCG(5, 6))
	out := map[string][][]byte{}
	for i := 0; i < 64; i++ {
		m := map[string]any{}
		for j := 0; j < 6+rng.IntN(16); j++ {
			k := fmt.Sprintf("%s_%d", []string{"café", "naïve", "Überblick", "meeting", "projet", "notes", "calendar", "réunion"}[rng.IntN(8)], j)
			switch rng.IntN(4) {
			case 0:
				m[k] = json.Number(fmt.Sprint(rng.IntN(100000)))
			case 1:
				m[k] = rng.IntN(2) == 0
			case 2:
				m[k] = []any{canonWords[rng.IntN(9)], "sprint"}
			default:
				m[k] = "meeting " + canonWords[rng.IntN(9)] + " roadmap résumé " + canonWords[rng.IntN(9)]
			}
		}
		sh := renderShapes(m)
		out["go"] = append(out["go"], sh[0])
		out["pg"] = append(out["pg"], sh[1])
		out["python"] = append(out["python"], sh[2])
	}
	return out
}

func BenchmarkCanonicalJSON(b *testing.B) {
	shapes := benchShapes()
	impls := []struct {
		name string
		fn   func([]byte) ([]byte, error)
	}{{"fast", CanonicalJSON}, {"slow", canonicalJSONSlow}}
	for _, shape := range []string{"go", "pg", "python"} {
		docs := shapes[shape]
		size := 0
		for _, d := range docs {
			size += len(d)
		}
		for _, impl := range impls {
			b.Run(shape+"/"+impl.name, func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					for _, d := range docs {
						if _, err := impl.fn(d); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}

// canonicalNumberRef is canonicalNumber as it was first written (dividing out 2s and 5s one at
// a time), the reference for decimalFactors.
func canonicalNumberRef(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	den := new(big.Int).Set(r.Denom())
	two, five, zero := big.NewInt(2), big.NewInt(5), new(big.Int)
	var a, b int
	var m big.Int
	for m.Mod(den, two).Cmp(zero) == 0 {
		den.Quo(den, two)
		a++
	}
	for m.Mod(den, five).Cmp(zero) == 0 {
		den.Quo(den, five)
		b++
	}
	if den.Cmp(big.NewInt(1)) != 0 {
		return r.RatString()
	}
	n := max(a, b)
	mant := new(big.Int).Mul(r.Num(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil))
	mant.Quo(mant, r.Denom())
	if n > 100 {
		return mant.String() + "e-" + fmt.Sprint(n)
	}
	neg := mant.Sign() < 0
	digits := new(big.Int).Abs(mant).String()
	for len(digits) <= n {
		digits = "0" + digits
	}
	out := digits[:len(digits)-n] + "." + digits[len(digits)-n:]
	if neg {
		out = "-" + out
	}
	return out
}

func TestCanonicalNumberEqualsReference(t *testing.T) {
	pow := func(base, e int64) *big.Int { return new(big.Int).Exp(big.NewInt(base), big.NewInt(e), nil) }
	for _, num := range []int64{1, -1, 3, -7, 125, 1000003} {
		for i := int64(0); i < 40; i += 3 {
			for j := int64(0); j < 300; j += 7 {
				for _, k := range []int64{1, 3, 7, 9, 11, 13, 3125 * 3} {
					den := new(big.Int).Mul(pow(2, i), pow(5, j))
					den.Mul(den, big.NewInt(k))
					r := new(big.Rat).SetFrac(big.NewInt(num), den)
					if got, want := canonicalNumber(r), canonicalNumberRef(r); got != want {
						t.Fatalf("canonicalNumber(%s) = %s, want %s", r.RatString(), got, want)
					}
				}
			}
		}
	}
	for _, s := range []string{"0.1", "-2.5e-3", "1e-101", "12.5e-200", "1e-999", "123.456e-1234", "7e-1", "0.3333"} {
		r, _ := new(big.Rat).SetString(s)
		if got, want := canonicalNumber(r), canonicalNumberRef(r); got != want {
			t.Fatalf("canonicalNumber(%s) = %s, want %s", s, got, want)
		}
	}
}
