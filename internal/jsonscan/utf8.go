package jsonscan

// A branch-free UTF-8 automaton (a "shift DFA"): a state is a bit offset, a multiple of 6,
// into the rows of utf8Next, and the state after byte c in state st is
//
//	st = utf8Next[c] >> (st & 63)
//
// (only the low 6 bits of st count). The next state depends on c through one table load and
// on st through one shift, so a loop over the bytes runs at about a byte per cycle, without
// the branch per character of utf8.Valid. A string is valid UTF-8 (as utf8.Valid decides:
// no overlong forms, no surrogates, nothing above U+10FFFF, no truncated sequence) when the
// automaton, started in utf8Accept, ends in utf8Accept. The error state absorbs.
const (
	utf8Accept = 0 * 6
	utf8Error  = 1 * 6
	utf8Tail1  = 2 * 6 // one continuation byte (80..BF) to go
	utf8Tail2  = 3 * 6
	utf8Tail3  = 4 * 6
	utf8E0     = 5 * 6 // after E0: A0..BF (no overlong 3-byte forms)
	utf8ED     = 6 * 6 // after ED: 80..9F (no surrogates)
	utf8F0     = 7 * 6 // after F0: 90..BF (no overlong 4-byte forms)
	utf8F4     = 8 * 6 // after F4: 80..8F (nothing above U+10FFFF)
)

// utf8Next is the transition table of the automaton: the state after byte c in state st is
// bits st..st+5 of utf8Next[c]. textNext is the same automaton with the NUL byte an error
// (ValidText).
var utf8Next, textNext = utf8Table(false), utf8Table(true)

func utf8Table(nulBad bool) (t [256]uint64) {
	next := func(st int, c byte) int {
		in := func(lo, hi byte) bool { return c >= lo && c <= hi }
		switch st {
		case utf8Accept:
			switch {
			case c == 0 && nulBad:
				return utf8Error
			case c < 0x80:
				return utf8Accept
			case in(0xC2, 0xDF):
				return utf8Tail1
			case c == 0xE0:
				return utf8E0
			case in(0xE1, 0xEC), in(0xEE, 0xEF):
				return utf8Tail2
			case c == 0xED:
				return utf8ED
			case c == 0xF0:
				return utf8F0
			case in(0xF1, 0xF3):
				return utf8Tail3
			case c == 0xF4:
				return utf8F4
			}
		case utf8Tail1:
			if in(0x80, 0xBF) {
				return utf8Accept
			}
		case utf8Tail2:
			if in(0x80, 0xBF) {
				return utf8Tail1
			}
		case utf8Tail3:
			if in(0x80, 0xBF) {
				return utf8Tail2
			}
		case utf8E0:
			if in(0xA0, 0xBF) {
				return utf8Tail1
			}
		case utf8ED:
			if in(0x80, 0x9F) {
				return utf8Tail1
			}
		case utf8F0:
			if in(0x90, 0xBF) {
				return utf8Tail2
			}
		case utf8F4:
			if in(0x80, 0x8F) {
				return utf8Tail2
			}
		}
		return utf8Error
	}
	for c := range 256 {
		for st := utf8Accept; st <= utf8F4; st += 6 {
			t[c] |= uint64(next(st, byte(c))) << st
		}
	}
	return t
}

// validUTF8 reports whether s is valid UTF-8, as utf8.Valid does.
func validUTF8[T Text](s T) bool {
	ok, _ := utf8Scan(s, 0, len(s), &utf8Next, 0, false)
	return ok
}

// ValidText reports whether s is text PostgreSQL accepts: valid UTF-8 without the NUL
// character.
func ValidText[T Text](s T) bool {
	ok, _ := utf8Scan(s, 0, len(s), &textNext, lsb8, false)
	return ok
}

// runeLen returns the length of the valid UTF-8 sequence at s[i], 0 when there is none (an
// invalid or incomplete sequence: utf8.DecodeRune's (RuneError, 1)).
func runeLen[T Text](s T, i int) int {
	st := uint64(utf8Accept)
	for k := i; k < len(s) && k < i+4; k++ {
		st = utf8Next[s[k]] >> (st & 63)
		switch st & 63 {
		case utf8Accept:
			return k + 1 - i
		case utf8Error:
			return 0
		}
	}
	return 0
}
