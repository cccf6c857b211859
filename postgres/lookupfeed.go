package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The temporary tables of a lookup feed, in its own session and transaction (ON COMMIT
// DROP: gone at the end of the transaction, and with the session when the process is killed;
// invisible to every other session). staging holds every candidate row given to Add; chunk
// the rows of the current flush; written the lookup rows the feed inserted (key and owner,
// kept up to date when Close moves a key to a smaller actor id).
var (
	feedChunkIdent = pgx.Identifier{"pg_temp", "actingweb_lookup_chunk"}
	feedStaging    = pgx.Identifier{"pg_temp", "actingweb_lookup_feed"}.Sanitize()
	feedChunk      = feedChunkIdent.Sanitize()
	feedWritten    = pgx.Identifier{"pg_temp", "actingweb_lookup_written"}.Sanitize()
	feedCand       = pgx.Identifier{"pg_temp", "actingweb_lookup_cand"}.Sanitize()
)

// Shape of a lookup feed: Add hands candidate rows to one goroutine through a channel of
// feedQueue slices; it flushes them feedFlushRows at a time (a COPY per engine batch,
// serialised on one connection, slowed the writers down). A variable for the tests, which
// flush after every few rows to cross chunk boundaries.
const feedQueue = 16

var feedFlushRows = 4000

// lookupFeed is the PostgreSQL bulk.LookupFeed. It holds one pooled connection and one
// transaction for its life. Each flush copies the candidate rows (name, value, id of the
// properties of indexed names) into a chunk table and, in one statement, inserts the chunk's
// lookup rows (smallest actor id per key within the chunk, ON CONFLICT DO NOTHING, owners
// with an actors row only; foreign keys checked at once), records them in the written table
// and appends the chunk to the staging table: the inserts and their foreign-key checks run
// while the properties are still being written instead of after them (measured on the bench
// data set, 40,000 lookup rows: Close took 0.58-0.70 s with one statement at the end, 0.36-0.42 s
// with the flushes). Close then brings the lookup to what RebuildPropertyLookup gives: keys
// whose owner had no actors row at flush time are inserted, keys the feed wrote go to the
// smallest eligible actor id over all chunks, and the counts are taken from the final state;
// when the flushes' counts show there is nothing to bring (feedCounts.clean, the usual import
// into empty tables), it only commits. Nothing is visible to
// other sessions before Close commits; a failure or a kill rolls it all back. While the
// transaction is open it holds back vacuum's cleanup horizon, and the foreign-key checks lock
// the owners' actors rows (FOR KEY SHARE): deleting such an actor waits for Close.
type lookupFeed struct {
	s     *Store
	ctx   context.Context
	names []string
	want  map[string]bool

	conn    *pgxpool.Conn
	tx      pgx.Tx
	ch      chan [][]any
	done    chan struct{} // closed when the copying goroutine ended
	flushed chan struct{} // waitFlushed
	once    sync.Once

	counts feedCounts // the flushes' counts (the copying goroutine's until Close)

	mu  sync.Mutex
	err error // first failure: every later Add and Close return it
}

// NewLookupFeed starts a lookup feed (bulk.LookupFeed): RebuildPropertyLookup without
// its scan of the properties table (one pass over every property row, which dominates the
// rebuild of a large table), its inserts done while other rows are still being written. The
// result, counts and contested keys included, is the one RebuildPropertyLookup would give on
// a properties table holding exactly the rows given to Add. It holds one connection of the
// pool and one open transaction until Close (lookup rows it inserts are locked until then:
// a concurrent insert of the same key waits). ctx bounds the feed.
func (s *Store) NewLookupFeed(ctx context.Context, names []string) bulk.LookupFeed {
	f := &lookupFeed{s: s, ctx: ctx, want: map[string]bool{}, ch: make(chan [][]any, feedQueue), done: make(chan struct{}), flushed: make(chan struct{})}
	for _, n := range names {
		if n != "" && !strings.HasPrefix(n, "list:") && !f.want[n] {
			f.want[n] = true
			f.names = append(f.names, n)
		}
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		f.fail(fmt.Errorf("postgres: lookup feed: %w", err))
		close(f.done)
		return f
	}
	f.conn = conn
	if f.tx, err = conn.Begin(ctx); err != nil {
		f.fail(fmt.Errorf("postgres: lookup feed: begin: %w", err))
	} else {
		for _, q := range []string{
			"SET LOCAL work_mem = '" + rebuildWorkMem + "'",
			// the transaction is idle between flushes, for as long as the source is slow
			// (--rate): a server-wide idle_in_transaction_session_timeout must not end it
			"SET LOCAL idle_in_transaction_session_timeout = 0",
			"SET CONSTRAINTS ALL IMMEDIATE",
			`CREATE TEMP TABLE ` + feedStaging + ` (name text NOT NULL, value text NOT NULL, id text NOT NULL, has_actor bool NOT NULL) ON COMMIT DROP`,
			`CREATE TEMP TABLE ` + feedChunk + ` (name text NOT NULL, value text NOT NULL, id text NOT NULL) ON COMMIT DROP`,
			`CREATE TEMP TABLE ` + feedWritten + ` (name text NOT NULL, value text NOT NULL, id text NOT NULL) ON COMMIT DROP`,
		} {
			if _, err := f.tx.Exec(ctx, q); err != nil {
				f.fail(fmt.Errorf("postgres: lookup feed: create staging tables: %w", err))
				break
			}
		}
	}
	go f.copier()
	return f
}

func (f *lookupFeed) fail(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}

func (f *lookupFeed) failed() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// eligibleStaged is the SQL condition on a staged candidate row p (name, value, id,
// has_actor) for a lookup row: an asked-for name that is not a list, an owner with an actors
// row (has_actor, which Close brings up to date), a key the index takes. $1 is the names, $2
// MaxLookupEntryBytes.
func (f *lookupFeed) eligibleStaged() string {
	return `p.name = ANY($1::text[]) AND left(p.name, 5) <> 'list:' AND p.has_actor
		AND octet_length(p.name) + octet_length(p.value) <= $2 AND length(p.name) <= 255`
}

// flush copies rows into the chunk table, inserts the chunk's lookup rows, moves the chunk
// into the staging table and adds the chunk's counts to f.counts.
func (f *lookupFeed) flush(rows [][]any) error {
	ctx := f.ctx
	if _, err := f.tx.CopyFrom(ctx, feedChunkIdent, []string{"name", "value", "id"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("copy %d candidate rows: %w", len(rows), err)
	}
	lookup := f.s.qtable(actingweb.TablePropertyLookup)
	q := `WITH moved AS (
		INSERT INTO ` + feedStaging + ` SELECT p.name, p.value, p.id,
			EXISTS (SELECT 1 FROM ` + f.s.qtable(actingweb.TableActors) + ` a WHERE a.id = p.id)
		FROM ` + feedChunk + ` p
		RETURNING name, value, id, has_actor
	), cand AS (
		SELECT DISTINCT ON (p.name, p.value) p.name, p.value, p.id FROM moved p
		WHERE ` + f.eligibleStaged() + `
		ORDER BY p.name, p.value, p.id
	), ins AS (
		INSERT INTO ` + lookup + ` (property_name, value, actor_id)
		SELECT name, value, id FROM cand
		ON CONFLICT (property_name, value) DO NOTHING
		RETURNING property_name, value, actor_id
	), wr AS (
		INSERT INTO ` + feedWritten + ` SELECT property_name, value, actor_id FROM ins
		RETURNING 1
	), named AS (
		SELECT * FROM moved p WHERE p.name = ANY($1::text[]) AND left(p.name, 5) <> 'list:'
	)
	SELECT (SELECT count(*) FROM named),
		(SELECT count(*) FROM moved p WHERE ` + f.eligibleStaged() + `),
		(SELECT count(*) FROM wr)`
	var c feedCounts
	if err := f.tx.QueryRow(ctx, q, f.names, MaxLookupEntryBytes).Scan(&c.named, &c.eligible, &c.inserted); err != nil {
		return fmt.Errorf("insert lookup rows of %d candidate rows: %w", len(rows), err)
	}
	f.counts.named += c.named
	f.counts.eligible += c.eligible
	f.counts.inserted += c.inserted
	if _, err := f.tx.Exec(ctx, `TRUNCATE `+feedChunk); err != nil {
		return fmt.Errorf("empty the chunk table: %w", err)
	}
	return nil
}

// feedCounts are the counts of a lookup feed's flushes: candidate rows of the asked-for
// names, those eligible for a lookup row at their flush (an actors row, a key the index
// takes), and the lookup rows inserted.
type feedCounts struct {
	named, eligible, inserted int64
}

// clean says whether every candidate row had an actors row at its flush and got a lookup row
// of its own: then no key was held before the feed or wanted by two rows, no owner came late
// and no key was too large, so completing the lookup changes nothing and the result is
// written = candidates, the other counts zero, no samples and no contested keys (what the
// completion's statements would find, for a fraction of their cost: measured on the bench data
// set, 40,000 lookup rows, Close took 0.42-0.68 s with them).
func (c feedCounts) clean() bool {
	return c.eligible == c.named && c.inserted == c.eligible
}

// copier flushes the queued candidate rows; after a failure it only drains the queue.
func (f *lookupFeed) copier() {
	defer close(f.done)
	buf := make([][]any, 0, feedFlushRows)
	flush := func() {
		if len(buf) > 0 && f.failed() == nil && len(f.names) > 0 {
			if err := f.flush(buf); err != nil {
				f.fail(fmt.Errorf("postgres: lookup feed: %w", err))
			}
		}
		buf = buf[:0]
	}
	for rows := range f.ch {
		if rows == nil { // waitFlushed
			flush()
			f.flushed <- struct{}{}
			continue
		}
		buf = append(buf, rows...)
		if len(buf) >= feedFlushRows {
			flush()
		}
	}
	flush()
}

// waitFlushed returns once the rows queued before it are flushed (for the tests).
func (f *lookupFeed) waitFlushed() {
	select {
	case f.ch <- nil:
	case <-f.done: // the copier never started (no connection)
		return
	}
	select {
	case <-f.flushed:
	case <-f.done:
	}
}

// Add queues the rows of props whose name is indexed for the staging table.
func (f *lookupFeed) Add(ctx context.Context, props []*actingweb.Property) error {
	if err := f.failed(); err != nil {
		return err
	}
	var rows [][]any
	for _, p := range props {
		if f.want[p.Name] {
			// copies: the rows wait for a flush of feedFlushRows, some 100,000 properties
			// later, and a record's strings may share a decoder's arena chunk with those of
			// other records, which a reference would keep alive (measured: 37 MB of chunks
			// held on the bench data set, and the collector running against the memory limit)
			rows = append(rows, []any{strings.Clone(p.Name), strings.Clone(p.Value), strings.Clone(p.ID)})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	select {
	case f.ch <- rows:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-f.ctx.Done():
		return f.ctx.Err()
	}
}

// Close waits for the queued rows, completes the lookup (late owners, smallest actor ids),
// counts, commits and releases the connection. After a failure the transaction is rolled
// back: the lookup is as it was before the feed.
func (f *lookupFeed) Close() (bulk.LookupRebuild, error) {
	f.once.Do(func() { close(f.ch) })
	<-f.done
	if f.conn == nil {
		return bulk.LookupRebuild{}, f.failed()
	}
	defer func() {
		if f.failed() != nil {
			f.conn.Conn().Close(context.Background()) // the session, its transaction and tables go
		}
		f.conn.Release()
		f.conn = nil
	}()
	if err := f.failed(); err != nil {
		return bulk.LookupRebuild{}, err
	}
	res, err := f.complete()
	if err == nil {
		if err = f.tx.Commit(f.ctx); err != nil {
			err = f.s.tableErr(actingweb.TablePropertyLookup, "rebuild (commit)", err)
		}
	}
	if err != nil {
		f.fail(err)
		return bulk.LookupRebuild{}, err
	}
	return res, nil
}

// complete runs Close's statements in the feed's transaction.
func (f *lookupFeed) complete() (bulk.LookupRebuild, error) {
	out := bulk.LookupRebuild{Samples: []string{}}
	if len(f.names) == 0 {
		return out, nil
	}
	if f.counts.clean() {
		out.Scanned, out.Written = f.counts.named, f.counts.inserted
		out.Contested = []bulk.LookupContest{}
		return out, nil
	}
	ctx := f.ctx
	lookup := f.s.qtable(actingweb.TablePropertyLookup)
	steps := []struct {
		what, q string
		args    []any
	}{
		{"eligible candidates", `CREATE TEMP TABLE ` + feedCand + ` (name text NOT NULL, value text NOT NULL, id text NOT NULL) ON COMMIT DROP`, nil},
		// owners whose actors row came after their flush
		{"late owners", `UPDATE ` + feedStaging + ` p SET has_actor = true
			WHERE NOT p.has_actor AND EXISTS (SELECT 1 FROM ` + f.s.qtable(actingweb.TableActors) + ` a WHERE a.id = p.id)`, nil},
		{"eligible candidates", `INSERT INTO ` + feedCand + `
			SELECT p.name, p.value, min(p.id) FROM ` + feedStaging + ` p
			WHERE ` + f.eligibleStaged() + `
			GROUP BY p.name, p.value`, []any{f.names, MaxLookupEntryBytes}},
		// keys no flush inserted: owners that had no actors row then (or keys held before)
		{"late owners", `WITH ins AS (
			INSERT INTO ` + lookup + ` (property_name, value, actor_id)
			SELECT c.name, c.value, c.id FROM ` + feedCand + ` c
			WHERE NOT EXISTS (SELECT 1 FROM ` + feedWritten + ` w WHERE w.name = c.name AND w.value = c.value)
			ORDER BY c.name, c.value
			ON CONFLICT (property_name, value) DO NOTHING
			RETURNING property_name, value, actor_id
		)
		INSERT INTO ` + feedWritten + ` SELECT property_name, value, actor_id FROM ins`, nil},
		// keys the feed wrote whose smallest eligible actor id came in a later chunk (or got
		// its actors row later)
		{"smallest actor ids", `WITH upd AS (
			UPDATE ` + lookup + ` l SET actor_id = c.id
			FROM ` + feedCand + ` c JOIN ` + feedWritten + ` w ON w.name = c.name AND w.value = c.value
			WHERE l.property_name = c.name AND l.value = c.value AND l.actor_id = w.id AND c.id < w.id
			RETURNING l.property_name, l.value, l.actor_id
		)
		UPDATE ` + feedWritten + ` w SET id = u.actor_id FROM upd u
		WHERE w.name = u.property_name AND w.value = u.value`, nil},
	}
	for _, st := range steps {
		if _, err := f.tx.Exec(ctx, st.q, st.args...); err != nil {
			return out, f.s.tableErr(actingweb.TablePropertyLookup, "rebuild ("+st.what+")", err)
		}
	}
	// The counts of RebuildPropertyLookup's statement, from the final state: a row is
	// written when the feed inserted its key for its actor, existing when the key pointed
	// to its actor before the feed.
	q := `WITH src AS (
		SELECT p.name, p.value, p.id, p.has_actor,
			octet_length(p.name) + octet_length(p.value) > $2 AS too_long
		FROM ` + feedStaging + ` p
		WHERE p.name = ANY($1::text[]) AND left(p.name, 5) <> 'list:'
	), cls AS (
		SELECT s.name, s.id, CASE
			WHEN NOT s.has_actor THEN 'orphan'
			WHEN s.too_long OR length(s.name) > 255 THEN 'too_long'
			WHEN w.id IS NOT NULL THEN 'written'
			WHEN l.actor_id = s.id THEN 'existing'
			ELSE 'collision' END AS kind,
			l.actor_id AS holder
		FROM src s
		LEFT JOIN ` + feedWritten + ` w ON w.name = s.name AND w.value = s.value AND w.id = s.id
		LEFT JOIN ` + lookup + ` l ON l.property_name = s.name AND l.value = s.value
	), con AS (
		SELECT k.property_name AS name, k.value, k.actor_id, array_agg(s.id ORDER BY s.id) AS others
		FROM ` + lookup + ` k JOIN src s ON s.name = k.property_name AND s.value = k.value
		WHERE k.property_name = ANY($1::text[]) AND left(k.property_name, 5) <> 'list:'
			AND s.id <> k.actor_id AND s.has_actor
		GROUP BY k.property_name, k.value, k.actor_id
		ORDER BY k.property_name, k.value
		LIMIT $4
	)
	` + lookupSummary
	return f.s.queryLookupSummary(ctx, f.tx, q, f.names)
}

// IsEmpty reports whether table t has no rows (bulk.FreshTableWriter).
func (s *Store) IsEmpty(ctx context.Context, t actingweb.Table) (bool, error) {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+s.qtable(t)+`)`).Scan(&exists); err != nil {
		return false, s.tableErr(t, "check whether empty", err)
	}
	return !exists, nil
}

// WriteBatchFresh writes recs into table t, which was empty when the caller started writing
// it (bulk.FreshTableWriter). A ConflictFail batch is already a plain COPY on PostgreSQL, so
// this is WriteBatch with ConflictFail: an existing key still fails the batch.
func (s *Store) WriteBatchFresh(ctx context.Context, t actingweb.Table, recs []actingweb.Record) (bulk.WriteResult, error) {
	return s.WriteBatch(ctx, t, recs, bulk.ConflictFail)
}
