package bundle

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/blockio"
)

// Verify reads every table file of a bundle with a manifest in full and checks it against
// its manifest entry: the SHA-256 of the bytes as stored, the number of lines (after
// decompression for gzip files, counted as Scan counts them) and the size; a truncated or
// otherwise unreadable gzip stream is an error too. Nothing is decoded. Files are read in
// parallel, up to GOMAXPROCS at once, largest first. It returns the bytes read (as stored)
// and, on the first difference, an error wrapping ErrFormat that names the file and what
// differs: the bundle was changed or damaged since the export and must be exported again.
//
// Upstream array files have no manifest to check against: Verify then only checks their JSON
// syntax (a streaming pass, as Count) and returns 0 bytes.
func (r *Reader) Verify(ctx context.Context) (int64, error) {
	if r.manifest == nil {
		for _, t := range r.Tables() {
			if _, err := r.Count(ctx, t); err != nil {
				return 0, err
			}
		}
		return 0, nil
	}
	tables := r.Tables()
	slices.SortStableFunc(tables, func(a, b actingweb.Table) int {
		return cmp.Compare(r.files[b].entry.Bytes, r.files[a].entry.Bytes)
	})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(map[actingweb.Table]error, len(tables))
	var (
		mu    sync.Mutex
		total int64
		wg    sync.WaitGroup
	)
	next := make(chan actingweb.Table)
	for range min(runtime.GOMAXPROCS(0), len(tables)) {
		wg.Go(func() {
			for t := range next {
				n, err := r.verifyFile(ctx, r.files[t])
				mu.Lock()
				total += n
				if err != nil {
					errs[t] = err
					cancel() // the run is refused anyway: stop reading the other files
				}
				mu.Unlock()
			}
		})
	}
feed:
	for _, t := range tables {
		select {
		case next <- t:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	// The first difference in migration order; files stopped by the cancel come after it.
	var canceled error
	for _, t := range r.Tables() {
		if err := errs[t]; err != nil {
			if !errors.Is(err, context.Canceled) {
				return total, err
			}
			canceled = err
		}
	}
	if canceled == nil {
		canceled = ctx.Err()
	}
	return total, canceled
}

// verifyFile reads one table file (see Verify) and returns the bytes read.
func (r *Reader) verifyFile(ctx context.Context, ts tableSource) (int64, error) {
	if err := r.recheck(ts); err != nil {
		return 0, err
	}
	f, err := blockio.OpenReader(ts.path)
	if err != nil {
		return 0, fmt.Errorf("bundle %s: %s: %w", r.dir, ts.name, err)
	}
	defer f.Close()
	h := sha256.New()
	stored := &countingReader{ctx: ctx, r: f}
	lines := &lineCounter{}
	if ts.gz {
		tee := io.TeeReader(stored, h)
		if ts.info.Size() > 0 {
			z, err := gzip.NewReader(tee)
			if err != nil {
				return stored.n, r.damaged(ts, err)
			}
			if _, err := io.Copy(lines, z); err != nil {
				return stored.n, r.damaged(ts, err)
			}
			z.Close()
		}
		// the gzip reader stops at the end of the last member: hash what may follow
		if _, err := io.Copy(io.Discard, tee); err != nil {
			return stored.n, r.damaged(ts, err)
		}
	} else if _, err := io.Copy(io.MultiWriter(h, lines), stored); err != nil {
		return stored.n, r.damaged(ts, err)
	}
	if err := r.check(ts, lines.lines(), h); err != nil {
		return stored.n, err
	}
	if stored.n != ts.entry.Bytes {
		return stored.n, fmt.Errorf("%w: bundle %s: %s has %d bytes, the manifest says %d: the bundle was changed or damaged since the export; export again",
			ErrFormat, r.dir, ts.name, stored.n, ts.entry.Bytes)
	}
	return stored.n, nil
}

// damaged wraps a read or decompression error of a table file.
func (r *Reader) damaged(ts tableSource, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: bundle %s: %s: the gzip stream ends early (truncated): the bundle was changed or damaged since the export; export again", ErrFormat, r.dir, ts.name)
	}
	return fmt.Errorf("%w: bundle %s: %s: %v: the bundle was changed or damaged since the export; export again", ErrFormat, r.dir, ts.name, err)
}

// countingReader counts the bytes read from r and stops when ctx is done.
type countingReader struct {
	ctx context.Context
	r   io.Reader
	n   int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// lineCounter counts lines as Reader.Scan does: every newline ends one, and bytes after the
// last newline are one more.
type lineCounter struct {
	newlines int64
	n        int64
	last     byte
}

func (l *lineCounter) Write(p []byte) (int, error) {
	l.newlines += int64(bytes.Count(p, []byte{'\n'}))
	if len(p) > 0 {
		l.n += int64(len(p))
		l.last = p[len(p)-1]
	}
	return len(p), nil
}

func (l *lineCounter) lines() int64 {
	if l.n > 0 && l.last != '\n' {
		return l.newlines + 1
	}
	return l.newlines
}
