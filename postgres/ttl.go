package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// PurgeCounts is what PurgeExpiredAttributes deleted: rows in all, rows per bucket (bucket
// name -> rows) and the number of batches (statements that deleted at least one row).
type PurgeCounts struct {
	Rows    int64
	Batches int
	Buckets map[string]int64
}

// Add adds o's counts to c.
func (c *PurgeCounts) Add(o PurgeCounts) {
	c.Rows += o.Rows
	c.Batches += o.Batches
	if len(o.Buckets) > 0 && c.Buckets == nil {
		c.Buckets = make(map[string]int64, len(o.Buckets))
	}
	for b, n := range o.Buckets {
		c.Buckets[b] += n
	}
}

// DefaultPurgeBatch is the batch size of PurgeExpiredAttributes when batch is 0.
const DefaultPurgeBatch = 1000

// purgeExpiredSQL deletes at most $2 expired rows (ttl_timestamp < $1, epoch seconds; §6.9)
// and returns the rows it deleted per bucket. The rows are picked oldest expiry first through
// the partial index idx_attributes_ttl and locked with SKIP LOCKED, so a row an application
// transaction holds is left for a later batch instead of being waited for (and a row whose
// TTL was renewed before the lock is read again and no longer qualifies); the DELETE then
// fetches the locked rows by their physical address (a TID scan), which the lock keeps
// stable until the statement ends. (Joining on the primary key instead lets the planner pick
// a sequential scan of the whole table when the batch is large against the table.)
const purgeExpiredSQL = `WITH gone AS (
	DELETE FROM {attributes} WHERE ctid = ANY (ARRAY(
		SELECT ctid FROM {attributes}
		WHERE ttl_timestamp IS NOT NULL AND ttl_timestamp < $1
		ORDER BY ttl_timestamp
		LIMIT $2
		FOR UPDATE SKIP LOCKED))
	RETURNING bucket
)
SELECT bucket, count(*) FROM gone GROUP BY bucket`

// PurgeExpiredAttributes deletes every attribute with ttl_timestamp < now (all owners and
// buckets; §6.9: the purge removes rows whose expiry has passed, strict reads already hide
// those at now) in batches of at most batch rows (0 = DefaultPurgeBatch). Each batch is one
// statement in its own transaction, committed before the next starts, so no lock on
// attributes is held longer than one batch and the application's writes interleave with the
// purge. Rows locked by other transactions are skipped (a later purge takes them).
//
// fn, when not nil, is called after each committed batch that deleted rows, with that batch's
// counts; an error from fn stops the purge and is returned. timeout > 0 bounds each batch's
// statement (a server that stops answering fails the batch instead of hanging). The purge
// stops when a batch deletes fewer than batch rows. It returns the counts of the committed
// batches, also when it fails part-way.
func (s *Store) PurgeExpiredAttributes(ctx context.Context, now time.Time, batch int, timeout time.Duration, fn func(PurgeCounts) error) (PurgeCounts, error) {
	if batch <= 0 {
		batch = DefaultPurgeBatch
	}
	var total PurgeCounts
	cutoff := now.Unix()
	for {
		c, err := s.purgeBatch(ctx, cutoff, batch, timeout)
		if err != nil {
			return total, err
		}
		if c.Rows > 0 {
			total.Add(c)
			if fn != nil {
				if err := fn(c); err != nil {
					return total, err
				}
			}
		}
		if c.Rows < int64(batch) {
			return total, nil
		}
	}
}

// purgeBatch runs purgeExpiredSQL once (one autocommitted statement).
func (s *Store) purgeBatch(ctx context.Context, cutoff int64, batch int, timeout time.Duration) (PurgeCounts, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	c := PurgeCounts{Buckets: map[string]int64{}}
	rows, err := s.pool.Query(ctx, s.sql(purgeExpiredSQL), cutoff, batch)
	if err != nil {
		return PurgeCounts{}, wrapErr(err, "purge expired attributes (batch of %d)", batch)
	}
	defer rows.Close()
	var b string
	var n int64
	for rows.Next() {
		if err := rows.Scan(&b, &n); err != nil {
			return PurgeCounts{}, wrapErr(err, "purge expired attributes (batch of %d)", batch)
		}
		c.Buckets[b] += n
		c.Rows += n
	}
	// rows.Err is known only after the statement completed: the batch is committed (or not)
	// once it returns nil.
	if err := rows.Err(); err != nil {
		if timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w (no answer within %s)", err, timeout)
		}
		return PurgeCounts{}, wrapErr(err, "purge expired attributes (batch of %d)", batch)
	}
	if c.Rows > 0 {
		c.Batches = 1
	}
	return c, nil
}
