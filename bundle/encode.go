package bundle

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"slices"
	"unicode/utf8"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/textscan"
)

// AppendRecordJSON appends r's bundle line (without the newline) to dst: exactly the bytes
// json.Marshal(r) gives. Every record type is encoded without reflection from its table's
// plan (appendRecordFast, plan.go); what that encoder does not vouch for (a time or payload
// json.Marshal may refuse) goes through json.Marshal. The error is json.Marshal's.
func AppendRecordJSON(dst []byte, r actingweb.Record) ([]byte, error) {
	return appendRecordJSON(dst, r, false)
}

// appendRecordJSON is AppendRecordJSON; valid says r's strings are known to be valid UTF-8
// and its payload valid JSON (WriterOptions.Validated), which changes the speed, never the
// bytes.
func appendRecordJSON(dst []byte, r actingweb.Record, valid bool) ([]byte, error) {
	if out, ok := appendRecordFast(dst, r, valid); ok {
		return out, nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

const hexDigits = "0123456789abcdef"

// htmlStops returns w (eight bytes of a string, little-endian) with the high bit set in the
// bytes htmlSafeByte does not mark: '"', '\\', '<', '>', '&', control characters, non-ASCII.
// The lowest set bit is exact (see stringStops).
func htmlStops(w uint64) uint64 {
	q := w ^ (lsb8 * '"')
	e := w ^ (lsb8 * '\\')
	lt := w ^ (lsb8 * '<')
	gt := w ^ (lsb8 * '>')
	am := w ^ (lsb8 * '&')
	return ((q-lsb8)&^q | (e-lsb8)&^e | (lt-lsb8)&^lt | (gt-lsb8)&^gt | (am-lsb8)&^am |
		(w-lsb8*0x20)&^w | w) & msb8
}

// htmlRareStops is htmlStops for valid UTF-8 without '"' and '\\' (which appendValidJSONString
// escapes without a branch): '<', '>', '&', control characters and 0xE2, the lead byte of
// U+2028 and U+2029 (and of other characters, which are written as they are). The lowest set
// bit is exact.
func htmlRareStops(w uint64) uint64 {
	// written out rather than with textscan.Eq: it must stay within the inlining budget
	lt := w ^ (lsb8 * '<')
	gt := w ^ (lsb8 * '>')
	am := w ^ (lsb8 * '&')
	e2 := w ^ (lsb8 * 0xE2)
	return ((lt-lsb8)&^lt | (gt-lsb8)&^gt | (am-lsb8)&^am | (e2-lsb8)&^e2 | (w-lsb8*0x20)&^w) & msb8
}

// backslashed is 1 for the two bytes a JSON string writes after a backslash ('"', '\\') and
// 0 for all others.
var backslashed = [256]int{'"': 1, '\\': 1}

// appendUTF8JSONString is appendJSONString for valid UTF-8; ok is false if s is not (dst's
// bytes from len(dst) on are then garbage). It writes dst by index, eight bytes of s at a
// time: a block of ASCII without a byte to escape is stored at once; another block is copied
// byte by byte without a branch per byte (each byte written at dst[n+1] or dst[n], behind a
// backslash written at dst[n] either way, and fed to the branch-free UTF-8 automaton
// textscan.UTF8Next), so the quotes and non-ASCII letters of a value that holds JSON text, one every
// five bytes or so in the bench data set, cost no mispredicted branch; '<', '>', '&', control
// characters and U+2028/U+2029 are escaped on a slower path.
func appendUTF8JSONString(dst []byte, s string) ([]byte, bool) {
	dst = append(dst, '"')
	n := len(dst)
	dst = dst[:cap(dst)]
	st := uint64(textscan.UTF8Accept)
	for i := 0; i < len(s); {
		// room for the rest of s as it is, plus one block written twice as long and one escape
		// (6 bytes for 3): checked once per block, so the writes below need no other check
		if len(dst)-n < len(s)-i+24 {
			dst = slices.Grow(dst[:n], len(s)-i+len(s)/8+24)
			dst = dst[:cap(dst)]
		}
		end := i + 8 // bytes before end are written on the fast paths; s[end] is rare or not
		rare := false
		if end <= len(s) {
			w := textscan.Load64(s, i)
			if r := htmlRareStops(w); r != 0 {
				end = i + bits.TrailingZeros64(r)>>3
				rare = true
			} else if w&msb8 == 0 && st&63 == textscan.UTF8Accept && quoteStops(w) == 0 {
				binary.LittleEndian.PutUint64(dst[n:], w)
				i += 8
				n += 8
				continue
			} else {
				// all eight bytes from w, into a 16-byte window (one bounds check; the masked
				// indexes need none)
				o := (*[16]byte)(dst[n : n+16])
				j := 0
				for k := 0; k < 64; k += 8 {
					c := byte(w >> k)
					st = textscan.UTF8Next[c] >> (st & 63)
					e := backslashed[c]
					o[j&15] = '\\'
					o[(j+e)&15] = c
					j += 1 + e
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
			st = textscan.UTF8Next[c] >> (st & 63)
			e := backslashed[c]
			dst[n] = '\\'
			dst[n+e] = c
			n += 1 + e
		}
		if rare {
			if st&63 != textscan.UTF8Accept { // inside a sequence: not valid UTF-8
				return dst, false
			}
			// s[i] is a rare stop: a control character, '<', '>', '&' or 0xE2 (a 3-byte lead)
			switch b := s[i]; b {
			case 0xE2: // valid UTF-8: a whole 3-byte sequence
				if st&63 != textscan.UTF8Accept || i+2 >= len(s) || s[i+1]&0xC0 != 0x80 || s[i+2]&0xC0 != 0x80 {
					return dst, false
				}
				n = putE2Sequence(dst, n, s[i:i+3])
				i += 3
			default:
				n = putByteEscape(dst, n, b)
				i++
			}
		}
	}
	if st&63 != textscan.UTF8Accept {
		return dst, false
	}
	dst = dst[:n]
	return append(dst, '"'), true
}

// rareStop returns the index of the first byte of s from i on that the string encoders
// escape on their slow path (a control character, '<', '>', '&' or 0xE2, the lead byte of
// U+2028 and U+2029), and whether there is one (else len(s)).
func rareStop(s string, i int) (int, bool) {
	for k := i; k < len(s); k++ {
		if c := s[k]; c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0xE2 {
			return k, true
		}
	}
	return len(s), false
}

// putE2Sequence writes seq, a 3-byte UTF-8 sequence with lead byte 0xE2, at dst[n:] as
// encoding/json writes it (U+2028 and U+2029 as \u2028 and \u2029, any other as it is) and
// returns the index after it. dst has room for 6 bytes.
func putE2Sequence(dst []byte, n int, seq string) int {
	if seq[1] == 0x80 && (seq[2] == 0xA8 || seq[2] == 0xA9) {
		n += copy(dst[n:], `\u202`)
		dst[n] = hexDigits[seq[2]&0xF]
		return n + 1
	}
	return n + copy(dst[n:], seq)
}

// putByteEscape writes the escape of b, a control character, '<', '>' or '&', at dst[n:] as
// encoding/json writes it (\b \f \n \r \t, else \u00XX) and returns the index after it.
// dst has room for it.
func putByteEscape(dst []byte, n int, b byte) int {
	if e := shortEscapes[b]; e != 0 {
		dst[n], dst[n+1] = '\\', e
		return n + 2
	}
	n += copy(dst[n:], `\u00`)
	dst[n], dst[n+1] = hexDigits[b>>4], hexDigits[b&0xF]
	return n + 2
}

// shortEscapes maps the control characters encoding/json writes as a short escape to the
// letter after the backslash (0 for all other bytes).
var shortEscapes = [256]byte{'\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't'}

// quoteStops returns w with the high bit set in its '"' and '\\' bytes (lowest set bit exact;
// zero if there are none).
func quoteStops(w uint64) uint64 { return textscan.Eq(w, '"') | textscan.Eq(w, '\\') }

// htmlSafeByte marks the bytes encoding/json writes in a string as they are: printable ASCII
// but '"', '\\', '<', '>' and '&'.
var htmlSafeByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendStr is appendValidJSONString when valid (s is known to be valid UTF-8), else
// appendJSONString: the same bytes either way, as long as the promise holds.
func appendStr(dst []byte, valid bool, s string) []byte {
	if valid {
		return appendValidJSONString(dst, s)
	}
	return appendJSONString(dst, s)
}

// appendJSONString appends s as a JSON string exactly as encoding/json encodes a string
// (HTML escaping on: <, > and & as \u003c \u003e \u0026; \b \f \n \r \t short escapes, other
// control characters as \u00XX; invalid UTF-8 bytes as \ufffd; U+2028 and U+2029 escaped).
func appendJSONString(dst []byte, s string) []byte {
	if out, ok := appendUTF8JSONString(dst, s); ok {
		return out
	}
	return appendAnyJSONString(dst, s)
}

// appendAnyJSONString is appendJSONString for any s (invalid UTF-8 included), a run of bytes
// at a time up to the next one that needs a look.
func appendAnyJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// eight bytes at a time up to the first one that is not written as it is
		for i+8 <= len(s) {
			m := htmlStops(textscan.Load64(s, i))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
			break
		}
		for i < len(s) && htmlSafeByte[s[i]] {
			i++
		}
		if i >= len(s) {
			break
		}
		if b := s[i]; b < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		// valid 2- and 3-byte sequences (accented Latin, Greek, Cyrillic, CJK) skipped inline,
		// U+2028/U+2029 (E2 80 A8/A9) excepted; anything else decoded below
		if b := s[i]; b >= 0xC2 && b <= 0xDF && i+1 < len(s) && s[i+1]&0xC0 == 0x80 {
			i += 2
			continue
		} else if b >= 0xE0 && b <= 0xEF && i+2 < len(s) {
			lo, hi := byte(0x80), byte(0xBF)
			if b == 0xE0 {
				lo = 0xA0
			} else if b == 0xED {
				hi = 0x9F
			}
			if b1, b2 := s[i+1], s[i+2]; b1 >= lo && b1 <= hi && b2&0xC0 == 0x80 && !(b == 0xE2 && b1 == 0x80 && (b2 == 0xA8 || b2 == 0xA9)) {
				i += 3
				continue
			}
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendValidJSONString is appendJSONString for a string known to be valid UTF-8 (from a
// source that guarantees it: a PostgreSQL database whose server encoding is UTF8 refuses any
// other text, WriterOptions.Validated). It skips the UTF-8 automaton of appendUTF8JSONString:
// a block of eight bytes without '"', '\\' or a rare stop is stored at once whatever its
// letters, a block with quotes is copied byte by byte without a branch per byte. Its output is
// appendJSONString's for valid UTF-8 only: invalid bytes are copied as they are (a string
// that ends inside a sequence is left to appendAnyJSONString).
func appendValidJSONString(dst []byte, s string) []byte {
	start := len(dst)
	dst = append(dst, '"')
	n := len(dst)
	dst = dst[:cap(dst)]
	for i := 0; i < len(s); {
		// room for the rest of s with every byte escaped as '"' is, and for the escapes below
		// (at most 6 bytes for 1): checked once per step, so the writes need no other check
		if len(dst)-n < 2*(len(s)-i)+32 {
			dst = slices.Grow(dst[:n], 2*(len(s)-i)+32)
			dst = dst[:cap(dst)]
		}
		end := i + 8
		rare := false
		if end <= len(s) {
			w := textscan.Load64(s, i)
			if r := htmlRareStops(w); r != 0 {
				end = i + bits.TrailingZeros64(r)>>3
				rare = true
			} else if quoteStops(w) == 0 {
				binary.LittleEndian.PutUint64(dst[n:], w)
				i += 8
				n += 8
				continue
			} else {
				o := (*[16]byte)(dst[n : n+16])
				j := 0
				for k := 0; k < 64; k += 8 {
					c := byte(w >> k)
					e := backslashed[c]
					o[j&15] = '\\'
					o[(j+e)&15] = c
					j += 1 + e
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
			e := backslashed[c]
			dst[n] = '\\'
			dst[n+e] = c
			n += 1 + e
		}
		if !rare {
			continue
		}
		switch b := s[i]; b {
		case 0xE2: // the lead byte of a 3-byte sequence
			if i+2 >= len(s) {
				return appendAnyJSONString(dst[:start], s)
			}
			n = putE2Sequence(dst, n, s[i:i+3])
			i += 3
		default:
			n = putByteEscape(dst, n, b)
			i++
		}
	}
	dst = dst[:n]
	return append(dst, '"')
}
