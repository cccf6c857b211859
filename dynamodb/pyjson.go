package dynamodb

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	actingweb "github.com/actingweb/actingweb-go"
)

// pyjson.go: Python's json.dumps form of attribute data, the one re-implementation of a
// Python serialiser in the project (PynamoDB's JSONAttribute stores it, §3.2).

// PythonJSON re-serialises the JSON document raw exactly as Python's json.dumps does with its
// defaults, which is what PynamoDB's JSONAttribute stores (§3.2): separators ", " and ": ",
// every character outside printable ASCII escaped as \uXXXX in lowercase hex (astral characters
// as surrogate pairs, lone surrogates kept), \" \\ \n \r \t \b \f as short escapes, object
// keys in the given order with the last value of a duplicate key kept at the key's first
// position, integers verbatim, other numbers as Python's float repr (1e-05, 1e+16, 100.0).
// It fails with an error wrapping actingweb.ErrInvalid on text that is not JSON (NaN,
// Infinity included) or a number outside the float64 range (Python would write Infinity).
// Raw control characters inside strings are accepted, as Python's non-strict parser does.
func PythonJSON(raw []byte) (string, error) {
	if !utf8.Valid(raw) {
		return "", fmt.Errorf("%w: JSON text is not valid UTF-8", actingweb.ErrInvalid)
	}
	v, _, err := parseJSON(string(raw), true)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	writePython(&b, v)
	return b.String(), nil
}

// jnode is a parsed JSON value whose scalars are already in Python's output form.
type jnode struct {
	kind  byte     // 'o' object, 'a' array, 's' scalar (string, number, literal; out is final)
	out   string   // scalar output text
	keys  []string // object keys, output form (quoted, escaped)
	elems []*jnode // array elements or object values (parallel to keys)
}

func writePython(b *strings.Builder, v *jnode) {
	switch v.kind {
	case 's':
		b.WriteString(v.out)
	case 'a':
		b.WriteByte('[')
		for i, e := range v.elems {
			if i > 0 {
				b.WriteString(", ")
			}
			writePython(b, e)
		}
		b.WriteByte(']')
	case 'o':
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
			b.WriteString(": ")
			writePython(b, v.elems[i])
		}
		b.WriteByte('}')
	}
}

// jparser is a small JSON parser (RFC 8259 plus raw control characters in strings when
// lenient) that keeps object key order and produces Python's output form.
type jparser struct {
	s      string
	i      int
	strict bool // no leniency was needed
}

// parseJSON parses s; strict reports whether s is strict JSON (no raw control characters).
func parseJSON(s string, lenient bool) (*jnode, bool, error) {
	p := &jparser{s: s, strict: true}
	p.ws()
	v, err := p.value(0)
	if err == nil {
		p.ws()
		if p.i < len(p.s) {
			err = p.errf("trailing data")
		}
	}
	if err == nil && !lenient && !p.strict {
		err = p.errf("raw control character in string")
	}
	if err != nil {
		return nil, false, err
	}
	return v, p.strict, nil
}

func (p *jparser) errf(format string, a ...any) error {
	return fmt.Errorf("%w: JSON text at offset %d: %s", actingweb.ErrInvalid, p.i, fmt.Sprintf(format, a...))
}

func (p *jparser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jparser) value(depth int) (*jnode, error) {
	if depth > 10000 {
		return nil, p.errf("nested too deeply")
	}
	if p.i >= len(p.s) {
		return nil, p.errf("unexpected end of text")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		p.i++
		n := &jnode{kind: 'o'}
		index := map[string]int{}
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return n, nil
		}
		for {
			p.ws()
			if p.i >= len(p.s) || p.s[p.i] != '"' {
				return nil, p.errf("expected object key")
			}
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			p.ws()
			if p.i >= len(p.s) || p.s[p.i] != ':' {
				return nil, p.errf("expected ':'")
			}
			p.i++
			p.ws()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			if j, dup := index[k]; dup {
				n.elems[j] = v // Python dict: last value wins, first position kept
			} else {
				index[k] = len(n.keys)
				n.keys = append(n.keys, k)
				n.elems = append(n.elems, v)
			}
			p.ws()
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.s) && p.s[p.i] == '}' {
				p.i++
				return n, nil
			}
			return nil, p.errf("expected ',' or '}'")
		}
	case c == '[':
		p.i++
		n := &jnode{kind: 'a'}
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return n, nil
		}
		for {
			p.ws()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.elems = append(n.elems, v)
			p.ws()
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.s) && p.s[p.i] == ']' {
				p.i++
				return n, nil
			}
			return nil, p.errf("expected ',' or ']'")
		}
	case c == '"':
		out, err := p.str()
		if err != nil {
			return nil, err
		}
		return &jnode{kind: 's', out: out}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		out, err := p.number()
		if err != nil {
			return nil, err
		}
		return &jnode{kind: 's', out: out}, nil
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if strings.HasPrefix(p.s[p.i:], lit) {
				p.i += len(lit)
				return &jnode{kind: 's', out: lit}, nil
			}
		}
		for _, bad := range []string{"NaN", "Infinity"} {
			if strings.HasPrefix(p.s[p.i:], bad) {
				return nil, p.errf("%s is not JSON (Python's non-standard token)", bad)
			}
		}
		return nil, p.errf("unexpected character %q", c)
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number parses a JSON number and renders it as Python would after json.loads: integers as
// Python int text, others via float repr.
func (p *jparser) number() (string, error) {
	start := p.i
	if p.s[p.i] == '-' {
		p.i++
		if p.i < len(p.s) && p.s[p.i] == 'I' {
			return "", p.errf("-Infinity is not JSON (Python's non-standard token)")
		}
	}
	if p.i >= len(p.s) || !isDigit(p.s[p.i]) {
		return "", p.errf("malformed number")
	}
	if p.s[p.i] == '0' {
		p.i++
	} else {
		for p.i < len(p.s) && isDigit(p.s[p.i]) {
			p.i++
		}
	}
	isInt := true
	if p.i < len(p.s) && p.s[p.i] == '.' {
		isInt = false
		p.i++
		if p.i >= len(p.s) || !isDigit(p.s[p.i]) {
			return "", p.errf("malformed number")
		}
		for p.i < len(p.s) && isDigit(p.s[p.i]) {
			p.i++
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		isInt = false
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if p.i >= len(p.s) || !isDigit(p.s[p.i]) {
			return "", p.errf("malformed number")
		}
		for p.i < len(p.s) && isDigit(p.s[p.i]) {
			p.i++
		}
	}
	text := p.s[start:p.i]
	if isInt {
		if text == "-0" {
			return "0", nil
		}
		return text, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return "", p.errf("number %s is outside the float64 range (Python would store Infinity)", text)
	}
	return pythonFloatRepr(f), nil
}

// pythonFloatRepr is Python's repr(float): shortest round-trip digits, exponent form when the
// decimal exponent is below -4 or at least 16, else fixed form with at least one decimal.
func pythonFloatRepr(f float64) string {
	e := strconv.FormatFloat(f, 'e', -1, 64) // e.g. "1.5e+16", "-1e-05", "0e+00"
	_, expText, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expText)
	if exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// str parses a JSON string at p.i and returns it in Python's ensure_ascii output form.
func (p *jparser) str() (string, error) {
	p.i++ // opening quote
	var b strings.Builder
	b.WriteByte('"')
	for {
		if p.i >= len(p.s) {
			return "", p.errf("unterminated string")
		}
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			b.WriteByte('"')
			return b.String(), nil
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return "", p.errf("unterminated escape")
			}
			e := p.s[p.i+1]
			p.i += 2
			switch e {
			case '"':
				writePyRune(&b, '"')
			case '\\':
				writePyRune(&b, '\\')
			case '/':
				writePyRune(&b, '/')
			case 'b':
				writePyRune(&b, '\b')
			case 'f':
				writePyRune(&b, '\f')
			case 'n':
				writePyRune(&b, '\n')
			case 'r':
				writePyRune(&b, '\r')
			case 't':
				writePyRune(&b, '\t')
			case 'u':
				u, err := p.hex4()
				if err != nil {
					return "", err
				}
				if u >= 0xD800 && u < 0xDC00 && strings.HasPrefix(p.s[p.i:], `\u`) {
					save := p.i
					p.i += 2
					lo, err := p.hex4()
					if err == nil && lo >= 0xDC00 && lo < 0xE000 {
						writePyRune(&b, 0x10000+(u-0xD800)<<10+(lo-0xDC00))
						continue
					}
					p.i = save
				}
				writePyRune(&b, u) // lone surrogates are kept, as Python does
			default:
				return "", p.errf("invalid escape \\%c", e)
			}
		case c < 0x20:
			p.strict = false // Python's non-strict parser accepts raw control characters
			writePyRune(&b, rune(c))
			p.i++
		default:
			r, size := utf8.DecodeRuneInString(p.s[p.i:])
			if r == utf8.RuneError && size == 1 {
				return "", p.errf("invalid UTF-8")
			}
			writePyRune(&b, r)
			p.i += size
		}
	}
}

func (p *jparser) hex4() (rune, error) {
	if p.i+4 > len(p.s) {
		return 0, p.errf("short \\u escape")
	}
	n, err := strconv.ParseUint(p.s[p.i:p.i+4], 16, 32)
	if err != nil {
		return 0, p.errf("bad \\u escape %q", p.s[p.i:p.i+4])
	}
	p.i += 4
	return rune(n), nil
}

const hexDigits = "0123456789abcdef"

func writeU(b *strings.Builder, u rune) {
	b.WriteString(`\u`)
	b.WriteByte(hexDigits[u>>12&0xf])
	b.WriteByte(hexDigits[u>>8&0xf])
	b.WriteByte(hexDigits[u>>4&0xf])
	b.WriteByte(hexDigits[u&0xf])
}

// writePyRune writes one code point as Python's ensure_ascii encoder does.
func writePyRune(b *strings.Builder, r rune) {
	switch r {
	case '"':
		b.WriteString(`\"`)
	case '\\':
		b.WriteString(`\\`)
	case '\n':
		b.WriteString(`\n`)
	case '\r':
		b.WriteString(`\r`)
	case '\t':
		b.WriteString(`\t`)
	case '\b':
		b.WriteString(`\b`)
	case '\f':
		b.WriteString(`\f`)
	default:
		switch {
		case r >= 0x20 && r <= 0x7e:
			b.WriteByte(byte(r))
		case r >= 0x10000:
			r -= 0x10000
			writeU(b, 0xD800+(r>>10&0x3ff))
			writeU(b, 0xDC00+(r&0x3ff))
		default:
			writeU(b, r)
		}
	}
}
