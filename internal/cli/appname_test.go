package cli

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/actingweb/actingweb-go/internal/testenv"
)

// TestCopyNamesItsConnections: while a copy into PostgreSQL runs, the sessions writing to the
// target show application_name 'actingweb' in pg_stat_activity (docs/operations.md, "1.
// Connections"): an operator can tell them apart from the application's.
func TestCopyNamesItsConnections(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a, _, _ := integrationApp(t)
	src, _ := testenv.FreshPostgresSchema(t)
	if err := a.RunFixtureLoad(ctx, FixtureOptions{To: src, Dir: fixtureDir, Upgrade: true}); err != nil {
		t.Fatalf("fixture load: %v", err)
	}
	dst, dstSchema := testenv.FreshPostgresSchema(t)
	if err := a.RunSchemaUpgrade(ctx, SchemaOptions{To: dst}); err != nil {
		t.Fatal(err)
	}
	obs, err := pgx.Connect(ctx, testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Close(context.Background())

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done, state := make(chan error, 1), t.TempDir()
	// 200 rows/s: the fixture's ~1,200 rows take 6 s; the run is stopped once seen.
	go func() {
		done <- a.RunCopy(runCtx, CopyOptions{From: src, To: dst, Move: MoveFlags{Quiet: true, Rate: 200, BatchSize: 25, StateDir: state}})
	}()
	// Wait for a session whose latest statement is a COPY into the target schema.
	var names []string
	for {
		rows, _ := obs.Query(ctx, `SELECT application_name FROM pg_stat_activity
			WHERE datname = current_database() AND starts_with(query, 'copy "' || $1 || '".')`, dstSchema)
		if names, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			t.Fatal(err)
		}
		if len(names) > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the copy ended (%v) before a session of it was seen in pg_stat_activity", err)
		case <-time.After(10 * time.Millisecond): // poll pg_stat_activity
		}
	}
	for _, n := range names {
		if n != "actingweb" {
			t.Errorf("a session of the copy has application_name %q, want actingweb", n)
		}
	}
	stop()
	<-done
}
