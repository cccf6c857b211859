package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/dynamodb"
	"github.com/actingweb/actingweb-go/internal/fixture"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/migrate"
	"github.com/actingweb/actingweb-go/postgres"
)

// openPGStore opens the PostgreSQL store at pgURL for the test's own writes.
func openPGStore(t *testing.T, pgURL string) *postgres.Store {
	t.Helper()
	cfg, err := postgres.ConfigFromURL(pgURL, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// liveWriter runs fixture.LiveRound on s every interval until stop is called, over the actors
// listed in existing; wait returns its first error after it stopped.
func liveWriter(s bulk.Backend, prefix string, existing []string, every time.Duration) (stop func(), wait func() error) {
	ctx := context.Background()
	quit := make(chan struct{})
	var wg sync.WaitGroup
	var err error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-quit:
				return
			default:
			}
			if err = fixture.LiveRound(ctx, s, prefix, i, existing[i%len(existing)]); err != nil {
				return
			}
			select { // a steady load, not a flood
			case <-quit:
				return
			case <-time.After(every):
			}
		}
	}()
	return sync.OnceFunc(func() { close(quit) }), func() error { wg.Wait(); return err }
}

// waitSyncState waits until the sync state in dir satisfies ok, failing after a minute or when
// the process ends first.
func waitSyncState(t *testing.T, dir string, done <-chan error, what string, ok func(*migrate.SyncStatus) bool) *migrate.SyncStatus {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := migrate.ReadSyncStatus(dir)
		if err == nil && ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("sync state in %s: not %s after a minute (last: %+v, %v)", dir, what, st, err)
		}
		select {
		case err := <-done:
			t.Fatalf("sync ended (%v) before %s", err, what)
		case <-time.After(20 * time.Millisecond): // poll sync.json (replaced by rename)
		}
	}
}

// runUntil runs bin with args in the background; stop sends SIGTERM and expects exit 0.
func runUntil(t *testing.T, bin string, args ...string) (done chan error, stop func()) {
	t.Helper()
	cmd, _, stderr := startCLI(t, nil, bin, args...)
	done = make(chan error, 1)
	go func() {
		err := cmd.Wait()
		if err != nil {
			t.Logf("%s stderr:\n%s", strings.Join(args[:1], " "), stderr)
		}
		done <- err
	}()
	return done, func() {
		t.Helper()
		cmd.Process.Signal(syscall.SIGTERM)
		if err := <-done; err != nil {
			t.Fatalf("%s after SIGTERM: %v, want exit 0", args[0], err)
		}
	}
}

// cutover runs `actingweb cutover` and returns its output; the stores must be EQUAL.
func cutover(t *testing.T, bin, from, to, state, reverse string) string {
	t.Helper()
	code, out := runCLI(t, bin, "cutover", "--from", from, "--to", to, "--state-dir", state, "--reverse-state-dir", reverse)
	if code != 0 || !strings.Contains(out, "EQUAL") || !strings.Contains(out, "actingweb sync --from "+to+" --to "+from) {
		t.Fatalf("cutover %s -> %s: exit %d\n%s", from, to, code, out)
	}
	return out
}

// liveEnd is one store of a live migration test: its CLI argument and an open handle for the
// test's writer.
type liveEnd struct {
	url   string
	store bulk.Backend
	// drop removes the change capture named in the sync state in dir from this store.
	drop func(dir string)
}

func pgEnd(t *testing.T) liveEnd {
	u, _ := testenv.FreshPostgresSchema(t)
	s := openPGStore(t, u)
	return liveEnd{url: u, store: s, drop: func(dir string) {
		if st, err := migrate.ReadSyncStatus(dir); err == nil {
			s.DropCapture(context.Background(), st.Name)
		}
	}}
}

func ddbEnd(t *testing.T) liveEnd {
	u := dynamoURL(testenv.DynamoDBEndpoint(t), testenv.UniqueDynamoPrefix(t))
	dropDynamoTablesAtCleanup(t, u)
	cfg, err := dynamodb.ConfigFromURL(u, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	s, err := dynamodb.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return liveEnd{url: u, store: s, drop: func(string) {}}
}

// TestLiveMigration moves a deployment while it writes, in each direction, with the real
// binary: A is seeded (~9,000 rows) and a writer runs the application's operations on it
// (actors created and deleted with cascade, indexed and plain properties, TOASTed attributes
// with a TTL, trusts, subscriptions with diffs); `sync A -> B` is killed with SIGKILL once
// during the initial load and once while streaming, and started again each time; the writes
// stop and `cutover` waits, says EQUAL and prints the write pause; the sync is stopped and
// dropped; the application writes to B while the reverse sync (B -> A, from the position
// cutover recorded, no second load) runs; the writes stop and `cutover` back says EQUAL;
// `validate` agrees. Deletes of rows the load had not reached and of rows it had copied are
// part of the writer's work.
func TestLiveMigration(t *testing.T) {
	t.Parallel()
	bin := buildCLI(t)
	// DynamoDB Local 3.3 writes about 35 ms per item into a table with a stream (measured:
	// 50 SetProperty 0.05 s without, 3.8 s with), so writers whose changes land in such tables
	// go slower, and the DynamoDB cases run one after the other.
	for _, c := range []liveCase{
		{name: "postgresql-to-postgresql", a: pgEnd, b: pgEnd, aEvery: 20 * time.Millisecond, bEvery: 20 * time.Millisecond, applied: 300, parallel: true},
		{name: "postgresql-to-dynamodb", a: pgEnd, b: ddbEnd, aEvery: 20 * time.Millisecond, bEvery: 0, applied: 100},
		{name: "dynamodb-to-postgresql", a: ddbEnd, b: pgEnd, aEvery: 0, bEvery: time.Second, applied: 60},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.parallel {
				t.Parallel()
			}
			liveMigration(t, bin, c, c.a(t), c.b(t))
		})
	}
}

// liveCase is one direction of TestLiveMigration: the writers' pauses between rounds on A and
// on B, and how many changes the syncs apply before the test moves on.
type liveCase struct {
	name           string
	a, b           func(*testing.T) liveEnd
	aEvery, bEvery time.Duration
	applied        int64
	parallel       bool
}

func liveMigration(t *testing.T, bin string, c liveCase, a, b liveEnd) {
	ctx := context.Background()
	for _, e := range []liveEnd{a, b} {
		if code, out := runCLI(t, bin, "schema", "upgrade", "--to", e.url); code != 0 {
			t.Fatalf("schema upgrade %s: exit %d\n%s", e.url, code, out)
		}
	}
	if strings.HasPrefix(a.url, "postgres") {
		loadSyntheticPostgres(ctx, t, a.url)
	} else {
		seed, _ := testenv.FreshPostgresSchema(t)
		loadSyntheticPostgres(ctx, t, seed)
		if code, out := runCLI(t, bin, "copy", "--from", seed, "--to", a.url, "--quiet", "--state-dir", t.TempDir()); code != 0 {
			t.Fatalf("seed %s: exit %d\n%s", a.url, code, out)
		}
		// Streams after the seed: DynamoDB Local writes ~30 times slower into tables with
		// a stream (measured: 2,000 items 0.3 s without, 59 s with).
		code, out := runCLI(t, bin, "sync", "--from", a.url, "--to", b.url, "--state-dir", t.TempDir())
		if code != 1 || !strings.Contains(out, "schema upgrade --to dynamodb --streams") {
			t.Fatalf("sync from tables without streams: exit %d, want 1 naming the command\n%s", code, out)
		}
		if code, out := runCLI(t, bin, "schema", "upgrade", "--to", a.url, "--streams"); code != 0 {
			t.Fatalf("schema upgrade --streams: exit %d\n%s", code, out)
		}
	}
	actors, err := a.store.ListActors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var existing []string
	for _, x := range actors {
		existing = append(existing, x.ID)
	}
	dir := t.TempDir()
	fwd, rev, back := filepath.Join(dir, "a-to-b"), filepath.Join(dir, "b-to-a"), filepath.Join(dir, "a-to-b-again")
	t.Cleanup(func() { a.drop(fwd); b.drop(rev); a.drop(back) })

	stopWriter, waitWriter := liveWriter(a.store, "a", existing, c.aEvery)
	defer stopWriter()
	args := []string{"sync", "--from", a.url, "--to", b.url, "--state-dir", fwd, "--rate", "1500", "--concurrency", "1", "--progress-interval", "2s"}
	start := func() (*exec.Cmd, chan error) {
		cmd, _, stderr := startCLI(t, nil, bin, args...)
		done := make(chan error, 1)
		go func() {
			err := cmd.Wait()
			if os.Getenv("SYNC_DEBUG") != "" || (err != nil && !strings.Contains(err.Error(), "killed")) {
				t.Logf("sync stderr:\n%s", stderr)
			}
			done <- err
		}()
		return cmd, done
	}
	kill := func(cmd *exec.Cmd, done chan error, when string) {
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("kill %s: %v", when, err)
		}
		err := <-done
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("sync was not killed %s: %v", when, err)
		}
	}

	// 1. Killed during the initial load (~9,000 rows at 1,500 rows/s take 6 s).
	cmd, done := start()
	waitRows(t, filepath.Join(fwd, "load"), 1500, done)
	kill(cmd, done, "during the load")

	// 2. Started again: the load resumes, streaming begins; killed while streaming.
	cmd, done = start()
	st := waitSyncState(t, fwd, done, "streaming with changes applied", func(s *migrate.SyncStatus) bool {
		return s.Phase == migrate.PhaseStreaming && s.Applied > c.applied
	})
	kill(cmd, done, "while streaming")

	// 3. Started again, with metrics; the writes stop; cut-over.
	metricsAddr := freeAddr(t)
	args = append(args, "--metrics-addr", metricsAddr)
	cmd, done = start()
	waitSyncState(t, fwd, done, "streaming again", func(s *migrate.SyncStatus) bool { return s.Applied > st.Applied })
	scrapeApplied(t, metricsAddr)
	stopWriter()
	if err := waitWriter(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	cutover(t, bin, a.url, b.url, fwd, rev)
	t.Logf("cut-over: write pause %s (last write to cutover's exit)", time.Since(stopped).Round(time.Millisecond))
	cmd.Process.Signal(syscall.SIGTERM)
	if err := <-done; err != nil {
		t.Fatalf("sync after SIGTERM: %v, want exit 0", err)
	}
	if code, out := runCLI(t, bin, "sync", "drop", "--from", a.url, "--to", b.url, "--state-dir", fwd); code != 0 {
		t.Fatalf("sync drop: exit %d\n%s", code, out)
	}

	// 4. The application writes to B; the reverse sync keeps A ready for a rollback.
	stopWriter, waitWriter = liveWriter(b.store, "b", existing, c.bEvery)
	defer stopWriter()
	done, stopSync := runUntil(t, bin, "sync", "--from", b.url, "--to", a.url, "--state-dir", rev, "--quiet")
	waitSyncState(t, rev, done, "applying the writes on B", func(s *migrate.SyncStatus) bool { return s.Applied > c.applied })
	stopWriter()
	if err := waitWriter(); err != nil {
		t.Fatal(err)
	}
	stopped = time.Now()
	cutover(t, bin, b.url, a.url, rev, back)
	t.Logf("rollback: write pause %s", time.Since(stopped).Round(time.Millisecond))
	stopSync()
	if code, out := runCLI(t, bin, "validate", "--from", a.url, "--to", b.url, "--quiet"); code != 0 || !strings.Contains(out, "EQUAL") {
		t.Fatalf("validate after rollback: exit %d\n%s", code, out)
	}
}

// freeAddr returns a loopback host:port nobody listens on.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// scrapeApplied reads the sync's /metrics at addr until it reports applied changes of the
// properties table.
func scrapeApplied(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var body string
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			for _, line := range strings.Split(body, "\n") {
				if strings.HasPrefix(line, `actingweb_sync_applied_changes{table="properties"} `) && !strings.HasSuffix(line, " 0") {
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond) // poll the HTTP endpoint
	}
	t.Fatalf("metrics at %s never reported applied property changes:\n%s", addr, body)
}
