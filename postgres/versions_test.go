package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/postgres"
	"github.com/actingweb/actingweb-go/storetest"
	"github.com/jackc/pgx/v5"
)

// TestServerVersions is the PostgreSQL versions matrix: for every installed server version
// (testenv.PostgresBinDirs: each /usr/lib/postgresql/<version>/bin, or the list in
// ACTINGWEB_TEST_PG_BINDIRS) it starts a private cluster with wal_level = logical and runs the
// contract suite and a change capture round trip on it. The rest of the suite runs on the
// shared cluster's version (scripts/services.sh; ACTINGWEB_PG_BINDIR picks another one for a
// whole `make test`).
func TestServerVersions(t *testing.T) {
	testenv.PostgresURL(t) // skip (or fail on CI) when the services are missing
	for _, bindir := range testenv.PostgresBinDirs(t) {
		name := "postgresql-" + filepath.Base(filepath.Dir(bindir))
		t.Run(name, func(t *testing.T) {
			c := testenv.PrivateClusterAt(t, bindir)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			conn, err := pgx.Connect(ctx, c.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			var version string
			if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: server %s", bindir, version)
			var mu sync.Mutex // the contract suite opens stores from parallel subtests
			n := 0
			open := func(lc actingweb.LookupConfig) func(t *testing.T) *postgres.Store {
				return func(t *testing.T) *postgres.Store {
					t.Helper()
					mu.Lock()
					n++
					schema := fmt.Sprintf("v_%d", n)
					_, err := conn.Exec(ctx, "CREATE SCHEMA "+schema)
					mu.Unlock()
					if err != nil {
						t.Fatal(err)
					}
					cfg, err := postgres.ConfigFromURL(withSchema(t, c.URL, schema), func(string) string { return "" })
					if err != nil {
						t.Fatal(err)
					}
					cfg.Lookup = lc
					s, err := postgres.Open(ctx, cfg)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { s.Close() })
					if _, err := s.UpgradeSchema(ctx); err != nil {
						t.Fatal(err)
					}
					return s
				}
			}
			lookup := open(actingweb.DefaultLookupConfig())
			t.Run("contract", func(t *testing.T) {
				storetest.Run(t, func(t *testing.T) bulk.Backend { return lookup(t) }, storetest.WithPropertyFallback())
			})
			t.Run("capture", func(t *testing.T) {
				s := lookup(t)
				c, err := s.OpenCapture(ctx, "versions", true)
				if err != nil {
					t.Fatal(err)
				}
				defer s.DropCapture(context.Background(), "versions")
				defer c.Close()
				if err := s.CreateActor(ctx, actingweb.Actor{ID: "a1", Creator: "c", Passphrase: "p"}); err != nil {
					t.Fatal(err)
				}
				got, _ := collect(t, c, "", 1)
				if a, ok := got[0].Record.(*actingweb.Actor); !ok || a.ID != "a1" {
					t.Fatalf("change %+v, want the actor a1", got[0])
				}
			})
		})
	}
}

// withSchema adds this project's schema parameter to a postgres:// URL.
func withSchema(t *testing.T, raw, schema string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("schema", schema)
	u.RawQuery = q.Encode()
	return strings.TrimSpace(u.String())
}
