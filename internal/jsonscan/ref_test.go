package jsonscan

import (
	"strings"
	"unicode/utf8"
)

// ref_test.go: the byte-at-a-time twin of each function of fast.go (and of the UTF-8
// automaton's uses), the oracle the tests and FuzzFastEqualsReference hold them to.

func unquoteRunRef(s string, i int, high uint64) int {
	for ; i < len(s); i++ {
		if c := s[i]; c == '\\' || (high != 0 && c >= 0x80) {
			break
		}
	}
	return i
}

func validUTF8Ref(s string) bool { return utf8.ValidString(s) }

func validTextRef(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

func runeLenRef(s string, i int) int {
	if r, n := utf8.DecodeRuneInString(s[i:]); r != utf8.RuneError || n > 1 {
		return n
	}
	return 0
}

// quoteRef is AppendQuote rune by rune, as encoding/json's appendString is written.
func quoteRef(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\ufffd`)
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == '<' || r == '>' || r == '&' || r == '\u2028' || r == '\u2029':
			b.WriteString(`\u`)
			for sh := 12; sh >= 0; sh -= 4 {
				b.WriteByte(hexDigits[r>>sh&0xF])
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	b.WriteByte('"')
	return b.String()
}

// scanStringRef is ScanString a byte or a rune at a time.
func scanStringRef(s string, i int, m Mode) (int, Flags) {
	if i >= len(s) || s[i] != '"' {
		return -1, 0
	}
	var f Flags
	for j := i + 1; j < len(s); {
		c := s[j]
		switch {
		case c == '"':
			return j + 1, f
		case c == '\\':
			r, end := Escape(s, j)
			if end < 0 {
				return -1, f
			}
			f |= Escaped
			if r == 0 {
				f |= NulEscape
			}
			if r >= 0xD800 && r <= 0xDFFF {
				f |= LoneSurrogate
			}
			if m&FindSpecial != 0 && strings.Contains(quoteRef(string(r)), `\`) {
				f |= Special
			}
			j = end
		case c < 0x20:
			if m&Lenient == 0 {
				return -1, f
			}
			f |= Control
			j++
		case c >= 0x80 && m&CheckUTF8 != 0:
			r, n := utf8.DecodeRuneInString(s[j:])
			if r == utf8.RuneError && n == 1 {
				f |= Invalid
			}
			if (r == '\u2028' || r == '\u2029') && m&FindSpecial != 0 {
				f |= Special
			}
			j += n
		case m&FindSpecial != 0 && (c == '<' || c == '>' || c == '&' || strings.HasPrefix(s[j:], "\u2028") || strings.HasPrefix(s[j:], "\u2029")):
			f |= Special
			j++
		default:
			j++
		}
	}
	return -1, f
}

// unquoteRef is AppendUnquote rune by rune (invalid UTF-8 as U+FFFD when invalid).
func unquoteRef(s string, invalid bool) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			r, end := Escape(s, i)
			if end < 0 {
				return b.String(), false
			}
			if r >= 0xD800 && r <= 0xDFFF {
				r = utf8.RuneError
			}
			b.WriteRune(r)
			i = end
		case c >= 0x80 && invalid:
			r, n := utf8.DecodeRuneInString(s[i:])
			b.WriteRune(r)
			i += n
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), true
}

// htmlStringRef is a string literal as AppendCompact writes it (compactString), byte by byte.
func htmlStringRef(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '<' || c == '>' || c == '&':
			b.WriteString(`\u00`)
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xF])
		case c == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9):
			b.WriteString(`\u202`)
			b.WriteByte(hexDigits[s[i+2]&0xF])
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// checkRef, skipRef and compactRef are Check, Skip and AppendCompact token by token (Scanner).
func checkRef[T Text](s T, m Mode, maxDepth int) (Flags, error) {
	sc := NewScanner(s, 0, m, maxDepth)
	for {
		t, err := sc.Next()
		if err != nil {
			return 0, err
		}
		if t.Kind == End {
			break
		}
	}
	if i := Space(s, sc.Pos()); i != len(s) {
		return 0, syntaxErr(i, "data after the value")
	}
	return sc.Flags(), nil
}

func skipRef[T Text](s T, i int, m Mode, maxDepth int) (int, Flags, error) {
	if i < len(s) && Space(s, i) != i {
		return 0, 0, syntaxErr(i, "whitespace before the value")
	}
	sc := NewScanner(s, i, m, maxDepth)
	for {
		t, err := sc.Next()
		if err != nil {
			return 0, 0, err
		}
		if t.Kind == End {
			return sc.Pos(), sc.Flags(), nil
		}
	}
}

func compactRef[T Text](dst []byte, s T, maxDepth int) ([]byte, error) {
	n0 := len(dst)
	sc := NewScanner(s, 0, 0, maxDepth)
	sep := false // a value ended: the next key or value needs a ','
	for {
		t, err := sc.Next()
		if err != nil {
			return dst[:n0], err
		}
		switch t.Kind {
		case End:
			if Space(s, t.End) != len(s) {
				return dst[:n0], syntaxErr(Space(s, t.End), "data after the value")
			}
			return dst, nil
		case ObjectEnd, ArrayEnd:
			dst = append(dst, s[t.Start])
			sep = true
			continue
		}
		if sep {
			dst = append(dst, ',')
		}
		switch t.Kind {
		case ObjectStart, ArrayStart:
			dst = append(dst, s[t.Start])
			sep = false
		case Key:
			dst = append(append(dst, htmlStringRef(string(s[t.Start:t.End]))...), ':')
			sep = false
		case String:
			dst = append(dst, htmlStringRef(string(s[t.Start:t.End]))...)
			sep = true
		default:
			dst = append(dst, s[t.Start:t.End]...)
			sep = true
		}
	}
}
