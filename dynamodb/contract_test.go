package dynamodb_test

import (
	"context"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/dynamodb"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/storetest"
)

// TestContract runs the storetest contract suite against DynamoDB Local: every store it opens
// has its own table prefix (testenv.UniqueDynamoPrefix), its tables created by UpgradeSchema
// and dropped at cleanup, with the default lookup configuration (lookup mode on, oauthId,
// email, externalUserId indexed). The tables have no legacy GSI, so an indexed property
// without lookup row is not found.
func TestContract(t *testing.T) {
	testenv.DynamoDBEndpoint(t) // skip (or fail on CI) before any subtest when the service is missing
	storetest.Run(t, contractOpener(actingweb.DefaultLookupConfig(), false))
}

// TestContractLookupOverLegacyIndex runs the lookup cases in lookup mode on tables that have
// the legacy GSI property-index (a deployment moved from legacy to lookup mode): an indexed
// property without lookup row resolves through the GSI, filtered by name, as upstream.
func TestContractLookupOverLegacyIndex(t *testing.T) {
	testenv.DynamoDBEndpoint(t)
	storetest.Run(t, contractOpener(actingweb.DefaultLookupConfig(), true),
		storetest.OnlyGroups("Lookup"), storetest.WithPropertyFallback())
}

// TestContractLegacy runs the legacy-mode lookup cases (USE_PROPERTY_LOOKUP_TABLE=false) on
// tables with the GSI property-index.
func TestContractLegacy(t *testing.T) {
	testenv.DynamoDBEndpoint(t)
	lc := actingweb.DefaultLookupConfig()
	lc.UseLookupTable = false
	storetest.RunLegacyLookup(t, contractOpener(lc, true))
}

// contractOpener opens stores with lookup configuration lc, each under a fresh prefix whose
// tables UpgradeSchema creates (and, with legacyIndex, EnsureLegacyPropertyIndex adds the
// GSI property-index to), dropped at cleanup.
func contractOpener(lc actingweb.LookupConfig, legacyIndex bool) storetest.Opener {
	return func(t *testing.T) bulk.Backend {
		t.Helper()
		cfg := dynamodb.Config{
			Prefix:   testenv.UniqueDynamoPrefix(t),
			Region:   actingweb.DefaultRegion,
			Endpoint: testenv.DynamoDBEndpoint(t),
			Lookup:   lc,
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		s, err := dynamodb.Open(ctx, cfg)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := s.DropTables(ctx); err != nil {
				t.Errorf("DropTables %s: %v", cfg.Prefix, err)
			}
			_ = s.Close()
		})
		if _, err := s.UpgradeSchema(ctx); err != nil {
			t.Fatalf("UpgradeSchema: %v", err)
		}
		// The contract reads rows whose ttl_timestamp has passed: DynamoDB Local's TTL sweeper
		// must not delete them between the write and the read.
		if _, err := s.DisableTTL(ctx); err != nil {
			t.Fatalf("DisableTTL: %v", err)
		}
		if legacyIndex {
			if _, err := s.EnsureLegacyPropertyIndex(ctx); err != nil {
				t.Fatalf("EnsureLegacyPropertyIndex: %v", err)
			}
		}
		return s
	}
}
