package textscan

import (
	"encoding/binary"
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
