package bundle

import (
	"encoding/json"
	"math/bits"
	"unicode/utf8"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/textscan"
)

// AppendRecordJSON appends r's bundle line (without the newline) to dst: exactly the bytes
// json.Marshal(r) gives. Every record type is encoded by hand without reflection
// (appendRecordFast); what the hand encoders do not vouch for (a time or payload json.Marshal
// may refuse) goes through json.Marshal. The error is json.Marshal's.
func AppendRecordJSON(dst []byte, r actingweb.Record) ([]byte, error) {
	if out, ok := appendRecordFast(dst, r); ok {
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

// htmlSafeByte marks the bytes encoding/json writes in a string as they are: printable ASCII
// but '"', '\\', '<', '>' and '&'.
var htmlSafeByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONString appends s as a JSON string exactly as encoding/json encodes a string
// (HTML escaping on: <, > and & as \u003c \u003e \u0026; \b \f \n \r \t short escapes, other
// control characters as \u00XX; invalid UTF-8 bytes as \ufffd; U+2028 and U+2029 escaped).
func appendJSONString(dst []byte, s string) []byte {
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
