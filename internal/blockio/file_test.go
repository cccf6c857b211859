package blockio

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestFile writes random pieces with flushes and reopenings at random points and checks
// after each flush that the file holds exactly the bytes written so far, in both modes: direct
// I/O (where the file system allows it) and through the page cache (the fallback).
func TestFile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		direct bool
		seed   uint64
	}{
		{"direct", true, 1},
		{"direct-other-seed", true, 2},
		{"page-cache", false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "t.jsonl")
			rng := rand.New(rand.NewPCG(tc.seed, 7))
			open := func(keep int64) *File {
				t.Helper()
				openf := OpenBuffered
				if tc.direct {
					openf = Open
				}
				b, err := openf(path, keep)
				if err != nil {
					t.Fatal(err)
				}
				if tc.direct && runtime.GOOS == "linux" && !b.Direct() {
					t.Fatalf("O_DIRECT not in use on %s: this test would not test direct I/O", filepath.Dir(path))
				}
				if !tc.direct && b.Direct() {
					t.Fatal("OpenBuffered opened with direct I/O")
				}
				return b
			}
			var want []byte
			b := open(0)
			check := func(step int) {
				t.Helper()
				got, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("step %d: file has %d bytes, want %d (first difference at %d)", step, len(got), len(want), firstDiff(got, want))
				}
			}
			for step := 0; step < 300; step++ {
				switch op := rng.IntN(10); {
				case op < 6: // a write of 0 to 3 buffers' worth
					p := make([]byte, rng.IntN(3*bufSize/(1+rng.IntN(64))))
					for i := range p {
						p[i] = byte('a' + rng.IntN(26))
					}
					if n, err := b.Write(p); err != nil || n != len(p) {
						t.Fatalf("step %d: Write = %d, %v", step, n, err)
					}
					want = append(want, p...)
				case op < 8:
					if err := b.Flush(); err != nil {
						t.Fatal(err)
					}
					check(step)
				case op < 9:
					if err := b.Sync(); err != nil {
						t.Fatal(err)
					}
					check(step)
				default: // reopen after a cut, as a resume does
					if err := b.Flush(); err != nil {
						t.Fatal(err)
					}
					b.Close()
					keep := int64(rng.IntN(len(want) + 1))
					if err := os.Truncate(path, keep); err != nil {
						t.Fatal(err)
					}
					want = want[:keep]
					b = open(keep)
				}
			}
			if err := b.Sync(); err != nil {
				t.Fatal(err)
			}
			b.Close()
			check(-1)
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
