package textscan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestEscapeBlocks checks EscapeBlocks against a byte-by-byte model on random strings dense
// in the bytes it escapes and the ones it must leave to its caller: the bytes consumed are
// exactly the whole blocks before the first block holding a rare byte (none at all without
// the vector loop), and the bytes written are those blocks with a backslash before each '"'
// and '\\'.
func TestEscapeBlocks(t *testing.T) {
	pieces := []string{`"`, `\`, "a", "bcdefgh", "é", "中", "😀", "\u2028", "<", ">", "&", "\n", "\x1f", " ", "\x7f", "\xff"}
	r := rand.New(rand.NewPCG(5, 6))
	isRare := func(c byte) bool { return c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0xE2 }
	for range 50000 {
		var b strings.Builder
		n := r.IntN(80)
		rareOK := r.IntN(4) == 0 // most strings without rare bytes, so whole strings run through
		for b.Len() < n {
			p := pieces[r.IntN(len(pieces))]
			if !rareOK && (isRare(p[0]) || strings.ContainsAny(p, "\u2028")) {
				continue
			}
			b.WriteString(p)
		}
		s := b.String()
		dst := make([]byte, 2*len(s)+16)
		k, m := EscapeBlocks(dst, s)
		wantK := 0
		if SIMDEscape {
			for wantK+16 <= len(s) {
				rare := false
				for _, c := range []byte(s[wantK : wantK+16]) {
					rare = rare || isRare(c)
				}
				if rare {
					break
				}
				wantK += 16
			}
		}
		var want []byte
		for _, c := range []byte(s[:wantK]) {
			if c == '"' || c == '\\' {
				want = append(want, '\\')
			}
			want = append(want, c)
		}
		if k != wantK || string(dst[:m]) != string(want) {
			t.Fatalf("%q: consumed %d wrote %q, want %d %q (SIMDEscape %v)", s, k, dst[:m], wantK, want, SIMDEscape)
		}
	}
}

// TestValidUTF8 checks ValidUTF8 against utf8.Valid on every sequence of up to three bytes
// and the four-byte ones from F0 to F4, each alone and placed across the boundary of two
// sixteen-byte blocks, and on random mixes of valid and invalid pieces.
func TestValidUTF8(t *testing.T) {
	check := func(b []byte) {
		if got, want := ValidUTF8(b), utf8.Valid(b); got != want {
			t.Fatalf("% x: ValidUTF8 %v, utf8.Valid %v (SIMDEscape %v)", b, got, want, SIMDEscape)
		}
	}
	pad := []byte(strings.Repeat("a", 14))
	seq := func(s ...byte) {
		check(s)
		check(append(append([]byte(nil), pad...), s...)) // across the boundary at 16
		check(append(append(append([]byte(nil), pad...), s...), pad...))
	}
	for a := range 256 {
		seq(byte(a))
		for b := range 256 {
			seq(byte(a), byte(b))
			for c := range 256 {
				seq(byte(a), byte(b), byte(c))
			}
		}
	}
	for a := 0xF0; a <= 0xF4; a++ {
		for b := 0x80; b <= 0xBF; b++ {
			for c := range 256 {
				seq(byte(a), byte(b), byte(c), 0x80)
				seq(byte(a), byte(b), 0x80, byte(c))
			}
		}
	}
	pieces := [][]byte{[]byte("a"), []byte("bcdefghijklmnop"), []byte("é"), []byte("中"), []byte("😀"), []byte("\u2028"), {0xff}, {0xc3}, {0xed, 0xa0, 0x80}, {0x80}, {0xf4, 0x90, 0x80, 0x80}}
	r := rand.New(rand.NewPCG(7, 8))
	for range 100000 {
		check(randomJoin(r, pieces, 30))
	}
}

// unescapeModel is UnescapeString byte by byte: the string's end and content when its only
// escapes are \" \\ \/ and it holds no control character; ok false otherwise.
func unescapeModel(src []byte) (end int, out []byte, ok bool) {
	for i := 0; i < len(src); i++ {
		switch c := src[i]; {
		case c == '"':
			return i, out, true
		case c < 0x20:
			return 0, nil, false
		case c == '\\':
			if i+1 >= len(src) {
				return 0, nil, false
			}
			switch e := src[i+1]; e {
			case '"', '\\', '/':
				out = append(out, e)
				i++
			default:
				return 0, nil, false
			}
		default:
			out = append(out, c)
		}
	}
	return 0, nil, false
}

// TestUnescapeString checks UnescapeString against unescapeModel on random string contents
// dense in quotes, runs of backslashes (which escape every other byte) and the escapes it
// leaves to its caller, of lengths around the block size; without the vector code it must
// take nothing.
func TestUnescapeString(t *testing.T) {
	pieces := []string{`\"`, `\\`, `\\\\`, `\/`, `\`, `\\\`, `"`, "a", "bcdefgh", "é", "中", "😀", `\n`, `\u00e9`, "\x01", "\t", "/"}
	r := rand.New(rand.NewPCG(9, 10))
	taken := 0
	for range 200000 {
		var b strings.Builder
		n := r.IntN(70)
		plain := r.IntN(3) == 0 // fewer of the pieces that stop the vector loop
		for b.Len() < n {
			p := pieces[r.IntN(len(pieces))]
			if plain && (p == `\n` || p == `\u00e9` || p == "\x01" || p == "\t" || p == `"`) {
				continue
			}
			b.WriteString(p)
		}
		if r.IntN(4) > 0 {
			b.WriteString(`","k":1}`) // usually a closing quote and more of the line
		}
		src := []byte(b.String())
		dst := make([]byte, len(src)+16)
		end, m, ascii, ok := UnescapeString(dst, src)
		if ok && ascii && strings.ContainsFunc(string(src[:end]), func(r rune) bool { return r >= 0x80 }) {
			t.Fatalf("%q: ascii reported for a string with non-ASCII bytes", src)
		}
		wend, want, wok := unescapeModel(src)
		if !SIMDEscape {
			if ok {
				t.Fatalf("%q: taken without the vector code", src)
			}
			continue
		}
		if ok != wok || ok && (end != wend || string(dst[:m]) != string(want)) {
			t.Fatalf("%q: got %v end %d %q, want %v end %d %q", src, ok, end, dst[:m], wok, wend, want)
		}
		if ok {
			taken++
		}
	}
	if SIMDEscape && taken < 10000 {
		t.Fatalf("only %d strings taken: the test does not reach the vector loop's main path", taken)
	}
}

// TestCompactJSON compares CompactJSON with encoding/json's output for a json.RawMessage on
// random values (strings dense in quotes, backslashes, spaces and non-ASCII letters, nested
// arrays and objects) written with whitespace between their tokens as PostgreSQL's jsonb
// output and json.Indent write it; a value holding a byte encoding/json escapes in a
// RawMessage ('<', '>', '&', U+2028, U+2029) must be left to the caller.
func TestCompactJSON(t *testing.T) {
	pieces := []string{`"`, `\`, " ", "a", "bcdefgh", "é", "中", "😀", "’", "\u2028", "\u2029", "<", "&", "\n", "/", `\"`}
	r := rand.New(rand.NewPCG(13, 14))
	var value func(depth int) any
	value = func(depth int) any {
		switch k := r.IntN(6); {
		case k == 0 && depth < 4:
			a := []any{}
			for range r.IntN(5) {
				a = append(a, value(depth+1))
			}
			return a
		case k == 1 && depth < 4:
			o := map[string]any{}
			for range r.IntN(5) {
				o[fmt.Sprint("k", r.IntN(100), pieces[r.IntN(len(pieces))])] = value(depth + 1)
			}
			return o
		case k == 2:
			return r.Float64() * 1e6
		case k == 3:
			return r.IntN(2) == 0
		default:
			var b strings.Builder
			for range r.IntN(20) {
				b.WriteString(pieces[r.IntN(len(pieces))])
			}
			return b.String()
		}
	}
	taken := 0
	for range 20000 {
		enc, err := json.Marshal(value(0))
		if err != nil {
			t.Fatal(err)
		}
		// encoding/json wrote \u003c etc.; put the raw bytes back as PostgreSQL would send them
		raw := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&", `\u2028`, "\u2028", `\u2029`, "\u2029").Replace(string(enc))
		var spaced bytes.Buffer
		if r.IntN(2) == 0 {
			json.Indent(&spaced, []byte(raw), "", "\t")
		} else {
			json.Indent(&spaced, []byte(raw), " ", "  ")
		}
		src := spaced.Bytes()
		if r.IntN(3) == 0 { // CR LF line ends (raw newlines only occur between tokens)
			src = bytes.ReplaceAll(src, []byte("\n"), []byte("\r\n"))
		}
		want, err := json.Marshal(json.RawMessage(src))
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		dst := make([]byte, len(src)+16)
		n, ok := CompactJSON(dst, src)
		escapes := strings.ContainsAny(string(src), "<>&\u2028\u2029")
		switch {
		case !SIMDEscape && ok:
			t.Fatalf("%q: taken without the vector code", src)
		case SIMDEscape && ok == escapes:
			t.Fatalf("%q: ok %v, holds bytes to escape %v", src, ok, escapes)
		case ok && string(dst[:n]) != string(want):
			t.Fatalf("%q:\n got %q\nwant %q", src, dst[:n], want)
		}
		if ok {
			taken++
		}
	}
	if SIMDEscape && taken < 1000 {
		t.Fatalf("only %d values taken", taken)
	}
}
