package bundle

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	actingweb "github.com/actingweb/actingweb-go"
)

var encodeSeeds = []string{
	"", "plain", `quote " backslash \ slash /`, "<html>&amp;</html>", "\b\f\n\r\t\x00\x01\x1f\x7f",
	"Chloé ☃ 日本語 😀", "\u2028\u2029", "bad \xff\xfe utf8 \xc3", `{"k":[1,2,"x\"y"]}`,
}

// TestAppendRecordJSON: the hand encoder gives exactly json.Marshal's bytes.
func TestAppendRecordJSON(t *testing.T) {
	recs := []actingweb.Record{&actingweb.Actor{ID: "a", Creator: "c<&>", Passphrase: "p"}}
	for _, s := range encodeSeeds {
		recs = append(recs, &actingweb.Property{ID: s, Name: "n" + s, Value: s + s})
	}
	for _, r := range recs {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendRecordJSON([]byte("prefix"), r)
		if err != nil || !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Errorf("%#v:\n got %s, %v\nwant prefix%s", r, got, err, want)
		}
	}
}

// FuzzAppendRecordJSON: any property encodes as json.Marshal encodes it.
func FuzzAppendRecordJSON(f *testing.F) {
	for _, s := range encodeSeeds {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		p := &actingweb.Property{ID: "id", Name: name, Value: value}
		want, _ := json.Marshal(p)
		got, _ := AppendRecordJSON(nil, p)
		if !bytes.Equal(got, want) {
			t.Fatalf("got %q want %q", got, want)
		}
	})
}

// TestAppendJSONStringUTF8Edges: the string encoder (appendStr, the kernel's AppendQuote)
// against json.Marshal on the edges of UTF-8 (overlong forms, surrogates, truncation, U+2028/9).
func TestAppendJSONStringUTF8Edges(t *testing.T) {
	for _, s := range []string{
		"é", "\xc2\x80", "\xdf\xbf", "\xc1\xbf", "\xc0\x80", "\xc3", "a\xc3", "\xc3(", // 2-byte
		"中", "\xe0\xa0\x80", "\xe0\x80\x80", "\xe0\x9f\xbf", "\xed\x9f\xbf", "\xed\xa0\x80", // 3-byte
		"\xef\xbf\xbf", "\xe2\x80\xa8", "\xe2\x80\xa9", "x\u2028y\u2029z", "\xe2\x80\xa7", "\xe2\x80",
		"\xe2", "\xf0\x9f\x98\x80", "\xf4\x90\x80\x80", "ü\"<é>&\u2028中\n",
	} {
		want, _ := json.Marshal(s)
		if got := appendStr(nil, false, s); !bytes.Equal(got, want) {
			t.Errorf("%q: got %s want %s", s, got, want)
		}
	}
}

// TestAppendJSONStringBlockBoundaries puts each byte the eight-byte scan stops at at every
// position around the blocks and compares with encoding/json's bytes.
func TestAppendJSONStringBlockBoundaries(t *testing.T) {
	specials := []string{`"`, `\`, "<", ">", "&", "\n", "\x01", "\x7f", "é", "€", "😀", "\u2028", "\u2029", "\xff", "\xed\xa0\x80", "=", "~"}
	for _, sp := range specials {
		for pre := 0; pre <= 17; pre++ {
			for post := 0; post <= 9; post++ {
				s := strings.Repeat("a", pre) + sp + strings.Repeat("b", post) + sp
				want, err := json.Marshal(s)
				if err != nil {
					t.Fatal(err)
				}
				if got := appendStr(nil, false, s); string(got) != string(want) {
					t.Fatalf("%q: %s, encoding/json %s", s, got, want)
				}
			}
		}
	}
}

// TestAppendJSONStringDense: strings made of runs of the bytes the encoder stops at (quotes,
// backslashes, non-ASCII letters, HTML characters, control characters, U+2028, invalid UTF-8)
// packed densely and at random, as in values that hold JSON text, against encoding/json.
func TestAppendJSONStringDense(t *testing.T) {
	pieces := []string{`"`, `\`, "a", "bc", "defghij", "é", "中", "😀", "✅", "<", ">", "&", "\n", "\x01", "\u2028", "\u2029", "\xff", "\xc3", "\x80", "\xe2\x80", "\xf0\x9f", "\xed\xa0\x80", `{"k":"v"}`}
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		var b strings.Builder
		for range r.IntN(40) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		s := b.String()
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendStr([]byte("prefix"), false, s); string(got) != "prefix"+string(want) {
			t.Fatalf("%q: %s, encoding/json %s", s, got, want)
		}
		if utf8.ValidString(s) {
			if got := appendStr([]byte("prefix"), true, s); string(got) != "prefix"+string(want) {
				t.Fatalf("valid %q: %s, encoding/json %s", s, got, want)
			}
		}
	}
}
