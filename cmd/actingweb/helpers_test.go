package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/dynamodb"
	"github.com/actingweb/actingweb-go/internal/benchdata"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/postgres"
)

// Shared by the end-to-end tests of the real binary (kill_test.go, fault_test.go).

// TestMain gives the whole test process (and so every binary it starts) dummy credentials
// for DynamoDB Local and keeps the SDK away from EC2 IMDS: set once here, not per test with
// t.Setenv, which a parallel test may not call. It removes the binary buildCLI built.
func TestMain(m *testing.M) {
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_EC2_METADATA_DISABLED": "true"} {
		os.Setenv(k, v)
	}
	code := m.Run()
	if cliBuild.dir != "" {
		os.RemoveAll(cliBuild.dir)
	}
	os.Exit(code)
}

// cliBuild is this command built once for the package's tests (buildCLI).
var cliBuild struct {
	once     sync.Once
	dir, bin string
	err      error
}

// buildCLI returns the path of this command's binary, built on first use into a temporary
// directory shared by the package's tests (removed by TestMain). Tests only run it.
func buildCLI(t *testing.T) string {
	t.Helper()
	cliBuild.once.Do(func() {
		if cliBuild.dir, cliBuild.err = os.MkdirTemp("", "actingweb-cli-"); cliBuild.err != nil {
			return
		}
		cliBuild.bin = filepath.Join(cliBuild.dir, "actingweb")
		if out, err := exec.Command("go", "build", "-o", cliBuild.bin, ".").CombinedOutput(); err != nil {
			cliBuild.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if cliBuild.err != nil {
		t.Fatal(cliBuild.err)
	}
	return cliBuild.bin
}

// loadSyntheticPostgres upgrades the schema at pgURL and loads a synthetic data set of 120
// actors (~9,000 rows over the eight data tables, internal/benchdata), then rebuilds the
// property lookup table for the default indexed properties.
func loadSyntheticPostgres(ctx context.Context, t *testing.T, pgURL string) {
	t.Helper()
	pgCfg, err := postgres.ConfigFromURL(pgURL, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	src, err := postgres.Open(ctx, pgCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := src.UpgradeSchema(ctx); err != nil {
		t.Fatal(err)
	}
	data := benchdata.Default(0)
	data.Actors, data.Properties = 120, 50
	for _, tb := range actingweb.DataTables {
		var batch []actingweb.Record
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			res, err := src.WriteBatch(ctx, tb, batch, bulk.ConflictFail)
			if err == nil && len(res.Rejects) > 0 {
				err = errors.New(res.Rejects[0].Reason)
			}
			batch = batch[:0]
			return err
		}
		err := data.Table(tb, func(r actingweb.Record) error {
			batch = append(batch, r)
			if len(batch) == 500 {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			t.Fatalf("load %s: %v", tb, err)
		}
	}
	if _, err := src.RebuildPropertyLookup(ctx, actingweb.DefaultIndexedProperties); err != nil {
		t.Fatal(err)
	}
}

// dynamoURL is the CLI's URL of the DynamoDB store at endpoint with table prefix prefix.
func dynamoURL(endpoint, prefix string) string {
	return "dynamodb://?region=us-west-1&endpoint=" + url.QueryEscape(endpoint) + "&prefix=" + prefix
}

// dropDynamoTablesAtCleanup drops the tables of the DynamoDB store at ddbURL when t ends.
func dropDynamoTablesAtCleanup(t *testing.T, ddbURL string) {
	t.Cleanup(func() {
		cfg, _ := dynamodb.ConfigFromURL(ddbURL, os.Getenv)
		if s, err := dynamodb.Open(context.Background(), cfg); err == nil {
			_ = s.DropTables(context.Background())
		}
	})
}

// runCLI runs bin with args to the end and returns its exit code and combined output.
func runCLI(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatalf("%s %s: %v", filepath.Base(bin), args[0], err)
	}
	return 0, string(out)
}

// startCLI starts bin with args and the test's environment plus env ("NAME=value"), stdout
// and stderr captured separately.
func startCLI(t *testing.T, env []string, bin string, args ...string) (cmd *exec.Cmd, stdout, stderr *bytes.Buffer) {
	t.Helper()
	cmd = exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stdout, stderr = new(bytes.Buffer), new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() }) // a test that failed half-way leaves nothing running
	return cmd, stdout, stderr
}

// waitRows waits until the run writing to stateDir has checkpointed at least rows rows (the
// sum of every segment's position over its checkpoint files: rows durably on the target), and
// fails the test if that takes more than 30 s or the run ends first (done receives). Checkpoint
// files are replaced by rename, so a read sees a whole one.
func waitRows(t *testing.T, stateDir string, rows int64, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := testenv.CheckpointedRows(stateDir)
		if n >= rows {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s the run in %s has checkpointed %d rows, want %d", stateDir, n, rows)
		}
		select {
		case err := <-done:
			t.Fatalf("the run ended (%v) after checkpointing %d rows, before %d", err, n, rows)
		case <-time.After(20 * time.Millisecond): // poll the checkpoint files
		}
	}
}
