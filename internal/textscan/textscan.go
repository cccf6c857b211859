// Package textscan forwards to internal/jsonscan, the module's one JSON scanning kernel,
// which now holds these byte-level helpers: the four hex digits of a \u escape, an eight-byte
// little-endian load and byte masks for scanning eight bytes at a time, and the branch-free
// UTF-8 automaton. It stays only for the callers in bundle and postgres until they call the
// kernel's scanners themselves (issue 13, phase 2), and then goes away.
package textscan

import "github.com/actingweb/actingweb-go/internal/jsonscan"

// Hex4 is jsonscan.Hex4: the value of the four hex digits at the start of b, -1 when b is
// shorter than 4 bytes or one of them is not a hex digit.
func Hex4(b []byte) rune { return jsonscan.Hex4(b) }

// Load64 is jsonscan.Load64: s[i:i+8] as a little-endian word. It panics when s has fewer
// than i+8 bytes.
func Load64(s string, i int) uint64 { return jsonscan.Load64(s, i) }

// Eight bytes at a time ("SWAR"): LSB8 has 1 in every byte, MSB8 0x80 in every byte.
const (
	LSB8 = jsonscan.LSB8
	MSB8 = jsonscan.MSB8
)

// Eq is jsonscan.Eq: w with the high bit set in the bytes equal to c (lowest set bit exact).
func Eq(w uint64, c byte) uint64 { return jsonscan.Eq(w, c) }

// Below0x20 is jsonscan.Below0x20: w with the high bit set in its control characters (lowest
// set bit exact).
func Below0x20(w uint64) uint64 { return jsonscan.Below0x20(w) }

// UTF8Accept and UTF8Next are jsonscan's UTF-8 automaton: the state after byte c in state st
// is UTF8Next[c] >> (st & 63), and a string is valid UTF-8 when the automaton, started in
// UTF8Accept, ends in it.
const UTF8Accept = jsonscan.UTF8Accept

// UTF8Next is a copy of jsonscan.UTF8Next (see UTF8Accept).
var UTF8Next = jsonscan.UTF8Next
