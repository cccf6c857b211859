package bundle

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"unicode/utf8"

	actingweb "github.com/actingweb/actingweb-go"
)

// DefaultMaxLineBytes is the longest table-file line (or upstream array element) a Reader
// takes by default: 64 MiB, far above DynamoDB's 400 KB item limit. PostgreSQL text columns
// can hold larger values; raise ReaderOptions.MaxLineBytes (import --max-line-bytes) for them.
const DefaultMaxLineBytes = 64 << 20

// maxManifestBytes bounds manifest.json (a manifest of the nine tables is under 4 KiB).
const maxManifestBytes = 1 << 20

// rejectRawPrefix is how many bytes of an over-long line its reject keeps.
const rejectRawPrefix = 1024

// ReaderOptions shape how OpenWith reads a bundle. The zero value is the safe default (Open).
type ReaderOptions struct {
	// MaxLineBytes bounds one line of a table file, in bytes without its newline (0 or
	// negative: DefaultMaxLineBytes). A longer line is a reject at its file:line position
	// (the reader skips to the next newline, holding at most MaxLineBytes of it); an upstream
	// array element longer than about this is an error, since the array cannot be resynced.
	// Memory per scanned table is about MaxLineBytes plus a few MiB of buffers.
	MaxLineBytes int
	// AllowWorldWritable accepts a bundle directory, manifest or table file that others may
	// write (mode & 0o002). A bundle holds passphrases and trust secrets, so exports write
	// 0700/0600; by default a bundle anyone could have changed is refused at Open.
	AllowWorldWritable bool
}

func (o ReaderOptions) maxLine() int {
	if o.MaxLineBytes <= 0 {
		return DefaultMaxLineBytes
	}
	return o.MaxLineBytes
}

// checkDir refuses a bundle directory that is no directory or, unless allowed, one others may
// write. The directory itself may be reached through a symbolic link (the operator named it).
func checkDir(dir string, o ReaderOptions) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("bundle %s: %w", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: bundle %s is not a directory: give the directory an export wrote", ErrFormat, dir)
	}
	if st.Mode().Perm()&0o002 != 0 && !o.AllowWorldWritable {
		return fmt.Errorf("%w: bundle directory %s is writable by others (mode %04o), so its files may have been changed by anyone: chmod o-w %s (exports write 0700; a bundle holds secrets), or pass --allow-world-writable",
			ErrFormat, dir, st.Mode().Perm(), dir)
	}
	return nil
}

// checkFile returns the file information of dir/name after checking that it is a regular
// file directly in dir (not a symbolic link, device, FIFO, socket or directory) and, unless
// allowed, not writable by others. A missing file returns an error wrapping os.ErrNotExist.
func checkFile(dir, name string, o ReaderOptions) (os.FileInfo, error) {
	p := filepath.Join(dir, name)
	if filepath.Base(name) != name {
		return nil, fmt.Errorf("%w: bundle %s: %q is not a plain file name", ErrFormat, dir, name)
	}
	st, err := os.Lstat(p)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: bundle %s: %s is %s, not a regular file: a bundle's files must be plain files inside its directory; copy the real file there",
			ErrFormat, dir, name, fileKind(st.Mode()))
	}
	if st.Mode().Perm()&0o002 != 0 && !o.AllowWorldWritable {
		return nil, fmt.Errorf("%w: bundle %s: %s is writable by others (mode %04o), so anyone may have changed it: chmod o-w %s (exports write 0600; a bundle holds secrets), or pass --allow-world-writable",
			ErrFormat, dir, name, st.Mode().Perm(), p)
	}
	return st, nil
}

func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "a special file (" + m.Type().String() + ")"
}

// recheck is called before a table file is opened for reading: it checks (os.Lstat) that the
// file is still the regular file Open found; one replaced since (by a link, a FIFO, another
// file) is refused. The remaining window between the check and the open is one system call.
func (r *Reader) recheck(ts tableSource) error {
	st, err := checkFile(r.dir, ts.name, r.opts)
	if err != nil {
		return err
	}
	if ts.info != nil && !os.SameFile(st, ts.info) {
		return fmt.Errorf("%w: bundle %s: %s was replaced by another file since the bundle was opened: export again", ErrFormat, r.dir, ts.name)
	}
	return nil
}

// readManifestBytes reads dir/manifest.json after checkFile (at most maxManifestBytes). A
// missing manifest returns an error wrapping os.ErrNotExist.
func readManifestBytes(dir string, o ReaderOptions) ([]byte, error) {
	st, err := checkFile(dir, ManifestFile, o)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("bundle %s: read manifest: %w", dir, err)
	}
	defer f.Close()
	if fst, err := f.Stat(); err != nil || !os.SameFile(st, fst) {
		return nil, fmt.Errorf("%w: bundle %s: %s changed while it was opened: try again", ErrFormat, dir, ManifestFile)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("bundle %s: read manifest: %w", dir, err)
	}
	if len(b) > maxManifestBytes {
		return nil, fmt.Errorf("%w: bundle %s: %s is larger than %d bytes: it is no manifest an export wrote", ErrFormat, dir, ManifestFile, maxManifestBytes)
	}
	return b, nil
}

// upstreamDigest is the hex SHA-256 over the upstream array files of r, in name order: for
// each, its name, a zero byte, its length as 8 bytes big-endian, then its content. One pass
// over each file.
func (r *Reader) upstreamDigest() (string, error) {
	var srcs []tableSource
	for _, ts := range r.files {
		srcs = append(srcs, ts)
	}
	slices.SortFunc(srcs, func(a, b tableSource) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	h := sha256.New()
	for _, ts := range srcs {
		if err := r.recheck(ts); err != nil {
			return "", err
		}
		f, err := os.Open(ts.path)
		if err != nil {
			return "", fmt.Errorf("bundle %s: %w", r.dir, err)
		}
		h.Write([]byte(ts.name))
		h.Write([]byte{0})
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(ts.info.Size()))
		h.Write(n[:])
		m, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("bundle %s: %s: %w", r.dir, ts.name, err)
		}
		if m != ts.info.Size() {
			return "", fmt.Errorf("%w: bundle %s: %s changed while it was read (%d bytes, %d when opened): try again once nothing writes it",
				ErrFormat, r.dir, ts.name, m, ts.info.Size())
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkUTF8 returns an error wrapping actingweb.ErrInvalid when line is not valid UTF-8,
// naming the 0-based byte offset of the first invalid sequence. JSON text must be UTF-8
// (RFC 8259 §8.1); encoding/json would silently turn such bytes into U+FFFD, so a value
// would no longer be the exported one byte for byte.
func checkUTF8(line []byte) error {
	if utf8.Valid(line) {
		return nil
	}
	off := 0
	for off < len(line) {
		r, n := utf8.DecodeRune(line[off:])
		if r == utf8.RuneError && n == 1 {
			break
		}
		off += n
	}
	return fmt.Errorf("%w: invalid UTF-8 at byte offset %d of the line (JSON text must be UTF-8; the bytes are not replaced): fix the source value or the line",
		actingweb.ErrInvalid, off)
}
