package jsonscan

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// edgeCases are JSON texts and near misses: every test runs them through the kernel and
// compares with encoding/json and the references of ref_test.go.
var edgeCases = []string{
	`{}`, `[]`, ` { } `, "\t[\n]\r\n", `{"a":{}}`, `[[],{}]`, `""`, `"x"`, `true`, `false`, `null`,
	`0`, `-0`, `1`, `-1`, ` 42 `, " \n\t\r{ \"a\" \n: [ 1 , 2 ,\t3 ] ,\r\"b\" : { } } \n",
	`{"a":1,"a":2}`, `{"b":1,"a":2,"b":3}`, `{"":1}`, `{"\u003c":1,";":2}`, `{"a\u0000":1}`,
	`"\"\\\/\b\f\n\r\t"`, `"\u0000\u001f\u0020\u007f"`, `"<>&"`, `"\u003c\u003e\u0026"`,
	`"\u2028\u2029"`, "\"\u2028\u2029\"", `"\u00e9\u00E9é"`, `"\uFFFD"`, "\"\uFFFD\"",
	`"\ud800"`, `"\udc00"`, `"\ud800\ud800"`, `"\ud800\udc00"`, `"\udbff\udfff"`, `"\ud800x"`,
	`"\ud800\u0041"`, `"\ud800\n"`, `"\ud800\"`, `"\ud83d"`, `"\ud83d\ude"`, `"a\ud800\udc00\ud800b"`,
	"\"\xff\"", "\"a\xc3\"", "\"\xe2\x80\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xc0\xaf\"",
	"\"\xe2\x80\xa8x\xe2\x80\"", "\"\xe2\x82\xac\"", "{\"\xff\":1}", "\"\xc3\xc3\xa9\"", "\"\xe4\xbc\x9a\"",
	`"\'"`, `"\x41"`, `"\u12"`, `"\u12g4"`, `"\`, `"abc`, "\"a\nb\"", "\"a\tb\"", "\"\x7f\"", "\"\x00\"",
	`1.0`, `1e2`, `1E+2`, `1e-2`, `-0.0`, `0e0`, `123456789012345678901234567890`, `1e400`,
	``, ` `, `NaN`, `-Infinity`, `{"a": NaN}`, `{`, `}`, `[`, `]`, `{"a":1}}`, `[1]]`, `1 2`,
	`'x'`, `01`, `-01`, `1.`, `.5`, `+1`, `-`, `1e`, `1e+`, `1.e3`, `[1,]`, `{"a":1,}`, `{,}`, `[,1]`,
	`{"a"}`, `{"a":}`, `{"a" 1}`, `{1:2}`, `{a:1}`, `tru`, `truex`, `nul`, `[true false]`, "\ufeff{}",
	"{}\x00", `[1,,2]`, `{"a":1 "b":2}`, "\v1", `"a"  "b"`, `{"a":[}`, `[{]`, `[{}]`, `{"a":[1,{"b":null}]}`,
	`{"k":"<a href=\"x\">&amp;</a>","n":[1,2.5,-3e2]}`, "[\"a\\u0000b\", \"\\ud800\\udc00\"]",
	strings.Repeat("[", 300) + strings.Repeat("]", 300), strings.Repeat(`{"a":`, 70) + "1" + strings.Repeat("}", 70),
}

func TestWordHelpers(t *testing.T) {
	s := "0123456789abcdef"
	for i := 0; i+8 <= len(s); i++ {
		if got, want := Load64(s, i), binary.LittleEndian.Uint64([]byte(s[i:i+8])); got != want {
			t.Errorf("Load64(s, %d) = %#x, want %#x", i, got, want)
		}
		if got, want := Load64([]byte(s), i), binary.LittleEndian.Uint64([]byte(s[i:i+8])); got != want {
			t.Errorf("Load64([]byte, %d) = %#x, want %#x", i, got, want)
		}
	}
	// The lowest set bit of eq and below0x20 marks the first matching byte of the word, and
	// the result is zero exactly when no byte matches.
	r := rand.New(rand.NewPCG(5, 6))
	pool := []byte{0, 1, 0x1f, 0x20, '"', '\\', '<', 0x7f, 0x80, 0xE2, 0xff}
	for range 200000 {
		var b [8]byte
		for k := range b {
			b[k] = pool[r.IntN(len(pool))]
		}
		w := binary.LittleEndian.Uint64(b[:])
		c := pool[r.IntN(len(pool))]
		check := func(name string, m uint64, match func(byte) bool) {
			first := -1
			for k, x := range b {
				if match(x) {
					first = k
					break
				}
			}
			got := -1
			if m != 0 {
				got = bits.TrailingZeros64(m) >> 3
			}
			if got != first {
				t.Fatalf("%s(% x): first match %d, want %d", name, b, got, first)
			}
		}
		check("eq", eq(w, c), func(x byte) bool { return x == c })
		check("below0x20", below0x20(w), func(x byte) bool { return x < 0x20 })
		check("htmlRareStops", htmlRareStops(w), func(x byte) bool { return x < 0x20 || x == '<' || x == '>' || x == '&' || x == 0xE2 })
		check("quoteStops", quoteStops(w), func(x byte) bool { return x == '"' || x == '\\' })
	}
}

func TestHex4(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want rune
	}{
		{"0000", 0}, {"00e9", 0xe9}, {"D83D", 0xD83D}, {"fFfF", 0xFFFF}, {"12345", 0x1234},
		{"123", -1}, {"", -1}, {"12g4", -1}, {"-123", -1}, {"12 4", -1}, {"+123", -1},
	} {
		if got := Hex4(tc.in); got != tc.want {
			t.Errorf("Hex4(%q) = %#x, want %#x", tc.in, got, tc.want)
		}
	}
}

// TestUTF8Automaton: validUTF8, ValidText and runeLen agree with utf8.Valid and
// utf8.DecodeRune on every sequence of up to three bytes, on every four-byte sequence with a
// lead byte from F0 to F4, and on random strings mixing ASCII, valid sequences and stray
// bytes.
func TestUTF8Automaton(t *testing.T) {
	check := func(b []byte) {
		if got, want := validUTF8(b), utf8.Valid(b); got != want {
			t.Fatalf("validUTF8(% x) = %v, utf8.Valid %v", b, got, want)
		}
		if got, want := ValidText(string(b)), validTextRef(string(b)); got != want {
			t.Fatalf("ValidText(% x) = %v, want %v", b, got, want)
		}
		if len(b) > 0 {
			if got, want := runeLen(b, 0), runeLenRef(string(b), 0); got != want {
				t.Fatalf("runeLen(% x) = %d, want %d", b, got, want)
			}
		}
	}
	check(nil)
	for a := range 256 {
		check([]byte{byte(a)})
		for b := range 256 {
			check([]byte{byte(a), byte(b)})
			for c := range 256 {
				check([]byte{byte(a), byte(b), byte(c)})
			}
		}
	}
	for a := 0xF0; a <= 0xF4; a++ {
		for b := 0x80; b <= 0xBF; b++ {
			for c := range 256 {
				check([]byte{byte(a), byte(b), byte(c), 0x80})
				check([]byte{byte(a), byte(b), 0x80, byte(c)})
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		check([]byte(randomText(r, 40)))
	}
}

// pieces are the building blocks of random texts: ASCII the scanners pass, every byte they
// stop at, escapes, valid and invalid UTF-8.
var pieces = []string{"a", "bc", "defghijk", " ", "é", "中", "😀", "\u2028", "\u2029", "\u20ac", "\xff",
	"\xc3", "\xe2\x80", "\xed\xa0\x80", "\x80", "\x00", "\x01", "\n", "\t", "\x1f", "\x7f", `"`, `\`,
	`\"`, `\\`, `\/`, `\n`, `\u0000`, `\u00e9`, `\ud800`, `\udc00`, `\ud83d\ude00`, `\u2028`, `\x`, `\u12`,
	"<", ">", "&", "{", "}", "[", "]", ":", ",", "1", "-0.5e3", "true", "null"}

func randomText(r *rand.Rand, n int) string {
	var b strings.Builder
	for range r.IntN(n) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// randomJSON renders a random JSON value with strings from pieces (raw control characters
// and invalid UTF-8 included) and random whitespace.
func randomJSON(r *rand.Rand, depth int) string {
	ws := func() string { return []string{"", "", " ", "\n\t", "\r "}[r.IntN(5)] }
	str := func() string {
		var b strings.Builder
		b.WriteByte('"')
		for range r.IntN(8) {
			p := pieces[r.IntN(len(pieces))]
			if p == `"` || p == `\` {
				p = `\` + p
			}
			b.WriteString(p)
		}
		b.WriteByte('"')
		return b.String()
	}
	k := r.IntN(8)
	if depth > 4 && k >= 6 {
		k = r.IntN(6)
	}
	switch k {
	case 0:
		return []string{"true", "false", "null"}[r.IntN(3)]
	case 1:
		return []string{"0", "-0", "12", "-3.25", "1e9", "2E-3", "123456789012345678901"}[r.IntN(7)]
	case 2, 3, 4, 5:
		return str()
	case 6:
		parts := make([]string, r.IntN(4))
		for i := range parts {
			parts[i] = ws() + randomJSON(r, depth+1) + ws()
		}
		return "[" + strings.Join(parts, ",") + "]"
	default:
		parts := make([]string, r.IntN(4))
		for i := range parts {
			parts[i] = ws() + str() + ws() + ":" + ws() + randomJSON(r, depth+1) + ws()
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
}

func TestKernelEdgeCases(t *testing.T) {
	for _, c := range edgeCases {
		checkKernel(t, []byte(c))
		checkKernel(t, []byte("[ "+c+" ]"))
		checkKernel(t, []byte(`{"k": `+c+`}`))
	}
}

func TestKernelRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 20000 {
		checkKernel(t, []byte(randomJSON(r, 0)))
	}
	for range 20000 {
		checkKernel(t, []byte(randomText(r, 30)))
	}
}

// TestBlockBoundaries puts each stop byte at every position around the eight-byte blocks.
func TestBlockBoundaries(t *testing.T) {
	for _, stop := range []string{`"`, `\n`, `\u00e9`, "é", "\u2028", "\u20ac", "<", "&", "\x01", "\xff", "\xe2\x80", `\ud83d\ude00`, "😀"} {
		for pre := 0; pre < 20; pre++ {
			for post := 0; post < 12; post++ {
				checkKernel(t, []byte(`"`+strings.Repeat("a", pre)+stop+strings.Repeat("b", post)+`"`))
			}
		}
	}
}

// checkKernel compares every function of the kernel on in with its reference and, where it
// applies, with encoding/json.
func checkKernel(t *testing.T, in []byte) {
	t.Helper()
	s := string(in)
	// fast.go against ref_test.go, at every offset of short inputs, at a few of long ones
	for i := 0; i <= len(s); i++ {
		if i > 64 && i < len(s)-16 {
			i += 15
		}
		for _, high := range []uint64{0, msb8} {
			if got, want := unquoteRun(s, i, high), unquoteRunRef(s, i, high); got != want {
				t.Fatalf("unquoteRun(%q, %d, %x) = %d, want %d", s, i, high, got, want)
			}
		}
		if i < len(s) {
			if got, want := runeLen(s, i), runeLenRef(s, i); got != want {
				t.Fatalf("runeLen(%q, %d) = %d, want %d", s, i, got, want)
			}
		}
	}
	if got, want := validUTF8(in), validUTF8Ref(s); got != want {
		t.Fatalf("validUTF8(%q) = %v", s, got)
	}
	if got, want := ValidText(s), validTextRef(s); got != want {
		t.Fatalf("ValidText(%q) = %v", s, got)
	}
	// quoting: against the reference and json.Marshal; AppendQuoteValid for valid UTF-8
	want, _ := json.Marshal(s)
	if q := quoteRef(s); q != string(want) {
		t.Fatalf("quoteRef(%q) = %s, json.Marshal %s", s, q, want)
	}
	for _, prefix := range []string{"", "xy"} {
		if got := AppendQuote([]byte(prefix), s); string(got) != prefix+string(want) {
			t.Fatalf("AppendQuote(%q) = %s, want %s", s, got, want)
		}
		if got := appendQuoteSimple([]byte(prefix), in); string(got) != prefix+string(want) {
			t.Fatalf("appendQuoteSimple(%q) = %s, want %s", s, got, want)
		}
		if utf8.ValidString(s) {
			if got := AppendQuoteValid([]byte(prefix), in); string(got) != prefix+string(want) {
				t.Fatalf("AppendQuoteValid(%q) = %s, want %s", s, got, want)
			}
		}
	}
	// string literals at every '"': against scanStringRef, their decoding against encoding/json
	for i, quotes := 0, 0; i < len(s) && quotes < 32; i++ {
		if s[i] != '"' {
			continue
		}
		quotes++
		for m := range Lenient | CheckUTF8 | FindSpecial + 1 {
			end, f := ScanString(in, i, m)
			wend, wf := scanStringRef(s, i, m)
			if end != wend || (end >= 0 && f != wf) {
				t.Fatalf("ScanString(%q, %d, %d) = %d, %b; want %d, %b", s, i, m, end, f, wend, wf)
			}
			if end < 0 || m&^FindSpecial != CheckUTF8 {
				continue
			}
			if m&FindSpecial != 0 {
				// without Escaped, Invalid and Special a literal is the json.Marshal form of
				// its decoding, and without Invalid and Special its decoding needs no escape
				var dec string
				_ = json.Unmarshal(in[i:end], &dec)
				lit, _ := json.Marshal(dec)
				if f&Escaped == 0 && (f&(Invalid|Special) == 0) != (string(lit) == s[i:end]) {
					t.Fatalf("ScanString(%q, %d): flags %b, json.Marshal %s", s, i, f, lit)
				}
				if f&Invalid == 0 && (f&Special == 0) != (string(lit) == `"`+dec+`"`) {
					t.Fatalf("ScanString(%q, %d): flags %b, json.Marshal %s of the decoding", s, i, f, lit)
				}
			}
			var dec string
			if err := json.Unmarshal(in[i:end], &dec); err != nil {
				t.Fatalf("ScanString(%q, %d) took %q, encoding/json: %v", s, i, s[i:end], err)
			}
			got, ok := AppendUnquote(nil, s[i+1:end-1], f)
			if !ok || string(got) != dec {
				t.Fatalf("AppendUnquote(%q) = %q, %v; encoding/json %q", s[i+1:end-1], got, ok, dec)
			}
			if ref, _ := unquoteRef(s[i+1:end-1], f&Invalid != 0); ref != dec {
				t.Fatalf("unquoteRef(%q) = %q; encoding/json %q", s[i+1:end-1], ref, dec)
			}
		}
		if end, _ := ScanString(s, i, 0); (end >= 0 && Space(s, end) == len(s)) != (i == 0 && json.Valid(in)) && i == 0 {
			t.Fatalf("ScanString(%q) = %d, json.Valid %v", s, end, json.Valid(in))
		}
	}
	// whole values: Check, Skip and AppendCompact against their token-by-token references,
	// Check against json.Valid, AppendCompact against json.Marshal(RawMessage)
	for _, m := range []Mode{0, Lenient, CheckUTF8 | FindSpecial} {
		for _, limit := range []int{3, 10000} {
			f, err := Check(in, m, limit)
			wf, werr := checkRef(in, m, limit)
			if fmt.Sprint(f, err) != fmt.Sprint(wf, werr) {
				t.Fatalf("Check(%q, %d, %d) = %b, %v; want %b, %v", s, m, limit, f, err, wf, werr)
			}
			for _, i := range []int{0, 1, Space(s, 0)} {
				end, f, err := Skip(s, i, m, limit)
				wend, wf, werr := skipRef(s, i, m, limit)
				if fmt.Sprint(end, f, err) != fmt.Sprint(wend, wf, werr) {
					t.Fatalf("Skip(%q, %d, %d, %d) = %d, %b, %v; want %d, %b, %v", s, i, m, limit, end, f, err, wend, wf, werr)
				}
			}
		}
	}
	for _, limit := range []int{3, 10000} {
		got, err := AppendCompact([]byte("x"), in, limit)
		want, werr := compactRef([]byte("x"), in, limit)
		if string(got) != string(want) || fmt.Sprint(err) != fmt.Sprint(werr) {
			t.Fatalf("AppendCompact(%q, %d) = %q, %v; want %q, %v", s, limit, got, err, want, werr)
		}
	}
	f, err := Check(in, CheckUTF8, 10000)
	if (err == nil) != json.Valid(in) {
		t.Fatalf("Check(%q) = %v, json.Valid %v", s, err, json.Valid(in))
	}
	if err != nil {
		var se *SyntaxError
		if !errors.As(err, &se) && err != ErrDepth {
			t.Fatalf("Check(%q): error %v of type %T", s, err, err)
		}
		if _, cerr := AppendCompact(nil, in, 10000); cerr == nil {
			t.Fatalf("AppendCompact(%q) took what Check refused", s)
		}
		return
	}
	if got, want := f&Invalid != 0, !utf8.Valid(in); got != want {
		t.Fatalf("Check(%q): Invalid %v, want %v", s, got, want)
	}
	if _, err := Check(s, Lenient, 10000); err != nil {
		t.Fatalf("Check(%q, Lenient): %v", s, err)
	}
	wantc, _ := json.Marshal(json.RawMessage(in))
	gotc, err := AppendCompact([]byte("x"), s, 10000)
	if err != nil || string(gotc) != "x"+string(wantc) {
		t.Fatalf("AppendCompact(%q) = %s, %v; want %s", s, gotc, err, wantc)
	}
	if i := Space(in, 0); i < len(in) {
		end, _, err := Skip(in, i, 0, 10000)
		if err != nil || end != len(bytes.TrimRight(in, " \t\r\n")) {
			t.Fatalf("Skip(%q, %d) = %d, %v", s, i, end, err)
		}
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		in   string
		m    Mode
		want Flags
		bad  bool
	}{
		{`"abc"`, 0, 0, false},
		{`"a\nb"`, 0, Escaped, false},
		{`"\u0000"`, 0, Escaped | NulEscape, false},
		{`"\u0001"`, 0, Escaped, false},
		{`"\ud800"`, 0, Escaped | LoneSurrogate, false},
		{`"\udc00\ud800"`, 0, Escaped | LoneSurrogate, false},
		{`"\ud800\udc00"`, 0, Escaped, false},
		{`"\ud800\u0041"`, 0, Escaped | LoneSurrogate, false},
		{"\"a\tb\"", 0, 0, true},
		{"\"a\tb\"", Lenient, Control, false},
		{"\"\xff\"", 0, 0, false},
		{"\"\xff\"", CheckUTF8, Invalid, false},
		{"\"\xed\xa0\x80\"", CheckUTF8, Invalid, false},
		{"\"é中😀\"", CheckUTF8, 0, false},
		{`"\x"`, Lenient, 0, true},
		{`"a<b"`, FindSpecial, Special, false},
		{"\"\u2028\"", FindSpecial, Special, false},
		{"\"\u2028\"", FindSpecial | CheckUTF8, Special, false},
		{"\"é\u2029\"", FindSpecial | CheckUTF8, Special, false},
		{"\"\u20ac&\"", CheckUTF8, 0, false},
	} {
		end, f := ScanString(tc.in, 0, tc.m)
		if tc.bad != (end < 0) || !tc.bad && (end != len(tc.in) || f != tc.want) {
			t.Errorf("ScanString(%q, %d) = %d, %b; want bad %v, flags %b", tc.in, tc.m, end, f, tc.bad, tc.want)
		}
	}
	if _, f, _ := Skip(`{"a":1.5,"b":[2e3]}`, 0, 0, 10); f != 0 {
		t.Errorf("Skip: number flags leak into the string flags: %b", f)
	}
}

func TestNumberFlags(t *testing.T) {
	for in, want := range map[string]Flags{"0": 0, "-12": 0, "1.5": Float, "1e3": Float, "-0.0E-1": Float} {
		if end, f := scanNumber(in, 0); end != len(in) || f != want {
			t.Errorf("scanNumber(%q) = %d, %b", in, end, f)
		}
	}
}

func TestDepth(t *testing.T) {
	for _, depth := range []int{1, 63, 64, 65, 127, 128, 129, 200, 201, 511, 512, 513, 10000, 10001} {
		arr := strings.Repeat("[", depth) + strings.Repeat("]", depth)
		mixed := strings.Repeat(`[{"a":`, depth/2) + "1" + strings.Repeat("}]", depth/2)
		for _, limit := range []int{64, 200, 512, 10000} {
			_, err := Check(arr, 0, limit)
			if (err == nil) != (depth <= limit) || err != nil && err != ErrDepth {
				t.Errorf("Check(%d deep, limit %d) = %v", depth, limit, err)
			}
			_, err = Check(mixed, 0, limit)
			if (err == nil) != (depth/2*2 <= limit) {
				t.Errorf("Check(%d deep mixed, limit %d) = %v", depth/2*2, limit, err)
			}
		}
	}
}

func TestSkip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		i    int
		want int
	}{
		{`{"a":[1, 2]},"b":1}`, 0, 12},
		{`{"d":{"a" : 1 } ,`, 5, 15},
		{`{"d": 1}`, 5, -1},
		{`"x"y`, 0, 3},
		{`tru`, 0, -1},
		{`[1,2`, 0, -1},
	} {
		end, _, err := Skip(tc.in, tc.i, 0, 200)
		if tc.want < 0 && err == nil || tc.want >= 0 && (err != nil || end != tc.want) {
			t.Errorf("Skip(%q, %d) = %d, %v; want %d", tc.in, tc.i, end, err, tc.want)
		}
	}
}

func TestScannerTokens(t *testing.T) {
	in := ` {"a" : [1, -2.5e3, "x\n"], "b":{}, "c":true,"d":null} `
	var got []string
	sc := NewScanner(in, 0, 0, 10)
	for {
		tok, err := sc.Next()
		if err != nil {
			t.Fatal(err)
		}
		if tok.Kind == End {
			if tok.End != len(in)-1 {
				t.Errorf("End at %d", tok.End)
			}
			break
		}
		got = append(got, in[tok.Start:tok.End])
	}
	want := []string{`{`, `"a"`, `[`, `1`, `-2.5e3`, `"x\n"`, `]`, `"b"`, `{`, `}`, `"c"`, `true`, `"d"`, `null`, `}`}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("tokens %q, want %q", got, want)
	}
}
