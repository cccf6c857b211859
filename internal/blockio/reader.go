package blockio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// readAhead is how many buffers of bufSize a Reader reads ahead of its consumer.
const readAhead = 3

// Reader reads a file from its start with direct I/O where possible: whole aligned buffers
// straight from the device, read ahead by a goroutine (direct I/O has no kernel read-ahead).
// A bundle that is not in the page cache (written by an export, which bypasses it, or copied
// from elsewhere) costs buffered reads on this 2-core machine over 1 s of kernel CPU per
// 670 MB to fill the cache; direct reads cost almost none and run at the disk's speed. Where
// the file system refuses direct I/O, the same code reads through the page cache.
type Reader struct {
	f      *os.File
	direct atomic.Bool
	full   chan chunk
	free   chan []byte
	done   chan struct{}
	cur    chunk
	off    int // read position in cur.b
}

type chunk struct {
	b   []byte
	err error // after b: io.EOF at the end of the file, or the read's error
}

// OpenReader opens path for reading from its start (see Reader). Close it. On Linux a
// symbolic link is refused (O_NOFOLLOW: ELOOP).
func OpenReader(path string) (*Reader, error) { return openReader(path, true) }

func openReader(path string, direct bool) (*Reader, error) {
	flag := 0
	if direct {
		flag = directFlag
	}
	f, err := os.OpenFile(path, os.O_RDONLY|noFollowFlag|flag, 0)
	if errors.Is(err, syscall.EINVAL) && flag != 0 {
		flag = 0
		f, err = os.OpenFile(path, os.O_RDONLY|noFollowFlag, 0)
	}
	if err != nil {
		return nil, err
	}
	r := &Reader{f: f, full: make(chan chunk, readAhead), free: make(chan []byte, readAhead+1),
		done: make(chan struct{})}
	r.direct.Store(flag != 0)
	for i := 0; i < readAhead+1; i++ {
		r.free <- alignedBuffer()
	}
	go r.fill()
	return r, nil
}

// alignedBuffer returns bufSize bytes at a blockAlign-aligned address.
func alignedBuffer() []byte {
	mem := make([]byte, bufSize+blockAlign)
	skip := int(-uintptr(unsafe.Pointer(&mem[0])) & (blockAlign - 1))
	return mem[skip : skip+bufSize : skip+bufSize]
}

// fill reads the file buffer by buffer until its end or an error.
func (r *Reader) fill() {
	var pos int64
	for {
		var buf []byte
		select {
		case buf = <-r.free:
		case <-r.done:
			return
		}
		n, err := r.readFull(buf, pos)
		pos += int64(n)
		select {
		case r.full <- chunk{b: buf[:n], err: err}:
		case <-r.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// readFull fills buf from offset pos; a short buffer means the end of the file (err io.EOF).
// With direct I/O every read starts at an aligned offset: a read that returns a partial block
// has reached the end of the file.
func (r *Reader) readFull(buf []byte, pos int64) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.f.ReadAt(buf[n:], pos+int64(n))
		if err != nil && r.direct.Load() && errors.Is(err, syscall.EINVAL) {
			if cerr := clearDirect(r.f); cerr == nil {
				r.direct.Store(false)
				continue
			}
		}
		n += m
		if err != nil {
			return n, err // io.EOF included
		}
		if m == 0 {
			return n, io.ErrNoProgress
		}
		if r.direct.Load() && n%blockAlign != 0 {
			if st, serr := r.f.Stat(); serr == nil && st.Size() == pos+int64(n) {
				return n, io.EOF
			}
			return n, fmt.Errorf("%s: short direct read at offset %d", r.f.Name(), pos+int64(n))
		}
	}
	return n, nil
}

// Read reads the next bytes of the file.
func (r *Reader) Read(p []byte) (int, error) {
	for r.off == len(r.cur.b) {
		if r.cur.err != nil {
			return 0, r.cur.err
		}
		if r.cur.b != nil {
			r.free <- r.cur.b[:cap(r.cur.b)]
		}
		r.cur = <-r.full
		r.off = 0
	}
	n := copy(p, r.cur.b[r.off:])
	r.off += n
	return n, nil
}

// Direct reports whether the file is read with direct I/O.
func (r *Reader) Direct() bool { return r.direct.Load() }

// Close stops the read-ahead and closes the file.
func (r *Reader) Close() error {
	select {
	case <-r.done:
		return nil
	default:
	}
	close(r.done)
	return r.f.Close()
}
