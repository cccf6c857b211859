package actingweb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/actingweb/actingweb-go/internal/textscan"
)

// This file holds the reflection-free canonicaliser behind CanonicalJSON. It parses the JSON
// text once and writes the canonical form straight into an output buffer: strings are decoded
// exactly as encoding/json decodes them and re-encoded exactly as json.Marshal encodes a Go
// string; plain integers are copied; other numbers go through big.Rat and canonicalNumber like
// canonicalJSONSlow; object members are written as they come and reordered only when their keys
// are not already in sort.Strings order without duplicates. canonicalJSONSlow (encoding/json
// decode into any + writeCanonical) stays the reference the tests compare against, and the
// fast path hands over to it for documents nested deeper than fastMaxDepth.

// fastMaxDepth is the nesting depth up to which the fast path works; deeper documents (which
// encoding/json limits at 10000 levels) are handed to canonicalJSONSlow.
const fastMaxDepth = 512

// errFastDeep makes canonicalJSONFast hand a document to canonicalJSONSlow.
var errFastDeep = errors.New("nesting too deep for the fast canonicaliser")

// canonMember is one object member while its object is being written: its decoded key (in
// canonState.keys) and the bytes `"key":value` it produced (in canonState.out).
type canonMember struct {
	keyOff, keyEnd int
	start, end     int
}

// canonState is the reusable working memory of one canonicalisation.
type canonState struct {
	in      []byte
	pos     int
	depth   int
	out     []byte
	keys    []byte        // decoded keys of the objects being written (a stack)
	members []canonMember // members of the objects being written (a stack)
	tmp     []byte        // scratch for reordering one object's members
	num     big.Rat
}

var canonPool = sync.Pool{New: func() any { return new(canonState) }}

// canonicalJSONFast is CanonicalJSON's fast path. It returns errFastDeep when the document must
// go to canonicalJSONSlow, or an error wrapping ErrInvalid for text that is not JSON.
func canonicalJSONFast(raw []byte) ([]byte, error) {
	s := canonPool.Get().(*canonState)
	s.in, s.pos, s.depth = raw, 0, 0
	s.out, s.keys, s.members = s.out[:0], s.keys[:0], s.members[:0]
	err := s.value()
	if err == nil {
		s.skipSpace()
		if s.pos != len(s.in) {
			err = fmt.Errorf("%w: JSON payload has trailing data", ErrInvalid)
		}
	}
	var res []byte
	if err == nil {
		res = bytes.Clone(s.out)
	}
	s.in = nil
	if cap(s.out) <= 1<<20 && cap(s.tmp) <= 1<<20 {
		canonPool.Put(s)
	}
	return res, err
}

func (s *canonState) skipSpace() {
	for s.pos < len(s.in) {
		switch s.in[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *canonState) syntaxErr() error {
	return fmt.Errorf("%w: JSON payload is not valid JSON at offset %d", ErrInvalid, s.pos)
}

// value writes the canonical form of the JSON value at s.pos (after optional whitespace).
func (s *canonState) value() error {
	s.skipSpace()
	if s.pos >= len(s.in) {
		return s.syntaxErr()
	}
	switch c := s.in[s.pos]; c {
	case '{':
		return s.object()
	case '[':
		return s.array()
	case '"':
		return s.str(&s.out, nil)
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return s.number()
		}
		return s.syntaxErr()
	}
}

func (s *canonState) literal(lit string) error {
	if len(s.in)-s.pos < len(lit) || string(s.in[s.pos:s.pos+len(lit)]) != lit {
		return s.syntaxErr()
	}
	s.pos += len(lit)
	s.out = append(s.out, lit...)
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number writes a JSON number: a plain integer as its digits ("-0" as "0"), anything with a
// fraction or exponent as canonicalNumber of its big.Rat value, as canonicalJSONSlow does.
func (s *canonState) number() error {
	in, start, p := s.in, s.pos, s.pos
	if in[p] == '-' {
		p++
	}
	if p >= len(in) || !isDigit(in[p]) {
		s.pos = p
		return s.syntaxErr()
	}
	if in[p] == '0' {
		p++
	} else {
		for p < len(in) && isDigit(in[p]) {
			p++
		}
	}
	plain := true
	if p < len(in) && in[p] == '.' {
		plain = false
		p++
		if p >= len(in) || !isDigit(in[p]) {
			s.pos = p
			return s.syntaxErr()
		}
		for p < len(in) && isDigit(in[p]) {
			p++
		}
	}
	if p < len(in) && (in[p] == 'e' || in[p] == 'E') {
		plain = false
		p++
		if p < len(in) && (in[p] == '+' || in[p] == '-') {
			p++
		}
		if p >= len(in) || !isDigit(in[p]) {
			s.pos = p
			return s.syntaxErr()
		}
		for p < len(in) && isDigit(in[p]) {
			p++
		}
	}
	s.pos = p
	text := in[start:p]
	if plain {
		if len(text) == 2 && text[0] == '-' && text[1] == '0' {
			s.out = append(s.out, '0')
		} else {
			s.out = append(s.out, text...)
		}
		return nil
	}
	if _, ok := s.num.SetString(string(text)); !ok {
		return fmt.Errorf("%w: JSON number %q", ErrInvalid, text)
	}
	s.out = append(s.out, canonicalNumber(&s.num)...)
	return nil
}

func (s *canonState) array() error {
	if s.depth++; s.depth > fastMaxDepth {
		return errFastDeep
	}
	s.pos++ // '['
	s.out = append(s.out, '[')
	s.skipSpace()
	if s.pos < len(s.in) && s.in[s.pos] == ']' {
		s.pos++
		s.out = append(s.out, ']')
		s.depth--
		return nil
	}
	for {
		if err := s.value(); err != nil {
			return err
		}
		s.skipSpace()
		if s.pos >= len(s.in) {
			return s.syntaxErr()
		}
		switch s.in[s.pos] {
		case ',':
			s.pos++
			s.out = append(s.out, ',')
		case ']':
			s.pos++
			s.out = append(s.out, ']')
			s.depth--
			return nil
		default:
			return s.syntaxErr()
		}
	}
}

func (s *canonState) object() error {
	if s.depth++; s.depth > fastMaxDepth {
		return errFastDeep
	}
	s.pos++ // '{'
	s.out = append(s.out, '{')
	s.skipSpace()
	if s.pos < len(s.in) && s.in[s.pos] == '}' {
		s.pos++
		s.out = append(s.out, '}')
		s.depth--
		return nil
	}
	keyBase, memBase, objStart := len(s.keys), len(s.members), len(s.out)
	for {
		s.skipSpace()
		if s.pos >= len(s.in) || s.in[s.pos] != '"' {
			return s.syntaxErr()
		}
		m := canonMember{keyOff: len(s.keys), start: len(s.out)}
		if err := s.str(&s.out, &s.keys); err != nil {
			return err
		}
		m.keyEnd = len(s.keys)
		s.skipSpace()
		if s.pos >= len(s.in) || s.in[s.pos] != ':' {
			return s.syntaxErr()
		}
		s.pos++
		s.out = append(s.out, ':')
		if err := s.value(); err != nil {
			return err
		}
		m.end = len(s.out)
		s.members = append(s.members, m)
		s.skipSpace()
		if s.pos >= len(s.in) {
			return s.syntaxErr()
		}
		if s.in[s.pos] == '}' {
			s.pos++
			break
		}
		if s.in[s.pos] != ',' {
			return s.syntaxErr()
		}
		s.pos++
		s.out = append(s.out, ',')
	}
	ms := s.members[memBase:]
	ordered := true
	for i := 1; i < len(ms); i++ {
		if bytes.Compare(s.keys[ms[i-1].keyOff:ms[i-1].keyEnd], s.keys[ms[i].keyOff:ms[i].keyEnd]) >= 0 {
			ordered = false
			break
		}
	}
	if !ordered {
		s.reorder(ms, objStart)
	}
	s.out = append(s.out, '}')
	s.keys, s.members = s.keys[:keyBase], s.members[:memBase]
	s.depth--
	return nil
}

// reorder rewrites the members of the object whose first member starts at s.out[objStart:]
// in sort.Strings order of their decoded keys, keeping only the last of duplicate keys (the
// encoding/json map semantics canonicalJSONSlow has).
func (s *canonState) reorder(ms []canonMember, objStart int) {
	s.tmp = append(s.tmp[:0], s.out[objStart:]...)
	keys := s.keys
	slices.SortStableFunc(ms, func(a, b canonMember) int {
		return bytes.Compare(keys[a.keyOff:a.keyEnd], keys[b.keyOff:b.keyEnd])
	})
	s.out = s.out[:objStart]
	first := true
	for i, m := range ms {
		if i+1 < len(ms) && bytes.Equal(keys[m.keyOff:m.keyEnd], keys[ms[i+1].keyOff:ms[i+1].keyEnd]) {
			continue // a later duplicate wins
		}
		if !first {
			s.out = append(s.out, ',')
		}
		first = false
		s.out = append(s.out, s.tmp[m.start-objStart:m.end-objStart]...)
	}
}

const canonHex = "0123456789abcdef"

// canonSafe marks the ASCII bytes json.Marshal copies unescaped (its htmlSafeSet).
var canonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// canonPlain marks the bytes the string fast path may copy: canonSafe ASCII and every byte
// of a multi-byte UTF-8 sequence (checked afterwards by plainUTF8).
var canonPlain = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c >= utf8.RuneSelf || canonSafe[c]
	}
	return t
}()

const (
	swarOnes = 0x0101010101010101
	swarHigh = 0x8080808080808080
)

// swarHasZero reports whether one of the eight bytes of x is zero.
func swarHasZero(x uint64) bool { return (x-swarOnes)&^x&swarHigh != 0 }

// swarSpecial reports whether one of the eight bytes of x is not in canonPlain: a control
// character, '"', '\\', '<', '>' or '&'. Bytes >= 0x80 are plain.
func swarSpecial(x uint64) bool {
	return (x-0x20*swarOnes)&^x&swarHigh != 0 ||
		swarHasZero(x^('"'*swarOnes)) || swarHasZero(x^('\\'*swarOnes)) ||
		swarHasZero(x^('<'*swarOnes)) || swarHasZero(x^('>'*swarOnes)) || swarHasZero(x^('&'*swarOnes))
}

// plainUTF8 reports whether seg is valid UTF-8 without U+2028 and U+2029 (E2 80 A8/A9),
// the runes json.Marshal escapes.
func plainUTF8(seg []byte) bool {
	if !utf8.Valid(seg) {
		return false
	}
	for i := 0; ; {
		j := bytes.IndexByte(seg[i:], 0xE2)
		if j < 0 {
			return true
		}
		i += j
		if i+2 < len(seg) && seg[i+1] == 0x80 && (seg[i+2] == 0xA8 || seg[i+2] == 0xA9) {
			return false
		}
		i++
	}
}

// appendEscapedASCII appends the json.Marshal form of ASCII byte c that canonSafe rejects.
func appendEscapedASCII(dst []byte, c byte) []byte {
	switch c {
	case '\\', '"':
		return append(dst, '\\', c)
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', canonHex[c>>4], canonHex[c&0xF])
}

// appendRune appends rune r (valid, as decoded) as json.Marshal writes it inside a string.
func appendRune(dst []byte, r rune) []byte {
	switch {
	case r < utf8.RuneSelf:
		if canonSafe[r] {
			return append(dst, byte(r))
		}
		return appendEscapedASCII(dst, byte(r))
	case r == '\u2028' || r == '\u2029':
		return append(dst, '\\', 'u', '2', '0', '2', canonHex[r&0xF])
	}
	return utf8.AppendRune(dst, r)
}

// str reads the JSON string at s.pos, appends its json.Marshal re-encoding to *dst and, when
// key is not nil, its decoded bytes to *key. Decoding follows encoding/json: invalid UTF-8
// bytes and unpaired surrogate escapes become U+FFFD.
func (s *canonState) str(dst *[]byte, key *[]byte) error {
	in := s.in
	p := s.pos + 1
	// Fast path: a string of safe ASCII and valid UTF-8 other than U+2028/U+2029, without
	// escapes, is copied as it is.
	q := p
	var high uint64 // bit 7 set when some byte is not ASCII
	for q+8 <= len(in) {
		x := binary.LittleEndian.Uint64(in[q:])
		if swarSpecial(x) {
			break
		}
		high |= x
		q += 8
	}
	for q < len(in) && canonPlain[in[q]] {
		high |= uint64(in[q])
		q++
	}
	if q < len(in) && in[q] == '"' {
		seg := in[p:q]
		if high&swarHigh == 0 || plainUTF8(seg) {
			*dst = append(append(append(*dst, '"'), seg...), '"')
			if key != nil {
				*key = append(*key, seg...)
			}
			s.pos = q + 1
			return nil
		}
	}
	out := append(*dst, '"')
	var k []byte
	if key != nil {
		k = *key
	}
	start := p // pending run of bytes that are copied unchanged (decoded == encoded)
	for {
		if p >= len(in) {
			s.pos = p
			return s.syntaxErr()
		}
		c := in[p]
		if c < utf8.RuneSelf {
			if canonSafe[c] {
				p++
				continue
			}
			out = append(out, in[start:p]...)
			if key != nil {
				k = append(k, in[start:p]...)
			}
			switch {
			case c == '"':
				p++
				s.pos = p
				*dst = append(out, '"')
				if key != nil {
					*key = k
				}
				return nil
			case c < 0x20:
				s.pos = p
				return s.syntaxErr()
			case c != '\\':
				out = appendEscapedASCII(out, c)
				if key != nil {
					k = append(k, c)
				}
				p++
			default:
				if p+1 >= len(in) {
					s.pos = p
					return s.syntaxErr()
				}
				var r rune
				switch e := in[p+1]; e {
				case '"', '\\', '/':
					r = rune(e)
					p += 2
				case 'b':
					r = '\b'
					p += 2
				case 'f':
					r = '\f'
					p += 2
				case 'n':
					r = '\n'
					p += 2
				case 'r':
					r = '\r'
					p += 2
				case 't':
					r = '\t'
					p += 2
				case 'u':
					r = textscan.Hex4(in[p+2:])
					if r < 0 {
						s.pos = p
						return s.syntaxErr()
					}
					p += 6
					if utf16.IsSurrogate(r) {
						r1 := rune(-1)
						if p+1 < len(in) && in[p] == '\\' && in[p+1] == 'u' {
							r1 = textscan.Hex4(in[p+2:])
						}
						if dec := utf16.DecodeRune(r, r1); dec != utf8.RuneError {
							r = dec
							p += 6
						} else {
							r = utf8.RuneError
						}
					}
				default:
					s.pos = p
					return s.syntaxErr()
				}
				out = appendRune(out, r)
				if key != nil {
					k = utf8.AppendRune(k, r)
				}
			}
			start = p
			continue
		}
		r, size := utf8.DecodeRune(in[p:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = append(out, in[start:p]...)
			out = append(out, "\uFFFD"...)
			if key != nil {
				k = append(k, in[start:p]...)
				k = append(k, "\uFFFD"...)
			}
			p++
			start = p
		case r == '\u2028' || r == '\u2029':
			out = append(out, in[start:p]...)
			out = append(out, '\\', 'u', '2', '0', '2', canonHex[r&0xF])
			if key != nil {
				k = append(k, in[start:p+size]...)
			}
			p += size
			start = p
		default:
			p += size
		}
	}
}
