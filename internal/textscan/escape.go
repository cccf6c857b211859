package textscan

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
