package textscan

import (
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// valid runs the automaton over b.
func valid(b []byte) bool {
	st := uint64(UTF8Accept)
	for _, c := range b {
		st = UTF8Next[c] >> (st & 63)
	}
	return st&63 == UTF8Accept
}

// TestUTF8Automaton: the automaton agrees with utf8.Valid on every sequence of up to three
// bytes, on every four-byte sequence with a lead byte from F0 to F4, and on random strings
// mixing ASCII, valid sequences and stray bytes.
func TestUTF8Automaton(t *testing.T) {
	check := func(b []byte) {
		if got, want := valid(b), utf8.Valid(b); got != want {
			t.Fatalf("% x: automaton %v, utf8.Valid %v", b, got, want)
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
	pieces := [][]byte{[]byte("a"), []byte("é"), []byte("中"), []byte("😀"), []byte("\u2028"), {0xff}, {0xc3}, {0xed, 0xa0, 0x80}, {0x80}}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		check(randomJoin(r, pieces, 12))
	}
}
