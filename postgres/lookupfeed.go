package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	actingweb "github.com/actingweb/actingweb-go"
)

// feedTable is the staging table of a lookup feed: a temporary table of the feed's own
// session, so it is invisible to every other session and gone when the session ends, even
// when the process is killed.
var (
	feedIdent = pgx.Identifier{"pg_temp", "actingweb_lookup_feed"}
	feedTable = feedIdent.Sanitize()
)

// Shape of a lookup feed: Add hands candidate rows to one goroutine through a channel of
// feedQueue slices; it copies them into the staging table feedFlushRows at a time (a COPY per
// engine batch, serialised on one connection, slowed the writers down).
const (
	feedQueue     = 16
	feedFlushRows = 10000
)

// lookupFeed is the PostgreSQL actingweb.LookupFeed: the candidate rows (name, value, id of
// the properties of indexed names) are copied into a temporary table as they are written,
// through one pooled connection held for the feed's life; Close runs RebuildPropertyLookup's
// statement with that table in place of the properties table.
type lookupFeed struct {
	s     *Store
	ctx   context.Context
	names []string
	want  map[string]bool

	conn *pgxpool.Conn
	ch   chan [][]any
	done chan struct{} // closed when the copying goroutine ended
	once sync.Once

	mu  sync.Mutex
	err error // first failure: every later Add and Close return it
}

// NewLookupFeed starts a lookup feed (actingweb.LookupFeed): RebuildPropertyLookup without
// its scan of the properties table (one pass over every property row, which dominates the
// rebuild of a large table; the statement then also runs while other tables are still being
// written). The result, counts and contested keys included, is the one RebuildPropertyLookup
// would give on a properties table holding exactly the rows given to Add. It holds one
// connection of the pool until Close. ctx bounds the feed.
func (s *Store) NewLookupFeed(ctx context.Context, names []string) actingweb.LookupFeed {
	f := &lookupFeed{s: s, ctx: ctx, want: map[string]bool{}, ch: make(chan [][]any, feedQueue), done: make(chan struct{})}
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
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE `+feedTable+` (name text NOT NULL, value text NOT NULL, id text NOT NULL)`); err != nil {
		f.fail(fmt.Errorf("postgres: lookup feed: create staging table: %w", err))
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

// copier copies the queued candidate rows into the staging table; after a failure it only
// drains the queue.
func (f *lookupFeed) copier() {
	defer close(f.done)
	buf := make([][]any, 0, feedFlushRows)
	flush := func() {
		if len(buf) == 0 || f.failed() != nil {
			buf = buf[:0]
			return
		}
		if _, err := f.conn.CopyFrom(f.ctx, feedIdent, []string{"name", "value", "id"},
			pgx.CopyFromRows(buf)); err != nil {
			f.fail(fmt.Errorf("postgres: lookup feed: copy %d candidate rows: %w", len(buf), err))
		}
		buf = buf[:0]
	}
	for rows := range f.ch {
		buf = append(buf, rows...)
		if len(buf) >= feedFlushRows {
			flush()
		}
	}
	flush()
}

// Add queues the rows of props whose name is indexed for the staging table.
func (f *lookupFeed) Add(ctx context.Context, props []*actingweb.Property) error {
	if err := f.failed(); err != nil {
		return err
	}
	var rows [][]any
	for _, p := range props {
		if f.want[p.Name] {
			rows = append(rows, []any{p.Name, p.Value, p.ID})
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

// Close waits for the queued rows, runs the rebuild statement over the staging table, drops
// it and releases the connection.
func (f *lookupFeed) Close() (actingweb.LookupRebuild, error) {
	f.once.Do(func() { close(f.ch) })
	<-f.done
	if f.conn == nil {
		return actingweb.LookupRebuild{}, f.failed()
	}
	defer func() {
		if f.failed() != nil {
			f.conn.Conn().Close(context.Background()) // the session and its temporary table go
		} else if _, err := f.conn.Exec(context.Background(), `DROP TABLE IF EXISTS `+feedTable); err != nil {
			f.conn.Conn().Close(context.Background())
		}
		f.conn.Release()
		f.conn = nil
	}()
	if err := f.failed(); err != nil {
		return actingweb.LookupRebuild{}, err
	}
	res, err := f.s.rebuildLookup(f.ctx, f.conn, f.names, feedTable)
	if err != nil {
		f.fail(err)
	}
	return res, err
}

// IsEmpty reports whether table t has no rows (migrate.FreshTableWriter).
func (s *Store) IsEmpty(ctx context.Context, t actingweb.Table) (bool, error) {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+s.qtable(t)+`)`).Scan(&exists); err != nil {
		return false, s.tableErr(t, "check whether empty", err)
	}
	return !exists, nil
}

// WriteBatchFresh writes recs into table t, which was empty when the caller started writing
// it (migrate.FreshTableWriter). A ConflictFail batch is already a plain COPY on PostgreSQL, so
// this is WriteBatch with ConflictFail: an existing key still fails the batch.
func (s *Store) WriteBatchFresh(ctx context.Context, t actingweb.Table, recs []actingweb.Record) (actingweb.WriteResult, error) {
	return s.WriteBatch(ctx, t, recs, actingweb.ConflictFail)
}
