package migrate_test

import (
	"context"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/migrate"
	"github.com/actingweb/actingweb-go/postgres"
)

// TestCopyAnalyzes: a copy into PostgreSQL ends with ANALYZE of the tables it wrote (the
// property lookup it rebuilt included) and of no other; a dry run analyzes nothing.
func TestCopyAnalyzes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, seed := seedBundle(t, 20)
	sel := []actingweb.Table{actingweb.TableActors, actingweb.TableProperties, actingweb.TableTrusts}
	// analyzed maps the tables of pg's schema to whether they were analyzed (by hand, not by
	// autovacuum)
	analyzed := func(t *testing.T, pg *postgres.Store) map[string]bool {
		t.Helper()
		rows, err := pg.Pool().Query(ctx, `SELECT relname, analyze_count > 0 FROM pg_stat_user_tables WHERE schemaname = $1`, pg.Schema())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for rows.Next() {
			var name string
			var done bool
			if err := rows.Scan(&name, &done); err != nil {
				t.Fatal(err)
			}
			out[name] = done
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}

	pg, schema := openPGSchema(t)
	if _, err := migrate.Copy(ctx, seed, pg, migrate.Options{Tables: sel, Logger: discardLogger()}); err != nil {
		t.Fatal(err)
	}
	got := analyzed(t, pg)
	for _, tb := range []string{"actors", "properties", "trusts", "property_lookup"} {
		if !got[tb] {
			t.Errorf("%s.%s not analyzed after the copy (pg_stat_user_tables: %v)", schema, tb, got)
		}
	}
	for _, tb := range []string{"attributes", "subscriptions"} {
		if got[tb] {
			t.Errorf("%s.%s analyzed, but the copy did not write it", schema, tb)
		}
	}

	dry, drySchema := openPGSchema(t)
	if _, err := migrate.Copy(ctx, seed, dry, migrate.Options{Tables: sel, DryRun: true, Logger: discardLogger()}); err != nil {
		t.Fatal(err)
	}
	for tb, done := range analyzed(t, dry) {
		if done {
			t.Errorf("%s.%s analyzed by a dry run", drySchema, tb)
		}
	}
}
