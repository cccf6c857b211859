// Package textscan holds the byte-level helpers the hand-written JSON and text scanners of
// the root package, bundle and postgres share: the four hex digits of a \u escape, an
// eight-byte little-endian load and byte masks for scanning eight bytes at a time, and a
// branch-free UTF-8 automaton (utf8.go).
package textscan

// Hex4 decodes the four hex digits at the start of b as encoding/json's getu4 does: -1 when b
// is shorter than 4 bytes or one of them is not a hex digit.
func Hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// Load64 returns s[i:i+8] as a little-endian word (the compiler combines the loads into
// one). It panics when s has fewer than i+8 bytes.
func Load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// Eight bytes at a time ("SWAR"): LSB8 has 1 in every byte, MSB8 0x80 in every byte.
const (
	LSB8 = 0x0101010101010101
	MSB8 = 0x8080808080808080
)

// Eq returns w with the high bit set in the bytes equal to c. The lowest set bit is exact;
// bits above it may also be set by a borrow, so callers take only the lowest
// (bits.TrailingZeros64) or test for zero.
func Eq(w uint64, c byte) uint64 {
	x := w ^ (LSB8 * uint64(c))
	return (x - LSB8) &^ x & MSB8
}

// Below0x20 returns w with the high bit set in its control characters (bytes below 0x20),
// lowest set bit exact as in Eq.
func Below0x20(w uint64) uint64 { return (w - LSB8*0x20) &^ w & MSB8 }
