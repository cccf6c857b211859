package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/jackc/pgx/v5"
)

// scanCursor is the Page.Cursor of Scan, JSON. A key-order scan's cursor is
// {"t": table, "k": [primary key values of the page's last row]}; a physical-order scan's
// (ScanOptions.AnyOrder) is {"t": table, "n": rows read so far}, which names no position a
// later scan could continue from (see Scan).
type scanCursor struct {
	T string   `json:"t"`
	K []string `json:"k,omitempty"`
	N int64    `json:"n,omitempty"`
}

// Count returns the exact number of rows of t (SELECT count(*)).
func (s *Store) Count(ctx context.Context, t actingweb.Table) (int64, error) {
	if _, err := spec(t); err != nil {
		return 0, err
	}
	tx, err := s.beginRead(ctx)
	if err != nil {
		return 0, s.tableErr(t, "count", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // nothing to keep
	var n int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+s.qtable(t)).Scan(&n); err != nil {
		return 0, s.tableErr(t, "count", err)
	}
	return n, nil
}

// beginRead starts a read-only transaction, inside the store's exported snapshot when it has
// one (inSnapshot: repeatable read, SET TRANSACTION SNAPSHOT).
func (s *Store) beginRead(ctx context.Context) (pgx.Tx, error) {
	if s.snapshot == "" {
		return s.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `SET TRANSACTION SNAPSHOT `+quoteLiteral(s.snapshot)); err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("read inside the replication slot's snapshot %s: %w", s.snapshot, err)
	}
	return tx, nil
}

// quoteLiteral quotes s as an SQL string literal (for statements that take no parameters).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// rowScanner is what a tableSpec's scan reads a row with (pgx.Rows).
type rowScanner interface{ Scan(dest ...any) error }

// Scan streams table t to fn, PageSize rows per page (DefaultPageSize when unset); a page
// also ends once its rows hold bulk.MaxPageBytes. The rows of one call are read by one
// streaming query in one read-only transaction (one snapshot); an empty table yields a single
// empty page with Last set. Each page carries a Cursor (scanCursor).
//
// Without ScanOptions.AnyOrder the rows come in primary-key order (the columns' collation, the
// order of the primary-key index), read by a walk of that index, and a scan started with a
// page's Cursor resumes after the page's last row, whatever was written since.
//
// With AnyOrder they come in physical order, read by a sequential scan as pg_dump does (35-65 %
// less server CPU than the index walk; docs/migration.md). Such a position cannot be resumed
// safely on a live server: rows inserted or updated since may land on either side of it, and
// telling whether any were needs a transaction horizon that any long transaction anywhere in
// the cluster holds back. A scan started with a physical-order Cursor therefore fails with
// actingweb.ErrStaleCursor, and the caller reads the table again from its start.
//
// Segment i of TotalSegments N holds the rows whose owner column (id; actor_id for
// property_lookup) satisfies abs(hashtext(owner)) % N = i, so segments are disjoint and
// together cover the table.
func (s *Store) Scan(ctx context.Context, t actingweb.Table, opts bulk.ScanOptions, fn func(bulk.Page) error) error {
	sp, err := spec(t)
	if err != nil {
		return err
	}
	pageSize := opts.PageSize
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	physical := opts.AnyOrder
	var cur scanCursor
	if opts.Cursor != "" {
		err := json.Unmarshal([]byte(opts.Cursor), &cur)
		if err != nil || cur.T != string(t) || (cur.N == 0 && len(cur.K) != len(sp.pk)) {
			return fmt.Errorf("postgres: scan %s: %w: cursor %q is not a cursor of this table", t, actingweb.ErrInvalid, opts.Cursor)
		}
		if cur.N > 0 {
			return fmt.Errorf("postgres: scan %s.%s: %w (a physical-order position, after %d rows, is not resumed: rows written since may lie on either side of it; read the table again from its start)",
				s.schema, t, actingweb.ErrStaleCursor, cur.N)
		}
		physical = false
	}
	if opts.TotalSegments > 1 && (opts.Segment < 0 || opts.Segment >= opts.TotalSegments) {
		return fmt.Errorf("postgres: scan %s: %w: segment %d of %d", t, actingweb.ErrInvalid, opts.Segment, opts.TotalSegments)
	}

	// One read-only transaction. Key order: its settings make the plan a walk of the
	// primary-key index, so rows stream from the first one on, in bounded server memory
	// (left to itself the planner may sort instead, a parallel one on the bench data set's
	// attributes and subscription_diffs, whose rows are in key order on disk anyway: that
	// holds the rows back until the whole table is sorted, spills to disk beyond work_mem and
	// cost a third more server CPU for attributes). Physical order: a sequential scan in one
	// process (no parallel workers: the client needs the other core).
	set := "SET LOCAL enable_sort = off; SET LOCAL max_parallel_workers_per_gather = 0"
	if physical {
		set = "SET LOCAL max_parallel_workers_per_gather = 0"
	}
	tx, err := s.beginRead(ctx)
	if err != nil {
		return s.tableErr(t, "scan", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // nothing to keep
	if _, err := tx.Exec(ctx, set); err != nil {
		return s.tableErr(t, "scan", err)
	}

	var where []string
	var args []any
	if opts.Cursor != "" {
		ph := make([]string, len(cur.K))
		for i, k := range cur.K {
			args = append(args, k)
			ph[i] = "$" + strconv.Itoa(len(args))
		}
		where = append(where, "("+quoteList(sp.pk)+") > ("+strings.Join(ph, ", ")+")")
	}
	if opts.TotalSegments > 1 {
		args = append(args, int64(opts.TotalSegments), int64(opts.Segment))
		where = append(where, fmt.Sprintf("abs(hashtext(%s)::bigint) %% $%d = $%d",
			pgx.Identifier{sp.owner}.Sanitize(), len(args)-1, len(args)))
	}
	q := "SELECT " + quoteList(sp.cols) + " FROM " + s.qtable(t)
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if !physical {
		q += " ORDER BY " + quoteList(sp.pk)
	}
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return s.tableErr(t, "scan", err)
	}
	defer rows.Close()
	page := make([]actingweb.Record, 0, min(pageSize, 10000))
	cursor := opts.Cursor
	var last actingweb.Record
	var read int64 // rows read, for a physical-order cursor
	emit := func(isLast bool) error {
		switch {
		case physical && len(page) > 0:
			b, _ := json.Marshal(scanCursor{T: string(t), N: read})
			cursor = string(b)
		case !physical && last != nil:
			b, _ := json.Marshal(scanCursor{T: string(t), K: sp.keyOf(last)})
			cursor = string(b)
		}
		err := fn(bulk.Page{Records: page, Cursor: cursor, Last: isLast})
		page = make([]actingweb.Record, 0, cap(page))
		return err
	}
	n := len(sp.cols)
	raw := rawRow{own: opts.Retain}
	pageBytes := 0 // bytes of the page's rows as received
	for rows.Next() {
		if len(page) == pageSize || pageBytes >= bulk.MaxPageBytes {
			if err := emit(false); err != nil {
				return err
			}
			pageBytes = 0
		}
		if raw.fds == nil {
			raw.fds = rows.FieldDescriptions()[:n]
		}
		vals := rows.RawValues()
		for _, v := range vals {
			pageBytes += len(v)
		}
		raw.load(vals)
		var r actingweb.Record
		if raw.ok {
			r, raw.ok = sp.decode(&raw)
		}
		if !raw.ok {
			if r, err = sp.scan(rows); err != nil {
				return s.tableErr(t, "scan", err)
			}
		}
		page = append(page, r)
		last = r
		read++
	}
	if err := rows.Err(); err != nil {
		return s.tableErr(t, "scan", err)
	}
	return emit(true)
}
