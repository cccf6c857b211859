package cli

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/actingweb/actingweb-go/internal/testenv"
)

// TestTTLPurgePostgres: `ttl purge` with a small batch deletes exactly the expired attributes
// (ttl_timestamp < now) of every owner and bucket, keeps the rest, and reports the rows per
// bucket and the total, without attribute names or values.
func TestTTLPurgePostgres(t *testing.T) {
	ctx := context.Background()
	pgURL, schema := testenv.FreshPostgresSchema(t)
	a, out, errb := integrationApp(t)
	if err := a.RunSchemaUpgrade(ctx, SchemaOptions{To: pgURL}); err != nil {
		t.Fatalf("schema upgrade: %v\n%s", err, errb)
	}
	connURL, _, _ := testenv.SplitSchemaParam(pgURL)
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET search_path = "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	seed := func(owner, bucket string, n int, ttl *int64) {
		t.Helper()
		if _, err := conn.Exec(ctx, `INSERT INTO attributes (id, bucket_name, bucket, name, data, ttl_timestamp)
			SELECT $1, $2 || ':secret-name-' || g, $2, 'secret-name-' || g, '"secret-value"', $3
			FROM generate_series(1, $4) g`, owner, bucket, ttl, n); err != nil {
			t.Fatal(err)
		}
	}
	expired, live := now-120, now+3600
	seed("actor1", "oauth_tokens", 5, &expired)
	seed("actor2", "oauth_tokens", 2, &expired)
	seed("actor1", "sessions", 4, &expired)
	seed("actor3", "mcp_cache", 1, &expired)
	seed("actor1", "oauth_tokens_live", 3, &live) // same owners, not expired
	seed("actor2", "sessions", 2, &live)
	seed("actor3", "settings", 4, nil) // no TTL: permanent
	counts := func() map[string]int64 {
		rows, _ := conn.Query(ctx, `SELECT bucket || '/' || (ttl_timestamp IS NOT NULL AND ttl_timestamp < $1), count(*)
			FROM attributes GROUP BY 1`, now)
		m := map[string]int64{}
		var k string
		var n int64
		if _, err := pgx.ForEachRow(rows, []any{&k, &n}, func() error { m[k] = n; return nil }); err != nil {
			t.Fatal(err)
		}
		return m
	}
	before := counts()
	wantBefore := map[string]int64{"oauth_tokens/true": 7, "sessions/true": 4, "mcp_cache/true": 1,
		"oauth_tokens_live/false": 3, "sessions/false": 2, "settings/false": 4}
	if !maps.Equal(before, wantBefore) {
		t.Fatalf("seeded %v, want %v", before, wantBefore)
	}

	if err := a.RunTTLPurge(ctx, TTLPurgeOptions{To: pgURL, Batch: 3}); err != nil {
		t.Fatalf("ttl purge: %v\n%s", err, errb)
	}
	after := counts()
	if want := map[string]int64{"oauth_tokens_live/false": 3, "sessions/false": 2, "settings/false": 4}; !maps.Equal(after, want) {
		t.Errorf("after the purge %v, want %v", after, want)
	}
	report := out.String()
	for _, line := range []string{
		"  BUCKET             DELETED",
		"  mcp_cache                1",
		"  oauth_tokens             7",
		"  sessions                 4",
		"deleted 12 rows in 3 buckets (4 batches) in ",
	} {
		if !strings.Contains(report, line) {
			t.Errorf("report lacks %q:\n%s", line, report)
		}
	}
	if strings.Contains(report, "_live") || strings.Contains(report, "settings") {
		t.Errorf("report names buckets nothing was deleted from:\n%s", report)
	}
	for _, b := range []string{out.String(), errb.String()} {
		if strings.Contains(b, "secret") {
			t.Errorf("output shows attribute names or values:\n%s", b)
		}
	}
	noSecrets(t, out, errb)

	// Again: nothing left, exit 0, 0 rows.
	out.Reset()
	if err := a.RunTTLPurge(ctx, TTLPurgeOptions{To: pgURL}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "deleted 0 rows in 0 buckets (0 batches)") {
		t.Errorf("second purge report:\n%s", out)
	}
}

// TestTTLPurgeDynamoDB: on DynamoDB `ttl purge` deletes nothing; it reports TTL on the
// attributes table (exit 3 when off), and --enable turns it on and says so.
func TestTTLPurgeDynamoDB(t *testing.T) {
	ctx := context.Background()
	to := freshDDB(t)
	a, out, errb := integrationApp(t)
	if err := a.RunSchemaUpgrade(ctx, SchemaOptions{To: to}); err != nil {
		t.Fatalf("schema upgrade: %v\n%s", err, errb)
	}
	u, err := url.Parse(to)
	if err != nil {
		t.Fatal(err)
	}
	table := u.Query().Get("prefix") + "_attributes"
	if err := a.RunTTLPurge(ctx, TTLPurgeOptions{To: to}); err != nil {
		t.Fatalf("ttl purge after schema upgrade (TTL on): %v\n%s", err, errb)
	}
	if want := fmt.Sprintf("TTL on %s.ttl_timestamp: ENABLED", table); !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}

	if err := a.RunFixtureTTL(ctx, FixtureTTLOptions{To: to, Enabled: false}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = a.RunTTLPurge(ctx, TTLPurgeOptions{To: to})
	if ExitCode(err) != ExitMismatch || !strings.Contains(err.Error(), "--enable") {
		t.Fatalf("ttl purge with TTL off: %v (exit %d), want exit 3 naming --enable", err, ExitCode(err))
	}
	if want := fmt.Sprintf("TTL on %s.ttl_timestamp: DISABLED", table); !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}

	out.Reset()
	if err := a.RunTTLPurge(ctx, TTLPurgeOptions{To: to, Enable: true}); err != nil {
		t.Fatalf("ttl purge --enable: %v\n%s", err, errb)
	}
	if want := fmt.Sprintf("enabled TTL on %s.ttl_timestamp (was DISABLED)", table); !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	out.Reset()
	if err := a.RunTTLPurge(ctx, TTLPurgeOptions{To: to, Enable: true}); err != nil {
		t.Fatalf("ttl purge --enable again: %v", err)
	}
	if strings.Contains(out.String(), "enabled TTL") || !strings.Contains(out.String(), ": ENABLED") {
		t.Errorf("--enable with TTL on changed something or did not say it is on:\n%s", out)
	}
}

// TestTTLPurgeUsage: options that do not fit the backend are usage errors.
func TestTTLPurgeUsage(t *testing.T) {
	t.Parallel()
	a, _, _ := newTestApp(map[string]string{"DATABASE_BACKEND": "dynamodb"})
	ctx := context.Background()
	for _, c := range []struct {
		o    TTLPurgeOptions
		want string
	}{
		{TTLPurgeOptions{Every: time.Minute}, "--every applies to PostgreSQL"},
		{TTLPurgeOptions{To: "postgresql", Enable: true}, "--enable applies to DynamoDB"},
		{TTLPurgeOptions{To: "postgresql", Batch: -1}, "must not be negative"},
	} {
		err := a.RunTTLPurge(ctx, c.o)
		if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v (exit %d), want a usage error with %q", c.o, err, ExitCode(err), c.want)
		}
	}
	b, _, _ := newTestApp(nil)
	if err := b.RunTTLPurge(ctx, TTLPurgeOptions{}); ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "DATABASE_BACKEND") {
		t.Errorf("no store: %v, want a usage error naming DATABASE_BACKEND", err)
	}
}

// TestTTLPurgeEveryStopsOnMissingTable: a long-lived purge whose table is missing ends with
// exit 1 and a message naming schema upgrade, instead of failing every round forever.
func TestTTLPurgeEveryStopsOnMissingTable(t *testing.T) {
	pgURL, _ := testenv.FreshPostgresSchema(t) // no tables
	a, _, errb := integrationApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := a.RunTTLPurge(ctx, TTLPurgeOptions{To: pgURL, Every: time.Hour})
	if ctx.Err() != nil || ExitCode(failed(err)) != ExitFailed || !strings.Contains(err.Error(), "schema upgrade") {
		t.Fatalf("ttl purge --every on a schema without tables: %v (context %v), want exit 1 naming schema upgrade\n%s", err, ctx.Err(), errb)
	}
}
