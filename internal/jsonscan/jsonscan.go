// Package jsonscan is the module's one JSON scanning kernel: the grammar (RFC 8259) walked
// token by token (Scanner) or a value at a time (Check, Skip), string literals scanned,
// decoded and encoded (ScanString, Escape, AppendUnquote, AppendQuote, AppendQuoteValid),
// values compacted (AppendCompact) and text validated (ValidText: UTF-8 without NUL). Callers choose what the scanners accept beyond strict JSON (Mode: raw control
// characters as Python's non-strict parser takes them) and what they report (Flags: escapes,
// invalid UTF-8, characters json.Marshal escapes, and the \u0000 and unpaired surrogate
// escapes PostgreSQL's jsonb refuses).
//
// Everything that exists only for speed (eight bytes at a time, a branch-free string
// writer) is in fast.go; ref_test.go holds a byte-at-a-time twin of each of its functions,
// the oracle the tests and FuzzFastEqualsReference hold it to, with encoding/json as the
// outer oracle where it applies.
package jsonscan

import (
	"errors"
	"fmt"
)

// Text is what the scanners read: a string or a byte slice (one instantiation each).
type Text interface{ ~string | ~[]byte }

// Mode selects what a scan accepts and checks beyond strict JSON; the zero Mode is
// encoding/json's scanner (strings of any bytes >= 0x20, UTF-8 not checked).
type Mode uint8

const (
	// Lenient accepts raw control characters (bytes below 0x20) inside strings, as Python's
	// json.loads(strict=False) does; the Control flag reports them.
	Lenient Mode = 1 << iota
	// CheckUTF8 checks the UTF-8 of strings; the Invalid flag reports strings that are not
	// valid UTF-8 (RFC 8259 requires it, encoding/json does not check it).
	CheckUTF8
	// FindSpecial reports, by the Special flag, strings whose decoding holds a character
	// json.Marshal escapes: without Escaped, Invalid, Control and Special, a literal is the
	// json.Marshal form of its decoding; without Invalid, Control and Special, the decoding
	// between quotes is.
	FindSpecial
)

// Flags describe a string token (and, or-ed together, all strings of a value); for a number
// token, Float.
type Flags uint8

const (
	// Escaped: the string holds a backslash escape.
	Escaped Flags = 1 << iota
	// Control: the string holds a raw control character (Lenient only).
	Control
	// Invalid: the string is not valid UTF-8 (CheckUTF8 only).
	Invalid
	// NulEscape: the string holds the escape \u0000.
	NulEscape
	// LoneSurrogate: the string holds a \u escape of a surrogate that does not pair (a high
	// surrogate not followed by a \u escape of a low one, or a low one on its own).
	LoneSurrogate
	// Special: the string's decoding holds a character json.Marshal escapes: '<', '>', '&',
	// U+2028 or U+2029 as they are or escaped, or an escaped '"', '\\' or control character
	// (FindSpecial only).
	Special
	// Float: the number has a fraction or an exponent (number tokens only).
	Float
)

// ErrDepth is returned for a value nested deeper than the scan's limit.
var ErrDepth = errors.New("jsonscan: value nested deeper than the limit")

// SyntaxError is text that is not JSON (in the scan's Mode).
type SyntaxError struct {
	Offset int    // byte offset of the token or byte in error
	Msg    string // what was wrong there
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }

func syntaxErr(off int, msg string) error { return &SyntaxError{Offset: off, Msg: msg} }

// Space returns the index of the first byte of s from i on that is not JSON whitespace
// (space, tab, line feed, carriage return), or len(s).
func Space[T Text](s T, i int) int {
	for i < len(s) && s[i] <= ' ' && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
		i++
	}
	return i
}

// Hex4 decodes the four hex digits at the start of s as encoding/json's getu4 does: -1 when s
// is shorter than 4 bytes or one of them is not a hex digit.
func Hex4[T Text](s T) rune {
	if len(s) < 4 {
		return -1
	}
	a, b, c, d := hexValue[s[0]], hexValue[s[1]], hexValue[s[2]], hexValue[s[3]]
	if a|b|c|d < 0 {
		return -1
	}
	return rune(a)<<12 | rune(b)<<8 | rune(c)<<4 | rune(d)
}

// hexValue is the value of each hex digit, -1 for the other bytes.
var hexValue = func() (t [256]int8) {
	for c := range t {
		switch {
		case '0' <= c && c <= '9':
			t[c] = int8(c - '0')
		case 'a' <= c && c <= 'f':
			t[c] = int8(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			t[c] = int8(c - 'A' + 10)
		default:
			t[c] = -1
		}
	}
	return t
}()

// scanNumber scans the number at s[i] in JSON's grammar,
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and returns the index after it (-1 when
// there is none) and Float when it has a fraction or an exponent.
func scanNumber[T Text](s T, i int) (int, Flags) {
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = digits(s, i+1)
	default:
		return -1, 0
	}
	var f Flags
	if i < len(s) && s[i] == '.' {
		if d := digits(s, i+1); d > i+1 {
			i, f = d, Float
		} else {
			return -1, 0
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if d := digits(s, i); d > i {
			i, f = d, Float
		} else {
			return -1, 0
		}
	}
	return i, f
}

func digits[T Text](s T, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}

// literal returns the index after lit when s holds it at i, else -1.
func literal[T Text](s T, i int, lit string) int {
	if len(s)-i >= len(lit) && string(s[i:i+len(lit)]) == lit {
		return i + len(lit)
	}
	return -1
}
