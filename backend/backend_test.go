package backend_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/backend"
	"github.com/actingweb/actingweb-go/dynamodb"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/postgres"
)

// env is getenv over a map.
func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// roundTrip upgrades s's schema and writes and reads an actor.
func roundTrip(t *testing.T, s actingweb.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := s.UpgradeSchema(ctx); err != nil {
		t.Fatalf("UpgradeSchema: %v", err)
	}
	if err := s.CreateActor(ctx, actingweb.Actor{ID: "a1", Creator: "A@Example.com", Passphrase: "p"}); err != nil {
		t.Fatalf("CreateActor: %v", err)
	}
	a, err := s.GetActor(ctx, "a1")
	if err != nil || a.Creator != "a@example.com" {
		t.Fatalf("GetActor = %+v, %v", a, err)
	}
}

func TestOpenPostgres(t *testing.T) {
	t.Parallel()
	pgURL, schema := testenv.FreshPostgresSchema(t)
	cfg, err := postgres.ConfigFromURL(pgURL, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := backend.Open(ctx, env(map[string]string{
		"DATABASE_BACKEND": " PostgreSQL ", "PG_DB_HOST": cfg.Host, "PG_DB_PORT": portOf(t, pgURL),
		"PG_DB_NAME": cfg.Database, "PG_DB_USER": cfg.User, "PG_DB_PASSWORD": passwordOf(t, pgURL),
		"PG_DB_SCHEMA": schema,
	}), nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	ps, ok := s.(*postgres.Store)
	if !ok || ps.Schema() != schema {
		t.Fatalf("Open gave %T (%s), want *postgres.Store in schema %s", s, s.Describe(), schema)
	}
	roundTrip(t, s)
}

func TestOpenDynamoDB(t *testing.T) {
	t.Parallel()
	endpoint := testenv.DynamoDBEndpoint(t)
	prefix := testenv.UniqueDynamoPrefix(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := backend.Open(ctx, env(map[string]string{
		"DATABASE_BACKEND": "dynamodb", "AWS_DB_HOST": endpoint, "AWS_DB_PREFIX": prefix,
	}), nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ds, ok := s.(*dynamodb.Store)
	if !ok || ds.Prefix() != prefix {
		t.Fatalf("Open gave %T (%s), want *dynamodb.Store with prefix %s", s, s.Describe(), prefix)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := ds.DropTables(ctx); err != nil {
			t.Errorf("DropTables: %v", err)
		}
	})
	roundTrip(t, s)
}

func TestOpenRefusesMissingOrUnknownBackend(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"", "  ", "mysql", "postgres://x"} {
		_, err := backend.Open(context.Background(), env(map[string]string{"DATABASE_BACKEND": v}), nil)
		if !errors.Is(err, actingweb.ErrInvalid) || !strings.Contains(err.Error(), "DATABASE_BACKEND") {
			t.Errorf("DATABASE_BACKEND=%q: err = %v, want ErrInvalid naming DATABASE_BACKEND", v, err)
		}
	}
}

// portOf and passwordOf read the test server's port and password from its URL.
func portOf(t *testing.T, pgURL string) string {
	t.Helper()
	u, err := url.Parse(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	if p := u.Port(); p != "" {
		return p
	}
	return "5432"
}

func passwordOf(t *testing.T, pgURL string) string {
	t.Helper()
	u, err := url.Parse(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := u.User.Password()
	return p
}
