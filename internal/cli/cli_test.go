package cli

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/migrate"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func newTestApp(env map[string]string) (*App, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return NewApp(&out, &errb, envMap(env)), &out, &errb
}

// TestResolveStoreEnvAndFlags: flags override the environment only when given (§7.2 I10).
func TestResolveStoreEnvAndFlags(t *testing.T) {
	env := map[string]string{
		"PG_DB_HOST": "envhost", "PG_DB_PORT": "6543", "PG_DB_NAME": "envdb", "PG_DB_USER": "envuser",
		"PG_DB_PASSWORD": "envsecret", "PG_DB_PREFIX": "t1_", "PG_DB_SCHEMA": "app",
		"AWS_DB_PREFIX": "envprefix", "AWS_DEFAULT_REGION": "eu-west-1", "AWS_DB_HOST": "http://127.0.0.1:1",
		"AWS_PROFILE": "envprofile",
	}
	tests := []struct {
		name  string
		arg   string
		flags map[string]string
		check func(t *testing.T, s StoreSpec)
	}{
		{"postgres from env", "postgresql", nil, func(t *testing.T, s StoreSpec) {
			c := s.Postgres
			if s.Backend != BackendPostgres || c.Host != "envhost" || c.Port != 6543 || c.Database != "envdb" ||
				c.User != "envuser" || c.Password != "envsecret" || c.Schema != "t1_app" {
				t.Errorf("config = %+v", c)
			}
		}},
		{"postgres alias, flags given override", "Postgres", map[string]string{"pg-host": "flaghost", "pg-port": "7000", "pg-user": "flaguser"}, func(t *testing.T, s StoreSpec) {
			c := s.Postgres
			if c.Host != "flaghost" || c.Port != 7000 || c.User != "flaguser" || c.Database != "envdb" || c.Password != "envsecret" {
				t.Errorf("config = %+v", c)
			}
		}},
		{"password flag", "postgresql", map[string]string{"pg-password": "flagsecret", "pg-database": "flagdb"}, func(t *testing.T, s StoreSpec) {
			if s.Postgres.Password != "flagsecret" || s.Postgres.Database != "flagdb" {
				t.Errorf("config = %+v", s.Postgres)
			}
		}},
		{"dynamodb from env", "dynamodb", nil, func(t *testing.T, s StoreSpec) {
			c := s.DynamoDB
			if s.Backend != BackendDynamoDB || c.Prefix != "envprefix" || c.Region != "eu-west-1" || c.Endpoint != "http://127.0.0.1:1" || c.Profile != "envprofile" {
				t.Errorf("config = %+v", c)
			}
			if len(s.Warnings) != 0 {
				t.Errorf("warnings = %v", s.Warnings)
			}
		}},
		{"table prefix flag with trailing underscore warns", "dynamodb", map[string]string{"table-prefix": "prod_", "aws-profile": "p2"}, func(t *testing.T, s StoreSpec) {
			if s.DynamoDB.Prefix != "prod_" || s.DynamoDB.Profile != "p2" {
				t.Errorf("config = %+v", s.DynamoDB)
			}
			if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], "prod__actors") || !strings.Contains(s.Warnings[0], `"prod"`) {
				t.Errorf("warnings = %v", s.Warnings)
			}
		}},
		{"dynamodb URL wins over env and flags", "dynamodb://?region=us-east-2&endpoint=http://127.0.0.1:2&prefix=urlp", map[string]string{"table-prefix": "flagp"}, func(t *testing.T, s StoreSpec) {
			c := s.DynamoDB
			if c.Prefix != "urlp" || c.Region != "us-east-2" || c.Endpoint != "http://127.0.0.1:2" || c.Profile != "envprofile" {
				t.Errorf("config = %+v", c)
			}
		}},
		{"dynamodb URL falls back to flags", "dynamodb://?endpoint=http://127.0.0.1:2", map[string]string{"table-prefix": "flagp"}, func(t *testing.T, s StoreSpec) {
			if s.DynamoDB.Prefix != "flagp" || s.DynamoDB.Region != "eu-west-1" {
				t.Errorf("config = %+v", s.DynamoDB)
			}
		}},
		{"postgres URL takes the password from PG_DB_PASSWORD", "postgres://u@h:5433/d?schema=s1&sslmode=disable", nil, func(t *testing.T, s StoreSpec) {
			c := s.Postgres
			if c.Schema != "s1" || c.Host != "h" || c.Database != "d" || c.User != "u" {
				t.Errorf("config = %+v", c)
			}
			if !strings.Contains(c.ConnString, "u:envsecret@h:5433") || strings.Contains(c.ConnString, "schema=") {
				t.Errorf("conn string = %q", c.ConnString)
			}
			if strings.Contains(s.String(), "envsecret") || strings.Contains(s.Arg, "envsecret") {
				t.Errorf("secret shown: %q / %q", s.String(), s.Arg)
			}
			if s.String() != "postgresql h:5433/d schema s1" {
				t.Errorf("String = %q", s.String())
			}
		}},
		{"pg flags do not apply to a URL and say so", "postgres://u@h/d", map[string]string{"pg-host": "other"}, func(t *testing.T, s StoreSpec) {
			if s.Postgres.Host != "h" || len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], "--pg-host") {
				t.Errorf("host %q warnings %v", s.Postgres.Host, s.Warnings)
			}
		}},
		{"postgres URL with its own password warns and is redacted", "postgresql://u:urlsecret@h/d", nil, func(t *testing.T, s StoreSpec) {
			if strings.Contains(s.Arg, "urlsecret") || strings.Contains(s.String(), "urlsecret") {
				t.Errorf("secret shown: %q / %q", s.Arg, s.String())
			}
			if !strings.Contains(s.Postgres.ConnString, "u:urlsecret@") || len(s.Warnings) != 1 {
				t.Errorf("conn %q warnings %v", s.Postgres.ConnString, s.Warnings)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, _, _ := newTestApp(env)
			for k, v := range tc.flags {
				if err := a.SetFlag(k, v); err != nil {
					t.Fatal(err)
				}
			}
			s, err := a.ResolveStore(tc.arg)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s)
		})
	}
}

// A flag that is not given keeps the environment even though it has a default (I10): the
// cobra layer must record only flags the user typed.
func TestConnFlagsOnlyWhenGiven(t *testing.T) {
	a, _, _ := newTestApp(map[string]string{"PG_DB_HOST": "envhost", "AWS_DB_PREFIX": "envp", "PG_DB_PORT": "6543"})
	root := a.NewRootCmd()
	root.SetArgs([]string{"--pg-user", "flaguser", "version"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	s, err := a.ResolveStore("postgresql")
	if err != nil {
		t.Fatal(err)
	}
	if s.Postgres.Host != "envhost" || s.Postgres.Port != 6543 || s.Postgres.User != "flaguser" {
		t.Errorf("config = %+v", s.Postgres)
	}
	if got := a.Env("AWS_DB_PREFIX"); got != "envp" {
		t.Errorf("AWS_DB_PREFIX = %q", got)
	}
}

func TestResolveStoreErrors(t *testing.T) {
	for _, arg := range []string{"", "mysql", "mysql://x", "dynamodb://?bogus=1", "postgres://h/d?schema=bad%20name"} {
		a, _, _ := newTestApp(nil)
		_, err := a.ResolveStore(arg)
		if ExitCode(err) != ExitUsage {
			t.Errorf("ResolveStore(%q): err %v, exit %d, want usage", arg, err, ExitCode(err))
		}
	}
}

// TestChooseStore covers how a single-store command picks its store: the flag, the backend
// upstream's script implies by its connection flags, DATABASE_BACKEND, the one backend whose
// flags are given; and the refusal of a flag of the other backend.
func TestChooseStore(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, env, op, given, implied string
		flags                         map[string]string
		want, wantErr                 string
	}{
		{name: "env", env: " postgresql ", op: "import", want: "postgresql"},
		{name: "given wins", env: "postgresql", op: "import", given: "dynamodb", want: "dynamodb"},
		{name: "nothing", op: "import", wantErr: "DATABASE_BACKEND"},
		// the upstream guide: DATABASE_BACKEND=postgresql set for the application, then export
		// with DynamoDB flags reads DynamoDB (it exported the empty PostgreSQL database before)
		{name: "guide export", env: "postgresql", op: "export", implied: BackendDynamoDB,
			flags: map[string]string{"aws-profile": "production", "table-prefix": "prod_"}, want: "dynamodb"},
		{name: "guide import", env: "dynamodb", op: "import", implied: BackendPostgres,
			flags: map[string]string{"pg-host": "localhost", "pg-database": "actingweb"}, want: "postgresql"},
		{name: "implied without env", op: "validate", implied: BackendPostgres,
			flags: map[string]string{"pg-database": "actingweb"}, want: "postgresql"},
		{name: "only flags", op: "schema", flags: map[string]string{"table-prefix": "x"}, want: "dynamodb"},
		{name: "flag against given", op: "export", given: "postgresql", implied: BackendDynamoDB,
			flags: map[string]string{"table-prefix": "prod"}, wantErr: "--table-prefix is a DynamoDB flag, but --from names a PostgreSQL store"},
		{name: "flag against url", op: "import", given: "dynamodb://?prefix=x", implied: BackendPostgres,
			flags: map[string]string{"pg-port": "5433"}, wantErr: "--pg-port is a PostgreSQL flag, but --to names a DynamoDB store"},
		{name: "flag against env", env: "postgresql", op: "import", implied: BackendPostgres,
			flags: map[string]string{"table-prefix": "prod"}, wantErr: "DATABASE_BACKEND=postgresql makes import use PostgreSQL"},
		{name: "both backends", op: "export", implied: BackendDynamoDB,
			flags: map[string]string{"table-prefix": "prod", "pg-host": "h"}, wantErr: "--pg-host is a PostgreSQL flag, but --table-prefix makes export use DynamoDB"},
		{name: "both backends no implied", op: "schema",
			flags: map[string]string{"table-prefix": "prod", "pg-host": "h"}, wantErr: "--to is required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{}
			if c.env != "" {
				env["DATABASE_BACKEND"] = c.env
			}
			a, _, _ := newTestApp(env)
			for k, v := range c.flags {
				if err := a.SetFlag(k, v); err != nil {
					t.Fatal(err)
				}
			}
			got, err := a.ChooseStore(c.op, c.given, map[bool]string{true: "--from", false: "--to"}[c.op == "export"], c.implied)
			if c.wantErr != "" {
				if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want a usage error containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil || strings.TrimSpace(got) != c.want {
				t.Fatalf("ChooseStore = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestCheckPairFlags(t *testing.T) {
	t.Parallel()
	a, _, _ := newTestApp(nil)
	if err := a.SetFlag("table-prefix", "prod"); err != nil {
		t.Fatal(err)
	}
	if err := a.CheckPairFlags("copy", "dynamodb", "postgresql"); err != nil {
		t.Errorf("flag of the source's backend: %v", err)
	}
	err := a.CheckPairFlags("copy", "postgresql", "postgres://u@h/db")
	if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "--table-prefix is a DynamoDB flag, but neither --from (postgresql) nor --to") {
		t.Errorf("flag of no store's backend: %v", err)
	}
}

func TestIndexedProperties(t *testing.T) {
	a, _, _ := newTestApp(nil)
	if got := strings.Join(a.IndexedProperties(), ","); got != "oauthId,email,externalUserId" {
		t.Errorf("default = %s", got)
	}
	a, _, _ = newTestApp(map[string]string{"INDEXED_PROPERTIES": " email , ,x"})
	if got := strings.Join(a.IndexedProperties(), ","); got != "email,x" {
		t.Errorf("env = %s", got)
	}
	_ = a.SetFlag("indexed-properties", "y")
	if got := strings.Join(a.IndexedProperties(), ","); got != "y" {
		t.Errorf("flag = %s", got)
	}
}

func TestParseConflictPolicy(t *testing.T) {
	tests := []struct {
		s    string
		skip bool
		want bulk.ConflictPolicy
		code int
	}{
		{"", false, bulk.ConflictFail, 0},
		{"fail", false, bulk.ConflictFail, 0},
		{"SKIP", false, bulk.ConflictSkip, 0},
		{"overwrite", false, bulk.ConflictOverwrite, 0},
		{"", true, bulk.ConflictSkip, 0},
		{"skip", true, bulk.ConflictSkip, 0},
		{"overwrite", true, 0, ExitUsage},
		{"merge", false, 0, ExitUsage},
	}
	for _, tc := range tests {
		got, err := ParseConflictPolicy(tc.s, tc.skip)
		if ExitCode(err) != tc.code || (err == nil && got != tc.want) {
			t.Errorf("ParseConflictPolicy(%q, %v) = %v, %v", tc.s, tc.skip, got, err)
		}
	}
}

func TestMoveOptions(t *testing.T) {
	tests := []struct {
		name string
		m    MoveFlags
		ok   bool
	}{
		{"defaults", MoveFlags{}, true},
		{"segment share", MoveFlags{Segment: 2, TotalSegments: 3}, true},
		{"segment without total", MoveFlags{Segment: 1}, false},
		{"segment out of range", MoveFlags{Segment: 3, TotalSegments: 3}, false},
		{"negative rate", MoveFlags{Rate: -1}, false},
		{"unlimited rejects", MoveFlags{MaxRejects: -1}, true},
		{"bad rejects", MoveFlags{MaxRejects: -2}, false},
		{"tables", MoveFlags{Tables: []string{"actors,subscriptiondiffs", "trusts"}}, true},
		{"unknown table", MoveFlags{Tables: []string{"actors,nope"}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, _, _ := newTestApp(nil)
			o, err := a.options(tc.m, bulk.ConflictSkip)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && ExitCode(err) != ExitUsage {
				t.Fatalf("exit %d, want usage", ExitCode(err))
			}
			if tc.name == "tables" && (len(o.Tables) != 3 || o.Tables[1] != actingweb.TableSubscriptionDiffs) {
				t.Errorf("tables = %v", o.Tables)
			}
			if err == nil && (o.Policy != bulk.ConflictSkip || len(o.IndexedProperties) != 3) {
				t.Errorf("options = %+v", o)
			}
		})
	}
}

func TestExecuteExitCodes(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"version"}, ExitOK, "Alembic head e5f6a7b8c9d0", ""},
		{[]string{"bogus"}, ExitUsage, "", "unknown command"},
		{[]string{"schema", "statux"}, ExitUsage, "", `unknown command "statux" for "actingweb schema"`},
		{[]string{"schema"}, ExitOK, "Available Commands", ""},
		{[]string{"completion", "bash"}, ExitOK, "bash completion", ""},
		{[]string{"export", "--from", "postgresql", "--table-prefix", "prod", "--output-dir", "x"}, ExitUsage, "", "--table-prefix is a DynamoDB flag"},
		{[]string{"export", "--from", "dynamodb", "--output-dir", "x", "--format", "csv"}, ExitUsage, "", "use bundle or json"},
		{[]string{"copy", "--nope"}, ExitUsage, "", "unknown flag"},
		{[]string{"copy", "--from", "dynamodb"}, ExitUsage, "", "--from and --to"},
		{[]string{"copy", "--from", "dynamodb", "--to", "dynamodb"}, ExitUsage, "", "same store"},
		{[]string{"copy", "--from", "postgresql", "--to", "dynamodb", "--segment", "1"}, ExitUsage, "", "--total-segments"},
		{[]string{"import", "--to", "dynamodb", "--input-dir", "x", "--on-conflict", "merge"}, ExitUsage, "", "fail, skip or overwrite"},
		{[]string{"export", "--from", "dynamodb"}, ExitUsage, "", "--output-dir"},
		{[]string{"validate", "--to", "dynamodb"}, ExitUsage, "", "exactly one"},
		{[]string{"validate", "--from", "dynamodb", "--input-dir", "x", "--to", "dynamodb"}, ExitUsage, "", "exactly one"},
		{[]string{"schema", "status"}, ExitUsage, "", "DATABASE_BACKEND"},
		{[]string{"--log-level", "loud", "version"}, ExitUsage, "", "--log-level"},
		{[]string{"copy", "--from", "mysql://x", "--to", "dynamodb"}, ExitUsage, "", "neither postgres nor dynamodb"},
		{[]string{"import", "--to", "dynamodb", "--input-dir", "/nonexistent/dir"}, ExitFailed, "", "input directory"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			a, out, errb := newTestApp(nil)
			code := a.Execute(context.Background(), tc.args)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.code, errb)
			}
			if !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errb.String(), tc.stderr) {
				t.Errorf("stdout %q, stderr %q; want %q / %q", out, errb, tc.stdout, tc.stderr)
			}
			if tc.code != ExitOK && strings.Count(strings.TrimSpace(errb.String()), "actingweb: ") != 1 {
				t.Errorf("want one error line, stderr: %q", errb)
			}
		})
	}
}

func TestPGPasswordFlagWarns(t *testing.T) {
	a, _, errb := newTestApp(nil)
	if code := a.Execute(context.Background(), []string{"--pg-password", "hunter2", "version"}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(errb.String(), "PG_DB_PASSWORD") || strings.Contains(errb.String(), "hunter2") {
		t.Errorf("stderr = %q", errb)
	}
}

func TestWriteJSONFileMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "r.json")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeJSONFile(p, map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(p)
	if strings.TrimSpace(string(b)) != "{\n  \"a\": 1\n}" {
		t.Errorf("content = %q", b)
	}
}

func TestFinishMoveMessages(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&migrate.RunError{Op: "copy", Table: actingweb.TableTrusts, Err: migrate.ErrTooManyRejects, Report: &migrate.Report{}}, "copy stopped at table trusts: more rows were rejected than --max-rejects 0 allows"},
		{migrate.ErrStateExists, "add --resume"},
		{migrate.ErrNoState, "run without --resume"},
		{errors.Join(actingweb.ErrSchema, errors.New("alembic_version missing")), "actingweb schema upgrade --to dst"},
		{actingweb.ErrConflict, "--on-conflict skip"},
		{errors.New("boom"), "copy failed: boom"},
		{&migrate.RunError{Op: "copy", Table: actingweb.TableActors, Err: actingweb.ErrConflict}, "copy stopped at table actors: conflicting row already exists on target (rows already exist"},
	}
	for _, tc := range tests {
		a, _, _ := newTestApp(nil)
		a.Stdout = &bytes.Buffer{}
		err := a.finishMove(context.Background(), "copy", nil, tc.err, MoveFlags{}, "st", "src", "dst")
		if err == nil || !strings.Contains(err.Error(), tc.want) || ExitCode(err) != ExitFailed {
			t.Errorf("finishMove(%v) = %v, want %q and exit 1", tc.err, err, tc.want)
		}
	}
}

// syncBuffer is a bytes.Buffer a test may read while a logger goroutine writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestLogProgress(t *testing.T) {
	errb := &syncBuffer{}
	a := NewApp(&bytes.Buffer{}, errb, envMap(nil))
	p := newLogProgress(a.Logger, 20*time.Millisecond)
	p.TableStarted(actingweb.TableActors, 100)
	p.Rows(actingweb.TableActors, 40)
	// wait for the first periodic line (the logger's output is the signal)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(errb.String(), "msg=progress"); {
		if time.Now().After(deadline) {
			t.Fatal("no progress line within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.TableDone(actingweb.TableActors, migrate.TableSummary{Table: actingweb.TableActors, Read: 40, Written: 40, Done: true})
	p.Stop()
	s := errb.String()
	for _, want := range []string{"msg=progress table=actors rows=40", "estimate=100"} {
		if !strings.Contains(s, want) {
			t.Errorf("log lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "table finished") || strings.Contains(s, "table started") {
		t.Errorf("start/finish lines are the engine's; progress must not repeat them:\n%s", s)
	}
	// After Stop no more lines appear.
	n := len(errb.String())
	time.Sleep(50 * time.Millisecond)
	if len(errb.String()) != n {
		t.Error("progress logged after Stop")
	}
}

func TestBarProgress(t *testing.T) {
	a, _, errb := newTestApp(nil)
	p := newBarProgress(a)
	p.TableStarted(actingweb.TableActors, 10)
	p.TableStarted(actingweb.TableTrusts, -1)
	a.Logger.Info("between bars")
	p.Rows(actingweb.TableActors, 15) // more than estimated: must not panic or complete early
	p.Rows(actingweb.TableTrusts, 3)
	p.TableDone(actingweb.TableActors, migrate.TableSummary{Done: true})
	p.Stop()
	a.Logger.Info("after bars")
	s := errb.String()
	for _, want := range []string{"actors", "trusts", "between bars", "after bars"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}

func TestQuietLogLevel(t *testing.T) {
	cases := []struct {
		args []string
		want slog.Level
	}{
		{[]string{"--quiet"}, slog.LevelWarn},
		{[]string{"--quiet", "--log-level", "debug"}, slog.LevelDebug},
		{nil, slog.LevelInfo},
	}
	for _, c := range cases {
		a, _, _ := newTestApp(nil)
		args := append([]string{"validate", "--input-dir", filepath.Join(t.TempDir(), "missing"),
			"--to", "postgres://u@127.0.0.1:1/db?connect_timeout=1"}, c.args...)
		a.Execute(context.Background(), args)
		if got := a.logLevel.Level(); got != c.want {
			t.Errorf("%v: log level %v, want %v", c.args, got, c.want)
		}
	}
}
