package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/jackc/pgx/v5"

	actingweb "github.com/actingweb/actingweb-go"
	awddb "github.com/actingweb/actingweb-go/dynamodb"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/migrate"
	"github.com/actingweb/actingweb-go/postgres"
)

const testSecret = "sekrit-pg-password-do-not-print"

var fixtureDir = filepath.Join("..", "..", "testdata", "upstream-seed1")

// integrationApp is an App over the test services; PG_DB_PASSWORD is set so tests can check
// it is never printed (the test cluster trusts local connections and ignores it).
func integrationApp(t *testing.T) (*App, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	// Keep the AWS SDK off the EC2 metadata service: DynamoDB Local takes any credentials.
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	a, out, errb := newTestApp(map[string]string{"PG_DB_PASSWORD": testSecret})
	return a, out, errb
}

func ddbURL(t *testing.T, prefix string) string {
	ep := testenv.DynamoDBEndpoint(t)
	return "dynamodb://?region=us-west-1&endpoint=" + url.QueryEscape(ep) + "&prefix=" + prefix
}

// freshDDB returns a URL with a unique prefix whose tables are dropped at cleanup.
func freshDDB(t *testing.T) string {
	t.Helper()
	u := ddbURL(t, testenv.UniqueDynamoPrefix(t))
	t.Cleanup(func() {
		a, _, errb := integrationApp(t)
		if err := a.RunFixtureDrop(context.Background(), FixtureDropOptions{To: u}); err != nil {
			t.Errorf("drop %s: %v (%s)", u, err, errb)
		}
	})
	return u
}

func noSecrets(t *testing.T, bufs ...*bytes.Buffer) {
	t.Helper()
	for _, b := range bufs {
		if strings.Contains(b.String(), testSecret) {
			t.Fatalf("output shows the password:\n%s", b)
		}
	}
}

func TestSchemaCommands(t *testing.T) {
	pgURL, _ := testenv.FreshPostgresSchema(t)
	for _, to := range []string{pgURL, freshDDB(t)} {
		t.Run(strings.SplitN(to, ":", 2)[0], func(t *testing.T) {
			ctx := context.Background()
			a, out, errb := integrationApp(t)
			if err := a.RunSchemaStatus(ctx, SchemaOptions{To: to}); ExitCode(err) != ExitMismatch {
				t.Fatalf("status before upgrade: %v (exit %d), want exit 3", err, ExitCode(err))
			}
			if !strings.Contains(out.String(), "at head:   no") {
				t.Errorf("status output:\n%s", out)
			}
			if err := a.RunSchemaUpgrade(ctx, SchemaOptions{To: to}); err != nil {
				t.Fatalf("upgrade: %v", err)
			}
			out.Reset()
			if err := a.RunSchemaStatus(ctx, SchemaOptions{To: to, JSON: true}); err != nil {
				t.Fatalf("status after upgrade: %v", err)
			}
			var st struct {
				Store string
				actingweb.SchemaStatus
			}
			if err := json.Unmarshal(out.Bytes(), &st); err != nil {
				t.Fatalf("status JSON: %v\n%s", err, out)
			}
			if !st.AtHead || len(st.Missing) != 0 || st.Store == "" {
				t.Errorf("status = %+v", st)
			}
			// Upgrading again is a no-op that succeeds.
			if err := a.RunSchemaUpgrade(ctx, SchemaOptions{To: to}); err != nil {
				t.Fatalf("second upgrade: %v", err)
			}
			noSecrets(t, out, errb)
		})
	}
}

func readReport(t *testing.T, path string) migrate.Report {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("report %s mode %v, want 0600", path, st.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	var r migrate.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("report %s: %v", path, err)
	}
	return r
}

func tableSummary(r migrate.Report, tb actingweb.Table) migrate.TableSummary {
	for _, s := range r.Tables {
		if s.Table == tb {
			return s
		}
	}
	return migrate.TableSummary{Table: tb}
}

// TestRoundTrip is the demo as a test: upstream's DynamoDB items → PostgreSQL → DynamoDB →
// bundle → PostgreSQL, validated at every step; then a changed row makes validate exit 3.
func TestRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	a, out, errb := integrationApp(t)
	tmp := t.TempDir()
	seed, back := freshDDB(t), freshDDB(t)
	pgURL, pgSchema := testenv.FreshPostgresSchema(t)
	pg2URL, _ := testenv.FreshPostgresSchema(t)

	// TTL off: DynamoDB Local would sweep the fixture's long-expired attributes mid-test.
	if err := a.RunFixtureLoad(ctx, FixtureOptions{To: seed, Dir: fixtureDir, Upgrade: true, NoTTL: true}); err != nil {
		t.Fatalf("fixture load: %v\n%s", err, errb)
	}
	for _, u := range []string{pgURL, pg2URL, back} {
		if err := a.RunSchemaUpgrade(ctx, SchemaOptions{To: u}); err != nil {
			t.Fatalf("upgrade %s: %v", u, err)
		}
	}
	if err := a.RunFixtureTTL(ctx, FixtureTTLOptions{To: back, Enabled: false}); err != nil {
		t.Fatal(err)
	}
	move := func(name string) MoveFlags {
		return MoveFlags{Report: filepath.Join(tmp, name+".json"), StateDir: filepath.Join(tmp, "state-"+name), ConsistentRead: true, Quiet: true}
	}
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v (exit %d)\nstdout:\n%s\nstderr:\n%s", what, err, ExitCode(err), out, errb)
		}
	}

	step("copy dynamodb→postgresql", a.RunCopy(ctx, CopyOptions{From: seed, To: pgURL, Move: move("copy1")}))
	r := readReport(t, filepath.Join(tmp, "copy1.json"))
	if s := tableSummary(r, actingweb.TableActors); s.Written != 38 || !s.Done {
		t.Errorf("copy1 actors = %+v, want 38 written", s)
	}
	if s := tableSummary(r, actingweb.TableAttributes); s.Written != 371 {
		t.Errorf("copy1 attributes = %+v, want all 371 fixture items", s)
	}
	// The fixture has one e-mail address two actors hold; upstream's lookup row names the first
	// writer, not the smaller id the PostgreSQL rebuild picks, so the copy takes the source's
	// owner and the lookup table compares equal too.
	if l := r.Lookup; l == nil || l.Contested != 1 || l.OwnersFromSource != 1 {
		t.Errorf("copy1 lookup = %+v, want 1 contested key given the source's owner", r.Lookup)
	}
	step("validate dynamodb↔postgresql", a.RunValidate(ctx, ValidateOptions{From: seed, To: pgURL, ConsistentRead: true, Quiet: true, Report: filepath.Join(tmp, "v1.json")}))
	var vr migrate.ValidationReport
	if b, err := os.ReadFile(filepath.Join(tmp, "v1.json")); err != nil || json.Unmarshal(b, &vr) != nil || len(vr.Tables) != 9 {
		t.Fatalf("validation report: %v (%d tables)", err, len(vr.Tables))
	}
	for _, tv := range vr.Tables {
		if tv.Table == actingweb.TablePropertyLookup && (!tv.Equal || tv.CountA != 59) {
			t.Errorf("lookup validation = %+v, want 59 equal rows", tv)
		}
	}

	step("copy postgresql→dynamodb", a.RunCopy(ctx, CopyOptions{From: pgURL, To: back, Move: move("copy2")}))
	step("validate postgresql↔dynamodb", a.RunValidate(ctx, ValidateOptions{From: pgURL, To: back, ConsistentRead: true, Quiet: true}))

	bundleDir := filepath.Join(tmp, "bundle")
	step("export postgresql", a.RunExport(ctx, ExportOptions{From: pgURL, OutputDir: bundleDir, Gzip: true, Move: move("export")}))
	// Against stores whose lookup table the tool rebuilt, the lookup table compares too.
	step("validate bundle↔dynamodb", a.RunValidate(ctx, ValidateOptions{InputDir: bundleDir, To: back, ConsistentRead: true, Quiet: true}))
	step("validate bundle↔upstream dynamodb", a.RunValidate(ctx, ValidateOptions{InputDir: bundleDir, To: seed, ConsistentRead: true, Quiet: true}))
	step("import bundle", a.RunImport(ctx, ImportOptions{To: pg2URL, InputDir: bundleDir, Move: MoveFlags{Quiet: true, StateDir: filepath.Join(tmp, "state-import"), Report: filepath.Join(tmp, "import.json")}}))
	step("validate import↔dynamodb", a.RunValidate(ctx, ValidateOptions{From: back, To: pg2URL, ConsistentRead: true, Quiet: true}))

	// A second copy into the same target under --on-conflict skip writes nothing new.
	step("copy again, skip", a.RunCopy(ctx, CopyOptions{From: seed, To: pgURL, OnConflict: "skip", Move: move("copy3")}))
	r = readReport(t, filepath.Join(tmp, "copy3.json"))
	if s := tableSummary(r, actingweb.TableProperties); s.Written != 0 || s.Skipped != s.Read || s.Read == 0 {
		t.Errorf("copy3 properties = %+v, want all skipped", s)
	}

	// Change one actor's passphrase on PostgreSQL: validate exits 3 and never shows it.
	pgStore, err := postgres.Open(ctx, mustPGConfig(t, pgURL))
	if err != nil {
		t.Fatal(err)
	}
	defer pgStore.Close()
	var id, old string
	if err := pgStore.Pool().QueryRow(ctx, "SELECT id, passphrase FROM "+pgx.Identifier{pgSchema, "actors"}.Sanitize()+" ORDER BY id LIMIT 1").Scan(&id, &old); err != nil {
		t.Fatal(err)
	}
	if _, err := pgStore.Pool().Exec(ctx, "UPDATE "+pgx.Identifier{pgSchema, "actors"}.Sanitize()+" SET passphrase = 'changed-passphrase-xyz' WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = a.RunValidate(ctx, ValidateOptions{From: seed, To: pgURL, ConsistentRead: true, Quiet: true})
	if ExitCode(err) != ExitMismatch || !strings.Contains(err.Error(), "actors") {
		t.Fatalf("validate after change: %v (exit %d), want exit 3 naming actors\n%s", err, ExitCode(err), out)
	}
	if !strings.Contains(out.String(), id) {
		t.Errorf("validate output does not name the changed key %s:\n%s", id, out)
	}
	if strings.Contains(out.String(), old) || strings.Contains(out.String(), "changed-passphrase-xyz") {
		t.Errorf("validate output shows a passphrase:\n%s", out)
	}
	noSecrets(t, out, errb)
}

func mustPGConfig(t *testing.T, u string) postgres.Config {
	t.Helper()
	c, err := postgres.ConfigFromURL(u, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRejectLimit: a property value with a NUL character cannot be stored on PostgreSQL; with
// --max-rejects 0 the copy stops with exit 1 and says so, with 1 it completes and reports it.
func TestRejectLimit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	a, out, errb := integrationApp(t)
	src := freshDDB(t)
	if err := a.RunFixtureLoad(ctx, FixtureOptions{To: src, Dir: fixtureDir, Upgrade: true, NoTTL: true}); err != nil {
		t.Fatalf("fixture load: %v", err)
	}
	cfg, err := awddb.ConfigFromURL(src, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ds, err := awddb.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ds.Client().PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(ds.TableName(actingweb.TableProperties)),
		Item: map[string]types.AttributeValue{
			"id":    &types.AttributeValueMemberS{Value: "cd613e30d8f16adf91b7584a2265b1f5"},
			"name":  &types.AttributeValueMemberS{Value: "nul-value"},
			"value": &types.AttributeValueMemberS{Value: "a\x00b"},
		}})
	if err != nil {
		t.Fatal(err)
	}

	tmp := t.TempDir()
	pg1, _ := testenv.FreshPostgresSchema(t)
	pg2, _ := testenv.FreshPostgresSchema(t)
	for _, u := range []string{pg1, pg2} {
		if err := a.RunSchemaUpgrade(ctx, SchemaOptions{To: u}); err != nil {
			t.Fatal(err)
		}
	}
	err = a.RunCopy(ctx, CopyOptions{From: src, To: pg1, Move: MoveFlags{Quiet: true, ConsistentRead: true, StateDir: filepath.Join(tmp, "s1"), Report: filepath.Join(tmp, "r1.json")}})
	if ExitCode(err) != ExitFailed || !strings.Contains(err.Error(), "--max-rejects 0") || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("copy with max-rejects 0: %v (exit %d), want exit 1 about --max-rejects\n%s\n%s", err, ExitCode(err), out, errb)
	}
	if r := readReport(t, filepath.Join(tmp, "r1.json")); tableSummary(r, actingweb.TableProperties).Rejected != 1 {
		t.Errorf("partial report: properties = %+v", tableSummary(r, actingweb.TableProperties))
	}
	err = a.RunCopy(ctx, CopyOptions{From: src, To: pg2, Move: MoveFlags{Quiet: true, ConsistentRead: true, MaxRejects: 1, StateDir: filepath.Join(tmp, "s2"), Report: filepath.Join(tmp, "r2.json")}})
	if err != nil {
		t.Fatalf("copy with max-rejects 1: %v\n%s", err, errb)
	}
	r := readReport(t, filepath.Join(tmp, "r2.json"))
	if s := tableSummary(r, actingweb.TableProperties); s.Rejected != 1 || s.Written != 434 {
		t.Errorf("properties = %+v, want 434 written and 1 rejected", s)
	}
	rejects, _ := filepath.Glob(filepath.Join(tmp, "s2", "*rejects*"))
	if len(rejects) == 0 {
		t.Errorf("no rejects file in the state directory")
	}
	noSecrets(t, out, errb)
}

// TestInterruptAndResume: a copy interrupted (context cancelled, as by Ctrl-C) exits 1 telling
// to rerun with --resume; the resumed run completes and the stores validate equal.
func TestInterruptAndResume(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	a, out, errb := integrationApp(t)
	src := freshDDB(t)
	if err := a.RunFixtureLoad(ctx, FixtureOptions{To: src, Dir: fixtureDir, Upgrade: true, NoTTL: true}); err != nil {
		t.Fatalf("fixture load: %v", err)
	}
	pg, _ := testenv.FreshPostgresSchema(t)
	if err := a.RunSchemaUpgrade(ctx, SchemaOptions{To: pg}); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "state")
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	// The interruption strikes once the run has checkpointed 100 rows (its progress, read from
	// the state directory), not after a fixed time.
	go func() {
		defer stop()
		for runCtx.Err() == nil {
			if testenv.CheckpointedRows(state) >= 100 {
				return
			}
			select {
			case <-runCtx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	// 200 rows/s: the ~1200 rows take 6 s, so the run is cut off part-way.
	err := a.RunCopy(runCtx, CopyOptions{From: src, To: pg, Move: MoveFlags{Quiet: true, ConsistentRead: true, Rate: 200, BatchSize: 25, StateDir: state}})
	if ExitCode(err) != ExitFailed || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("interrupted copy: %v (exit %d), want exit 1 naming --resume", err, ExitCode(err))
	}
	err = a.RunCopy(ctx, CopyOptions{From: src, To: pg, Move: MoveFlags{Quiet: true, ConsistentRead: true, Resume: true, StateDir: state, Report: filepath.Join(state, "..", "resumed.json")}})
	if err != nil {
		t.Fatalf("resumed copy: %v\n%s\n%s", err, out, errb)
	}
	if r := readReport(t, filepath.Join(state, "..", "resumed.json")); !r.Resumed {
		t.Errorf("report of the resumed run: Resumed = false")
	}
	if err := a.RunValidate(ctx, ValidateOptions{From: src, To: pg, ConsistentRead: true, Quiet: true}); err != nil {
		t.Fatalf("validate after resume: %v\n%s", err, out)
	}
	// The run finished (checkpoints removed): another --resume has nothing to continue and says
	// so, without replaying the copy into the now full target.
	out.Reset()
	err = a.RunCopy(ctx, CopyOptions{From: src, To: pg, Move: MoveFlags{Quiet: true, ConsistentRead: true, Resume: true, StateDir: state}})
	if !errors.Is(err, migrate.ErrNoState) || !strings.Contains(err.Error(), "nothing to resume") || strings.Contains(err.Error(), "exist on the target") {
		t.Fatalf("resume after the finished run: %v (exit %d), want ErrNoState saying there is nothing to resume", err, ExitCode(err))
	}
	if !strings.Contains(out.String(), "nothing was read or written") {
		t.Errorf("summary of the refused resume:\n%s", out)
	}
}

// TestExecuteWiring runs commands through the cobra layer (flags → options → exit code).
func TestExecuteWiring(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a, out, errb := integrationApp(t)
	src := freshDDB(t)
	pg, _ := testenv.FreshPostgresSchema(t)
	if code := a.Execute(ctx, []string{"schema", "status", "--to", pg}); code != ExitMismatch {
		t.Fatalf("schema status before upgrade: exit %d, want 3\n%s", code, errb)
	}
	if code := a.ExecuteCmd(ctx, a.NewFixtureCmd(), []string{"load", "--to", src, "--dir", fixtureDir, "--upgrade", "--no-ttl"}); code != ExitOK {
		t.Fatalf("awfixture load: exit %d\n%s", code, errb)
	}
	if code := a.Execute(ctx, []string{"fixture", "load", "--to", src}); code != ExitUsage {
		t.Fatalf("the actingweb command still has the fixture command: exit %d", code)
	}
	for _, args := range [][]string{
		{"schema", "upgrade", "--to", pg},
		{"schema", "status", "--to", pg},
	} {
		if code := a.Execute(ctx, args); code != ExitOK {
			t.Fatalf("%v: exit %d\n%s", args, code, errb)
		}
	}
	rep := filepath.Join(t.TempDir(), "r.json")
	args := []string{"copy", "--from", src, "--to", pg, "--tables", "actors,trusts", "--dry-run", "--report", rep,
		"--segments", "2", "--concurrency", "2", "--batch-size", "10", "--rate", "0", "--max-rejects", "-1", "--quiet"}
	if code := a.Execute(ctx, args); code != ExitOK {
		t.Fatalf("copy --dry-run: exit %d\n%s\n%s", code, out, errb)
	}
	r := readReport(t, rep)
	if !r.DryRun || len(r.Tables) != 2 || tableSummary(r, actingweb.TableActors).Read != 38 || tableSummary(r, actingweb.TableActors).Written != 0 {
		t.Errorf("dry-run report = %+v", r)
	}
	// Nothing was written: validate finds the target empty and exits 3.
	if code := a.Execute(ctx, []string{"validate", "--from", src, "--to", pg, "--tables", "actors", "--max-diffs", "3", "--quiet"}); code != ExitMismatch {
		t.Fatalf("validate after dry run: exit %d, want 3\n%s", code, errb)
	}
	if !strings.Contains(errb.String(), "differ in actors") {
		t.Errorf("stderr lacks the mismatch line:\n%s", errb)
	}
	noSecrets(t, out, errb)
}
