// Package blockio writes files in whole aligned blocks with direct I/O where the operating
// system and file system allow it (O_DIRECT on Linux), and through the page cache elsewhere.
// Bundle table files (package bundle) are written and read through it, and the benchmark's
// COPY ceiling (cmd/awbench) writes through it.
package blockio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// blockAlign is the alignment direct I/O asks for: of the buffer's address, of the file
// offset and of the length of every write (the logical block size of common devices and file
// systems is 512 or 4096 bytes).
const blockAlign = 4096

// bufSize is the size of a File's buffer, and so of its writes (1 MiB).
const bufSize = 1 << 20

// File appends to a file through a buffer of whole blocks, written with pwrite at
// block-aligned offsets. Opened with O_DIRECT (Linux) the bytes go from the buffer to the
// device without the page cache: writing 670 MB through the page cache costs this 2-core
// machine 1.5-2 s of kernel CPU (allocating and copying pages, then writing them back), direct
// I/O about 0.05 s (dd, docs/benchmarks.md). Where the file system refuses direct I/O (EINVAL
// at open or at the first write) the same code writes through the page cache.
//
// Flush hands every buffered byte to the operating system: a partial last block is written
// padded with zeros and the file cut back to its true length, and the block stays in the
// buffer to be rewritten whole by the next write. The file's size is therefore always the
// number of bytes written and flushed, as with a plain buffered writer.
type File struct {
	f      *os.File
	direct bool   // O_DIRECT is set on f
	buf    []byte // bufSize bytes at a blockAlign-aligned address
	n      int    // bytes in buf
	off    int64  // file offset of buf[0], a multiple of blockAlign
}

// Open opens path for appending after its first keep bytes (the file must already be cut to
// keep, and hold at least keep bytes): the partial block before keep is read back into the
// buffer so the next write rewrites it whole. The file is created 0600 when missing. Direct
// I/O is used where possible (File.Direct tells).
func Open(path string, keep int64) (*File, error) {
	return open(path, keep, true)
}

// OpenBuffered is Open without direct I/O: every write goes through the page cache.
func OpenBuffered(path string, keep int64) (*File, error) {
	return open(path, keep, false)
}

func open(path string, keep int64, direct bool) (*File, error) {
	b := &File{buf: alignedBuffer()}
	b.off = keep &^ (blockAlign - 1)
	if tail := int(keep - b.off); tail > 0 {
		r, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		_, err = r.ReadAt(b.buf[:tail], b.off)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("read back the last partial block: %w", err)
		}
		b.n = tail
	}
	flag := 0
	if direct {
		flag = directFlag
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|flag, 0o600)
	b.direct = flag != 0 && err == nil
	if errors.Is(err, syscall.EINVAL) && flag != 0 {
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	}
	if err != nil {
		return nil, err
	}
	b.f = f
	return b, nil
}

// Write buffers p, writing each buffer as it fills.
func (b *File) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		c := copy(b.buf[b.n:], p)
		b.n += c
		p = p[c:]
		written += c
		if b.n == len(b.buf) {
			if err := b.writeAt(b.buf, b.off); err != nil {
				return written - c, err
			}
			b.off += int64(len(b.buf))
			b.n = 0
		}
	}
	return written, nil
}

// Flush writes the buffered bytes (see File). The whole blocks leave the buffer; the
// partial last block stays.
func (b *File) Flush() error {
	if b.n == 0 {
		return nil
	}
	padded := (b.n + blockAlign - 1) &^ (blockAlign - 1)
	clear(b.buf[b.n:padded])
	if err := b.writeAt(b.buf[:padded], b.off); err != nil {
		return err
	}
	if padded != b.n {
		if err := b.f.Truncate(b.off + int64(b.n)); err != nil {
			return err
		}
	}
	whole := b.n &^ (blockAlign - 1)
	b.n = copy(b.buf, b.buf[whole:b.n])
	b.off += int64(whole)
	return nil
}

// writeAt writes p at off. A file system that accepted O_DIRECT at open but refuses the write
// (EINVAL) gets the write again through the page cache, and every later one.
func (b *File) writeAt(p []byte, off int64) error {
	_, err := b.f.WriteAt(p, off)
	if err != nil && b.direct && errors.Is(err, syscall.EINVAL) {
		if cerr := clearDirect(b.f); cerr == nil {
			b.direct = false
			_, err = b.f.WriteAt(p, off)
		}
	}
	return err
}

// Sync flushes and waits until the file is on disk (fsync: direct I/O bypasses the page
// cache, not the device's write cache).
func (b *File) Sync() error {
	if err := b.Flush(); err != nil {
		return err
	}
	return b.f.Sync()
}

// Direct reports whether the file is written with direct I/O.
func (b *File) Direct() bool { return b.direct }

// Close closes the file without flushing.
func (b *File) Close() error { return b.f.Close() }

var _ io.Writer = (*File)(nil)
