package dynamodb_test

import (
	"context"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/dynamodb"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/storetest"
)

// TestContract runs the storetest contract suite against DynamoDB Local: every store it opens
// has its own table prefix (testenv.UniqueDynamoPrefix), its tables created by UpgradeSchema
// and dropped at cleanup, with the default lookup configuration (lookup mode on, oauthId,
// email, externalUserId indexed).
func TestContract(t *testing.T) {
	testenv.DynamoDBEndpoint(t) // skip (or fail on CI) before any subtest when the service is missing
	storetest.Run(t, func(t *testing.T) actingweb.Store {
		t.Helper()
		cfg := dynamodb.Config{
			Prefix:   testenv.UniqueDynamoPrefix(t),
			Region:   actingweb.DefaultRegion,
			Endpoint: testenv.DynamoDBEndpoint(t),
			Lookup:   actingweb.DefaultLookupConfig(),
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
		return s
	})
}
