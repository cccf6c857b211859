//go:build !(goexperiment.simd && amd64)

package textscan

import "unicode/utf8"

// SIMDEscape reports whether EscapeBlocks runs its vector loop: not in this build (it needs
// GOEXPERIMENT=simd on amd64).
const SIMDEscape = false

func escapeBlocks(dst []byte, s string) (int, int) { return 0, 0 }

func validUTF8(b []byte) bool { return utf8.Valid(b) }

func unescapeString(dst, src []byte) (int, int, bool, bool) { return 0, 0, false, false }

func compactJSON(dst, src []byte) (int, bool) { return 0, false }
