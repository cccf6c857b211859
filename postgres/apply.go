package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/capture"
	"github.com/jackc/pgx/v5"
)

// ApplyChanges writes the final state of a run of captured changes in one transaction
// (capture.Sink): upserts replace the rows of their keys (INSERT ... ON CONFLICT DO
// UPDATE through the session's temporary table, as WriteBatch with ConflictOverwrite),
// deletes remove the rows of their keys. The property lookup table's foreign key is checked at
// commit (it is deferred), so the order of tables inside the transaction does not matter. A row
// the table cannot hold (CheckRecord) fails the whole transaction with an error naming table and
// key: applying the other changes without it would leave the target silently behind.
func (s *Store) ApplyChanges(ctx context.Context, upserts, deletes []actingweb.Record) error {
	ups := map[actingweb.Table][]actingweb.Record{}
	for _, r := range upserts {
		if l, ok := r.(*actingweb.PropertyLookup); ok && l.Value == nil {
			ups[r.Table()] = append(ups[r.Table()], r) // its value is found in lookupValues
			continue
		}
		if reason := CheckRecord(r); reason != "" {
			return fmt.Errorf("postgres: apply a change to %s, key %s: %w: %s", r.Table(), actingweb.KeyString(r.Key()), actingweb.ErrInvalid, reason)
		}
		ups[r.Table()] = append(ups[r.Table()], r)
	}
	dels := map[actingweb.Table][]actingweb.Record{}
	for _, r := range deletes {
		dels[r.Table()] = append(dels[r.Table()], r)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: apply changes to %s: %w", describe(s.cfg), err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // no-op after Commit
	var orphans []actingweb.Record
	for _, t := range actingweb.Tables {
		sp, err := spec(t)
		if err != nil {
			return err
		}
		recs := dels[t]
		if t == actingweb.TablePropertyLookup {
			if recs, err = s.deleteLookupDigests(ctx, tx, recs); err != nil {
				return err
			}
		}
		if len(recs) > 0 {
			if err := s.deleteKeys(ctx, tx, sp, recs); err != nil {
				return err
			}
		}
		recs = ups[t]
		if t == actingweb.TablePropertyLookup {
			var pending, missing []actingweb.Record
			if recs, pending, err = s.lookupValues(ctx, tx, recs); err != nil {
				return err
			}
			if recs, missing, err = s.splitOrphans(ctx, tx, recs); err != nil {
				return err
			}
			orphans = append(pending, missing...)
		}
		switch {
		case len(recs) == 0:
		case len(recs) <= smallApply:
			if err := s.upsertValuesTx(ctx, tx, sp, recs); err != nil {
				return err
			}
		default:
			// New keys by COPY, existing ones by INSERT ... ON CONFLICT DO UPDATE, as
			// WriteBatch's overwrite does.
			if _, err := s.copyNewTx(ctx, tx, sp, recs, bulk.ConflictOverwrite); err != nil {
				return err
			}
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: apply changes to %s (commit): %w", describe(s.cfg), err)
	}
	if len(orphans) > 0 {
		return &capture.OwnerMissingError{Records: orphans}
	}
	return nil
}

// smallApply is the most upserts of one table ApplyChanges writes with one INSERT ... VALUES
// ... ON CONFLICT DO UPDATE statement (upsertValuesTx) instead of the COPY path of bulk writes
// (copyNewTx: a query for the existing keys, COPY, and for existing keys a temporary table),
// whose round trips cost several milliseconds for the one row of a dual write's copy.
const smallApply = 16

// upsertValuesTx writes recs (at most smallApply; of a key given twice the last) with one INSERT ... VALUES ...
// ON CONFLICT DO UPDATE: the final rows are those of copyNewTx with ConflictOverwrite
// (TestApplySmallAndBulkAgree).
func (s *Store) upsertValuesTx(ctx context.Context, tx pgx.Tx, sp *tableSpec, recs []actingweb.Record) error {
	// one row per key, the last (as the COPY path would refuse a key twice, this must not)
	last := make(map[string]int, len(recs))
	for i, r := range recs {
		last[strings.Join(sp.keyOf(r), "\x00")] = i
	}
	if len(last) < len(recs) {
		kept := make([]actingweb.Record, 0, len(last))
		for i, r := range recs {
			if last[strings.Join(sp.keyOf(r), "\x00")] == i {
				kept = append(kept, r)
			}
		}
		recs = kept
	}
	args := make([]any, 0, len(recs)*len(sp.cols))
	var b strings.Builder
	b.WriteString(`INSERT INTO ` + s.qtable(sp.t) + ` AS t (` + quoteList(sp.cols) + `) VALUES `)
	for i, r := range recs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range sp.cols {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("$" + strconv.Itoa(len(args)+j+1))
		}
		b.WriteByte(')')
		args = sp.values(r, args)
	}
	b.WriteString(` ON CONFLICT (` + quoteList(sp.pk) + `) DO UPDATE SET ` + sp.update)
	if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
		return s.tableErr(sp.t, "apply upserts", err)
	}
	return nil
}

// splitOrphans separates the lookup rows whose owner has no actor row in the transaction (the
// deferred foreign key would fail the commit).
func (s *Store) splitOrphans(ctx context.Context, tx pgx.Tx, recs []actingweb.Record) (ok, orphans []actingweb.Record, err error) {
	if len(recs) == 0 {
		return recs, nil, nil
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.(*actingweb.PropertyLookup).ActorID
	}
	rows, err := tx.Query(ctx, `SELECT id FROM `+s.qtable(actingweb.TableActors)+` WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, nil, s.tableErr(actingweb.TableActors, "read owners of lookup rows", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, nil, s.tableErr(actingweb.TableActors, "read owners of lookup rows", err)
	}
	have := make(map[string]bool, len(found))
	for _, id := range found {
		have[id] = true
	}
	for _, r := range recs {
		if have[r.(*actingweb.PropertyLookup).ActorID] {
			ok = append(ok, r)
		} else {
			orphans = append(orphans, r)
		}
	}
	return ok, orphans, nil
}

// deleteKeys deletes the rows whose primary keys are those of recs, in one statement.
func (s *Store) deleteKeys(ctx context.Context, tx pgx.Tx, sp *tableSpec, recs []actingweb.Record) error {
	args, keys, on := keyJoin(sp, recs)
	q := `DELETE FROM ` + s.qtable(sp.t) + ` t USING ` + keys + ` WHERE ` + on
	if _, err := tx.Exec(ctx, q, args...); err != nil {
		return s.tableErr(sp.t, "apply deletes", err)
	}
	return nil
}

// GetRecord reads the row with key's primary key (capture.Sink); ErrNotFound when
// absent. A property lookup key without its value (a DynamoDB row carries only the digest,
// §3.5) is read by property name and digest.
func (s *Store) GetRecord(ctx context.Context, key actingweb.Record) (actingweb.Record, error) {
	sp, err := spec(key.Table())
	if err != nil {
		return nil, err
	}
	var args []any
	var where []string
	if l, ok := key.(*actingweb.PropertyLookup); ok && l.Value == nil {
		args = []any{l.PropertyName, l.LookupKey}
		where = []string{"property_name = $1", lookupDigest + " = $2"}
	} else {
		for i, p := range sp.keyOf(key) {
			args = append(args, p)
			where = append(where, pgx.Identifier{sp.pk[i]}.Sanitize()+" = $"+strconv.Itoa(i+1))
		}
	}
	// One statement reads consistently on its own; only a store inside a replication slot's
	// snapshot reads in a transaction (beginRead).
	var q pgxQuerier = s.pool
	if s.snapshot != "" {
		tx, err := s.beginRead(ctx)
		if err != nil {
			return nil, s.tableErr(sp.t, "read", err)
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		q = tx
	}
	rows, err := q.Query(ctx, `SELECT `+quoteList(sp.cols)+` FROM `+s.qtable(sp.t)+` WHERE `+strings.Join(where, " AND "), args...)
	if err != nil {
		return nil, s.tableErr(sp.t, "read", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, s.tableErr(sp.t, "read", err)
		}
		return nil, fmt.Errorf("postgres: %s key %s: %w", sp.t, actingweb.KeyString(key.Key()), actingweb.ErrNotFound)
	}
	rec, err := sp.scan(rows)
	if err != nil {
		return nil, s.tableErr(sp.t, "read", err)
	}
	return rec, nil
}

// lookupDigest is the SQL of actingweb.LookupKey over a property_lookup row (§3.5).
const lookupDigest = `encode(sha256(convert_to(property_name, 'UTF8') || '\x00'::bytea || convert_to(value, 'UTF8')), 'hex')`

// deleteLookupDigests deletes the lookup rows given without their value (a DynamoDB source
// keeps only the digest, §3.5) by property name, owner and digest, and returns the others.
func (s *Store) deleteLookupDigests(ctx context.Context, tx pgx.Tx, recs []actingweb.Record) ([]actingweb.Record, error) {
	var rest []actingweb.Record
	for _, r := range recs {
		l := r.(*actingweb.PropertyLookup)
		if l.Value != nil {
			rest = append(rest, r)
			continue
		}
		q := `DELETE FROM ` + s.qtable(actingweb.TablePropertyLookup) + ` WHERE property_name = $1 AND ` + lookupDigest + ` = $2`
		args := []any{l.PropertyName, l.LookupKey}
		if l.ActorID != "" {
			q += ` AND actor_id = $3`
			args = append(args, l.ActorID)
		}
		if _, err := tx.Exec(ctx, q, args...); err != nil {
			return nil, s.tableErr(actingweb.TablePropertyLookup, "apply deletes", err)
		}
	}
	return rest, nil
}

// lookupValues completes lookup rows given without their value (a DynamoDB source) from the
// owner's property of that name, as it stands in the transaction (the batch's property changes
// applied). A row whose owner holds no value with that digest yet is returned in pending: the
// property row may still be on its way, or it changed later and the lookup row's own change
// follows (which replaces the held one). Rows with a value pass.
func (s *Store) lookupValues(ctx context.Context, tx pgx.Tx, recs []actingweb.Record) (out, pending []actingweb.Record, err error) {
	for _, r := range recs {
		l := r.(*actingweb.PropertyLookup)
		if l.Value != nil {
			out = append(out, r)
			continue
		}
		var v string
		err := tx.QueryRow(ctx, `SELECT value FROM `+s.qtable(actingweb.TableProperties)+` WHERE id = $1 AND name = $2`, l.ActorID, l.PropertyName).Scan(&v)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && actingweb.LookupKey(l.PropertyName, v) != l.LookupKey) {
			pending = append(pending, r)
			continue
		}
		if err != nil {
			return nil, nil, s.tableErr(actingweb.TableProperties, "read the value of a lookup row", err)
		}
		full := actingweb.NewPropertyLookup(l.PropertyName, v, l.ActorID)
		if reason := CheckRecord(&full); reason != "" {
			return nil, nil, fmt.Errorf("postgres: apply a change to %s, key %s: %w: %s", full.Table(), actingweb.KeyString(full.Key()), actingweb.ErrInvalid, reason)
		}
		out = append(out, &full)
	}
	return out, pending, nil
}
