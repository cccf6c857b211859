package postgres_test

import (
	"context"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/postgres"
	"github.com/actingweb/actingweb-go/storetest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestContractNewOnDecoyPool runs the contract suite on stores built with postgres.New on one
// pool the test owns, whose connections have search_path set to a decoy schema holding the
// nine tables at head. Every store has its own schema (Options.Schema); a statement that does
// not name its schema would read or write the decoy's tables, so after the suite they must
// still be empty. Each store's Close must leave the shared pool open for the others.
func TestContractNewOnDecoyPool(t *testing.T) {
	base := testenv.PostgresURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// The decoy schema at head, upgraded through a store of Open.
	decoyURL, decoy := testenv.FreshPostgresSchema(t)
	dcfg, err := postgres.ConfigFromURL(decoyURL, func(string) string { return "" })
	if err != nil {
		t.Fatalf("ConfigFromURL: %v", err)
	}
	ds, err := postgres.Open(ctx, dcfg)
	if err != nil {
		t.Fatalf("Open decoy: %v", err)
	}
	if _, err := ds.UpgradeSchema(ctx); err != nil {
		t.Fatalf("UpgradeSchema decoy: %v", err)
	}
	ds.Close()

	connURL, _, err := testenv.SplitSchemaParam(base)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := pgxpool.ParseConfig(connURL)
	if err != nil {
		t.Fatal(err)
	}
	pc.MaxConns = 10
	pc.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{decoy}.Sanitize()
	pc.ConnConfig.RuntimeParams["timezone"] = "UTC"
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close) // after the check below (cleanups run last registered first)
	t.Cleanup(func() {
		// Runs once every subtest of the suite has finished.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, tb := range actingweb.Tables {
			var n int64
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{decoy, string(tb)}.Sanitize()).Scan(&n); err != nil {
				t.Errorf("count decoy %s: %v", tb, err)
				continue
			}
			if n != 0 {
				t.Errorf("decoy schema's table %s holds %d rows: a statement went through search_path instead of naming the store's schema", tb, n)
			}
		}
	})

	open := func(lc actingweb.LookupConfig) storetest.Opener {
		return func(t *testing.T) bulk.Backend {
			t.Helper()
			_, schema := testenv.FreshPostgresSchema(t)
			s, err := postgres.New(pool, postgres.Options{Schema: schema, Lookup: lc})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			t.Cleanup(func() { _ = s.Close() })
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := s.UpgradeSchema(ctx); err != nil {
				t.Fatalf("UpgradeSchema: %v", err)
			}
			return s
		}
	}
	legacy := actingweb.DefaultLookupConfig()
	legacy.UseLookupTable = false
	t.Run("Lookup", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, open(actingweb.DefaultLookupConfig()), storetest.WithPropertyFallback())
	})
	t.Run("Legacy", func(t *testing.T) {
		t.Parallel()
		storetest.RunLegacyLookup(t, open(legacy))
	})
}

// TestNewRefusesNilPool: New needs a pool.
func TestNewRefusesNilPool(t *testing.T) {
	t.Parallel()
	if _, err := postgres.New(nil, postgres.Options{}); err == nil {
		t.Fatal("New(nil) succeeded")
	}
	if _, err := postgres.New(nil, postgres.Options{Schema: "bad schema"}); err == nil {
		t.Fatal("New(nil, bad schema) succeeded")
	}
}
