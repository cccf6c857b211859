package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/actingweb/actingweb-go/dynamodb"
	"github.com/actingweb/actingweb-go/internal/fixture"
	"github.com/actingweb/actingweb-go/internal/testenv"
)

// upstreamScript is how ActingWeb's PostgreSQL migration guide (docs/guides/
// postgresql-migration.rst) runs its migration script; the guide test replaces exactly this
// text with the actingweb binary and nothing else.
const upstreamScript = "poetry run python scripts/migrate_dynamodb_to_postgresql.py"

// The guide's commands, verbatim (sections 2.1, 3.1, 4.1, "Data Recovery" and "Migration script
// fails").
const (
	guideExport = `poetry run python scripts/migrate_dynamodb_to_postgresql.py export \
     --output-dir /tmp/actingweb_export \
     --aws-profile production \
     --table-prefix prod_`
	guideImport = `poetry run python scripts/migrate_dynamodb_to_postgresql.py import \
     --input-dir /tmp/actingweb_export \
     --pg-host localhost \
     --pg-port 5432 \
     --pg-database actingweb \
     --pg-user actingweb \
     --pg-password secretpassword`
	guideVerify = `poetry run python scripts/migrate_dynamodb_to_postgresql.py validate \
     --input-dir /tmp/actingweb_export \
     --pg-host localhost \
     --pg-port 5432 \
     --pg-database actingweb \
     --pg-user actingweb \
     --pg-password secretpassword`
	guideValidate = `poetry run python scripts/migrate_dynamodb_to_postgresql.py validate \
     --input-dir /tmp/actingweb_export \
     --pg-host localhost \
     --pg-database actingweb`
	guideReimport = `poetry run python scripts/migrate_dynamodb_to_postgresql.py import \
     --input-dir /tmp/actingweb_export`
	guideRevalidate = `poetry run python scripts/migrate_dynamodb_to_postgresql.py validate \
     --input-dir /tmp/actingweb_export`
	guideSkipDuplicates = `poetry run python scripts/migrate_dynamodb_to_postgresql.py import \
     --input-dir /tmp/actingweb_export \
     --skip-duplicates \
     --log-level DEBUG`
)

// TestUpstreamGuide runs the migration commands of ActingWeb's PostgreSQL migration guide as
// written, with only the program name replaced, in the environment the guide sets up first
// (DATABASE_BACKEND=postgresql, PG_DB_* for localhost:5432, database and user actingweb):
// export from DynamoDB (profile production, prefix prod_), import and validate into
// PostgreSQL, the troubleshooting section's --skip-duplicates --log-level DEBUG, and the data
// recovery section's re-import into a recreated database. Every command must exit 0 and the
// PostgreSQL database must end equal to the DynamoDB tables. Before the guide's flags chose
// the store, the export read the (empty) PostgreSQL database and every later step passed on
// zero rows.
//
// The guide's server is localhost:5432: the test forwards that port to the test cluster, so it
// needs the port free (it fails, naming the port, when it is not).
func TestUpstreamGuide(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pgURL := testenv.PostgresURL(t)
	endpoint := testenv.DynamoDBEndpoint(t)
	bin := buildCLI(t)

	// The guide's PostgreSQL (1.1-1.2): user actingweb, database actingweb, on localhost:5432.
	u, err := url.Parse(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	forwardLocalhost(t, "5432", u.Host)
	admin, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	recreateGuideDatabase(ctx, t, admin)

	// The guide's DynamoDB: tables of prefix prod_ (the models append '_': prod__actors), here
	// holding the fixture the Python library wrote; reached through profile "production".
	home := t.TempDir()
	writeFile(t, filepath.Join(home, "config"), "[profile production]\nregion = us-west-2\n")
	writeFile(t, filepath.Join(home, "credentials"), "[production]\naws_access_key_id = local\naws_secret_access_key = local\n")
	seedGuideDynamoDB(ctx, t, endpoint)
	if err := os.RemoveAll("/tmp/actingweb_export"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll("/tmp/actingweb_export") })

	// The environment of the guide's section 1.4 (and AWS_DB_HOST, here DynamoDB Local).
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"DATABASE_BACKEND=postgresql", "PG_DB_HOST=localhost", "PG_DB_PORT=5432",
		"PG_DB_NAME=actingweb", "PG_DB_USER=actingweb", "PG_DB_PASSWORD=secretpassword", "PG_DB_PREFIX=",
		"AWS_DB_HOST=" + endpoint, "AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"), "AWS_EC2_METADATA_DISABLED=true",
	}
	run := func(step, command string) string {
		t.Helper()
		line := strings.ReplaceAll(command, upstreamScript, bin)
		if line == command {
			t.Fatalf("%s: the command does not start with the upstream script", step)
		}
		cmd := exec.CommandContext(ctx, "bash", "-c", line)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %s\n%v\n%s", step, strings.ReplaceAll(line, bin, "actingweb"), err, out)
		}
		return string(out)
	}
	// 1.5 alembic upgrade head: this tool's counterpart.
	run("schema", upstreamScript+" schema upgrade")

	out := run("2.1 export", guideExport)
	if !strings.Contains(out, "export uses DynamoDB, as --table-prefix, --aws-profile say") {
		t.Errorf("export did not say it reads DynamoDB over DATABASE_BACKEND=postgresql:\n%s", out)
	}
	if !strings.Contains(out, "ends in '_': tables are named prod__actors") {
		t.Errorf("export did not warn about the prefix prod_:\n%s", out)
	}
	run("3.1 import", guideImport)
	run("3.1 verify", guideVerify)
	run("4.1 validate", guideValidate)
	out = run("troubleshooting --skip-duplicates", guideSkipDuplicates)
	if !strings.Contains(out, "level=DEBUG") {
		t.Errorf("--log-level DEBUG printed no debug line:\n%s", out)
	}
	assertGuideEqual(ctx, t, bin, endpoint, env)

	// export --format json: the guide's expected files (upstream's <table>.json arrays), which
	// validate (and import) read back.
	jsonDir := filepath.Join(t.TempDir(), "json")
	run("export --format json", upstreamScript+" export --format json --output-dir "+jsonDir+" --aws-profile production --table-prefix prod_")
	for _, f := range []string{"actors.json", "properties.json", "attributes.json", "trusts.json",
		"peertrustees.json", "subscriptions.json", "subscription_diffs.json", "subscription_suspensions.json"} {
		b, err := os.ReadFile(filepath.Join(jsonDir, f))
		if err != nil {
			t.Fatalf("export --format json: %v", err)
		}
		var arr []map[string]any
		if err := json.Unmarshal(b, &arr); err != nil || len(arr) == 0 {
			t.Fatalf("export --format json: %s holds %d records (%v), want a non-empty JSON array", f, len(arr), err)
		}
	}
	if ents, _ := os.ReadDir(jsonDir); len(ents) != 8 {
		t.Errorf("export --format json left %d entries in %s, want the 8 table files", len(ents), jsonDir)
	}
	run("validate the json export", upstreamScript+" validate --input-dir "+jsonDir)

	// Data recovery: drop and recreate the database, upgrade, import, validate.
	recreateGuideDatabase(ctx, t, admin)
	run("recovery schema", upstreamScript+" schema upgrade")
	run("recovery import", guideReimport)
	run("recovery validate", guideRevalidate)
	assertGuideEqual(ctx, t, bin, endpoint, env)
}

// assertGuideEqual checks that the guide's PostgreSQL database holds what the DynamoDB tables
// hold (validate store against store, exit 0), and that it holds rows at all.
func assertGuideEqual(ctx context.Context, t *testing.T, bin, endpoint string, env []string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, "validate", "--from", "dynamodb", "--to", "postgresql", "--quiet")
	cmd.Env = append(append([]string(nil), env...), "AWS_DB_PREFIX=prod_", "AWS_PROFILE=production")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("validate DynamoDB prod_ against the guide's database: %v\n%s", err, out)
	}
	conn, err := pgx.Connect(ctx, "postgres://actingweb:secretpassword@localhost:5432/actingweb?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM public.properties").Scan(&n); err != nil || n == 0 {
		t.Fatalf("the guide's database holds %d properties (%v): the data did not arrive", n, err)
	}
}

// recreateGuideDatabase (re)creates the guide's user and database (section 1.2 and "Data
// Recovery"), as the cluster's superuser.
func recreateGuideDatabase(ctx context.Context, t *testing.T, admin *pgx.Conn) {
	t.Helper()
	for _, q := range []string{
		`DO $$ BEGIN
		   IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'actingweb') THEN
		     CREATE ROLE actingweb LOGIN PASSWORD 'secretpassword';
		   END IF;
		 END $$`,
		"DROP DATABASE IF EXISTS actingweb WITH (FORCE)",
		"CREATE DATABASE actingweb OWNER actingweb",
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// seedGuideDynamoDB loads the upstream fixture into DynamoDB Local under prefix prod_ (tables
// prod__actors, ...) and drops those tables when the test ends.
func seedGuideDynamoDB(ctx context.Context, t *testing.T, endpoint string) {
	t.Helper()
	ddbURL := dynamoURL(endpoint, "prod_")
	cfg, err := dynamodb.ConfigFromURL(ddbURL, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	s, err := dynamodb.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_ = s.DropTables(ctx) // a run that died before its cleanup
	dropDynamoTablesAtCleanup(t, ddbURL)
	// upstream's tables, as the Python library created them: TTL off (with it on, DynamoDB Local
	// would sweep the fixture's long-expired attributes away while the test runs)
	dir := filepath.Join("..", "..", "testdata", "upstream-seed1")
	if err := fixture.CreateDynamoDBTables(ctx, s.Client(), "prod_", dir); err != nil {
		t.Fatal(err)
	}
	if _, err := fixture.LoadDynamoDB(ctx, s.Client(), "prod_", dir); err != nil {
		t.Fatal(err)
	}
}

// forwardLocalhost listens on localhost:port (IPv4, and IPv6 where the machine has it) and
// forwards every connection to target until the test ends.
func forwardLocalhost(t *testing.T, port, target string) {
	t.Helper()
	var lns []net.Listener
	for _, host := range []string{"127.0.0.1", "::1"} {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
		if err != nil {
			if host == "::1" && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "address already in use") {
				continue // no IPv6 loopback here
			}
			t.Fatalf("the upstream guide's commands name localhost:%s; listen on %s:%s: %v (stop what uses the port)", port, host, port, err)
		}
		lns = append(lns, ln)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		for _, ln := range lns {
			ln.Close()
		}
		wg.Wait()
	})
	for _, ln := range lns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					s, err := net.Dial("tcp", target)
					if err != nil {
						return
					}
					defer s.Close()
					go func() { io.Copy(s, c); s.(*net.TCPConn).CloseWrite() }()
					io.Copy(c, s)
				}()
			}
		}()
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
