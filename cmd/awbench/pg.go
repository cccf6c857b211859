package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/blockio"
	"github.com/actingweb/actingweb-go/postgres"
)

// pgFlags are the connection flags of the PostgreSQL subcommands.
func pgPool(ctx context.Context, url string, conns int) (*pgxpool.Pool, error) {
	if url == "" {
		url = os.Getenv("ACTINGWEB_TEST_PG_URL")
	}
	if url == "" {
		return nil, fmt.Errorf("--pg (or ACTINGWEB_TEST_PG_URL) is required")
	}
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("--pg: %w", err)
	}
	pc.MaxConns = int32(max(conns, 2))
	pc.ConnConfig.RuntimeParams["timezone"] = "UTC"
	return pgxpool.NewWithConfig(ctx, pc)
}

func checkSchema(s string) error {
	if err := postgres.ValidateSchemaName(s); err != nil {
		return fmt.Errorf("schema %q: %w", s, err)
	}
	return nil
}

// owner is the column the segments of a table are hashed on (as postgres.Store.Scan does).
func owner(t actingweb.Table) string {
	if t == actingweb.TablePropertyLookup {
		return "actor_id"
	}
	return "id"
}

// pgTable is one table loaded into memory.
type pgTable struct {
	t    actingweb.Table
	cols []string
	rows [][]any
}

// loadPG reads every row of the nine tables of schema into memory (jsonb as raw bytes, so
// CopyFrom passes it through unchanged).
func loadPG(ctx context.Context, pool *pgxpool.Pool, schema string) ([]pgTable, int64, error) {
	var out []pgTable
	var total int64
	for _, t := range actingweb.Tables {
		rows, err := pool.Query(ctx, "SELECT * FROM "+pgx.Identifier{schema, string(t)}.Sanitize())
		if err != nil {
			return nil, 0, fmt.Errorf("load %s.%s: %w", schema, t, err)
		}
		fds := rows.FieldDescriptions()
		tb := pgTable{t: t}
		for _, fd := range fds {
			tb.cols = append(tb.cols, fd.Name)
		}
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				rows.Close()
				return nil, 0, fmt.Errorf("load %s.%s: %w", schema, t, err)
			}
			for i, fd := range fds {
				if (fd.DataTypeOID == pgtype.JSONBOID || fd.DataTypeOID == pgtype.JSONOID) && vals[i] != nil {
					b, err := json.Marshal(vals[i])
					if err != nil {
						rows.Close()
						return nil, 0, err
					}
					vals[i] = b
				}
			}
			tb.rows = append(tb.rows, vals)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, 0, fmt.Errorf("load %s.%s: %w", schema, t, err)
		}
		total += int64(len(tb.rows))
		out = append(out, tb)
	}
	return out, total, nil
}

// runPGCopyFrom measures pgx CopyFrom of every row of schema --src (loaded first, untimed) into
// the same, empty tables of schema --dst: actors first (the foreign key), then each other table
// split into N contiguous parts copied in parallel, each part one COPY in its own transaction.
// --concurrency lists the N to measure (e.g. 1,4): one RESULT line each, the destination
// tables emptied (TRUNCATE, untimed) before every run.
func runPGCopyFrom(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("raw-pg-copyfrom", flag.ContinueOnError)
	url := fs.String("pg", "", "PostgreSQL URL (default $ACTINGWEB_TEST_PG_URL)")
	src := fs.String("src", "", "schema to read the rows from (required)")
	dst := fs.String("dst", "", "schema with tables at head to copy into; emptied first (required)")
	concList := fs.String("concurrency", "1", "parallel COPY streams per table (comma-separated list: one run each)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	concs, err := intList(*concList)
	if err != nil {
		return fmt.Errorf("--concurrency: %w", err)
	}
	if err := checkSchema(*src); err != nil {
		return err
	}
	if err := checkSchema(*dst); err != nil {
		return err
	}
	if *src == *dst {
		return fmt.Errorf("--src and --dst must differ")
	}
	pool, err := pgPool(ctx, *url, slices.Max(concs))
	if err != nil {
		return err
	}
	defer pool.Close()
	tables, total, err := loadPG(ctx, pool, *src)
	if err != nil {
		return err
	}
	var names []string
	for _, tb := range tables {
		names = append(names, pgx.Identifier{*dst, string(tb.t)}.Sanitize())
	}
	for _, conc := range concs {
		if _, err := pool.Exec(ctx, "TRUNCATE "+strings.Join(names, ", ")); err != nil {
			return fmt.Errorf("empty %s: %w", *dst, err)
		}
		// Warm the pool so connection set-up is not timed.
		var warm []*pgxpool.Conn
		for i := 0; i < conc; i++ {
			c, err := pool.Acquire(ctx)
			if err != nil {
				return err
			}
			warm = append(warm, c)
		}
		for _, c := range warm {
			c.Release()
		}
		start := time.Now()
		var copied atomic.Int64
		for _, tb := range tables {
			n := conc
			if tb.t == actingweb.TableActors || len(tb.rows) < 1000 {
				n = 1
			}
			g, gctx := errgroup.WithContext(ctx)
			per := (len(tb.rows) + n - 1) / n
			for k := 0; k < n; k++ {
				lo, hi := k*per, min((k+1)*per, len(tb.rows))
				if lo >= hi {
					continue
				}
				part := tb.rows[lo:hi]
				g.Go(func() error {
					c, err := pool.CopyFrom(gctx, pgx.Identifier{*dst, string(tb.t)}, tb.cols, pgx.CopyFromRows(part))
					copied.Add(c)
					if err != nil {
						return fmt.Errorf("copy into %s.%s: %w", *dst, tb.t, err)
					}
					return nil
				})
			}
			if err := g.Wait(); err != nil {
				return err
			}
		}
		d := time.Since(start)
		if copied.Load() != total {
			return fmt.Errorf("copied %d rows, loaded %d", copied.Load(), total)
		}
		result("raw-pg-copyfrom", total, d, fmt.Sprintf("concurrency=%d", conc))
	}
	return nil
}

// countWriter counts bytes written to io.Discard.
type countWriter struct{ n atomic.Int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n.Add(int64(len(p))); return len(p), nil }

// runPGCopyTo measures COPY ... TO STDOUT of every table of --schema, into io.Discard or, with
// --out DIR, into one file per table part (DIR/<table>.<part>.copy, 0600, 1 MiB buffered
// writes, fsynced when the part is done unless --fsync=false: the work of pg_dump, and of an
// export, whose files have to be on disk when it ends; with --direct the writes bypass the
// page cache as actingweb export's do, internal/blockio). Each table is split into --segments
// parts by the owner hash, --workers parts run at once.
func runPGCopyTo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("raw-pg-copyto", flag.ContinueOnError)
	url := fs.String("pg", "", "PostgreSQL URL (default $ACTINGWEB_TEST_PG_URL)")
	schema := fs.String("schema", "", "schema to read (required)")
	segments := fs.Int("segments", 1, "parts per table (owner hash)")
	workers := fs.Int("workers", 1, "parts copied at once")
	format := fs.String("format", "binary", "COPY format: text or binary")
	outDir := fs.String("out", "", "write the COPY output into files in this directory (created 0700) instead of discarding it")
	fsync := fs.Bool("fsync", true, "with --out: fsync each file when its COPY ended (as pg_dump and actingweb export do)")
	direct := fs.Bool("direct", false, "with --out: write with direct I/O where the file system allows it (as actingweb export does)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *outDir != "" {
		if err := os.MkdirAll(*outDir, 0o700); err != nil {
			return err
		}
	}
	if err := checkSchema(*schema); err != nil {
		return err
	}
	if *format != "text" && *format != "binary" {
		return fmt.Errorf("--format %q: text or binary", *format)
	}
	pool, err := pgPool(ctx, *url, *workers)
	if err != nil {
		return err
	}
	defer pool.Close()
	type task struct {
		t        actingweb.Table
		seg, tot int
	}
	var tasks []task
	for _, t := range actingweb.Tables {
		for k := 0; k < max(*segments, 1); k++ {
			tasks = append(tasks, task{t, k, max(*segments, 1)})
		}
	}
	var conns []*pgxpool.Conn
	for i := 0; i < *workers; i++ {
		c, err := pool.Acquire(ctx)
		if err != nil {
			return err
		}
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	ch := make(chan task)
	var rows atomic.Int64
	var bytes countWriter
	g, gctx := errgroup.WithContext(ctx)
	start := time.Now()
	for _, c := range conns {
		g.Go(func() error {
			for tk := range ch {
				q := "SELECT * FROM " + pgx.Identifier{*schema, string(tk.t)}.Sanitize()
				if tk.tot > 1 {
					q += fmt.Sprintf(" WHERE abs(hashtext(%s)::bigint) %% %d = %d", pgx.Identifier{owner(tk.t)}.Sanitize(), tk.tot, tk.seg)
				}
				var w io.Writer = &bytes
				var f fileSink
				if *outDir != "" {
					var err error
					if f, err = openCopyFile(filepath.Join(*outDir, fmt.Sprintf("%s.%d.copy", tk.t, tk.seg)), *direct); err != nil {
						return err
					}
					w = io.MultiWriter(f, &bytes)
				}
				tag, err := c.Conn().PgConn().CopyTo(gctx, w, "COPY ("+q+") TO STDOUT (FORMAT "+*format+")")
				if err != nil {
					return fmt.Errorf("copy %s.%s to stdout: %w", *schema, tk.t, err)
				}
				if f != nil {
					if err := f.Flush(); err != nil {
						return err
					}
					if *fsync {
						if err := f.Sync(); err != nil {
							return err
						}
					}
					if err := f.Close(); err != nil {
						return err
					}
				}
				rows.Add(tag.RowsAffected())
			}
			return nil
		})
	}
	var once sync.Once
	g.Go(func() error {
		defer once.Do(func() { close(ch) })
		for _, tk := range tasks {
			select {
			case ch <- tk:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	result("raw-pg-copyto", rows.Load(), time.Since(start), fmt.Sprintf("segments=%d workers=%d format=%s bytes=%d into=%s", *segments, *workers, *format, bytes.n.Load(), into(*outDir, *fsync, *direct)))
	return nil
}

// fileSink is a ceiling's output file: 1 MiB bufio over *os.File, or an internal/blockio.File.
type fileSink interface {
	io.Writer
	Flush() error
	Sync() error
	Close() error
}

type bufferedFile struct {
	*bufio.Writer
	f *os.File
}

func (b bufferedFile) Sync() error  { return b.f.Sync() }
func (b bufferedFile) Close() error { return b.f.Close() }

// openCopyFile creates (truncates) path, 0600, for writing through the page cache or, with
// direct, through internal/blockio (direct I/O where allowed).
func openCopyFile(path string, direct bool) (fileSink, error) {
	if direct {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		return blockio.Open(path, 0)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	return bufferedFile{bufio.NewWriterSize(f, 1<<20), f}, nil
}

func into(dir string, fsync, direct bool) string {
	s := "files"
	switch {
	case dir == "":
		return "discard"
	case direct:
		s += ",direct"
	}
	if fsync {
		s += ",fsync"
	}
	return s
}

// runPGDrop drops a schema and everything in it.
func runPGDrop(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("pg-drop", flag.ContinueOnError)
	url := fs.String("pg", "", "PostgreSQL URL (default $ACTINGWEB_TEST_PG_URL)")
	schema := fs.String("schema", "", "schema to drop (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkSchema(*schema); err != nil {
		return err
	}
	if *schema == "public" {
		return fmt.Errorf("refusing to drop schema public")
	}
	return dropSchema(ctx, *url, *schema)
}

// dropSchema drops schema (checked by the caller) and everything in it.
func dropSchema(ctx context.Context, url, schema string) error {
	pool, err := pgPool(ctx, url, 1)
	if err != nil {
		return err
	}
	defer pool.Close()
	_, err = pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	return err
}

// runPGVacuum runs VACUUM (ANALYZE) on every table of --schema (when given), then CHECKPOINT,
// untimed between the bench's steps: the rows a step just loaded get their hint bits and
// visibility map, autovacuum (which a bulk load triggers) finds nothing to do while the next
// step is measured, and no step starts with the dirty buffers of the one before to write out.
func runPGVacuum(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("pg-vacuum", flag.ContinueOnError)
	url := fs.String("pg", "", "PostgreSQL URL (default $ACTINGWEB_TEST_PG_URL)")
	schema := fs.String("schema", "", "schema whose tables to vacuum (none: CHECKPOINT only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var tables []actingweb.Table
	if *schema != "" {
		if err := checkSchema(*schema); err != nil {
			return err
		}
		tables = actingweb.Tables
	}
	pool, err := pgPool(ctx, *url, 1)
	if err != nil {
		return err
	}
	defer pool.Close()
	for _, t := range tables {
		if _, err := pool.Exec(ctx, "VACUUM (ANALYZE) "+pgx.Identifier{*schema, string(t)}.Sanitize()); err != nil {
			return fmt.Errorf("vacuum %s.%s: %w", *schema, t, err)
		}
	}
	_, err = pool.Exec(ctx, "CHECKPOINT")
	return err
}
