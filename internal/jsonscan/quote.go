package jsonscan

const hexDigits = "0123456789abcdef"

// shortEscapes maps the control characters encoding/json writes as a short escape to the
// letter after the backslash (0 for all other bytes).
var shortEscapes = [256]byte{'\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't'}

// AppendQuote appends s as a JSON string exactly as encoding/json encodes a Go string (Special
// escaping on): '"' and '\\' backslashed; \b \f \n \r \t as short escapes, other control
// characters as \u00XX; '<', '>' and '&' as \u003c \u003e \u0026; U+2028 and U+2029 as \u2028
// and \u2029; each byte of invalid UTF-8 as \ufffd; all else as it is.
func AppendQuote[T Text](dst []byte, s T) []byte {
	if out, ok := quoteFast[T, on](dst, s); ok {
		return out
	}
	return appendQuoteSimple(dst, s)
}

// AppendQuoteValid is AppendQuote for s known to be valid UTF-8 (decoded text, or text from a
// source that guarantees it), without the UTF-8 check; for other s its output is not
// AppendQuote's (invalid bytes are copied as they are).
func AppendQuoteValid[T Text](dst []byte, s T) []byte {
	out, _ := quoteFast[T, off](dst, s)
	return out
}

// appendQuoteSimple is AppendQuote a byte or a rune at a time (quoteFast hands it what it
// does not take).
func appendQuoteSimple[T Text](dst []byte, s T) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c >= 0x80:
			n := runeLen(s, i)
			switch {
			case n == 0:
				dst = append(dst, `\ufffd`...)
				n = 1
			case c == 0xE2 && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9):
				dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[s[i+2]&0xF])
			default:
				dst = append(dst, s[i:i+n]...)
			}
			i += n
			continue
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case shortEscapes[c] != 0:
			dst = append(dst, '\\', shortEscapes[c])
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		default:
			dst = append(dst, c)
		}
		i++
	}
	return append(dst, '"')
}
