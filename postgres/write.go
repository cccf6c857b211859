package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// PreferredBatchSize is the number of rows per batch the migrate engine writes into PostgreSQL
// (bulk.Capabilities.BatchSize): bigger COPY batches than the engine's 500 cut the per-batch
// costs of client and server; beyond 5,000 the process runs against its memory limit
// (docs/benchmarks.md, "Tuning values the ends declare").
const PreferredBatchSize = 5000

// PreferredWriters is the number of writers per table the migrate engine runs against
// PostgreSQL when --concurrency is not given (bulk.Capabilities.Writers): concurrent COPYs into
// one table contend for its last heap page and the right edge of its primary-key B-tree, so 2
// beat the engine's 4 (docs/benchmarks.md, "Tuning values the ends declare").
const PreferredWriters = 2

// Capabilities declares the store as an end of a move (bulk.Capabilities): batches of
// PreferredBatchSize rows, PreferredWriters writers per table and no writer handover (more
// COPYs into one table contend), one scan segment per table (a segment of a PostgreSQL scan
// is a full scan filtered by a hash of the owner, so N local segments cost the server N full
// scans), and Validated when the database guarantees UTF-8 text and JSON payloads (validated).
// Measurements behind each value: docs/benchmarks.md.
func (s *Store) Capabilities(ctx context.Context) bulk.Capabilities {
	return bulk.Capabilities{BatchSize: PreferredBatchSize, Writers: PreferredWriters, NoWriterHandover: true,
		MaxSegments: 1, Validated: s.validated(ctx)}
}

// WriteBatch writes recs (all of table t) under policy in one transaction.
//
// Every row is checked first (CheckRecord, §9.2); property_lookup rows are also checked for an
// actors row (the deferred foreign key would otherwise fail the commit). Rows that fail become
// Rejects with the reason; the rest are written. The UTF-8 and NUL check of unlimited text
// columns and the jsonb check of payloads are left to PostgreSQL, which refuses the same
// (checkRecord): when it does, nothing was written and the batch is checked in full and
// written again, so the result is the same.
// Policies:
//
//   - ConflictFail: COPY straight into the table. A key that already exists (or appears twice
//     in recs) fails the whole batch with an error wrapping actingweb.ErrConflict that names the
//     table and the first such key; nothing is written.
//   - ConflictSkip: COPY into a session temporary table, then INSERT ... ON CONFLICT DO
//     NOTHING. Existing keys and later duplicates within recs count as Skipped.
//   - ConflictOverwrite: the same with ON CONFLICT DO UPDATE of every non-key column (actors:
//     a NULL created_at keeps the stored one). Within recs the last row of a key wins; the
//     earlier ones count as Written (replaced).
//
// Written + Skipped + len(Rejects) == len(recs). On any error the transaction is rolled back
// and the error returned (never a commit that silently rolls back, §7.2 I9); the batch may then
// be retried whole. A record of another table is a caller error (ErrInvalid).
func (s *Store) WriteBatch(ctx context.Context, t actingweb.Table, recs []actingweb.Record, policy bulk.ConflictPolicy) (bulk.WriteResult, error) {
	res, err := s.writeBatch(ctx, t, recs, policy, true)
	if isDataException(err) {
		// PostgreSQL refused a value the quick checks leave to it (invalid UTF-8 or a NUL in
		// a text column, a payload jsonb refuses): nothing was written; check every row in full and write again, the
		// refused rows as Rejects.
		res, err = s.writeBatch(ctx, t, recs, policy, false)
	}
	return res, err
}

// writeBatch is WriteBatch with the quick or the full row checks (checkRecord).
func (s *Store) writeBatch(ctx context.Context, t actingweb.Table, recs []actingweb.Record, policy bulk.ConflictPolicy, quick bool) (bulk.WriteResult, error) {
	var res bulk.WriteResult
	sp, err := spec(t)
	if err != nil {
		return res, err
	}
	good := make([]actingweb.Record, 0, len(recs))
	for i, r := range recs {
		if r == nil || r.Table() != t {
			return res, fmt.Errorf("postgres: write %s: %w: record %d is %T, not a %s record", t, actingweb.ErrInvalid, i, r, t)
		}
		if reason := sp.checkRecord(r, quick); reason != "" {
			res.Rejects = append(res.Rejects, bulk.Reject{Table: t, Key: r.Key(), Reason: reason, Record: r})
			continue
		}
		good = append(good, r)
	}
	if t == actingweb.TablePropertyLookup && len(good) > 0 {
		if good, err = s.rejectOrphans(ctx, good, &res); err != nil {
			return bulk.WriteResult{}, err
		}
	}
	if len(good) == 0 {
		return res, nil
	}

	if policy == bulk.ConflictFail {
		// The primary key refuses a key that appears twice in good as it refuses one that
		// exists: the duplicate check runs only when the COPY fails (copyFail).
		n, err := s.copyFail(ctx, sp, good)
		if err != nil {
			return bulk.WriteResult{}, err
		}
		res.Written += n
		return res, nil
	}

	// Duplicate keys within the batch.
	seen := make(map[string]int, len(good))
	dedup := good[:0:0]
	for _, r := range good {
		k := strings.Join(sp.keyOf(r), "\x00") // NUL cannot occur in checked values
		if j, ok := seen[k]; ok {
			switch policy {
			case bulk.ConflictSkip:
				res.Skipped++
			default: // overwrite: the later row replaces the earlier one
				dedup[j] = r
				res.Written++
			}
			continue
		}
		seen[k] = len(dedup)
		dedup = append(dedup, r)
	}

	n, err := s.copyNew(ctx, sp, dedup, policy)
	if isUniqueViolation(err) {
		// A concurrent writer inserted one of the keys between the check and the COPY: the
		// transaction was rolled back; redo the batch with INSERT ... ON CONFLICT.
		n, err = s.insertOnConflict(ctx, sp, dedup, policy)
	}
	if err != nil {
		return bulk.WriteResult{}, err
	}
	res.Written += n
	if policy == bulk.ConflictSkip {
		res.Skipped += len(dedup) - n
	}
	return res, nil
}

// copyFail writes recs with COPY straight into the table. When the COPY fails (nothing
// written) and a key appears twice in recs, the error wraps ErrConflict and names the first
// repeated key (what a check before the COPY would have said); otherwise an existing key
// fails the batch with ErrConflict naming it. Returns the rows written.
func (s *Store) copyFail(ctx context.Context, sp *tableSpec, recs []actingweb.Record) (int, error) {
	// One COPY is one statement, so its own transaction: all rows or none (the deferred
	// foreign key of property_lookup is checked at its end), no BEGIN/COMMIT round trips.
	what := "write (copy)"
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		what = "write"
	} else {
		err = s.copyRecords(ctx, c.Conn(), pgx.Identifier{s.schema, string(sp.t)}, sp, recs)
		c.Release()
	}
	if err != nil {
		if r := firstRepeated(sp, recs); r != nil {
			return 0, fmt.Errorf("postgres: write %s: %w: key %s appears twice in the batch (policy fail); nothing written",
				sp.t, actingweb.ErrConflict, s.showKey(sp, r))
		}
		if isUniqueViolation(err) {
			return 0, s.conflictErr(ctx, sp, recs, err)
		}
		return 0, s.tableErr(sp.t, what, err)
	}
	return len(recs), nil
}

// firstRepeated returns the first record of recs whose key an earlier record has, or nil.
func firstRepeated(sp *tableSpec, recs []actingweb.Record) actingweb.Record {
	seen := make(map[string]bool, len(recs))
	for _, r := range recs {
		k := strings.Join(sp.keyOf(r), "\x00") // NUL cannot occur in checked values
		if seen[k] {
			return r
		}
		seen[k] = true
	}
	return nil
}

// copyRecords sends recs into table (columns sp.cols) with pgx's CopyFrom on conn (COPY ...
// FROM STDIN BINARY), each row as sp.values renders it.
func (s *Store) copyRecords(ctx context.Context, conn *pgx.Conn, table pgx.Identifier, sp *tableSpec, recs []actingweb.Record) error {
	var row []any
	_, err := conn.CopyFrom(ctx, table, sp.cols, pgx.CopyFromSlice(len(recs), func(i int) ([]any, error) {
		row = sp.values(recs[i], row[:0])
		return row, nil
	}))
	return err
}

// copyNew is the fast path of skip and overwrite: one query finds which keys of recs exist,
// the new rows go in by COPY straight into the table (PostgreSQL's multi-row insert, about
// three times faster than INSERT ... SELECT), and under overwrite the existing ones are
// replaced by INSERT ... ON CONFLICT DO UPDATE. One transaction. A unique violation (a
// concurrent insert after the check) is returned as is, the transaction rolled back.
func (s *Store) copyNew(ctx context.Context, sp *tableSpec, recs []actingweb.Record, policy bulk.ConflictPolicy) (int, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, s.tableErr(sp.t, "write", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // no-op after Commit
	n, err := s.copyNewTx(ctx, tx, sp, recs, policy)
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(ctx); err != nil {
		if isUniqueViolation(err) {
			return 0, err
		}
		return 0, s.tableErr(sp.t, "write (commit)", err)
	}
	return n, nil
}

// copyNewTx is copyNew inside the caller's transaction tx (also the apply of a sync's
// upserts, ApplyChanges): existing keys looked up, new rows by COPY, existing ones replaced
// under overwrite. Returns the rows written; a unique violation is returned as is.
func (s *Store) copyNewTx(ctx context.Context, tx pgx.Tx, sp *tableSpec, recs []actingweb.Record, policy bulk.ConflictPolicy) (int, error) {
	existing, err := s.existingKeys(ctx, tx, sp, recs)
	if err != nil {
		return 0, err
	}
	fresh, old := recs, []actingweb.Record(nil)
	if len(existing) > 0 {
		fresh = make([]actingweb.Record, 0, len(recs))
		for _, r := range recs {
			if existing[strings.Join(sp.keyOf(r), "\x00")] {
				old = append(old, r)
			} else {
				fresh = append(fresh, r)
			}
		}
	}
	n := 0
	if len(fresh) > 0 {
		if err := s.copyRecords(ctx, tx.Conn(), pgx.Identifier{s.schema, string(sp.t)}, sp, fresh); err != nil {
			if isUniqueViolation(err) {
				return 0, err
			}
			return 0, s.tableErr(sp.t, "write (copy)", err)
		}
		n = len(fresh)
	}
	if len(old) > 0 && policy == bulk.ConflictOverwrite {
		m, err := s.upsertTx(ctx, tx, sp, old, policy)
		if err != nil {
			return 0, err
		}
		n += m
	}
	return n, nil
}

// insertOnConflict is the slow path of skip and overwrite: INSERT ... ON CONFLICT through a
// temporary table, one transaction.
func (s *Store) insertOnConflict(ctx context.Context, sp *tableSpec, recs []actingweb.Record, policy bulk.ConflictPolicy) (int, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, s.tableErr(sp.t, "write", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // no-op after Commit
	n, err := s.upsertTx(ctx, tx, sp, recs, policy)
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, s.tableErr(sp.t, "write (commit)", err)
	}
	return n, nil
}

// upsertTx COPYs recs into the session's temporary table aw_tmp_<table> (created on first use,
// emptied at every commit) and moves them with INSERT ... ON CONFLICT DO NOTHING (skip) or DO
// UPDATE (overwrite). Returns the rows inserted or updated.
func (s *Store) upsertTx(ctx context.Context, tx pgx.Tx, sp *tableSpec, recs []actingweb.Record, policy bulk.ConflictPolicy) (int, error) {
	t := sp.t
	tmp := "aw_tmp_" + string(t)
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS `+pgx.Identifier{tmp}.Sanitize()+
		` (LIKE `+s.qtable(t)+`) ON COMMIT DELETE ROWS`); err != nil {
		return 0, s.tableErr(t, "write (temporary table)", err)
	}
	if err := s.copyRecords(ctx, tx.Conn(), pgx.Identifier{"pg_temp", tmp}, sp, recs); err != nil {
		return 0, s.tableErr(t, "write (copy)", err)
	}
	cols := quoteList(sp.cols)
	ins := `INSERT INTO ` + s.qtable(t) + ` AS t (` + cols + `) SELECT ` + cols + ` FROM pg_temp.` + pgx.Identifier{tmp}.Sanitize() +
		` ON CONFLICT (` + quoteList(sp.pk) + `) DO `
	if policy == bulk.ConflictSkip {
		ins += `NOTHING`
	} else {
		ins += `UPDATE SET ` + sp.update
	}
	tag, err := tx.Exec(ctx, ins)
	if err != nil {
		return 0, s.tableErr(t, "write (insert)", err)
	}
	// Empty the temporary table now too: a later statement of this transaction must not see it.
	if _, err := tx.Exec(ctx, `DELETE FROM pg_temp.`+pgx.Identifier{tmp}.Sanitize()); err != nil {
		return 0, s.tableErr(t, "write (temporary table)", err)
	}
	return int(tag.RowsAffected()), nil
}

// existingKeys returns the keys (parts joined by NUL) of recs that exist in the table.
func (s *Store) existingKeys(ctx context.Context, q pgxQuerier, sp *tableSpec, recs []actingweb.Record) (map[string]bool, error) {
	args, keys, on := keyJoin(sp, recs)
	q2 := `SELECT ` + quoteListPrefixed("t.", sp.pk) + ` FROM ` + s.qtable(sp.t) + ` t JOIN ` + keys + ` ON ` + on
	rows, err := q.Query(ctx, q2, args...)
	if err != nil {
		return nil, s.tableErr(sp.t, "write (check existing keys)", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	key := make([]string, len(sp.pk))
	dst := make([]any, len(key))
	for i := range key {
		dst[i] = &key[i]
	}
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return nil, s.tableErr(sp.t, "write (check existing keys)", err)
		}
		out[strings.Join(key, "\x00")] = true
	}
	if err := rows.Err(); err != nil {
		return nil, s.tableErr(sp.t, "write (check existing keys)", err)
	}
	return out, nil
}

// rejectOrphans moves lookup rows whose actor has no actors row into res.Rejects.
func (s *Store) rejectOrphans(ctx context.Context, recs []actingweb.Record, res *bulk.WriteResult) ([]actingweb.Record, error) {
	ids := make([]string, 0, len(recs))
	for _, r := range recs {
		ids = append(ids, r.Owner())
	}
	rows, err := s.pool.Query(ctx, `SELECT id FROM `+s.qtable(actingweb.TableActors)+` WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, s.tableErr(actingweb.TableActors, "check lookup owners in", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, s.tableErr(actingweb.TableActors, "check lookup owners in", err)
	}
	exists := make(map[string]bool, len(found))
	for _, id := range found {
		exists[id] = true
	}
	out := recs[:0:0]
	for _, r := range recs {
		if !exists[r.Owner()] {
			res.Rejects = append(res.Rejects, bulk.Reject{Table: actingweb.TablePropertyLookup, Key: r.Key(), Record: r,
				Reason: fmt.Sprintf("orphan: actor %q has no actors row (foreign key fk_property_lookup_actor)", r.Owner())})
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// showKey renders a record's primary key for messages; a lookup value is withheld.
func (s *Store) showKey(sp *tableSpec, r actingweb.Record) string {
	if l, ok := r.(*actingweb.PropertyLookup); ok {
		return fmt.Sprintf("%s / <value withheld> (actor %s)", l.PropertyName, l.ActorID)
	}
	return strings.Join(sp.keyOf(r), " / ")
}

// conflictErr builds the ErrConflict error of a failed ConflictFail batch, naming the first
// (in key order) existing key of the batch.
func (s *Store) conflictErr(ctx context.Context, sp *tableSpec, recs []actingweb.Record, cause error) error {
	args, keys, on := keyJoin(sp, recs)
	q := `SELECT ` + quoteListPrefixed("t.", sp.pk) + `, t.` + pgx.Identifier{sp.owner}.Sanitize() + ` FROM ` + s.qtable(sp.t) + ` t JOIN ` +
		keys + ` ON ` + on + ` ORDER BY ` + quoteListPrefixed("t.", sp.pk) + ` LIMIT 1`
	key := make([]string, len(sp.pk)+1)
	dst := make([]any, len(key))
	for i := range key {
		dst[i] = &key[i]
	}
	if err := s.pool.QueryRow(ctx, q, args...).Scan(dst...); err != nil {
		var pe *pgconn.PgError
		errors.As(cause, &pe)
		constraint := ""
		if pe != nil {
			constraint = " (" + pe.ConstraintName + ")"
		}
		return fmt.Errorf("postgres: write %s.%s: %w: a key of the batch exists%s (policy fail); nothing written", s.schema, sp.t, actingweb.ErrConflict, constraint)
	}
	shown := strings.Join(key[:len(sp.pk)], " / ")
	if sp.t == actingweb.TablePropertyLookup {
		shown = fmt.Sprintf("%s / <value withheld> (actor %s)", key[0], key[len(sp.pk)])
	}
	return fmt.Errorf("postgres: write %s.%s: %w: key %s exists (policy fail); nothing written", s.schema, sp.t, actingweb.ErrConflict, shown)
}

func quoteListPrefixed(prefix string, cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = prefix + pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(q, ", ")
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// isDataException reports an error of SQLSTATE class 22 (data exception: invalid byte
// sequence, value too long, invalid JSON, ...), PostgreSQL's refusal of a value.
func isDataException(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && strings.HasPrefix(pe.Code, "22")
}

// keyJoin renders the primary keys of recs as a set to join a table (aliased t) with: the
// query arguments (one text array per key column), the set (unnest(...) AS k(c0, ...)) and the
// join condition (t.<pk0> = k.c0 AND ...).
func keyJoin(sp *tableSpec, recs []actingweb.Record) (args []any, keys, on string) {
	arrays := make([][]string, len(sp.pk))
	for i := range arrays {
		arrays[i] = make([]string, 0, len(recs))
	}
	for _, r := range recs {
		for i, v := range sp.keyOf(r) {
			arrays[i] = append(arrays[i], v)
		}
	}
	args = make([]any, len(arrays))
	ph := make([]string, len(arrays))
	cols := make([]string, len(arrays))
	conds := make([]string, len(arrays))
	for i := range arrays {
		args[i] = arrays[i]
		ph[i] = fmt.Sprintf("$%d::text[]", i+1)
		cols[i] = "c" + strconv.Itoa(i)
		conds[i] = fmt.Sprintf("t.%s = k.c%d", pgx.Identifier{sp.pk[i]}.Sanitize(), i)
	}
	return args, "unnest(" + strings.Join(ph, ", ") + ") AS k(" + strings.Join(cols, ", ") + ")", strings.Join(conds, " AND ")
}
