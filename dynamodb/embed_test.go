package dynamodb_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/dynamodb"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/storetest"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// recordingHTTP is the injected client's HTTP client: it counts the requests and collects
// the table names their bodies name.
type recordingHTTP struct {
	n      atomic.Int64
	mu     sync.Mutex
	tables map[string]bool
}

var tableNameRe = regexp.MustCompile(`"TableName":"([^"]+)"`)

func (r *recordingHTTP) Do(req *http.Request) (*http.Response, error) {
	r.n.Add(1)
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		r.mu.Lock()
		for _, m := range tableNameRe.FindAllSubmatch(b, -1) {
			r.tables[string(m[1])] = true
		}
		r.mu.Unlock()
	}
	return http.DefaultClient.Do(req)
}

// TestContractNewOnInjectedClient runs the contract suite on stores built with dynamodb.New
// on one SDK client the test built (its HTTP client records every request), each store with
// its own prefix given in Options. Every request must go through the injected client and name
// only tables of the stores' prefixes; a store's Close must leave the client usable for the
// others.
func TestContractNewOnInjectedClient(t *testing.T) {
	endpoint := testenv.DynamoDBEndpoint(t)
	rec := &recordingHTTP{tables: map[string]bool{}}
	client := sdk.New(sdk.Options{
		Region:                          actingweb.DefaultRegion,
		BaseEndpoint:                    aws.String(endpoint),
		Credentials:                     credentials.NewStaticCredentialsProvider("local", "local", ""),
		HTTPClient:                      rec,
		DisableValidateResponseChecksum: true,
	})
	var mu sync.Mutex
	prefixes := map[string]bool{}
	t.Cleanup(func() {
		if rec.n.Load() == 0 {
			t.Error("no request went through the injected client")
		}
		mu.Lock()
		defer mu.Unlock()
		for name := range rec.tables {
			ok := false
			for q := range prefixes {
				if strings.HasPrefix(name, q+"_") {
					ok = true
				}
			}
			if !ok {
				t.Errorf("a request named table %s, not a table of the stores' prefixes", name)
			}
		}
	})
	open := func(lc actingweb.LookupConfig) storetest.Opener {
		return func(t *testing.T) bulk.Backend {
			t.Helper()
			prefix := testenv.UniqueDynamoPrefix(t)
			mu.Lock()
			prefixes[prefix] = true
			mu.Unlock()
			s, err := dynamodb.New(client, dynamodb.Options{Prefix: prefix, Lookup: lc})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if s.Prefix() != prefix {
				t.Fatalf("Prefix() = %q, want %q", s.Prefix(), prefix)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				if err := s.DropTables(ctx); err != nil {
					t.Errorf("DropTables %s: %v", prefix, err)
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
			return s
		}
	}
	storetest.Run(t, open(actingweb.DefaultLookupConfig()))
}

// TestNewRefusesNilClient: New needs a client and a scan split in range.
func TestNewRefusesNilClient(t *testing.T) {
	t.Parallel()
	if _, err := dynamodb.New(nil, dynamodb.Options{}); err == nil {
		t.Fatal("New(nil) succeeded")
	}
	if _, err := dynamodb.New(sdk.New(sdk.Options{Region: "us-west-1"}), dynamodb.Options{ScanSplit: 1000}); err == nil {
		t.Fatal("New with scan split 1000 succeeded")
	}
}
