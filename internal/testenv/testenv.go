// Package testenv gives tests and benchmarks the real services started by
// `make test` (scripts/services.sh up): a private PostgreSQL 15 cluster and
// DynamoDB Local, both on 127.0.0.1.
//
// The services are announced through environment variables written to
// .run/env by scripts/services.sh:
//
//	ACTINGWEB_TEST_PG_URL            postgres://postgres@127.0.0.1:PORT/actingweb_test?sslmode=disable
//	ACTINGWEB_TEST_DYNAMODB_ENDPOINT http://127.0.0.1:PORT
//
// When a variable is unset the helpers skip the test (t.Skip), except on CI
// (CI=true) where a missing service is a failure (t.Fatal).
//
// The PostgreSQL database and the DynamoDB Local instance are shared by all
// test packages, which `go test -p 2` runs in parallel: isolate each test with
// FreshPostgresSchema and UniqueDynamoPrefix.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// EnvPostgresURL names the variable holding the test PostgreSQL URL.
	EnvPostgresURL = "ACTINGWEB_TEST_PG_URL"
	// EnvDynamoDBEndpoint names the variable holding the DynamoDB Local endpoint.
	EnvDynamoDBEndpoint = "ACTINGWEB_TEST_DYNAMODB_ENDPOINT"
	// EnvPostgresBinDir names the variable holding the PostgreSQL binaries
	// directory (psql, pgbench, ...).
	EnvPostgresBinDir = "ACTINGWEB_TEST_PG_BINDIR"

	// SchemaParam is the query parameter of a PostgreSQL URL that names the
	// schema the store should use. It is not a PostgreSQL parameter: remove
	// it (see SplitSchemaParam) before handing the URL to pgx.
	SchemaParam = "schema"
)

// PostgresURL returns the URL of the test PostgreSQL database, or skips the
// test (fails it on CI) when the services are not up.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return lookup(t, EnvPostgresURL, "PostgreSQL")
}

// DynamoDBEndpoint returns the endpoint URL of DynamoDB Local, or skips the
// test (fails it on CI) when the services are not up. DynamoDB Local checks
// no signatures: any static credentials and any region work.
func DynamoDBEndpoint(t testing.TB) string {
	t.Helper()
	return lookup(t, EnvDynamoDBEndpoint, "DynamoDB Local")
}

func lookup(t testing.TB, name, what string) string {
	t.Helper()
	v := strings.TrimSpace(os.Getenv(name))
	if v != "" {
		return v
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set: %s is not available; on CI the tests must run through `make test`, "+
			"which starts the services (scripts/services.sh up) and sets it", name, what)
	}
	t.Skipf("%s not set (set by `make test`; or run `scripts/services.sh up && . .run/env`)", name)
	return ""
}

// FreshPostgresSchema creates a new, uniquely named schema (t_<hex>) in the
// test database, drops it with CASCADE when the test ends, and returns the
// test database URL with ?schema=<name> (or &schema=<name>) set, together
// with the schema name.
func FreshPostgresSchema(t testing.TB) (pgURL string, schema string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pgURL, schema, drop, err := NewPostgresSchema(ctx, PostgresURL(t))
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := drop(ctx); err != nil {
			t.Errorf("testenv: %v", err)
		}
	})
	return pgURL, schema
}

// NewPostgresSchema is FreshPostgresSchema for a schema that outlives one test (a pool of
// schemas reused by many): it creates a new, uniquely named schema in the database of base
// (the test database URL, PostgresURL) and returns base with ?schema=<name> set, the schema
// name, and drop, which drops the schema with CASCADE. Dropping it is up to the caller.
func NewPostgresSchema(ctx context.Context, base string) (pgURL, schema string, drop func(context.Context) error, err error) {
	connURL, _, err := SplitSchemaParam(base)
	if err != nil {
		return "", "", nil, fmt.Errorf("bad %s: %w", EnvPostgresURL, err)
	}
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", "", nil, fmt.Errorf("random: %w", err)
	}
	schema = "t_" + hex.EncodeToString(b)
	if err := execPostgres(ctx, connURL, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return "", "", nil, fmt.Errorf("create schema %s: %w", schema, err)
	}
	drop = func(ctx context.Context) error {
		if err := execPostgres(ctx, connURL, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			return fmt.Errorf("drop schema %s: %w", schema, err)
		}
		return nil
	}
	if pgURL, err = WithSchemaParam(base, schema); err != nil {
		return "", "", nil, errors.Join(err, drop(ctx))
	}
	return pgURL, schema, drop, nil
}

// UniqueDynamoPrefix returns a table-name prefix unique to this call,
// "t_<hex>" (lower-case letters, digits and '_', valid in DynamoDB table
// names). Deleting the tables at cleanup is up to the caller.
func UniqueDynamoPrefix(t testing.TB) string {
	t.Helper()
	return "t_" + randomHex(t, 8)
}

// SplitSchemaParam removes the schema query parameter from a PostgreSQL URL
// and returns the remaining URL (safe to pass to pgx, which would send an
// unknown parameter to the server as a run-time setting) and the schema
// ("" when absent).
func SplitSchemaParam(pgURL string) (rest string, schema string, err error) {
	u, err := url.Parse(pgURL)
	if err != nil {
		return "", "", err
	}
	q := u.Query()
	schema = q.Get(SchemaParam)
	if !q.Has(SchemaParam) {
		return pgURL, "", nil
	}
	q.Del(SchemaParam)
	u.RawQuery = q.Encode()
	return u.String(), schema, nil
}

// WithSchemaParam returns the PostgreSQL URL with its schema query parameter
// set to schema (replacing any existing one).
func WithSchemaParam(pgURL, schema string) (string, error) {
	u, err := url.Parse(pgURL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set(SchemaParam, schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func execPostgres(ctx context.Context, connURL, sql string) error {
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("testenv: random: %v", err)
	}
	return hex.EncodeToString(b)
}
