package textscan

import (
	"unicode/utf8"
	"unsafe"
)

// EscapeBlocks copies s into dst sixteen bytes at a time, writing a backslash before every
// '"' and '\\' (the JSON escapes of those two bytes), as long as at least sixteen bytes are
// left and a block holds none of the bytes a JSON encoder has to look at more closely:
// control characters (below 0x20), '<', '>', '&' and 0xE2 (the lead byte of U+2028 and
// U+2029). Other bytes, non-ASCII ones included, are copied as they are, so s must be valid
// UTF-8 for the result to be. It returns the bytes of s consumed (a multiple of 16, the rest
// is the caller's) and the bytes written. dst must have room for 2*len(s)+16 bytes (each
// block is stored whole and the stores may reach 16 bytes past the last byte counted).
//
// It is a vector loop where the CPU and the build support one (SIMDEscape), else it consumes
// nothing and the caller's scalar loop does all the work: the result is the same.
func EscapeBlocks(dst []byte, s string) (consumed, written int) {
	if !SIMDEscape || len(s) < 16 {
		return 0, 0
	}
	return escapeBlocks(dst, s)
}

// ValidUTF8 is utf8.Valid, sixteen bytes at a time where the vector code runs (SIMDEscape):
// for text dense in non-ASCII letters several times as fast.
func ValidUTF8(b []byte) bool {
	if !SIMDEscape {
		return utf8.Valid(b)
	}
	return validUTF8(b)
}

// UnescapeString decodes the content of a JSON string literal, src starting after its
// opening quote, into dst sixteen bytes at a time: end is the index in src of the closing
// quote, n the bytes written. It takes only strings whose escapes are \" \\ and \/ and that
// hold no control character before the closing quote; for any other (and without the vector
// code, SIMDEscape) ok is false and the caller decodes the string itself. The letters are not
// checked: ascii reports that the string is all ASCII (false may also mean that a byte after
// it in its last block is not), otherwise the caller checks dst[:n] for UTF-8, which is valid
// exactly when the literal's content is (the escapes taken are ASCII). dst must have room for
// len(src)+16 bytes.
func UnescapeString(dst, src []byte) (end, n int, ascii, ok bool) {
	if !SIMDEscape {
		return 0, 0, false, false
	}
	return unescapeString(dst, src)
}

// CompactJSON copies src, which must be valid JSON, into dst without the whitespace outside
// its strings, sixteen bytes at a time: what encoding/json writes for a json.RawMessage
// (json.Compact) when the value holds none of the bytes it also escapes ('<', '>', '&',
// U+2028, U+2029); for a value that does, and without the vector code (SIMDEscape), ok is
// false and the caller compacts it itself. Invalid JSON gives undefined (but bounded) output.
// dst must have room for len(src)+16 bytes.
func CompactJSON(dst, src []byte) (n int, ok bool) {
	if !SIMDEscape {
		return 0, false
	}
	return compactJSON(dst, src)
}

// ValidUTF8String is ValidUTF8 for a string (no copy).
func ValidUTF8String(s string) bool {
	return ValidUTF8(unsafe.Slice(unsafe.StringData(s), len(s)))
}
