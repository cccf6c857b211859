package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/actingweb/actingweb-go/internal/testenv"
)

// openTTLStore opens a store in a fresh schema at head, and a separate connection (another
// session) whose search_path is that schema.
func openTTLStore(t *testing.T) (*Store, *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	url, schema := testenv.FreshPostgresSchema(t)
	cfg, err := ConfigFromURL(url, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.UpgradeSchema(ctx); err != nil {
		t.Fatal(err)
	}
	connURL, _, _ := testenv.SplitSchemaParam(url)
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, "SET search_path = "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	return s, conn
}

// seedTTL inserts attributes of owner o: rows[bucket] rows with ttl_timestamp ttl (nil: none).
func seedTTL(t *testing.T, conn *pgx.Conn, owner string, ttl *int64, rows map[string]int) {
	t.Helper()
	for b, n := range rows {
		_, err := conn.Exec(context.Background(), `INSERT INTO attributes (id, bucket_name, bucket, name, data, ttl_timestamp)
			SELECT $1, $2 || ':n' || g, $2, 'n' || g, '{"v": 1}', $3 FROM generate_series(1, $4) g`, owner, b, ttl, n)
		if err != nil {
			t.Fatalf("seed %s/%s: %v", owner, b, err)
		}
	}
}

// countsBy returns rows per owner/bucket ("owner/bucket" -> rows).
func countsBy(t *testing.T, conn *pgx.Conn) map[string]int64 {
	t.Helper()
	rows, _ := conn.Query(context.Background(), `SELECT id || '/' || bucket, count(*) FROM attributes GROUP BY 1`)
	m := map[string]int64{}
	var k string
	var n int64
	_, err := pgx.ForEachRow(rows, []any{&k, &n}, func() error { m[k] = n; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// lockProbe takes ACCESS EXCLUSIVE on attributes without waiting and lets it go: it fails
// (55P03 lock_not_available) while any other session holds any lock on the table.
func lockProbe(ctx context.Context, conn *pgx.Conn) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, "LOCK TABLE attributes IN ACCESS EXCLUSIVE MODE NOWAIT")
	return err
}

// TestPurgeExpiredAttributesBatches: only rows with ttl_timestamp < now go (not those at now,
// later or without TTL), at most batch per batch, each batch committed before the next starts
// (another session sees the rows go batch by batch and can lock the whole table between two
// batches), with the right counts per bucket.
func TestPurgeExpiredAttributesBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, conn := openTTLStore(t)
	// Autovacuum would take a lock the probe conflicts with.
	if _, err := conn.Exec(ctx, "ALTER TABLE attributes SET (autovacuum_enabled = false)"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	past, at, later := now.Unix()-10, now.Unix(), now.Unix()+3600
	seedTTL(t, conn, "a1", &past, map[string]int{"tokens": 4, "sessions": 3})
	seedTTL(t, conn, "a2", &past, map[string]int{"tokens": 3, "cache": 5})
	seedTTL(t, conn, "a1", &at, map[string]int{"edge": 2}) // not < now: stays
	seedTTL(t, conn, "a2", &later, map[string]int{"tokens-live": 3})
	seedTTL(t, conn, "a3", nil, map[string]int{"tokens": 4, "permanent": 2})
	before := countsBy(t, conn)

	// The probe can fail: a session holding a row lock on attributes makes it fail.
	other, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(ctx, "BEGIN; SELECT 1 FROM attributes WHERE id = 'a3' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	var pe *pgconn.PgError
	if err := lockProbe(ctx, conn); !errors.As(err, &pe) || pe.Code != "55P03" {
		t.Fatalf("lock probe while another session holds row locks: %v, want 55P03", err)
	}
	if _, err := other.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	other.Release()

	const batch = 4
	var seen []int64
	var deleted int64
	got, err := s.PurgeExpiredAttributes(ctx, now, batch, time.Minute, func(c PurgeCounts) error {
		seen = append(seen, c.Rows)
		deleted += c.Rows
		if c.Rows > batch || c.Batches != 1 {
			return fmt.Errorf("batch deleted %d rows (%d batches), want at most %d in 1", c.Rows, c.Batches, batch)
		}
		// Another session sees this batch committed ...
		var left int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM attributes WHERE ttl_timestamp < $1", now.Unix()).Scan(&left); err != nil {
			return err
		}
		if left != 15-deleted {
			return fmt.Errorf("after %d deleted rows another session sees %d expired rows, want %d", deleted, left, 15-deleted)
		}
		// ... and the purge holds no lock on the table between batches.
		if err := lockProbe(ctx, conn); err != nil {
			return fmt.Errorf("between batches (after %d rows): %w", deleted, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{4, 4, 4, 3}; !slices.Equal(seen, want) {
		t.Errorf("batches deleted %v rows, want %v", seen, want)
	}
	wantBuckets := map[string]int64{"tokens": 7, "sessions": 3, "cache": 5}
	if got.Rows != 15 || got.Batches != 4 || !maps.Equal(got.Buckets, wantBuckets) {
		t.Errorf("counts %+v, want 15 rows in 4 batches, %v", got, wantBuckets)
	}
	after := countsBy(t, conn)
	for _, k := range []string{"a1/tokens", "a1/sessions", "a2/tokens", "a2/cache"} {
		delete(before, k)
	}
	if !maps.Equal(after, before) {
		t.Errorf("rows left %v, want %v", after, before)
	}

	// Nothing left to purge: no batch.
	got, err = s.PurgeExpiredAttributes(ctx, now, batch, 0, func(PurgeCounts) error {
		t.Error("a batch reported with nothing to purge")
		return nil
	})
	if err != nil || got.Rows != 0 || got.Batches != 0 {
		t.Errorf("second purge: %+v, %v", got, err)
	}
}

// TestPurgeExpiredAttributesSkipsLocked: an expired row another transaction holds is left
// alone (the purge neither waits for it nor deletes it) and goes in the next purge.
func TestPurgeExpiredAttributesSkipsLocked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, conn := openTTLStore(t)
	past := time.Now().Unix() - 10
	seedTTL(t, conn, "a1", &past, map[string]int{"b": 3})
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "UPDATE attributes SET data = '{\"v\": 2}' WHERE bucket_name = 'b:n1'"); err != nil {
		t.Fatal(err)
	}
	// A purge that waited for the lock would fail on this deadline instead.
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	got, err := s.PurgeExpiredAttributes(wctx, time.Now(), 2, 0, nil)
	cancel()
	if err != nil || got.Rows != 2 {
		t.Fatalf("purge with a row locked: %+v, %v; want 2 rows deleted", got, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got, err = s.PurgeExpiredAttributes(ctx, time.Now(), 2, 0, nil)
	if err != nil || got.Rows != 1 || got.Buckets["b"] != 1 {
		t.Fatalf("purge after the lock went: %+v, %v; want 1 row of b", got, err)
	}
}

// TestPurgeExpiredAttributesPlan: with the table's statistics of a realistic size, the
// purge's statement (as a generic plan, as pgx's prepared statements end up, and as a custom
// plan for a large batch) picks the rows through idx_attributes_ttl and deletes them by TID:
// no sequential scan.
func TestPurgeExpiredAttributesPlan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, conn := openTTLStore(t)
	if _, err := conn.Exec(ctx, `INSERT INTO attributes (id, bucket_name, bucket, name, data, ttl_timestamp)
		SELECT 'a' || (g % 500), 'b:n' || g, 'b', 'n' || g, '1', CASE WHEN g % 10 = 0 THEN g END
		FROM generate_series(1, 20000) g`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "ANALYZE attributes"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "PREPARE purge(bigint, int) AS "+strings.ReplaceAll(purgeExpiredSQL, "{attributes}", "attributes")); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"force_generic_plan", "force_custom_plan"} {
		if _, err := conn.Exec(ctx, "SET plan_cache_mode = "+mode); err != nil {
			t.Fatal(err)
		}
		rows, _ := conn.Query(ctx, "EXPLAIN EXECUTE purge(20000, 1000)")
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Join(lines, "\n")
		if !strings.Contains(plan, "Index Scan using idx_attributes_ttl") || !strings.Contains(plan, "Tid Scan on attributes") ||
			strings.Contains(plan, "Seq Scan") {
			t.Errorf("%s: purge plan does not select through idx_attributes_ttl and delete by TID:\n%s", mode, plan)
		}
	}
}
