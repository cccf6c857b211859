package jsonscan

import (
	"math/rand/v2"
	"testing"
)

// FuzzFastEqualsReference holds the fast paths of fast.go to their byte-at-a-time twins
// (ref_test.go) and the kernel to encoding/json, on any input (checkKernel).
func FuzzFastEqualsReference(f *testing.F) {
	for _, c := range edgeCases {
		f.Add([]byte(c))
	}
	r := rand.New(rand.NewPCG(9, 10))
	for range 50 {
		f.Add([]byte(randomJSON(r, 0)))
		f.Add([]byte(randomText(r, 20)))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 512 {
			in = in[:512]
		}
		checkKernel(t, in)
	})
}
