package bundle

import (
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
	"sync"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/internal/blockio"
)

// WriterOptions configure Create.
type WriterOptions struct {
	// Gzip writes <table>.jsonl.gz instead of <table>.jsonl.
	Gzip bool
	// Source describes where the data comes from (no password), for the manifest.
	Source string
	// Resume keeps existing table files: the caller cuts each back with ResumeSink before
	// writing. Without Resume, Create refuses a directory that already holds a manifest or
	// table files.
	Resume bool
	// NoSync skips the fsync of each table file when it is finished (pg_dump's --no-sync):
	// faster, but after an operating-system crash the bundle may be incomplete although the
	// export said it finished. Checkpoints never fsync table files: a checkpoint records the
	// SHA-256 of the prefix it keeps, and a resume that finds other bytes there refuses.
	NoSync bool
	// Validated promises that every string of every record written is valid UTF-8 and every
	// payload (json.RawMessage) valid JSON, as in the records of a PostgreSQL database with
	// server encoding UTF8, whose json and jsonb columns hold nothing else
	// (bulk.Capabilities.Validated): the encoder then skips its UTF-8 checks. The bytes written
	// are the same either way, as long as the promise holds.
	Validated bool
}

// Writer writes a bundle. It is a migrate sink: WriteBatch appends (the conflict policy does
// not apply to a bundle), SinkState/ResumeSink checkpoint a table, FinishTable closes a table
// file, Close writes the manifest. Safe for concurrent use; each table is written in call order.
type Writer struct {
	dir     string
	opts    WriterOptions
	started time.Time

	mu     sync.Mutex
	tables map[actingweb.Table]*tableWriter
	done   map[actingweb.Table]TableFile
	closed bool
}

type tableWriter struct {
	mu   sync.Mutex
	t    actingweb.Table
	path string
	file string
	f    *blockio.File
	h    hash.Hash
	cw   *countWriter // counts and hashes bytes as stored
	gz   *gzip.Writer // current gzip member, nil between members

	// The storer goroutine hashes, compresses and writes the chunks WriteBatch encodes, so
	// encoding the next batch overlaps with storing the last one. Everything above (f, buf, h,
	// cw, gz) belongs to it while it runs; the other methods touch them only after drain.
	q        chan chunk
	free     chan []byte // recycled chunk buffers
	stopped  chan struct{}
	storeMu  sync.Mutex
	storeErr error
	rows     int64
}

// countWriter hashes and counts bytes on their way to the file.
type countWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// chunk is one batch of encoded lines on its way to the file, or a barrier (drain).
type chunk struct {
	b       []byte
	gz      bool
	barrier chan struct{}
}

// storeQueue is how many encoded batches may wait for the storer.
const storeQueue = 2

// startStorer starts the storer goroutine of a freshly opened table file.
func (tw *tableWriter) startStorer() {
	tw.q = make(chan chunk, storeQueue)
	tw.free = make(chan []byte, storeQueue+1)
	tw.stopped = make(chan struct{})
	go tw.store()
}

func (tw *tableWriter) store() {
	defer close(tw.stopped)
	for c := range tw.q {
		if c.barrier != nil {
			close(c.barrier)
			continue
		}
		if tw.failed() == nil {
			out, err := tw.out(c.gz)
			if err == nil {
				_, err = out.Write(c.b)
			}
			if err != nil {
				tw.storeMu.Lock()
				tw.storeErr = err
				tw.storeMu.Unlock()
			}
		}
		select {
		case tw.free <- c.b[:0]:
		default:
		}
	}
}

func (tw *tableWriter) failed() error {
	tw.storeMu.Lock()
	defer tw.storeMu.Unlock()
	return tw.storeErr
}

// drain waits until the storer has written every queued chunk and returns its first error.
func (tw *tableWriter) drain() error {
	if tw.q == nil {
		return tw.failed()
	}
	done := make(chan struct{})
	tw.q <- chunk{barrier: done}
	<-done
	return tw.failed()
}

// stop drains and ends the storer.
func (tw *tableWriter) stop() error {
	if tw.q == nil {
		return tw.failed()
	}
	err := tw.drain()
	close(tw.q)
	<-tw.stopped
	tw.q = nil
	return err
}

// Create opens dir as a new bundle (created 0700 when missing). See WriterOptions.Resume.
func Create(dir string, o WriterOptions) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("bundle %s: create directory: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	if !o.Resume {
		if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err == nil {
			return nil, fmt.Errorf("bundle %s: %w: a bundle already exists there; choose an empty directory", dir, os.ErrExist)
		}
		for _, t := range actingweb.Tables {
			for _, ext := range []string{".jsonl", ".jsonl.gz"} {
				if _, err := os.Stat(filepath.Join(dir, string(t)+ext)); err == nil {
					return nil, fmt.Errorf("bundle %s: %w: %s%s exists (an interrupted export? resume it, or choose an empty directory)", dir, os.ErrExist, t, ext)
				}
			}
		}
	}
	return &Writer{dir: dir, opts: o, started: time.Now().UTC(),
		tables: map[actingweb.Table]*tableWriter{}, done: map[actingweb.Table]TableFile{}}, nil
}

// Dir is the bundle directory.
func (w *Writer) Dir() string { return w.dir }

// Describe names the bundle for people.
func (w *Writer) Describe() string { return "bundle " + w.dir }

// Capabilities declares the writer as the sink of a move (bulk.Capabilities): batches of 1000
// rows (appends are cheap).
func (w *Writer) Capabilities(context.Context) bulk.Capabilities {
	return bulk.Capabilities{BatchSize: 1000}
}

func (w *Writer) fileName(t actingweb.Table) string {
	if w.opts.Gzip {
		return string(t) + ".jsonl.gz"
	}
	return string(t) + ".jsonl"
}

// table returns the open writer of t, opening (creating, truncating) its file when first used.
func (w *Writer) table(t actingweb.Table) (*tableWriter, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, fmt.Errorf("bundle %s: writer closed", w.dir)
	}
	if _, ok := w.done[t]; ok {
		return nil, fmt.Errorf("bundle %s: table %s already finished", w.dir, t)
	}
	if tw := w.tables[t]; tw != nil {
		return tw, nil
	}
	if actingweb.NewRecord(t) == nil {
		return nil, fmt.Errorf("bundle: %w: %q", actingweb.ErrUnknownTable, t)
	}
	tw := &tableWriter{t: t, file: w.fileName(t)}
	tw.path = filepath.Join(w.dir, tw.file)
	if err := tw.open(0, 0); err != nil {
		return nil, fmt.Errorf("bundle %s: table %s: %w", w.dir, t, err)
	}
	w.tables[t] = tw
	return tw, nil
}

// open opens the file, keeps its first keep bytes (rows lines) and re-hashes them.
func (tw *tableWriter) open(keep, rows int64) error {
	f, err := os.OpenFile(tw.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if st.Size() < keep {
		f.Close()
		return fmt.Errorf("%w: %s has %d bytes, the checkpoint says %d were written; the file was changed — remove the bundle and export again",
			ErrFormat, tw.path, st.Size(), keep)
	}
	if err := f.Truncate(keep); err != nil {
		f.Close()
		return err
	}
	h := sha256.New()
	if keep > 0 {
		if _, err := io.CopyN(h, f, keep); err != nil {
			f.Close()
			return fmt.Errorf("re-hash kept prefix: %w", err)
		}
	}
	f.Close()
	bf, err := blockio.Open(tw.path, keep)
	if err != nil {
		return err
	}
	tw.f = bf
	tw.h = h
	tw.cw = &countWriter{w: bf, h: h, n: keep}
	tw.rows = rows
	tw.gz = nil
	tw.startStorer()
	return nil
}

// out returns where encoded lines go: a gzip member (opened lazily) or the counted file.
func (tw *tableWriter) out(gz bool) (io.Writer, error) {
	if !gz {
		return tw.cw, nil
	}
	if tw.gz == nil {
		z, err := gzip.NewWriterLevel(tw.cw, gzip.BestSpeed)
		if err != nil {
			return nil, err
		}
		tw.gz = z
	}
	return tw.gz, nil
}

// WriteBatch appends recs (all of table t) to t's file, one JSON object per line. policy is
// ignored: a bundle keeps every row it is given. Records that cannot be encoded are rejected.
func (w *Writer) WriteBatch(ctx context.Context, t actingweb.Table, recs []actingweb.Record, _ bulk.ConflictPolicy) (bulk.WriteResult, error) {
	var res bulk.WriteResult
	if err := ctx.Err(); err != nil {
		return res, err
	}
	tw, err := w.table(t)
	if err != nil {
		return res, err
	}
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if err := tw.failed(); err != nil {
		return res, fmt.Errorf("bundle %s: write %s: %w", w.dir, tw.file, err)
	}
	var b []byte
	select {
	case b = <-tw.free:
	default:
	}
	for _, r := range recs {
		if r.Table() != t {
			res.Rejects = append(res.Rejects, bulk.Reject{Table: t, Key: r.Key(), Record: r,
				Reason: fmt.Sprintf("record of table %s in a batch of %s", r.Table(), t)})
			continue
		}
		n := len(b)
		line, err := appendRecordJSON(b, r, w.opts.Validated)
		if err != nil {
			b = line[:n]
			res.Rejects = append(res.Rejects, bulk.Reject{Table: t, Key: r.Key(), Record: r,
				Reason: "cannot encode as JSON: " + err.Error()})
			continue
		}
		b = append(line, '\n')
		tw.rows++
		res.Written++
	}
	if len(b) > 0 {
		select {
		case tw.q <- chunk{b: b, gz: w.opts.Gzip}:
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
	return res, nil
}

// Count returns the rows written to t so far.
func (w *Writer) Count(_ context.Context, t actingweb.Table) (int64, error) {
	w.mu.Lock()
	if tf, ok := w.done[t]; ok {
		w.mu.Unlock()
		return tf.Rows, nil
	}
	tw := w.tables[t]
	w.mu.Unlock()
	if tw == nil {
		return 0, nil
	}
	tw.mu.Lock()
	defer tw.mu.Unlock()
	return tw.rows, nil
}

// sinkState is the opaque checkpoint of a table file.
type sinkState struct {
	File   string `json:"file"`
	Offset int64  `json:"offset"`
	Rows   int64  `json:"rows"`
	// SHA256 is the hex SHA-256 of the file's first Offset bytes ("" in checkpoints of
	// earlier versions, which fsynced instead).
	SHA256 string `json:"sha256,omitempty"`
}

// flush ends the current gzip member and hands the buffer to the operating system (which
// keeps it when the process dies); sync also waits until the file is on disk.
func (tw *tableWriter) flush(sync bool) error {
	if tw.gz != nil {
		if err := tw.gz.Close(); err != nil {
			return err
		}
		tw.gz = nil
	}
	if !sync {
		return tw.f.Flush()
	}
	return tw.f.Sync()
}

// SinkState flushes table t to the operating system and returns its position (file, byte
// offset, rows, SHA-256 of the bytes up to the offset) as JSON for a checkpoint. With gzip, the
// current member is closed so the kept prefix is a complete gzip stream. It does not fsync: a
// process killed at any moment loses nothing the operating system was given, and after an
// operating-system crash ResumeSink finds a prefix that did not reach the disk by its hash.
func (w *Writer) SinkState(t actingweb.Table) ([]byte, error) {
	tw, err := w.table(t)
	if err != nil {
		return nil, err
	}
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if err := tw.drain(); err != nil {
		return nil, fmt.Errorf("bundle %s: write %s: %w", w.dir, tw.file, err)
	}
	if err := tw.flush(false); err != nil {
		return nil, fmt.Errorf("bundle %s: flush %s: %w", w.dir, tw.file, err)
	}
	return json.Marshal(sinkState{File: tw.file, Offset: tw.cw.n, Rows: tw.rows, SHA256: hex.EncodeToString(tw.h.Sum(nil))})
}

// ResumeSink cuts table t's file back to a position SinkState returned (nil: empty file) and
// re-hashes the kept prefix, so writing continues as if never interrupted.
func (w *Writer) ResumeSink(t actingweb.Table, state []byte) error {
	var st sinkState
	if len(state) > 0 {
		if err := json.Unmarshal(state, &st); err != nil {
			return fmt.Errorf("bundle %s: table %s: bad checkpoint state: %w", w.dir, t, err)
		}
		if st.File != w.fileName(t) {
			return fmt.Errorf("bundle %s: table %s: checkpoint refers to %s but this export writes %s (gzip option changed?)", w.dir, t, st.File, w.fileName(t))
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if old := w.tables[t]; old != nil {
		old.stop()
		old.f.Close()
		delete(w.tables, t)
	}
	delete(w.done, t)
	tw := &tableWriter{t: t, file: w.fileName(t)}
	tw.path = filepath.Join(w.dir, tw.file)
	if err := tw.open(st.Offset, st.Rows); err != nil {
		return fmt.Errorf("bundle %s: resume table %s: %w", w.dir, t, err)
	}
	if st.SHA256 != "" && hex.EncodeToString(tw.h.Sum(nil)) != st.SHA256 {
		tw.stop()
		tw.f.Close()
		return fmt.Errorf("%w: bundle %s: the first %d bytes of %s are not what the checkpoint recorded (the machine went down before they reached the disk?); remove the bundle directory and export again",
			ErrFormat, w.dir, st.Offset, tw.file)
	}
	w.tables[t] = tw
	return nil
}

// FinishTable flushes, fsyncs (unless WriterOptions.NoSync) and closes table t's file and
// records its manifest entry. A table never written gets an empty file.
func (w *Writer) FinishTable(t actingweb.Table) error {
	tw, err := w.table(t)
	if err != nil {
		return err
	}
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if err := tw.stop(); err != nil {
		tw.f.Close()
		return fmt.Errorf("bundle %s: write %s: %w", w.dir, tw.file, err)
	}
	if err := tw.flush(!w.opts.NoSync); err != nil {
		return fmt.Errorf("bundle %s: flush %s: %w", w.dir, tw.file, err)
	}
	if err := tw.f.Close(); err != nil {
		return fmt.Errorf("bundle %s: close %s: %w", w.dir, tw.file, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done[t] = TableFile{File: tw.file, Rows: tw.rows, Bytes: tw.cw.n,
		SHA256: hex.EncodeToString(tw.h.Sum(nil)), Compressed: w.opts.Gzip}
	delete(w.tables, t)
	return nil
}

// Finished returns the manifest entries of the tables finished so far.
func (w *Writer) Finished() map[actingweb.Table]TableFile {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[actingweb.Table]TableFile, len(w.done))
	for k, v := range w.done {
		out[k] = v
	}
	return out
}

// Close finishes every open table and writes manifest.json atomically (temporary file and
// rename), listing the finished tables. The bundle is complete only once Close returned nil.
func (w *Writer) Close() error {
	w.mu.Lock()
	var open []actingweb.Table
	for t := range w.tables {
		open = append(open, t)
	}
	w.mu.Unlock()
	for _, t := range open {
		if err := w.FinishTable(t); err != nil {
			return err
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	m := Manifest{Format: Format, FormatVersion: FormatVersion, ToolVersion: ToolVersion,
		Source: w.opts.Source, StartedAt: w.started, FinishedAt: time.Now().UTC(),
		Tables: map[string]TableFile{}}
	for t, tf := range w.done {
		m.Tables[string(t)] = tf
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(w.dir, ManifestFile), append(b, '\n')); err != nil {
		return fmt.Errorf("bundle %s: write manifest: %w", w.dir, err)
	}
	return nil
}

// Abort closes open files without writing a manifest (the bundle stays incomplete and can be
// resumed from checkpoints).
func (w *Writer) Abort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	for t, tw := range w.tables {
		tw.mu.Lock()
		if err := tw.stop(); err != nil {
			errs = append(errs, err)
		} else if err := tw.flush(false); err != nil {
			errs = append(errs, err)
		}
		tw.f.Close()
		tw.mu.Unlock()
		delete(w.tables, t)
	}
	w.closed = true
	return errors.Join(errs...)
}
