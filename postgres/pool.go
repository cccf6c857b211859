package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrPoolTimeout marks an error of a store operation that waited longer than the pool
// timeout (Config.PoolTimeout, PG_POOL_TIMEOUT) for a connection of the pool: upstream's
// psycopg_pool timeout (actingweb/db/postgresql/connection.py).
var ErrPoolTimeout = errors.New("no connection free")

// pool is the store's pgxpool.Pool with upstream's pool timeout: the wait to acquire a
// connection (all MaxConns busy, or a new one still opening) is bounded by timeout, and the
// statement then runs under the caller's context alone. The bound itself is the pool's
// acquireTimeout tracer (Open installs it), so it also holds for Store.Pool's callers; pool's
// methods add the ErrPoolTimeout error. Connections go back to the pool as pgxpool's own
// methods return them: rows closed or read to their end, a row scanned, a transaction
// committed or rolled back, a batch closed, an Acquire's connection released.
type pool struct {
	p       *pgxpool.Pool
	timeout time.Duration
	where   string // describe(cfg)
}

// acquireWaitKey is the context key of an *acquireWait.
type acquireWaitKey struct{}

// acquireWait is how the tracer tells one pool call that its acquire timed out.
type acquireWait struct {
	timedOut    atomic.Bool
	inUse, size int32 // the pool's acquired and maximum connections when it timed out
}

// watch returns ctx carrying a fresh acquireWait.
func watch(ctx context.Context) (context.Context, *acquireWait) {
	w := &acquireWait{}
	return context.WithValue(ctx, acquireWaitKey{}, w), w
}

// err returns err, or, when the call's acquire timed out, an error wrapping ErrPoolTimeout.
func (p *pool) err(w *acquireWait, err error) error {
	if err == nil || !w.timedOut.Load() {
		return err
	}
	secs := strconv.FormatFloat(p.timeout.Seconds(), 'f', -1, 64)
	if w.inUse < w.size {
		return fmt.Errorf("%s: %w: a new connection did not open within PG_POOL_TIMEOUT (%s s; %d of PG_POOL_MAX_SIZE %d in use): check the server, or raise PG_POOL_TIMEOUT",
			p.where, ErrPoolTimeout, secs, w.inUse, w.size)
	}
	return fmt.Errorf("%s: %w within PG_POOL_TIMEOUT (%s s): all PG_POOL_MAX_SIZE %d connections in use; raise one of them, or find what holds the connections (pg_stat_activity, application_name actingweb)",
		p.where, ErrPoolTimeout, secs, w.size)
}

// Acquire returns a connection of the pool; release it with Release.
func (p *pool) Acquire(ctx context.Context) (*pgxpool.Conn, error) {
	ctx, w := watch(ctx)
	c, err := p.p.Acquire(ctx)
	return c, p.err(w, err)
}

// Exec runs sql on a connection of the pool.
func (p *pool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	ctx, w := watch(ctx)
	tag, err := p.p.Exec(ctx, sql, args...)
	return tag, p.err(w, err)
}

// Query runs sql on a connection of the pool, released when the rows are closed or read to
// their end. On an error the rows carry it too (pgx.CollectRows and friends see it).
func (p *pool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	ctx, w := watch(ctx)
	rows, err := p.p.Query(ctx, sql, args...)
	if err != nil && w.timedOut.Load() {
		err = p.err(w, err)
		return errRows{err}, err
	}
	return rows, err
}

// QueryRow runs sql on a connection of the pool, released by the row's Scan.
func (p *pool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	ctx, w := watch(ctx)
	row := p.p.QueryRow(ctx, sql, args...)
	if w.timedOut.Load() {
		return errRow{p.err(w, context.DeadlineExceeded)}
	}
	return row
}

// SendBatch sends b on a connection of the pool, released when the results are closed.
func (p *pool) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	ctx, w := watch(ctx)
	br := p.p.SendBatch(ctx, b)
	if w.timedOut.Load() {
		return pgx.FailedBatchResults(b, p.err(w, context.DeadlineExceeded))
	}
	return br
}

// Begin starts a transaction on a connection of the pool, released by Commit or Rollback.
func (p *pool) Begin(ctx context.Context) (pgx.Tx, error) {
	return p.BeginTx(ctx, pgx.TxOptions{})
}

// BeginTx is Begin with transaction options.
func (p *pool) BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	ctx, w := watch(ctx)
	tx, err := p.p.BeginTx(ctx, opts)
	return tx, p.err(w, err)
}

// CopyFrom runs a COPY FROM on a connection of the pool.
func (p *pool) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	ctx, w := watch(ctx)
	n, err := p.p.CopyFrom(ctx, table, columns, src)
	return n, p.err(w, err)
}

// Config is the pool's configuration (a copy).
func (p *pool) Config() *pgxpool.Config { return p.p.Config() }

// Stat is a snapshot of the pool's statistics.
func (p *pool) Stat() *pgxpool.Stat { return p.p.Stat() }

// Close closes the pool's connections, waiting for the acquired ones to be released.
func (p *pool) Close() { p.p.Close() }

// acquireTimeout bounds every acquire of a pgxpool.Pool by d (a pgxpool.AcquireTracer,
// installed as the pool's ConnConfig.Tracer; its query hooks do nothing).
type acquireTimeout struct{ d time.Duration }

// errAcquireTimedOut is the cause of an acquire's context when acquireTimeout's deadline
// passed.
var errAcquireTimedOut = errors.New("pool acquire timed out")

// acquireCancelKey is the context key of an acquire's cancel function.
type acquireCancelKey struct{}

// TraceAcquireStart gives the acquire a context that ends after d.
func (a acquireTimeout) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	actx, cancel := context.WithTimeoutCause(ctx, a.d, errAcquireTimedOut)
	return context.WithValue(actx, acquireCancelKey{}, cancel)
}

// TraceAcquireEnd ends the acquire's context and, when its deadline made the acquire fail,
// tells the pool call (acquireWait).
func (a acquireTimeout) TraceAcquireEnd(ctx context.Context, p *pgxpool.Pool, data pgxpool.TraceAcquireEndData) {
	if data.Err != nil && errors.Is(context.Cause(ctx), errAcquireTimedOut) {
		if w, ok := ctx.Value(acquireWaitKey{}).(*acquireWait); ok {
			st := p.Stat()
			w.inUse, w.size = st.AcquiredConns(), st.MaxConns()
			w.timedOut.Store(true)
		}
	}
	if cancel, ok := ctx.Value(acquireCancelKey{}).(context.CancelFunc); ok {
		cancel()
	}
}

// TraceQueryStart does nothing (pgx.QueryTracer, which ConnConfig.Tracer must be).
func (acquireTimeout) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

// TraceQueryEnd does nothing.
func (acquireTimeout) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// errRows is the rows of a Query whose acquire failed (pgxpool's own is unexported).
type errRows struct{ err error }

func (errRows) Close()                                       {}
func (e errRows) Err() error                                 { return e.err }
func (errRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (errRows) FieldDescriptions() []pgconn.FieldDescription { return nil }
func (errRows) Next() bool                                   { return false }
func (e errRows) Scan(...any) error                          { return e.err }
func (e errRows) Values() ([]any, error)                     { return nil, e.err }
func (errRows) RawValues() [][]byte                          { return nil }
func (errRows) Conn() *pgx.Conn                              { return nil }

// TypeMap is nil: there are no rows.
func (errRows) TypeMap() *pgtype.Map { return nil }

// errRow is the row of a QueryRow whose acquire failed.
type errRow struct{ err error }

func (e errRow) Scan(...any) error { return e.err }
