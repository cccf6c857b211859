package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	actingweb "github.com/actingweb/actingweb-go"
)

// ApplyChanges writes the final state of a run of captured changes in one transaction
// (actingweb.ChangeSink): upserts replace the rows of their keys (INSERT ... ON CONFLICT DO
// UPDATE through the session's temporary table, as WriteBatch with ConflictOverwrite),
// deletes remove the rows of their keys. The property lookup table's foreign key is checked at
// commit (it is deferred), so the order of tables inside the transaction does not matter. A row
// the table cannot hold (CheckRecord) fails the whole transaction with an error naming table and
// key: applying the other changes without it would leave the target silently behind.
func (s *Store) ApplyChanges(ctx context.Context, upserts, deletes []actingweb.Record) error {
	ups := map[actingweb.Table][]actingweb.Record{}
	for _, r := range upserts {
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
	for _, t := range actingweb.Tables {
		sp, err := spec(t)
		if err != nil {
			return err
		}
		if recs := dels[t]; len(recs) > 0 {
			if err := s.deleteKeys(ctx, tx, sp, recs); err != nil {
				return err
			}
		}
		if recs := ups[t]; len(recs) > 0 {
			if _, err := s.upsertTx(ctx, tx, sp, recs, actingweb.ConflictOverwrite); err != nil {
				return err
			}
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: apply changes to %s (commit): %w", describe(s.cfg), err)
	}
	return nil
}

// deleteKeys deletes the rows whose primary keys are those of recs, in one statement.
func (s *Store) deleteKeys(ctx context.Context, tx pgx.Tx, sp *tableSpec, recs []actingweb.Record) error {
	arrays := make([][]string, len(sp.pk))
	for _, r := range recs {
		for i, k := range sp.keyOf(r) {
			arrays[i] = append(arrays[i], k)
		}
	}
	args := make([]any, len(arrays))
	ph := make([]string, len(arrays))
	for i := range arrays {
		args[i] = arrays[i]
		ph[i] = "$" + strconv.Itoa(i+1) + "::text[]"
	}
	q := `DELETE FROM ` + s.qtable(sp.t) + ` WHERE (` + quoteList(sp.pk) + `) IN (SELECT * FROM unnest(` + strings.Join(ph, ", ") + `))`
	if _, err := tx.Exec(ctx, q, args...); err != nil {
		return s.tableErr(sp.t, "apply deletes", err)
	}
	return nil
}

// GetRecord reads the row with key's primary key (actingweb.ChangeSink); ErrNotFound when
// absent.
func (s *Store) GetRecord(ctx context.Context, key actingweb.Record) (actingweb.Record, error) {
	sp, err := spec(key.Table())
	if err != nil {
		return nil, err
	}
	parts := sp.keyOf(key)
	args := make([]any, len(parts))
	where := make([]string, len(parts))
	for i, p := range parts {
		args[i] = p
		where[i] = pgx.Identifier{sp.pk[i]}.Sanitize() + " = $" + strconv.Itoa(i+1)
	}
	tx, err := s.beginRead(ctx)
	if err != nil {
		return nil, s.tableErr(sp.t, "read", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	rows, err := tx.Query(ctx, `SELECT `+quoteList(sp.cols)+` FROM `+s.qtable(sp.t)+` WHERE `+strings.Join(where, " AND "), args...)
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
