package jsonscan

import "unicode/utf8"

// htmlSafe marks the ASCII characters json.Marshal writes as they are in a string.
var htmlSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// Escape decodes the escape sequence at s[i] (a backslash) and returns its rune and the
// index after it, or end -1 when it is not one of \" \\ \/ \b \f \n \r \t \uXXXX. A \u escape
// of a high surrogate followed by one of a low surrogate is one rune (both escapes read); a
// surrogate that does not pair is returned as it is (encoding/json decodes it as U+FFFD,
// Python keeps it, PostgreSQL's jsonb refuses it).
func Escape[T Text](s T, i int) (r rune, end int) {
	if i+1 >= len(s) {
		return 0, -1
	}
	switch c := s[i+1]; c {
	case '"', '\\', '/':
		return rune(c), i + 2
	case 'b':
		return '\b', i + 2
	case 'f':
		return '\f', i + 2
	case 'n':
		return '\n', i + 2
	case 'r':
		return '\r', i + 2
	case 't':
		return '\t', i + 2
	case 'u':
		if r = Hex4(s[i+2:]); r < 0 {
			return 0, -1
		}
		end = i + 6
		if r >= 0xD800 && r < 0xDC00 && end+1 < len(s) && s[end] == '\\' && s[end+1] == 'u' {
			if lo := Hex4(s[end+2:]); lo >= 0xDC00 && lo < 0xE000 {
				return 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00), end + 6
			}
		}
		return r, end
	}
	return 0, -1
}

// AppendUnquote appends the content s of a string literal (between its quotes), decoded as
// encoding/json decodes it, to dst: escapes resolved, a surrogate escape that does not pair as
// U+FFFD and, when f (the flags ScanString reported for it) has Invalid, each byte of invalid
// UTF-8 as U+FFFD (without Invalid, bytes >= 0x80 are copied as they are). ok is false for a
// malformed escape (none in a literal ScanString accepted).
func AppendUnquote[T Text](dst []byte, s T, f Flags) ([]byte, bool) {
	var high uint64
	if f&Invalid != 0 {
		high = msb8
	}
	for i := 0; i < len(s); {
		j := unquoteRun(s, i, high)
		dst = append(dst, s[i:j]...)
		if i = j; i >= len(s) {
			break
		}
		if s[i] != '\\' { // a byte >= 0x80 of a string with invalid UTF-8
			if n := runeLen(s, i); n > 0 {
				dst = append(dst, s[i:i+n]...)
				i += n
			} else {
				dst = append(dst, "\uFFFD"...)
				i++
			}
			continue
		}
		r, end := Escape(s, i)
		if end < 0 {
			return dst, false
		}
		if r >= 0xD800 && r <= 0xDFFF {
			r = utf8.RuneError
		}
		dst = utf8.AppendRune(dst, r)
		i = end
	}
	return dst, true
}
