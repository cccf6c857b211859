//go:build !(goexperiment.simd && amd64)

package textscan

// SIMDEscape reports whether EscapeBlocks runs its vector loop: not in this build (it needs
// GOEXPERIMENT=simd on amd64).
const SIMDEscape = false

func escapeBlocks(dst []byte, s string) (int, int) { return 0, 0 }
