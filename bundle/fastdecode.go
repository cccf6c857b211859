package bundle

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/arena"
	"github.com/actingweb/actingweb-go/internal/textscan"
)

// This file holds the reflection-free decoder of the canonical line form of every table:
// the bytes AppendRecordJSON writes (compact JSON, the JSON names of record.go, omitempty
// fields absent, RFC 3339 times as time.Time.MarshalJSON writes them), driven by the table's
// plan (plan.go). It takes only lines it can decode to exactly the record encoding/json
// gives; anything else (unknown or case-folded keys, a key twice, keys with escapes, null,
// whitespace, a number where a string belongs, an integer with a fraction or exponent,
// invalid UTF-8 in a string field, a bad escape, …) returns ok=false and DecodeRecord takes
// the encoding/json path, which then decides (and words the error). FuzzDecodeEquivalence
// checks the equivalence.

// decodeFast decodes line as a record of table t without reflection; ok=false leaves the
// line to decodeGeneric. Required fields are not checked.
func decodeFast(t actingweb.Table, line []byte, d *lineDecoder) (actingweb.Record, bool) {
	p := planOf(t)
	if p == nil {
		return nil, false
	}
	r, _, ok := p.decodeLine(line, d)
	return r, ok
}

// decodeLine decodes line as a record of p's table; base is the record's address.
func (p *tablePlan) decodeLine(line []byte, d *lineDecoder) (r actingweb.Record, base unsafe.Pointer, ok bool) {
	r, base = p.newRecord(d)
	s := newLineScanner(line, d)
	i := -1
	for s.next() {
		// keys come in the plan's order in a canonical line: the next one is the likeliest
		if i = p.fieldIndex(s.key, i+1); i < 0 {
			s.unknown()
			break
		}
		f := &p.fields[i]
		ptr := unsafe.Add(base, f.off)
		switch f.kind {
		case actingweb.KindString:
			*(*string)(ptr) = s.str(f.bit)
		case actingweb.KindOptString:
			*(**string)(ptr) = s.strPtr(f.bit)
		case actingweb.KindBool:
			*(*bool)(ptr) = s.boolean(f.bit)
		case actingweb.KindInt64:
			*(*int64)(ptr) = s.int(f.bit)
		case actingweb.KindOptInt64:
			*(**int64)(ptr) = s.intPtr(f.bit)
		case actingweb.KindTime:
			*(*time.Time)(ptr) = s.time(f.bit)
		case actingweb.KindOptTime:
			*(**time.Time)(ptr) = s.timePtr(f.bit)
		case actingweb.KindJSON:
			*(*json.RawMessage)(ptr) = s.raw(f.bit)
		default:
			s.unknown()
		}
	}
	return r, base, !s.bad
}

// lineDecoder is the state a bundle reader keeps across the lines of a table: strings share
// chunks and records come from slabs (internal/arena). A nil *lineDecoder allocates each.
type lineDecoder struct {
	arena arena.Strings
	slab  recordSlab
}

// lineScanner walks one flat JSON object {"key":value,...} with no whitespace. Any failure
// sets bad; later calls then do nothing, so callers check bad once at the end.
type lineScanner struct {
	arena *arena.Strings // where str copies strings to (nil: an allocation each)
	b     []byte
	i     int    // next byte to read
	key   []byte // key of the current member (no escapes)
	seen  uint64 // keys seen, one bit each, for refusing duplicates
	bad   bool
}

func newLineScanner(b []byte, d *lineDecoder) lineScanner {
	s := lineScanner{b: b, i: 1}
	if d != nil {
		s.arena = &d.arena
	}
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		s.bad = true
	}
	return s
}

// next moves to the next member and reads its key and the ':'; false at the closing '}'
// (which must be the last byte) or on failure.
func (s *lineScanner) next() bool {
	if s.bad {
		return false
	}
	b := s.b
	if s.i > 1 { // after a value: ',' or the final '}'
		if s.i >= len(b) {
			s.bad = true
			return false
		}
		switch b[s.i] {
		case ',':
			s.i++
		case '}':
			if s.i != len(b)-1 {
				s.bad = true
			}
			return false
		default:
			s.bad = true
			return false
		}
	} else if len(b) == 2 { // "{}"
		s.i = 2
		return false
	}
	start, end, esc, ok := scanString(b, s.i)
	if !ok || esc || end >= len(b) || b[end] != ':' {
		s.bad = true
		return false
	}
	s.key = b[start : end-1]
	s.i = end + 1
	return true
}

// mark records that the member with the given bit has been seen; a second time is a failure.
func (s *lineScanner) mark(bit uint64) bool {
	if s.bad || s.seen&bit != 0 {
		s.bad = true
		return false
	}
	s.seen |= bit
	return true
}

// unknown fails on the current key.
func (s *lineScanner) unknown() { s.bad = true }

// str reads a string value.
func (s *lineScanner) str(bit uint64) string {
	if !s.mark(bit) {
		return ""
	}
	start, end, esc, ok := scanString(s.b, s.i)
	if !ok {
		s.bad = true
		return ""
	}
	s.i = end
	raw := s.b[start : end-1]
	if !esc {
		if s.arena != nil {
			return s.arena.String(raw)
		}
		return string(raw)
	}
	v, ok := unescapeJSON(raw)
	if !ok {
		s.bad = true
	}
	return v
}

// strPtr reads a string value into a new pointer (null is a failure).
func (s *lineScanner) strPtr(bit uint64) *string {
	v := s.str(bit)
	if s.bad {
		return nil
	}
	return &v
}

// boolean reads true or false.
func (s *lineScanner) boolean(bit uint64) bool {
	if !s.mark(bit) {
		return false
	}
	b := s.b[s.i:]
	if len(b) >= 4 && string(b[:4]) == "true" {
		s.i += 4
		return true
	}
	if len(b) >= 5 && string(b[:5]) == "false" {
		s.i += 5
		return false
	}
	s.bad = true
	return false
}

// int reads an integer in JSON's grammar without fraction or exponent that fits an int64.
func (s *lineScanner) int(bit uint64) int64 {
	if !s.mark(bit) {
		return 0
	}
	b := s.b
	i0 := s.i
	i := i0
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	start := i
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	n := i - start
	if n == 0 || (n > 1 && b[start] == '0') {
		s.bad = true
		return 0
	}
	s.i = i
	if n <= 18 {
		var v int64
		for _, c := range b[start:i] {
			v = v*10 + int64(c-'0')
		}
		if neg {
			v = -v
		}
		return v
	}
	v, err := strconv.ParseInt(string(b[i0:i]), 10, 64)
	if err != nil {
		s.bad = true
	}
	return v
}

// intPtr reads an integer into a new pointer (null is a failure).
func (s *lineScanner) intPtr(bit uint64) *int64 {
	v := s.int(bit)
	if s.bad {
		return nil
	}
	return &v
}

// time reads a JSON string with time.Time's own UnmarshalJSON, as encoding/json does.
func (s *lineScanner) time(bit uint64) time.Time {
	var t time.Time
	if !s.mark(bit) {
		return t
	}
	start, end, esc, ok := scanString(s.b, s.i)
	if !ok || esc {
		s.bad = true
		return t
	}
	if err := t.UnmarshalJSON(s.b[start-1 : end]); err != nil {
		s.bad = true
		return t
	}
	s.i = end
	return t
}

// timePtr reads a time into a new pointer (null is a failure).
func (s *lineScanner) timePtr(bit uint64) *time.Time {
	t := s.time(bit)
	if s.bad {
		return nil
	}
	return &t
}

// raw reads any JSON value but null, kept verbatim (a copy) as json.RawMessage does.
func (s *lineScanner) raw(bit uint64) json.RawMessage {
	if !s.mark(bit) {
		return nil
	}
	if s.i < len(s.b) && s.b[s.i] == 'n' {
		s.bad = true
		return nil
	}
	end, ok := skipValue(s.b, s.i, 0)
	if !ok {
		s.bad = true
		return nil
	}
	var v json.RawMessage
	if s.arena != nil {
		v = s.arena.Bytes(s.b[s.i:end])
	} else {
		v = append(json.RawMessage(nil), s.b[s.i:end]...)
	}
	s.i = end
	return v
}

// plainStringByte marks the bytes a JSON string holds as they are and that need no further
// look: printable ASCII but '"' and '\\'.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString reads the JSON string literal starting at b[i] (which must be '"'): start is
// the index after the opening quote, end the index after the closing one, esc whether the
// content holds backslashes. ok is false for anything but a literal of valid UTF-8 without
// control characters; escapes are only skipped here (unescapeJSON checks them).
func scanString(b []byte, i int) (start, end int, esc, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, 0, false, false
	}
	start = i + 1
	j := start
	for {
		// eight bytes at a time up to the first one that needs a look
		for j+8 <= len(b) {
			m := stringStops(binary.LittleEndian.Uint64(b[j:]))
			if m == 0 {
				j += 8
				continue
			}
			j += bits.TrailingZeros64(m) >> 3
			break
		}
		for j < len(b) && plainStringByte[b[j]] {
			j++
		}
		if j >= len(b) {
			return 0, 0, false, false
		}
		switch c := b[j]; {
		case c == '"':
			return start, j + 1, esc, true
		case c == '\\':
			esc = true
			j += 2 // skip the escaped character ('"' or '\\' included)
		case c < 0x20:
			return 0, 0, false, false
		case c >= 0xC2 && c <= 0xDF && j+1 < len(b) && b[j+1]&0xC0 == 0x80:
			j += 2 // valid 2-byte sequence
		default: // c >= 0x80: one whole, valid UTF-8 sequence (no surrogates)
			if c >= 0xE0 && c <= 0xEF && j+2 < len(b) {
				lo, hi := byte(0x80), byte(0xBF)
				if c == 0xE0 {
					lo = 0xA0 // no overlong forms
				} else if c == 0xED {
					hi = 0x9F // no surrogates
				}
				if c1, c2 := b[j+1], b[j+2]; c1 >= lo && c1 <= hi && c2&0xC0 == 0x80 {
					j += 3
					continue
				}
			}
			r, size := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && size == 1 {
				return 0, 0, false, false
			}
			j += size
		}
	}
}

const (
	lsb8 = textscan.LSB8
	msb8 = textscan.MSB8
)

// stringStops returns w (eight bytes of a JSON string, little-endian) with the high bit set
// in the bytes scanString has to look at: '"', '\\', control characters and non-ASCII bytes.
// The lowest set bit is exact; bits above it may be set for bytes that need no look (borrows).
func stringStops(w uint64) uint64 { return quoteStops(w) | textscan.Below0x20(w) | w&msb8 }

// maxFastDepth bounds the nesting skipValue and appendCompactValue follow; deeper values
// take the encoding/json path.
const maxFastDepth = 200

// skipValue validates the JSON value starting at b[i] and returns the index after it. It
// accepts a subset of what encoding/json's scanner accepts: no whitespace anywhere, nesting
// up to maxFastDepth; strings as the scanner takes them (escapes checked, any byte >= 0x20
// otherwise, UTF-8 not checked). ok=false means "not taken", not necessarily invalid.
func skipValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; {
	case c == '"':
		return skipRawString(b, i)
	case c == '{':
		if depth >= maxFastDepth {
			return 0, false
		}
		i++
		if i < len(b) && b[i] == '}' {
			return i + 1, true
		}
		for {
			var ok bool
			if i < len(b) && b[i] != '"' {
				return 0, false
			}
			if i, ok = skipRawString(b, i); !ok || i >= len(b) || b[i] != ':' {
				return 0, false
			}
			if i, ok = skipValue(b, i+1, depth+1); !ok || i >= len(b) {
				return 0, false
			}
			switch b[i] {
			case ',':
				i++
			case '}':
				return i + 1, true
			default:
				return 0, false
			}
		}
	case c == '[':
		if depth >= maxFastDepth {
			return 0, false
		}
		i++
		if i < len(b) && b[i] == ']' {
			return i + 1, true
		}
		for {
			var ok bool
			if i, ok = skipValue(b, i, depth+1); !ok || i >= len(b) {
				return 0, false
			}
			switch b[i] {
			case ',':
				i++
			case ']':
				return i + 1, true
			default:
				return 0, false
			}
		}
	case c == 't':
		return skipLiteral(b, i, "true")
	case c == 'f':
		return skipLiteral(b, i, "false")
	case c == 'n':
		return skipLiteral(b, i, "null")
	case c == '-' || ('0' <= c && c <= '9'):
		return skipNumber(b, i)
	}
	return 0, false
}

func skipLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
		return i + len(lit), true
	}
	return 0, false
}

// skipNumber reads a number in JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func skipNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == d {
			return 0, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == d {
			return 0, false
		}
	}
	return i, true
}

// rawPlainByte marks the bytes skipRawString passes without a look: all but control characters,
// '"' and '\\'.
var rawPlainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x100; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// skipRawString reads a string literal at b[i] as encoding/json's scanner does: bytes < 0x20
// refused, escapes one of \" \\ \/ \b \f \n \r \t \uXXXX, other bytes (invalid UTF-8
// included) taken as they are. It returns the index after the closing quote.
func skipRawString(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false
	}
	for j := i + 1; j < len(b); j++ {
		// eight bytes at a time up to the first one that needs a look
		for j+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[j:])
			if m := quoteStops(w) | textscan.Below0x20(w); m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				break
			}
			j += 8
		}
		for j < len(b) && rawPlainByte[b[j]] {
			j++
		}
		if j >= len(b) {
			break
		}
		c := b[j]
		switch {
		case c == '"':
			return j + 1, true
		case c < 0x20:
			return 0, false
		case c == '\\':
			if j+1 >= len(b) {
				return 0, false
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if textscan.Hex4(b[j+2:]) < 0 {
					return 0, false
				}
				j += 5
			default:
				return 0, false
			}
		}
	}
	return 0, false
}
