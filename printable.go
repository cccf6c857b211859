package actingweb

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Printable makes s safe to print on a terminal, in a log line or in a report, keeping
// printable Unicode readable. It is the one escaping rule of everything the project shows
// people of keys and values (KeyString calls it; reports and the CLI call it on other text).
// Escaped, in Go's escape notation:
//
//   - C0 controls (U+0000–U+001F, newline and tab included), DEL (U+007F) and C1 controls
//     (U+0080–U+009F): \n, \r, \t, \x00 … \x7f, \u0085 …;
//   - the line and paragraph separators U+2028 and U+2029;
//   - bidirectional formatting characters, which reorder what a terminal shows: U+061C,
//     U+200E, U+200F, U+202A–U+202E, U+2066–U+2069 (\u202e …);
//   - bytes that are not UTF-8: \xff ….
//
// Everything else, letters of any script, emoji (joiners included), symbols, spaces and the
// backslash itself, is kept as it is. So the result is for reading, not for parsing back: a
// key holding the six characters `\u202e` prints like one holding U+202E. Printable is
// idempotent (printing an already printable string changes nothing), so a string may pass
// through it at more than one layer. Without anything to escape, s is returned unchanged.
func Printable(s string) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if mustEscape(r, n) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !mustEscape(r, n) {
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80:
			b.WriteString(`\x`)
			b.WriteString(hex2(byte(r)))
		default:
			q := strconv.FormatInt(int64(r), 16)
			b.WriteString(`\u`)
			b.WriteString(strings.Repeat("0", 4-len(q)))
			b.WriteString(q)
		}
		i += n
	}
	return b.String()
}

// mustEscape is Printable's rule for one decoded rune (n is its encoded length).
func mustEscape(r rune, n int) bool {
	switch {
	case r == utf8.RuneError && n <= 1: // not UTF-8
		return true
	case r < 0x20, r >= 0x7f && r <= 0x9f: // C0, DEL, C1
		return true
	case r < 0x061c:
		return false
	}
	return IsBidiControl(r) || r == '\u2028' || r == '\u2029'
}

// IsBidiControl reports whether r is a bidirectional formatting character (Unicode's
// Bidi_Control property): U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069.
func IsBidiControl(r rune) bool {
	switch {
	case r == '\u061c', r == '\u200e', r == '\u200f':
		return true
	case r >= '\u202a' && r <= '\u202e':
		return true
	case r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}

var (
	// urlPasswordRe is the password of a URL's user information: scheme://user:PASSWORD@.
	// Greedy up to the last '@' before white space, so a password holding '@', '/' or ':'
	// (unescaped, in a URL that does not parse) is masked whole.
	urlPasswordRe = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^/@\s:"'` + "`" + `]*:)[^\s]*@`)
	// kvPasswordRe is a password keyword (password, sslpassword, PG_DB_PASSWORD, …) of a
	// libpq keyword/value string, a URL query or an environment listing, and its value.
	kvPasswordRe = regexp.MustCompile(`(?i)(pass(?:word|phrase|wd)\s*[=:]\s*)('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s&"'` + "`" + `]+)`)
)

// RedactPasswords masks every password it can recognise in a message: the password of a URL
// (postgres://user:xxxxx@host/db, also in a URL that does not parse) and the value of a
// password keyword (password=xxxxx, sslpassword=xxxxx, PG_DB_PASSWORD=xxxxx, in libpq
// keyword/value strings, URL queries and listings). The CLI passes every message it prints
// through it, as the last line of defence behind the stores' own care never to include one.
func RedactPasswords(s string) string {
	if !strings.Contains(s, "://") && !strings.Contains(strings.ToLower(s), "pass") {
		return s
	}
	s = urlPasswordRe.ReplaceAllString(s, "${1}xxxxx@")
	return kvPasswordRe.ReplaceAllString(s, "${1}xxxxx")
}
