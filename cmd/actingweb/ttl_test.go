package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/actingweb/actingweb-go/internal/testenv"
)

// logLines runs cmd with its stderr read line by line: each line goes to the returned channel
// (and to the test's log at the end); eof is closed when stderr is done.
func logLines(t *testing.T, cmd *exec.Cmd) (lines <-chan string, eof <-chan struct{}) {
	t.Helper()
	r, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	ch, done := make(chan string, 100000), make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch, done
}

// waitLine waits up to 60 s for a line containing want and returns it; it fails the test when
// the output ends first (eof closed, every line read).
func waitLine(t *testing.T, lines <-chan string, eof <-chan struct{}, want string) string {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case l := <-lines:
			if strings.Contains(l, want) {
				return l
			}
		case <-eof:
			if len(lines) == 0 {
				t.Fatalf("the command ended without a log line with %q", want)
			}
		case <-deadline:
			t.Fatalf("no log line with %q within 60 s", want)
		}
	}
}

// TestTTLPurgeEverySurvivesRestart runs `actingweb ttl purge --every 200ms` against a private
// PostgreSQL cluster and restarts the server under it: the job logs the failed round, goes on,
// purges rows that expired after the restart, and exits 0 on SIGTERM with the job's totals.
func TestTTLPurgeEverySurvivesRestart(t *testing.T) {
	t.Parallel()
	cl := testenv.PrivateCluster(t)
	bin := buildCLI(t)
	ctx := context.Background()
	if code, out := runCLI(t, bin, "schema", "upgrade", "--to", cl.URL); code != 0 {
		t.Fatalf("schema upgrade: exit %d\n%s", code, out)
	}
	exec1 := func(sql string, args ...any) {
		t.Helper()
		conn, err := pgx.Connect(ctx, cl.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	seed := func(owner, bucket string, n int, ttl *int64) {
		t.Helper()
		exec1(`INSERT INTO attributes (id, bucket_name, bucket, name, data, ttl_timestamp)
			SELECT $1, $2 || ':n' || g, $2, 'n' || g, '1', $3 FROM generate_series(1, $4) g`, owner, bucket, ttl, n)
	}
	// waitPurged polls until the table holds no expired row, and returns the live rows.
	waitPurged := func(what string, done <-chan struct{}) int64 {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			var expired, live int64
			conn, err := pgx.Connect(ctx, cl.URL)
			if err == nil {
				err = conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE ttl_timestamp < extract(epoch FROM now())),
					count(*) FILTER (WHERE ttl_timestamp IS NULL OR ttl_timestamp >= extract(epoch FROM now())) FROM attributes`).Scan(&expired, &live)
				conn.Close(ctx)
			}
			if err == nil && expired == 0 {
				return live
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: after 60 s %d expired rows are left (%v)", what, expired, err)
			}
			select {
			case <-done:
				t.Fatalf("%s: the job ended", what)
			case <-time.After(20 * time.Millisecond): // poll the table
			}
		}
	}

	past, later := time.Now().Unix()-60, time.Now().Unix()+3600
	seed("a1", "tokens", 5, &past)
	seed("a2", "sessions", 3, &past)
	seed("a1", "tokens-live", 4, &later)
	seed("a2", "settings", 2, nil)

	cmd := exec.Command(bin, "ttl", "purge", "--to", cl.URL, "--every", "200ms", "--batch", "2")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	lines, eof := logLines(t, cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })

	if live := waitPurged("first round", eof); live != 6 {
		t.Fatalf("first round left %d live rows, want 6", live)
	}
	waitLine(t, lines, eof, `msg="ttl purge: round done" rows=8 batches=4 buckets="sessions=3 tokens=5"`)

	cl.Stop(t)
	waitLine(t, lines, eof, `msg="ttl purge: round failed; retrying at the next tick"`)
	cl.Start(t)
	// Expired after the restart: only a round after the restart can delete them.
	seed("a3", "mcp_cache", 7, &past)
	if live := waitPurged("after the restart", eof); live != 6 {
		t.Fatalf("after the restart %d live rows are left, want 6", live)
	}
	waitLine(t, lines, eof, `buckets="mcp_cache=7"`)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-eof
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) || err != nil {
		t.Fatalf("ttl purge --every after SIGTERM: %v, want exit 0\nstdout:\n%s", err, &stdout)
	}
	out := stdout.String()
	if m := regexp.MustCompile(`totals of (\d+) rounds \((\d+) failed\)`).FindStringSubmatch(out); m == nil || m[2] == "0" {
		t.Errorf("job totals do not count a failed round:\n%s", out)
	}
	for _, want := range []string{"  mcp_cache  ", "  sessions  ", "  tokens  ", "deleted 15 rows in 3 buckets"} {
		if !strings.Contains(out, want) {
			t.Errorf("job totals lack %q:\n%s", want, out)
		}
	}
}
