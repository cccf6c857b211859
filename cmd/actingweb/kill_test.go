package main

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/actingweb/actingweb-go/internal/testenv"
)

// TestKillDashNineAndResume runs the real binary, kills it with SIGKILL in the middle of a
// throttled copy (no chance to flush or clean up), runs it again without --resume (refused),
// then with --resume, and validates the target equal to the source — PostgreSQL→DynamoDB, then
// that DynamoDB→PostgreSQL. Nothing lost, nothing duplicated (validate checks counts, keys
// and every field).
func TestKillDashNineAndResume(t *testing.T) {
	t.Parallel()
	pgURL, _ := testenv.FreshPostgresSchema(t)
	endpoint := testenv.DynamoDBEndpoint(t)
	ctx := context.Background()

	bin := buildCLI(t)
	// Source: a synthetic data set of 120 actors (~9,000 rows) in PostgreSQL.
	loadSyntheticPostgres(ctx, t, pgURL)

	ddbURL := dynamoURL(endpoint, testenv.UniqueDynamoPrefix(t))
	dropDynamoTablesAtCleanup(t, ddbURL)
	pgBack, _ := testenv.FreshPostgresSchema(t)

	run := func(args ...string) (int, string) { return runCLI(t, bin, args...) }
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
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			// Kill once 1,500 rows are checkpointed, well before the end (~9,000 rows at
			// 1,500 rows/s take 6 s).
			waitRows(t, state, 1500, done)
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("kill: %v (finished too early?)", err)
			}
			err := <-done
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
