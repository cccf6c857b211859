package blockio

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestReader reads files of sizes around the block and buffer boundaries with reads of random
// sizes and compares every byte, with direct I/O and through the page cache.
func TestReader(t *testing.T) {
	sizes := []int{0, 1, blockAlign - 1, blockAlign, blockAlign + 1, bufSize - 1, bufSize, bufSize + 1,
		readAhead*bufSize + 3*blockAlign, (readAhead+2)*bufSize + 777}
	dir := t.TempDir()
	for _, direct := range []bool{true, false} {
		for _, size := range sizes {
			want := make([]byte, size)
			rng := rand.New(rand.NewPCG(uint64(size), 3))
			for i := range want {
				want[i] = byte(rng.IntN(256))
			}
			path := filepath.Join(dir, "f")
			if err := os.WriteFile(path, want, 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := openReader(path, direct)
			if err != nil {
				t.Fatal(err)
			}
			if direct && runtime.GOOS == "linux" && !r.Direct() {
				t.Fatalf("O_DIRECT not in use on %s: this test would not test direct reads", dir)
			}
			var got []byte
			p := make([]byte, 3*bufSize)
			for {
				n, err := r.Read(p[:1+rng.IntN(len(p))])
				got = append(got, p[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("direct=%t size %d: %v", direct, size, err)
				}
			}
			if n, err := r.Read(p); n != 0 || err != io.EOF {
				t.Fatalf("direct=%t size %d: read after the end = %d, %v", direct, size, n, err)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("direct=%t size %d: read %d bytes, want %d (first difference at %d)", direct, size, len(got), len(want), firstDiff(got, want))
			}
		}
	}
}

// TestReaderCloseEarly: closing before the end stops the read-ahead (no goroutine left
// blocked; the race detector and the leak of a blocked send would show).
func TestReaderCloseEarly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, make([]byte, (readAhead+3)*bufSize), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
