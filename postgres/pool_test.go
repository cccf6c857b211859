package postgres

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/actingweb/actingweb-go/internal/testenv"
)

// onePoolStore opens a store on a fresh schema at Alembic head with a single connection and
// the given pool timeout (which also bounds connecting: under load, keep it at a second or
// more).
func onePoolStore(t *testing.T, timeout time.Duration) *Store {
	t.Helper()
	u, _ := testenv.FreshPostgresSchema(t)
	cfg, err := ConfigFromURL(u, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.MinConns, cfg.MaxConns, cfg.PoolTimeout = 0, 1, timeout
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.UpgradeSchema(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPoolTimeout: PG_POOL_TIMEOUT bounds the wait for a connection (upstream's psycopg_pool
// timeout): with the only connection held, every kind of pool call fails with ErrPoolTimeout
// and a message naming both settings; once it is released, calls succeed and give their
// connection back.
func TestPoolTimeout(t *testing.T) {
	t.Parallel()
	s := onePoolStore(t, 1500*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	calls := map[string]func() error{
		"Exec": func() error { _, err := s.pool.Exec(ctx, `SELECT 1`); return err },
		"Query": func() error {
			rows, _ := s.pool.Query(ctx, `SELECT generate_series(1, 3)`)
			_, err := pgx.CollectRows(rows, pgx.RowTo[int32])
			return err
		},
		"QueryRow": func() error { var n int; return s.pool.QueryRow(ctx, `SELECT 1`).Scan(&n) },
		"SendBatch": func() error {
			b := &pgx.Batch{}
			b.Queue(`SELECT 1`)
			return s.pool.SendBatch(ctx, b).Close()
		},
		"Begin": func() error {
			tx, err := s.pool.Begin(ctx)
			if err != nil {
				return err
			}
			return tx.Commit(ctx)
		},
		"CopyFrom": func() error {
			_, err := s.pool.CopyFrom(ctx, pgx.Identifier{s.schema, "actors"}, []string{"id", "creator", "passphrase"},
				pgx.CopyFromRows([][]any{{"pool-" + randomText(t, 8), "c", "p"}}))
			return err
		},
		"Acquire": func() error {
			c, err := s.pool.Acquire(ctx)
			if err == nil {
				c.Release()
			}
			return err
		},
		"store method": func() error { _, err := s.GetActor(ctx, "nobody"); return err },
	}

	held, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Rollback(context.Background()) // on a failure (Close waits for it)
	// all at once: each waits the pool timeout
	var wg sync.WaitGroup
	for name, call := range calls {
		wg.Go(func() {
			err := call()
			if !errors.Is(err, ErrPoolTimeout) {
				t.Errorf("%s with the only connection held: %v, want ErrPoolTimeout", name, err)
				return
			}
			for _, want := range []string{"PG_POOL_TIMEOUT (1.5 s)", "PG_POOL_MAX_SIZE 1", "what holds the connections"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s: %q lacks %q", name, err, want)
				}
			}
			if name == "store method" {
				t.Logf("e.g. %v", err)
			}
		})
	}
	wg.Go(func() {
		if _, err := s.Pool().Exec(ctx, `SELECT 1`); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Pool().Exec with the only connection held: %v, want context.DeadlineExceeded", err)
		}
	})
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if err := held.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	for name, call := range calls {
		if err := call(); err != nil && name != "store method" {
			t.Errorf("%s with the connection free: %v", name, err)
		}
		if n := s.pool.Stat().AcquiredConns(); n != 0 {
			t.Errorf("after %s: %d connections still acquired", name, n)
		}
	}
}

// TestPoolTimeoutNotStatement: the pool timeout bounds the wait for a connection only, not
// the statement, which runs under the caller's context.
func TestPoolTimeoutNotStatement(t *testing.T) {
	t.Parallel()
	s := onePoolStore(t, time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.pool.Exec(ctx, `SELECT pg_sleep(1.3)`); err != nil {
		t.Fatalf("a statement longer than the pool timeout: %v", err)
	}
}

// askedCtx signals asked when its Done channel is first asked for: a pool acquire waiting on
// it has started.
type askedCtx struct {
	context.Context
	once  sync.Once
	asked chan struct{}
}

func (c *askedCtx) Done() <-chan struct{} {
	c.once.Do(func() { close(c.asked) })
	return c.Context.Done()
}

// TestPoolWaitCanceled: the caller's context still ends the wait for a connection, long
// before the pool timeout.
func TestPoolWaitCanceled(t *testing.T) {
	t.Parallel()
	s := onePoolStore(t, time.Minute)
	held, err := s.Pool().Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Rollback(context.Background())
	inner, cancel := context.WithCancel(context.Background())
	ctx := &askedCtx{Context: inner, asked: make(chan struct{})}
	go func() { <-ctx.asked; cancel() }()
	start := time.Now()
	_, err = s.GetActor(ctx, "nobody")
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrPoolTimeout) {
		t.Fatalf("wait canceled by the caller: %v, want context.Canceled", err)
	}
	if el := time.Since(start); el > 30*time.Second {
		t.Errorf("canceled wait ended after %s", el)
	}
}
