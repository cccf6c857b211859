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
)

// TestContract runs the storetest contract suite against PostgreSQL: every store it opens
// lives in its own fresh schema (testenv.FreshPostgresSchema, dropped at cleanup), upgraded to
// Alembic head, with the default lookup configuration (lookup mode on, oauthId, email,
// externalUserId indexed).
//
// PostgreSQL resolves an indexed property without lookup row through a scan of properties, as
// upstream (storetest.WithPropertyFallback).
func TestContract(t *testing.T) {
	testenv.PostgresURL(t) // skip (or fail on CI) before any subtest when the service is missing
	storetest.Run(t, contractOpener(actingweb.DefaultLookupConfig()), storetest.WithPropertyFallback())
}

// TestContractLegacy runs the legacy-mode lookup cases (USE_PROPERTY_LOOKUP_TABLE=false).
func TestContractLegacy(t *testing.T) {
	testenv.PostgresURL(t)
	lc := actingweb.DefaultLookupConfig()
	lc.UseLookupTable = false
	storetest.RunLegacyLookup(t, contractOpener(lc))
}

// contractOpener opens stores with lookup configuration lc, each in a fresh schema at head.
func contractOpener(lc actingweb.LookupConfig) storetest.Opener {
	return func(t *testing.T) bulk.Backend {
		t.Helper()
		url, _ := testenv.FreshPostgresSchema(t)
		cfg, err := postgres.ConfigFromURL(url, func(string) string { return "" })
		if err != nil {
			t.Fatalf("ConfigFromURL: %v", err)
		}
		cfg.Lookup = lc
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s, err := postgres.Open(ctx, cfg)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		if _, err := s.UpgradeSchema(ctx); err != nil {
			t.Fatalf("UpgradeSchema: %v", err)
		}
		return s
	}
}
