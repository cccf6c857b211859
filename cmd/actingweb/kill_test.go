package main

import (
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/dynamodb"
	"github.com/actingweb/actingweb-go/internal/benchdata"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/postgres"
)

// TestKillDashNineAndResume runs the real binary, kills it with SIGKILL in the middle of a
// throttled copy (no chance to flush or clean up), runs it again without --resume (refused),
// then with --resume, and validates the target equal to the source — PostgreSQL→DynamoDB, then
// that DynamoDB→PostgreSQL. Nothing lost, nothing duplicated (validate checks counts, keys
// and every field).
func TestKillDashNineAndResume(t *testing.T) {
	pgURL, _ := testenv.FreshPostgresSchema(t)
	endpoint := testenv.DynamoDBEndpoint(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx := context.Background()

	bin := filepath.Join(t.TempDir(), "actingweb")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// Source: a synthetic data set of 120 actors (~9,000 rows) in PostgreSQL.
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
			res, err := src.WriteBatch(ctx, tb, batch, actingweb.ConflictFail)
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

	prefix := testenv.UniqueDynamoPrefix(t)
	ddbURL := "dynamodb://?region=us-west-1&endpoint=" + url.QueryEscape(endpoint) + "&prefix=" + prefix
	t.Cleanup(func() {
		cfg, _ := dynamodb.ConfigFromURL(ddbURL, os.Getenv)
		if s, err := dynamodb.Open(context.Background(), cfg); err == nil {
			_ = s.DropTables(context.Background())
		}
	})
	pgBack, _ := testenv.FreshPostgresSchema(t)

	run := func(args ...string) (int, string) {
		cmd := exec.Command(bin, args...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return 0, string(out)
	}
	for _, dst := range []string{ddbURL, pgBack} {
		if code, out := run("schema", "upgrade", "--to", dst); code != 0 {
			t.Fatalf("schema upgrade %s: exit %d\n%s", dst, code, out)
		}
	}

	for _, c := range []struct{ name, from, to string }{
		{"postgresql-to-dynamodb", pgURL, ddbURL},
		{"dynamodb-to-postgresql", ddbURL, pgBack},
	} {
		t.Run(c.name, func(t *testing.T) {
			state := filepath.Join(t.TempDir(), "state")
			args := []string{"copy", "--from", c.from, "--to", c.to, "--state-dir", state,
				"--rate", "1500", "--concurrency", "2", "--quiet"}
			cmd := exec.Command(bin, args...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Kill once checkpoints exist and some rows are written, well before the end
			// (~9,000 rows at 1,500 rows/s take 6 s).
			deadline := time.Now().Add(20 * time.Second)
			for {
				cps, _ := filepath.Glob(filepath.Join(state, "*.checkpoint.json"))
				if len(cps) >= 2 || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(700 * time.Millisecond)
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("kill: %v (finished too early?)", err)
			}
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("copy was not killed mid-run: %v", err)
			}

			code, out := run(args...)
			if code != 1 || !strings.Contains(out, "--resume") {
				t.Fatalf("rerun without --resume: exit %d, want 1 naming --resume\n%s", code, out)
			}
			code, out = run(append(args[:len(args)-5:len(args)-5], "--resume", "--quiet")...)
			if code != 0 {
				t.Fatalf("resume: exit %d\n%s", code, out)
			}
			code, out = run("validate", "--from", c.from, "--to", c.to, "--quiet")
			if code != 0 {
				t.Fatalf("validate after resume: exit %d\n%s", code, out)
			}
			if !strings.Contains(out, "EQUAL") {
				t.Errorf("validate output does not say EQUAL:\n%s", out)
			}
		})
	}
}
