package textscan

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestEscapeBlocks checks EscapeBlocks against a byte-by-byte model on random strings dense
// in the bytes it escapes and the ones it must leave to its caller: the bytes consumed are
// exactly the whole blocks before the first block holding a rare byte (none at all without
// the vector loop), and the bytes written are those blocks with a backslash before each '"'
// and '\\'.
func TestEscapeBlocks(t *testing.T) {
	pieces := []string{`"`, `\`, "a", "bcdefgh", "é", "中", "😀", "\u2028", "<", ">", "&", "\n", "\x1f", " ", "\x7f", "\xff"}
	r := rand.New(rand.NewPCG(5, 6))
	isRare := func(c byte) bool { return c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0xE2 }
	for range 50000 {
		var b strings.Builder
		n := r.IntN(80)
		rareOK := r.IntN(4) == 0 // most strings without rare bytes, so whole strings run through
		for b.Len() < n {
			p := pieces[r.IntN(len(pieces))]
			if !rareOK && (isRare(p[0]) || strings.ContainsAny(p, "\u2028")) {
				continue
			}
			b.WriteString(p)
		}
		s := b.String()
		dst := make([]byte, 2*len(s)+16)
		k, m := EscapeBlocks(dst, s)
		wantK := 0
		if SIMDEscape {
			for wantK+16 <= len(s) {
				rare := false
				for _, c := range []byte(s[wantK : wantK+16]) {
					rare = rare || isRare(c)
				}
				if rare {
					break
				}
				wantK += 16
			}
		}
		var want []byte
		for _, c := range []byte(s[:wantK]) {
			if c == '"' || c == '\\' {
				want = append(want, '\\')
			}
			want = append(want, c)
		}
		if k != wantK || string(dst[:m]) != string(want) {
			t.Fatalf("%q: consumed %d wrote %q, want %d %q (SIMDEscape %v)", s, k, dst[:m], wantK, want, SIMDEscape)
		}
	}
}
