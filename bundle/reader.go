package bundle

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/internal/blockio"
)

// Reader reads a bundle directory, or a directory of upstream <table>.json array files when
// it has no manifest. It is a migrate source (Scan, Count, Describe, MaxSegments). Safe for
// concurrent scans of different tables.
type Reader struct {
	dir      string
	opts     ReaderOptions
	manifest *Manifest
	digest   string // Digest
	files    map[actingweb.Table]tableSource
}

type tableSource struct {
	path     string
	name     string
	gz       bool
	upstream bool        // a JSON array file of upstream's export
	entry    *TableFile  // manifest entry (nil for upstream files)
	info     os.FileInfo // the file as Open found it (os.Lstat)
}

// Open opens the bundle in dir with the default ReaderOptions (OpenWith).
func Open(dir string) (*Reader, error) { return OpenWith(dir, ReaderOptions{}) }

// OpenWith opens the bundle in dir: with a manifest.json, the manifest is checked (format,
// format_version, known tables, files present); without one, the directory must hold
// upstream's <table>.json array files (an incomplete bundle — .jsonl files without a
// manifest, i.e. an interrupted export — is refused). manifest.json and every table file must
// be regular files directly inside dir (no symbolic links, devices, FIFOs or directories), and
// neither they nor dir may be writable by others unless o.AllowWorldWritable; otherwise the
// error wraps ErrFormat and names the file. For upstream array files, OpenWith reads each
// file once to compute Digest. Table contents are checked by Verify and Scan.
func OpenWith(dir string, o ReaderOptions) (*Reader, error) {
	r := &Reader{dir: dir, opts: o, files: map[actingweb.Table]tableSource{}}
	if err := checkDir(dir, o); err != nil {
		return nil, err
	}
	mb, err := readManifestBytes(dir, o)
	switch {
	case err == nil:
		m, err := parseManifest(filepath.Join(dir, ManifestFile), mb)
		if err != nil {
			return nil, err
		}
		r.manifest = m
		sum := sha256.Sum256(mb)
		r.digest = hex.EncodeToString(sum[:])
		for name, tf := range m.Tables {
			t, _ := actingweb.ParseTable(name)
			tf := tf
			st, err := checkFile(dir, tf.File, o)
			if err != nil {
				if errors.Is(err, ErrFormat) {
					return nil, err
				}
				return nil, fmt.Errorf("%w: table %s: %v: the bundle is incomplete; export again", ErrFormat, name, err)
			}
			r.files[t] = tableSource{path: filepath.Join(dir, tf.File), name: tf.File, gz: tf.Compressed, entry: &tf, info: st}
		}
		return r, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	var partial bool
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") {
			continue
		}
		if strings.HasSuffix(n, ".jsonl") || strings.HasSuffix(n, ".jsonl.gz") {
			base := strings.TrimSuffix(strings.TrimSuffix(n, ".gz"), ".jsonl")
			if !strings.Contains(base, ".") {
				partial = true
			}
			continue
		}
		if !strings.HasSuffix(n, ".json") {
			continue
		}
		base := strings.TrimSuffix(n, ".json")
		if strings.Contains(base, ".") { // checkpoint files and the like
			continue
		}
		t, err := actingweb.ParseTable(base)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: file %s: %w", dir, n, err)
		}
		if _, dup := r.files[t]; dup {
			return nil, fmt.Errorf("%w: bundle %s: two files for table %s", ErrFormat, dir, t)
		}
		st, err := checkFile(dir, n, o)
		if err != nil {
			return nil, err
		}
		r.files[t] = tableSource{path: filepath.Join(dir, n), name: n, upstream: true, info: st}
	}
	if len(r.files) == 0 {
		if partial {
			return nil, fmt.Errorf("%w: bundle %s has table files but no manifest.json: the export did not finish; resume it (export --resume) or export again", ErrFormat, dir)
		}
		return nil, fmt.Errorf("%w: %s holds neither a manifest.json nor upstream <table>.json files", ErrFormat, dir)
	}
	if r.digest, err = r.upstreamDigest(); err != nil {
		return nil, err
	}
	return r, nil
}

// Digest identifies what this Reader reads, as lowercase hex SHA-256: for a bundle, of the
// manifest.json bytes Open read (the manifest holds every table file's SHA-256 and row count,
// which Verify and Scan hold the files to); for upstream array files, of the files' names and
// contents (see upstreamDigest), computed by OpenWith in one pass over them. A resumed run
// can compare it with the digest stored at its start to refuse another bundle.
func (r *Reader) Digest() string { return r.digest }

// Manifest returns the bundle's manifest, nil for upstream array files.
func (r *Reader) Manifest() *Manifest { return r.manifest }

// Upstream reports whether the directory holds upstream's <table>.json array files.
func (r *Reader) Upstream() bool { return r.manifest == nil }

// Tables lists the tables present, in migration order.
func (r *Reader) Tables() []actingweb.Table {
	var out []actingweb.Table
	for _, t := range actingweb.Tables {
		if _, ok := r.files[t]; ok {
			out = append(out, t)
		}
	}
	return out
}

// Has reports whether table t is present.
func (r *Reader) Has(t actingweb.Table) bool { _, ok := r.files[t]; return ok }

// Describe names the bundle for people.
func (r *Reader) Describe() string {
	if r.manifest == nil {
		return "upstream export " + r.dir
	}
	return "bundle " + r.dir
}

// Capabilities declares the reader as the source of a move (bulk.Capabilities): a table file
// is read by one scanner (MaxSegments 1).
func (r *Reader) Capabilities(context.Context) bulk.Capabilities {
	return bulk.Capabilities{MaxSegments: 1}
}

func (r *Reader) source(t actingweb.Table) (tableSource, error) {
	if actingweb.NewRecord(t) == nil {
		return tableSource{}, fmt.Errorf("bundle: %w: %q", actingweb.ErrUnknownTable, t)
	}
	ts, ok := r.files[t]
	if !ok {
		return ts, fmt.Errorf("bundle %s has no table %s: %w", r.dir, t, actingweb.ErrNotFound)
	}
	return ts, nil
}

// Count returns the rows of t: the manifest's count, or for upstream files the number of array
// elements (a streaming pass).
func (r *Reader) Count(ctx context.Context, t actingweb.Table) (int64, error) {
	ts, err := r.source(t)
	if err != nil {
		return 0, err
	}
	if ts.entry != nil {
		return ts.entry.Rows, nil
	}
	var n int64
	err = r.scanArray(ctx, t, ts, 0, 1<<30, func(bulk.Page) error { return nil }, func() { n++ })
	return n, err
}

// Cursor of a JSON Lines table: "<lines consumed>:<byte offset>" (byte offset in the file for
// plain files, where a resumed scan seeks; gzip files are re-read and lines skipped).
func parseCursor(c string) (line, off int64, err error) {
	if c == "" {
		return 0, 0, nil
	}
	a, b, ok := strings.Cut(c, ":")
	if line, err = strconv.ParseInt(a, 10, 64); err != nil || !ok {
		return 0, 0, fmt.Errorf("bad bundle cursor %q", c)
	}
	if off, err = strconv.ParseInt(b, 10, 64); err != nil {
		return 0, 0, fmt.Errorf("bad bundle cursor %q", c)
	}
	return line, off, nil
}

// Scan streams table t in file order. Only segment 0 of a segmented scan returns rows.
// Malformed lines become Page.Rejects with their file:line position. At the end of the file
// the row count and SHA-256 are checked against the manifest; a mismatch (or a truncated gzip
// stream) is an error wrapping ErrFormat.
func (r *Reader) Scan(ctx context.Context, t actingweb.Table, opts bulk.ScanOptions, fn func(bulk.Page) error) error {
	ts, err := r.source(t)
	if err != nil {
		return err
	}
	if opts.TotalSegments > 1 && opts.Segment != 0 {
		return fn(bulk.Page{Cursor: opts.Cursor, Last: true})
	}
	pageSize := opts.PageSize
	if pageSize <= 0 {
		pageSize = 1000
	}
	if ts.upstream {
		var skip int64
		if opts.Cursor != "" {
			if skip, err = strconv.ParseInt(opts.Cursor, 10, 64); err != nil {
				return fmt.Errorf("bad upstream cursor %q", opts.Cursor)
			}
		}
		return r.scanArray(ctx, t, ts, skip, pageSize, fn, nil)
	}
	return r.scanLines(ctx, t, ts, opts.Cursor, pageSize, opts.Retain, fn)
}

func (r *Reader) scanLines(ctx context.Context, t actingweb.Table, ts tableSource, cursor string, pageSize int, retain bool, fn func(bulk.Page) error) error {
	dec := &lineDecoder{} // strings and records of the table's lines share chunks and slabs
	if retain {
		dec = nil // ScanOptions.Retain: each its own
	}
	line, off, err := parseCursor(cursor)
	if err != nil {
		return err
	}
	if err := r.recheck(ts); err != nil {
		return err
	}
	// Direct reads (internal/blockio): a bundle is read once, and a bundle not in the page
	// cache would otherwise cost more kernel CPU to cache than the decoding of its lines.
	f, err := blockio.OpenReader(ts.path)
	if err != nil {
		return fmt.Errorf("bundle %s: table %s: %w", r.dir, t, err)
	}
	defer f.Close()
	h := sha256.New()
	var rd io.Reader
	skipLines := int64(0)
	var tee io.Reader
	if ts.gz {
		skipLines = line
		line, off = 0, 0
		tee = io.TeeReader(f, h)
		rd = tee
		st, err := os.Stat(ts.path)
		if err != nil {
			return err
		}
		if st.Size() == 0 {
			rd = strings.NewReader("")
		} else {
			z, err := gzip.NewReader(rd)
			if err != nil {
				return fmt.Errorf("%w: %s: %v", ErrFormat, ts.name, err)
			}
			defer z.Close()
			rd = z
		}
	} else {
		if off > 0 {
			if _, err := io.CopyN(h, f, off); err != nil {
				return fmt.Errorf("%w: %s: cursor %s beyond the file: %v", ErrFormat, ts.name, cursor, err)
			}
		}
		rd = io.TeeReader(f, h)
	}
	br := bufio.NewReaderSize(rd, 256<<10)
	maxLine := r.opts.maxLine()
	var scratch []byte
	page := bulk.Page{}
	pageBytes := 0 // line bytes in page
	emit := func(last bool) error {
		page.Cursor = strconv.FormatInt(line, 10) + ":" + strconv.FormatInt(off, 10)
		page.Last = last
		if err := fn(page); err != nil {
			return err
		}
		page = bulk.Page{}
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		// A line is read in slices of the bufio buffer; one longer than maxLine keeps only
		// its first maxLine+1 bytes (memory stays bounded) and becomes a reject.
		b, rerr := br.ReadSlice('\n')
		size := int64(len(b)) // the line's bytes, newline included
		if rerr == bufio.ErrBufferFull {
			scratch = append(scratch[:0], b...)
			for rerr == bufio.ErrBufferFull {
				b, rerr = br.ReadSlice('\n')
				size += int64(len(b))
				if room := maxLine + 1 - len(scratch); room > 0 {
					scratch = append(scratch, b[:min(len(b), room)]...)
				}
			}
			b = scratch
		}
		if rerr != nil && rerr != io.EOF {
			return fmt.Errorf("%w: %s line %d: %v", ErrFormat, ts.name, line+1, rerr)
		}
		if size > 0 {
			off += size
			line++
			length := size // without the newline (ReadSlice found one when rerr is nil)
			if rerr == nil {
				length--
			}
			if line > skipLines && length > int64(maxLine) {
				raw := b[:min(len(b), rejectRawPrefix)]
				page.Rejects = append(page.Rejects, bulk.Reject{Table: t, Raw: string(raw),
					Reason: fmt.Sprintf("%s:%d: %v: the line is %d bytes, longer than the limit of %d (raise it with --max-line-bytes if the target can hold such a row; the reject keeps its first %d bytes)",
						ts.name, line, actingweb.ErrInvalid, length, maxLine, len(raw))})
				pageBytes += len(raw)
				if len(page.Records)+len(page.Rejects) >= pageSize || pageBytes >= bulk.MaxPageBytes {
					if err := emit(false); err != nil {
						return err
					}
					pageBytes = 0
				}
			} else if line > skipLines {
				content := b
				if content[len(content)-1] == '\n' {
					content = content[:len(content)-1]
				}
				if len(bytesTrimSpace(content)) > 0 {
					pageBytes += len(content)
					rec, err := decodeRecord(t, content, dec)
					if err != nil {
						rj := bulk.Reject{Table: t, Reason: fmt.Sprintf("%s:%d: %v", ts.name, line, err)}
						if rec != nil {
							rj.Key, rj.Record = rec.Key(), rec
						} else {
							rj.Raw = string(content)
						}
						page.Rejects = append(page.Rejects, rj)
					} else {
						page.Records = append(page.Records, rec)
					}
					if len(page.Records)+len(page.Rejects) >= pageSize || pageBytes >= bulk.MaxPageBytes {
						if err := emit(false); err != nil {
							return err
						}
						pageBytes = 0
					}
				}
			}
		}
		if cap(scratch) > 4<<20 {
			scratch = nil // a long line's buffer is not kept for the rest of the file
		}
		if rerr == io.EOF {
			break
		}
	}
	if ts.gz {
		// drain the tee: the gzip reader stops at the end of the last member
		if _, err := io.Copy(io.Discard, tee); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrFormat, ts.name, err)
		}
	}
	if err := r.check(ts, line, h); err != nil {
		return err
	}
	return emit(true)
}

func bytesTrimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func (r *Reader) check(ts tableSource, lines int64, h hash.Hash) error {
	if ts.entry == nil {
		return nil
	}
	if lines != ts.entry.Rows {
		return fmt.Errorf("%w: bundle %s: %s has %d lines, the manifest says %d: the bundle was changed or damaged since the export; export again",
			ErrFormat, r.dir, ts.name, lines, ts.entry.Rows)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != ts.entry.SHA256 {
		return fmt.Errorf("%w: bundle %s: %s has SHA-256 %s, the manifest says %s: the bundle was changed or damaged since the export; export again",
			ErrFormat, r.dir, ts.name, got, ts.entry.SHA256)
	}
	return nil
}

// scanArray streams an upstream JSON array file element by element (json.Decoder tokens; the
// file is never loaded whole). The cursor is the number of elements consumed. Elements that
// cannot be mapped become rejects at "file:element N"; broken JSON syntax stops the scan.
func (r *Reader) scanArray(ctx context.Context, t actingweb.Table, ts tableSource, skip int64, pageSize int, fn func(bulk.Page) error, count func()) error {
	if err := r.recheck(ts); err != nil {
		return err
	}
	f, err := os.Open(ts.path)
	if err != nil {
		return fmt.Errorf("bundle %s: table %s: %w", r.dir, t, err)
	}
	defer f.Close()
	// The decoder holds a whole element in memory: the bytes it may take beyond the end of
	// the last element are bounded (a longer element cannot be skipped: it stops the scan).
	maxLine := r.opts.maxLine()
	br := &boundedReader{r: bufio.NewReaderSize(f, 256<<10), limit: int64(maxLine) + 64<<10}
	dec := json.NewDecoder(br)
	tooLong := func(err error, n int64) error {
		if errors.Is(err, errElementTooLong) {
			return fmt.Errorf("%w: %s element %d is longer than the limit of %d bytes: raise it with --max-line-bytes, or fix the file", ErrFormat, ts.name, n, maxLine)
		}
		return nil
	}
	tok, err := dec.Token()
	if err != nil {
		if e := tooLong(err, 1); e != nil {
			return e
		}
		return fmt.Errorf("%w: %s: %v", ErrFormat, ts.name, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("%w: %s: an upstream export file must hold a JSON array of records", ErrFormat, ts.name)
	}
	var n int64
	page := bulk.Page{}
	pageBytes := 0
	for dec.More() {
		if err := ctx.Err(); err != nil {
			return err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if e := tooLong(err, n+1); e != nil {
				return e
			}
			return fmt.Errorf("%w: %s element %d: %v", ErrFormat, ts.name, n+1, err)
		}
		br.base = dec.InputOffset()
		n++
		if len(raw) > maxLine {
			return tooLong(errElementTooLong, n)
		}
		if count != nil {
			count()
			continue
		}
		if n <= skip {
			continue
		}
		pageBytes += len(raw)
		rec, err := decodeUpstream(t, raw)
		if err != nil {
			rj := bulk.Reject{Table: t, Reason: fmt.Sprintf("%s:element %d: %v", ts.name, n, err), Raw: string(raw)}
			page.Rejects = append(page.Rejects, rj)
		} else {
			page.Records = append(page.Records, rec)
		}
		if len(page.Records)+len(page.Rejects) >= pageSize || pageBytes >= bulk.MaxPageBytes {
			page.Cursor = strconv.FormatInt(n, 10)
			if err := fn(page); err != nil {
				return err
			}
			page = bulk.Page{}
			pageBytes = 0
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrFormat, ts.name, err)
	}
	page.Cursor = strconv.FormatInt(n, 10)
	page.Last = true
	return fn(page)
}

var errElementTooLong = errors.New("array element too long")

// boundedReader lets a json.Decoder read at most limit bytes beyond base (the input offset
// of the end of the last element decoded), then fails with errElementTooLong.
type boundedReader struct {
	r     io.Reader
	n     int64 // bytes returned so far
	base  int64
	limit int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	room := b.base + b.limit - b.n
	if room <= 0 {
		return 0, errElementTooLong
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}
