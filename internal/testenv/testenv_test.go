package testenv_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/actingweb/actingweb-go/internal/testenv"
)

func TestSplitAndWithSchemaParam(t *testing.T) {
	base := "postgres://postgres@127.0.0.1:5432/actingweb_test?sslmode=disable"
	with, err := testenv.WithSchemaParam(base, "t_abc")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(with)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Query().Get("schema"); got != "t_abc" {
		t.Fatalf("schema = %q in %s", got, with)
	}
	if got := u.Query().Get("sslmode"); got != "disable" {
		t.Fatalf("sslmode = %q in %s", got, with)
	}
	rest, schema, err := testenv.SplitSchemaParam(with)
	if err != nil {
		t.Fatal(err)
	}
	if schema != "t_abc" || strings.Contains(rest, "schema=") || !strings.Contains(rest, "sslmode=disable") {
		t.Fatalf("SplitSchemaParam(%s) = %s, %s", with, rest, schema)
	}

	noQuery, err := testenv.WithSchemaParam("postgres://h/db", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if noQuery != "postgres://h/db?schema=s1" {
		t.Fatalf("WithSchemaParam without query = %s", noQuery)
	}
	replaced, _ := testenv.WithSchemaParam(noQuery, "s2")
	if replaced != "postgres://h/db?schema=s2" {
		t.Fatalf("WithSchemaParam replace = %s", replaced)
	}
	same, schema, _ := testenv.SplitSchemaParam(base)
	if same != base || schema != "" {
		t.Fatalf("SplitSchemaParam without schema = %s, %q", same, schema)
	}
}

var prefixRE = regexp.MustCompile(`^t_[0-9a-f]{16}$`)

func TestUniqueDynamoPrefix(t *testing.T) {
	a, b := testenv.UniqueDynamoPrefix(t), testenv.UniqueDynamoPrefix(t)
	if a == b || !prefixRE.MatchString(a) || !prefixRE.MatchString(b) {
		t.Fatalf("prefixes %q, %q", a, b)
	}
}

func TestPostgres(t *testing.T) {
	pgURL := testenv.PostgresURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	var version string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(version, "15.") {
		t.Errorf("server_version = %s, want 15.x", version)
	}
}

func schemaExists(ctx context.Context, t *testing.T, conn *pgx.Conn, schema string) bool {
	t.Helper()
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func TestFreshPostgresSchema(t *testing.T) {
	base := testenv.PostgresURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	var schema string
	t.Run("use", func(t *testing.T) {
		var pgURL string
		pgURL, schema = testenv.FreshPostgresSchema(t)
		if !prefixRE.MatchString(schema) {
			t.Fatalf("schema name %q", schema)
		}
		rest, got, err := testenv.SplitSchemaParam(pgURL)
		if err != nil || got != schema {
			t.Fatalf("URL %s carries schema %q (%v), want %q", pgURL, got, err, schema)
		}
		if !schemaExists(ctx, t, conn, schema) {
			t.Fatalf("schema %s not created", schema)
		}
		// The URL without the schema parameter connects; tables go into the schema.
		c2, err := pgx.Connect(ctx, rest)
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close(ctx)
		if _, err := c2.Exec(ctx, "CREATE TABLE "+pgx.Identifier{schema, "x"}.Sanitize()+" (id int)"); err != nil {
			t.Fatal(err)
		}
	})
	if schema == "" {
		t.Fatal("subtest did not run")
	}
	if schemaExists(ctx, t, conn, schema) {
		t.Fatalf("schema %s not dropped at cleanup", schema)
	}
}

func TestDynamoDBLocal(t *testing.T) {
	endpoint := testenv.DynamoDBEndpoint(t)
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if host := u.Hostname(); host != "127.0.0.1" && host != "localhost" && host != "::1" {
		t.Errorf("DynamoDB endpoint %s is not on loopback", endpoint)
	}
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20240101/us-west-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x")
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ListTables: HTTP %d: %s", resp.StatusCode, body)
	}
	var out struct {
		TableNames *[]string
	}
	if err := json.Unmarshal(body, &out); err != nil || out.TableNames == nil {
		t.Fatalf("ListTables body %s (%v)", body, err)
	}
}
