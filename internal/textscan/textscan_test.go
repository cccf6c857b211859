package textscan

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"
)

func TestHex4(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want rune
	}{
		{"0000", 0}, {"00e9", 0xe9}, {"D83D", 0xD83D}, {"fFfF", 0xFFFF}, {"12345", 0x1234},
		{"123", -1}, {"", -1}, {"12g4", -1}, {"-123", -1}, {"12 4", -1},
	} {
		if got := Hex4([]byte(tc.in)); got != tc.want {
			t.Errorf("Hex4(%q) = %#x, want %#x", tc.in, got, tc.want)
		}
	}
}

func TestLoad64(t *testing.T) {
	s := "0123456789abcdef"
	for i := 0; i+8 <= len(s); i++ {
		if got, want := Load64(s, i), binary.LittleEndian.Uint64([]byte(s[i:i+8])); got != want {
			t.Errorf("Load64(s, %d) = %#x, want %#x", i, got, want)
		}
	}
}

// TestEqBelow0x20: the lowest set bit of Eq and Below0x20 marks the first matching byte of
// the word, and the result is zero exactly when no byte matches.
func TestEqBelow0x20(t *testing.T) {
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
			if got := map[bool]int{true: -1, false: bits.TrailingZeros64(m) >> 3}[m == 0]; got != first {
				t.Fatalf("%s(% x): first match %d, want %d", name, b, got, first)
			}
		}
		check("Eq", Eq(w, c), func(x byte) bool { return x == c })
		check("Below0x20", Below0x20(w), func(x byte) bool { return x < 0x20 })
	}
}

// randomJoin joins fewer than n pieces chosen at random.
func randomJoin(r *rand.Rand, pieces [][]byte, n int) []byte {
	var b []byte
	for range r.IntN(n) {
		b = append(b, pieces[r.IntN(len(pieces))]...)
	}
	return b
}
