package jsonscan

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"unicode/utf8"
	"unsafe"
)

// fast.go holds every loop of the package that exists only for speed: eight bytes at a time
// ("SWAR", words loaded little-endian) and the branch-free string writers. Each function has
// a byte-at-a-time twin in ref_test.go that the tests hold it to.

// lsb8 has 1 in every byte of a word, msb8 0x80.
const (
	lsb8 = 0x0101010101010101
	msb8 = 0x8080808080808080
)

// Load64 returns s[i:i+8] as a little-endian word (the compiler combines the loads into
// one). It panics when s has fewer than i+8 bytes.
func Load64[T Text](s T, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// eq returns w with the high bit set in the bytes equal to c. The lowest set bit is exact;
// bits above it may also be set by a borrow, so callers take only the lowest
// (bits.TrailingZeros64) or test for zero.
func eq(w uint64, c byte) uint64 {
	x := w ^ (lsb8 * uint64(c))
	return (x - lsb8) &^ x & msb8
}

// below0x20 returns w with the high bit set in its control characters (bytes below 0x20),
// lowest set bit exact as in eq.
func below0x20(w uint64) uint64 { return (w - lsb8*0x20) &^ w & msb8 }

// firstByte returns the index in the word of the lowest byte whose high bit m has.
func firstByte(m uint64) int { return bits.TrailingZeros64(m) >> 3 }

// off and on are compile-time switches of the fast paths: a function with a type parameter
// off | on tests it with isOn, a constant in each of its two instantiations (the types have
// different shapes), so each is compiled without the other's branches.
type (
	off uint8
	on  uint16
)

// isOn reports whether M is on.
func isOn[M off | on]() bool {
	var m M
	return unsafe.Sizeof(m) == unsafe.Sizeof(on(0))
}

// ScanString scans the string literal whose opening quote is s[i] and returns the index after
// its closing quote, or -1 when it is not a string literal in mode m: unterminated, an escape
// other than \" \\ \/ \b \f \n \r \t \uXXXX, or (without Lenient) a raw control character.
// The flags say what the string holds (Escaped, Control, Invalid with CheckUTF8, Special with
// FindSpecial, NulEscape, LoneSurrogate). It passes eight bytes at a time up to the next
// byte to look at, or-ing them together, and checks UTF-8 (and looks for U+2028 and U+2029)
// only in strings with a byte >= 0x80, in one more pass.
func ScanString[T Text](s T, i int, m Mode) (int, Flags) {
	if m&(CheckUTF8|FindSpecial) == 0 {
		return scanString[T, off](s, i, m)
	}
	return scanString[T, on](s, i, m)
}

// scanString is ScanString, compiled twice: with Full off for modes without CheckUTF8 and
// FindSpecial (no look at the bytes >= 0x80), on for the others.
func scanString[T Text, Full off | on](s T, i int, m Mode) (int, Flags) {
	if i >= len(s) || s[i] != '"' {
		return -1, 0
	}
	full := isOn[Full]()
	special := full && m&FindSpecial != 0
	plain := &stringPlain[0]
	if special {
		plain = &stringPlain[1]
	}
	var f Flags
	var high uint64 // the bytes passed, or-ed together
	for j := i + 1; ; {
		for j+8 <= len(s) {
			w := Load64(s, j)
			stop := eq(w, '"') | eq(w, '\\') | below0x20(w)
			if special {
				stop |= eq(w, '<') | eq(w, '>') | eq(w, '&')
			}
			if stop != 0 {
				k := firstByte(stop)
				if full {
					high |= w & (1<<(8*k) - 1)
				}
				j += k
				break
			}
			if full {
				high |= w
			}
			j += 8
		}
		for ; j < len(s) && plain[s[j]]; j++ {
			if full {
				high |= uint64(s[j])
			}
		}
		if j >= len(s) {
			return -1, f
		}
		switch c := s[j]; {
		case c == '"':
			if full && high&msb8 != 0 {
				valid, sep := utf8Scan(s, i+1, j, &utf8Next, 0, special)
				if !valid && m&CheckUTF8 != 0 {
					f |= Invalid
				}
				if sep {
					f |= Special
				}
			}
			return j + 1, f
		case c == '\\':
			r, end := Escape(s, j)
			if end < 0 {
				return -1, f
			}
			f |= Escaped
			if r == 0 {
				f |= NulEscape
			} else if r >= 0xD800 && r <= 0xDFFF {
				f |= LoneSurrogate
			}
			if special && (r < utf8.RuneSelf && !htmlSafe[r] || r == '\u2028' || r == '\u2029') {
				f |= Special
			}
			j = end
		case c < 0x20:
			if m&Lenient == 0 {
				return -1, f
			}
			f |= Control
			j++
		default: // '<', '>', '&' (FindSpecial)
			f |= Special
			j++
		}
	}
}

// stringPlain marks the bytes ScanString passes without a look: all but '"', '\\' and the
// control characters, and in row 1 (FindSpecial) also but '<', '>' and '&'.
var stringPlain = func() (t [2][256]bool) {
	for c := 0x20; c < 0x100; c++ {
		t[0][c] = c != '"' && c != '\\'
		t[1][c] = t[0][c] && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// unquoteRun returns the index of the first '\\' of s from i on or, when high is msb8, of the
// first byte >= 0x80 if that comes first; len(s) if none.
func unquoteRun[T Text](s T, i int, high uint64) int {
	for ; i+8 <= len(s); i += 8 {
		w := Load64(s, i)
		if m := eq(w, '\\') | w&high; m != 0 {
			return i + firstByte(m)
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == '\\' || c >= 0x80 && high != 0 {
			break
		}
	}
	return i
}

// compactString appends the string literal whose opening quote is s[i] to dst as
// AppendCompact writes it ('<', '>', '&', U+2028 and U+2029 escaped as \u003c \u003e \u0026
// \u2028 \u2029, all else as it is) and returns the index after its closing quote, or -1 when
// it is not a literal ScanString takes in mode 0 (dst then holds part of it). It checks and
// copies in one pass, eight bytes at a time up to the next byte to look at.
func compactString[T Text](dst []byte, s T, i int) ([]byte, int) {
	start := i
	for j := i + 1; ; {
		for j+8 <= len(s) {
			w := Load64(s, j)
			if m := quoteStops(w) | htmlRareStops(w); m != 0 {
				j += firstByte(m)
				break
			}
			j += 8
		}
		for j < len(s) && compactPlain[s[j]] {
			j++
		}
		if j >= len(s) {
			return dst, -1
		}
		switch c := s[j]; {
		case c == '"':
			return append(dst, s[start:j+1]...), j + 1
		case c == '\\':
			if _, j = Escape(s, j); j < 0 {
				return dst, -1
			}
		case c < 0x20:
			return dst, -1
		case c == 0xE2:
			if j+2 < len(s) && s[j+1] == 0x80 && (s[j+2] == 0xA8 || s[j+2] == 0xA9) {
				dst = append(dst, s[start:j]...)
				dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[s[j+2]&0xF])
				j += 3
				start = j
			} else {
				j++
			}
		default: // '<', '>', '&'
			dst = append(dst, s[start:j]...)
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			j++
			start = j
		}
	}
}

// compactPlain marks the bytes compactString passes without a look: all but control
// characters, '"', '\\', '<', '>', '&' and 0xE2 (the lead byte of U+2028 and U+2029).
var compactPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x100; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' && c != 0xE2
	}
	return t
}()

// utf8Scan runs the automaton next over s[i:end], sixteen bytes at a time while they are
// ASCII (without a NUL byte when nul is lsb8), and reports whether they are valid and, with
// seps, whether they hold U+2028 or U+2029 (then it reads them all).
func utf8Scan[T Text](s T, i, end int, next *[256]uint64, nul uint64, seps bool) (valid, sep bool) {
	st := uint64(utf8Accept)
	for i < end {
		if i+16 <= end && st&63 == utf8Accept {
			a, b := Load64(s, i), Load64(s, i+8)
			if (a|b)&msb8 == 0 && (nul == 0 || eq(a, 0)|eq(b, 0) == 0) {
				i += 16
				continue
			}
		}
		for stop := min(i+16, end); i < stop; i++ {
			c := s[i]
			if c == 0xE2 && seps && i+2 < end && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9) {
				sep = true
			}
			st = next[c] >> (st & 63)
		}
		if st&63 == utf8Error && !seps {
			return false, false
		}
	}
	return st&63 == utf8Accept, sep
}

// quoteStops returns w with the high bit set in its '"' and '\\' bytes (lowest set bit exact;
// zero if there are none).
func quoteStops(w uint64) uint64 { return eq(w, '"') | eq(w, '\\') }

// htmlRareStops returns w with the high bit set in the bytes the quoting writers escape on
// their slow path: '<', '>', '&', control characters and 0xE2, the lead byte of U+2028 and
// U+2029 (and of other characters, which are written as they are). The lowest set bit is
// exact. It is written out rather than with eq to stay within the inlining budget.
func htmlRareStops(w uint64) uint64 {
	lt := w ^ (lsb8 * '<')
	gt := w ^ (lsb8 * '>')
	am := w ^ (lsb8 * '&')
	e2 := w ^ (lsb8 * 0xE2)
	return ((lt-lsb8)&^lt | (gt-lsb8)&^gt | (am-lsb8)&^am | (e2-lsb8)&^e2 | (w-lsb8*0x20)&^w) & msb8
}

// backslashed is 1 for the two bytes a JSON string writes after a backslash ('"', '\\') and
// 0 for all others.
var backslashed = [256]int{'"': 1, '\\': 1}

// quoteFast appends s quoted as AppendQuote does; Check on (check) says s may not be valid
// UTF-8 (ok is false if it is not, dst's bytes from len(dst) on are then garbage), off that it
// is (AppendQuoteValid), each compiled on its own. It writes dst by index, eight bytes of s at
// a time: a block without a byte to escape (and, with check, ASCII) is stored at once;
// another block is copied byte by byte without a branch per byte (each byte written at
// dst[n+1] or dst[n], behind a backslash written at dst[n] either way, and, with check and a
// byte >= 0x80 in the block or before it, fed to the UTF-8 automaton), so the quotes and non-ASCII letters of a value that
// holds JSON text cost no mispredicted branch; '<', '>', '&', control characters and
// U+2028/U+2029 are escaped on a slower path. Without check, a string that ends inside a
// sequence starting with 0xE2 is handed to appendQuoteSimple.
func quoteFast[T Text, Check off | on](dst []byte, s T) ([]byte, bool) {
	check := isOn[Check]()
	start := len(dst)
	dst = append(dst, '"')
	n := len(dst)
	dst = dst[:cap(dst)]
	st := uint64(utf8Accept)
	for i := 0; i < len(s); {
		// room for the rest of s as it is plus the most one step writes beyond that (8 bytes
		// for a block written twice as long, or 7 for 7 bytes and an escape of 6 for 1):
		// checked once per step, so the writes below need no other check
		if len(dst)-n < len(s)-i+16 {
			dst = slices.Grow(dst[:n], len(s)-i+len(s)/8+16)
			dst = dst[:cap(dst)]
		}
		end := i + 8 // bytes before end are written on the fast paths; s[end] is rare or not
		rare := false
		if end <= len(s) {
			w := Load64(s, i)
			if r := htmlRareStops(w); r != 0 {
				end = i + firstByte(r)
				rare = true
			} else if (!check || w&msb8 == 0 && st&63 == utf8Accept) && quoteStops(w) == 0 {
				binary.LittleEndian.PutUint64(dst[n:], w)
				i += 8
				n += 8
				continue
			} else {
				// all eight bytes from w, into a 16-byte window (one bounds check; the masked
				// indexes need none), through the automaton where it may change state
				o := (*[16]byte)(dst[n : n+16])
				j := 0
				if check && (w&msb8 != 0 || st&63 != utf8Accept) {
					for k := 0; k < 64; k += 8 {
						c := byte(w >> k)
						st = utf8Next[c] >> (st & 63)
						e := backslashed[c]
						o[j&15] = '\\'
						o[(j+e)&15] = c
						j += 1 + e
					}
				} else {
					for k := 0; k < 64; k += 8 {
						c := byte(w >> k)
						e := backslashed[c]
						o[j&15] = '\\'
						o[(j+e)&15] = c
						j += 1 + e
					}
				}
				i += 8
				n += j
				continue
			}
		} else {
			end, rare = rareStop(s, i)
		}
		for ; i < end; i++ {
			c := s[i]
			if check {
				st = utf8Next[c] >> (st & 63)
			}
			e := backslashed[c]
			dst[n] = '\\'
			dst[n+e] = c
			n += 1 + e
		}
		if !rare {
			continue
		}
		if check && st&63 != utf8Accept { // inside a sequence: not valid UTF-8
			return dst, false
		}
		// s[i] is a rare stop: a control character, '<', '>', '&' or 0xE2 (a 3-byte lead)
		switch b := s[i]; b {
		case 0xE2:
			if i+2 >= len(s) || check && (s[i+1]&0xC0 != 0x80 || s[i+2]&0xC0 != 0x80) {
				if check {
					return dst, false
				}
				return appendQuoteSimple(dst[:start], s), true
			}
			if s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9) {
				n += copy(dst[n:], `\u202`)
				dst[n] = hexDigits[s[i+2]&0xF]
				n++
			} else {
				dst[n], dst[n+1], dst[n+2] = b, s[i+1], s[i+2]
				n += 3
			}
			i += 3
		default:
			if e := shortEscapes[b]; e != 0 {
				dst[n], dst[n+1] = '\\', e
				n += 2
			} else {
				n += copy(dst[n:], `\u00`)
				dst[n], dst[n+1] = hexDigits[b>>4], hexDigits[b&0xF]
				n += 2
			}
			i++
		}
	}
	if check && st&63 != utf8Accept {
		return dst, false
	}
	dst = dst[:n]
	return append(dst, '"'), true
}

// rareStop returns the index of the first byte of s from i on that quoteFast escapes on its
// slow path (a control character, '<', '>', '&' or 0xE2), and whether there is one (else
// len(s)).
func rareStop[T Text](s T, i int) (int, bool) {
	for k := i; k < len(s); k++ {
		if c := s[k]; c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0xE2 {
			return k, true
		}
	}
	return len(s), false
}

// Check walks the one JSON value of s (whitespace around it allowed) in mode m and returns
// the flags of its strings or-ed together; the error is a *SyntaxError or ErrDepth.
func Check[T Text](s T, m Mode, maxDepth int) (Flags, error) {
	end, f, _, err := walk(s, Space(s, 0), m, maxDepth, nil, false)
	if err == nil && Space(s, end) != len(s) {
		return 0, syntaxErr(Space(s, end), "data after the value")
	}
	return f, err
}

// Skip walks the JSON value that starts at s[i] (no whitespace before it; whatever follows
// it is not read) in mode m and returns the index after it and the flags of its strings
// or-ed together; the error is a *SyntaxError or ErrDepth.
func Skip[T Text](s T, i int, m Mode, maxDepth int) (int, Flags, error) {
	if i < len(s) && Space(s, i) != i {
		return 0, 0, syntaxErr(i, "whitespace before the value")
	}
	end, f, _, err := walk(s, i, m, maxDepth, nil, false)
	return end, f, err
}

// AppendCompact appends the one JSON value of s (whitespace around it allowed) as
// encoding/json writes a json.RawMessage: whitespace outside strings dropped, and inside
// strings '<', '>', '&', U+2028 and U+2029 escaped as \u003c \u003e \u0026 \u2028 \u2029, all
// else (escapes, invalid UTF-8) kept as it is. It fails, dst unchanged, on text that is not
// JSON (a *SyntaxError) or nested deeper than maxDepth (ErrDepth).
func AppendCompact[T Text](dst []byte, s T, maxDepth int) ([]byte, error) {
	end, _, out, err := walk(s, Space(s, 0), 0, maxDepth, dst, true)
	if err == nil && Space(s, end) != len(s) {
		err = syntaxErr(Space(s, end), "data after the value")
	}
	if err != nil {
		return dst, err
	}
	return out, nil
}

// walk reads the JSON value at s[i] as a Scanner does, without making tokens, and returns
// the index after it and its strings' flags; with compact it appends the value compacted to
// dst (AppendCompact: strings in mode 0, m is not read, and no flags).
func walk[T Text](s T, i int, m Mode, maxDepth int, dst []byte, compact bool) (int, Flags, []byte, error) {
	n := nest{maxDepth: maxDepth}
	var f Flags
	key := false // the string to read is an object member's key
	for {
		// a value (or, with key, a key) at s[i], after whitespace
		if i = Space(s, i); i >= len(s) {
			if key {
				return 0, 0, dst, syntaxErr(i, "expected a string (an object key)")
			}
			return 0, 0, dst, syntaxErr(i, "unexpected end of text")
		}
		c := s[i]
		end := -1
		switch {
		case c == '"':
			var sf Flags
			if compact {
				dst, end = compactString(dst, s, i)
			} else {
				end, sf = ScanString(s, i, m)
			}
			if end < 0 {
				return 0, 0, dst, syntaxErr(i, "invalid string")
			}
			f |= sf
			if key {
				if i = Space(s, end); i >= len(s) || s[i] != ':' {
					return 0, 0, dst, syntaxErr(i, "expected ':' after an object key")
				}
				if compact {
					dst = append(dst, ':')
				}
				i, key = i+1, false
				continue
			}
		case key:
			return 0, 0, dst, syntaxErr(i, "expected a string (an object key)")
		case c == '{' || c == '[':
			if !n.open(c == '{') {
				return 0, 0, dst, ErrDepth
			}
			if compact {
				dst = append(dst, c)
			}
			if end = Space(s, i+1); end >= len(s) || s[end] != c+2 { // '}' is '{'+2, ']' is '['+2
				i, key = end, c == '{'
				continue
			}
			n.depth-- // empty
			if compact {
				dst = append(dst, c+2)
			}
			end++
		default:
			switch c {
			case 't':
				end = literal(s, i, "true")
			case 'f':
				end = literal(s, i, "false")
			case 'n':
				end = literal(s, i, "null")
			default:
				end, _ = scanNumber(s, i)
			}
			if end < 0 {
				return 0, 0, dst, syntaxErr(i, "invalid value")
			}
			if compact {
				dst = append(dst, s[i:end]...)
			}
		}
		i = end
		// after a value: close containers, or go on to the next element
		for {
			if n.depth == 0 {
				return i, f, dst, nil
			}
			if i = Space(s, i); i >= len(s) {
				return 0, 0, dst, syntaxErr(i, "unexpected end of text")
			}
			obj := n.top()
			c := s[i]
			if c == ',' {
				if compact {
					dst = append(dst, ',')
				}
				i, key = i+1, obj
				break
			}
			if obj && c == '}' || !obj && c == ']' {
				n.depth--
				if compact {
					dst = append(dst, c)
				}
				i++
				continue
			}
			return 0, 0, dst, syntaxErr(i, "expected ',' or the end of the object or array")
		}
	}
}
