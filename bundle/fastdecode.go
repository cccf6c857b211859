package bundle

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/arena"
	"github.com/actingweb/actingweb-go/internal/jsonscan"
)

// This file holds the reflection-free decoder of the canonical line form of every table:
// the bytes AppendRecordJSON writes (compact JSON, the JSON names of record.go, omitempty
// fields absent, RFC 3339 times as time.Time.MarshalJSON writes them), driven by the table's
// plan (plan.go). It takes only lines it can decode to exactly the record encoding/json
// gives; anything else (unknown or case-folded keys, a key twice, keys with escapes, null,
// whitespace between members, a number where a string belongs, an integer with a fraction or
// exponent, invalid UTF-8, a bad escape, …) returns ok=false and
// DecodeRecord takes the encoding/json path, which then decides (and words the error). FuzzDecodeEquivalence
// checks the equivalence.

// decodeFast decodes line as a record of table t without reflection; ok=false leaves the
// line to decodeGeneric. Required fields are not checked. A line of invalid UTF-8 is left
// too (decodeLine takes only valid UTF-8, as DecodeRecord checks before it).
func decodeFast(t actingweb.Table, line []byte, d *lineDecoder) (actingweb.Record, bool) {
	p := planOf(t)
	if p == nil || !utf8.Valid(line) {
		return nil, false
	}
	r, _, ok := p.decodeLine(line, d)
	return r, ok
}

// decodeLine decodes line, valid UTF-8, as a record of p's table; base is the record's
// address.
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
	slab  any // arena.Record's slot
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
	// encoding/json keeps the value's bytes verbatim, whitespace inside it included; strings
	// as its scanner takes them (UTF-8 not checked: DecodeRecord checks the whole line)
	end, _, err := jsonscan.Skip(s.b, s.i, 0, maxFastDepth)
	if err != nil {
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

// scanString reads the JSON string literal starting at b[i] with the kernel: start is the
// index after the opening quote, end the index after the closing one, esc whether the content
// holds escapes. ok is false for anything but a literal without control characters, with
// valid escapes. Its UTF-8 is not checked again: the whole line is valid UTF-8 (decodeLine).
func scanString(b []byte, i int) (start, end int, esc, ok bool) {
	end, f := jsonscan.ScanString(b, i, 0)
	return i + 1, end, f&jsonscan.Escaped != 0, end >= 0
}

// maxFastDepth bounds the nesting the fast paths follow (raw's jsonscan.Skip,
// appendPayload's jsonscan.AppendCompact); deeper values take the encoding/json path.
const maxFastDepth = 200
