package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"

	actingweb "github.com/actingweb/actingweb-go"
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

// liveWriter runs testenv.LiveRound on s until stop is closed, over the actors listed in
// existing; wait returns its first error after it stopped.
func liveWriter(s actingweb.Store, prefix string, existing []string) (stop func(), wait func() error) {
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
			if err = testenv.LiveRound(ctx, s, prefix, i, existing[i%len(existing)]); err != nil {
				return
			}
			// About 50 rounds (1,000 changes) a second: a steady load, not a flood.
			select {
			case <-quit:
				return
			case <-time.After(20 * time.Millisecond):
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

// positionLSN reads the LSN of a PostgreSQL sync position.
func positionLSN(pos string) pglogrepl.LSN {
	var p struct{ LSN string }
	json.Unmarshal([]byte(pos), &p)
	lsn, _ := pglogrepl.ParseLSN(p.LSN)
	return lsn
}

// TestSyncKillDashNine: the real binary syncs PostgreSQL to PostgreSQL while a writer runs the
// application's operations on the source; it is killed with SIGKILL once during the initial
// load and once while streaming, and started again each time. After the writer stops and the
// sync has applied everything the source wrote, SIGTERM stops it with exit 0 and validate says
// EQUAL for all nine tables. Deletes of rows the load had not reached and of rows it had
// copied are part of the writer's work (DeleteActorCascade of seeded actors).
func TestSyncKillDashNine(t *testing.T) {
	t.Parallel()
	srcURL, _ := testenv.FreshPostgresSchema(t)
	dstURL, _ := testenv.FreshPostgresSchema(t)
	ctx := context.Background()
	bin := buildCLI(t)
	loadSyntheticPostgres(ctx, t, srcURL)
	src := openPGStore(t, srcURL)
	if code, out := runCLI(t, bin, "schema", "upgrade", "--to", dstURL); code != 0 {
		t.Fatalf("schema upgrade: exit %d\n%s", code, out)
	}
	actors, err := src.ListActors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	existing := make([]string, len(actors))
	for i, a := range actors {
		existing[i] = a.ID
	}
	state := filepath.Join(t.TempDir(), "state")
	t.Cleanup(func() {
		if st, err := migrate.ReadSyncStatus(state); err == nil {
			src.DropCapture(context.Background(), st.Name)
		}
	})

	stopWriter, waitWriter := liveWriter(src, "w", existing)
	defer stopWriter()
	args := []string{"sync", "--from", srcURL, "--to", dstURL, "--state-dir", state, "--rate", "1500", "--concurrency", "1", "--quiet"}
	start := func() (*exec.Cmd, chan error) {
		cmd, _, stderr := startCLI(t, nil, bin, args...)
		done := make(chan error, 1)
		go func() {
			err := cmd.Wait()
			if err != nil {
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
	waitRows(t, filepath.Join(state, "load"), 1500, done)
	kill(cmd, done, "during the load")

	// 2. Started again: the load resumes, streaming begins; killed while streaming.
	cmd, done = start()
	st := waitSyncState(t, state, done, "streaming with changes applied", func(s *migrate.SyncStatus) bool {
		return s.Phase == migrate.PhaseStreaming && s.Applied > 500
	})
	kill(cmd, done, "while streaming")
	t.Logf("killed while streaming after %d changes", st.Applied)

	// 3. Started again; the writer stops; everything the source wrote is applied.
	cmd, done = start()
	waitSyncState(t, state, done, "streaming again", func(s *migrate.SyncStatus) bool { return s.Applied > st.Applied })
	stopWriter()
	if err := waitWriter(); err != nil {
		t.Fatal(err)
	}
	var head pglogrepl.LSN
	if err := src.Pool().QueryRow(ctx, `SELECT pg_current_wal_lsn()`).Scan(&head); err != nil {
		t.Fatal(err)
	}
	final := waitSyncState(t, state, done, "caught up with "+head.String(), func(s *migrate.SyncStatus) bool {
		return positionLSN(s.Position) >= head
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("sync after SIGTERM: %v, want exit 0", err)
	}
	t.Logf("applied %d changes in %d batches", final.Applied, final.Batches)

	code, out := runCLI(t, bin, "validate", "--from", srcURL, "--to", dstURL, "--quiet")
	if code != 0 || !strings.Contains(out, "EQUAL") {
		t.Fatalf("validate after sync: exit %d\n%s", code, out)
	}
	code, out = runCLI(t, bin, "sync", "status", "--state-dir", state)
	if code != 0 || !strings.Contains(out, "streaming") {
		t.Fatalf("sync status: exit %d\n%s", code, out)
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

// TestCutoverAndRollback: A → B is synced while the application writes to A; the writes stop,
// cutover says EQUAL and prints the write pause and the reverse sync's command line; the sync
// is stopped and dropped, the application writes to B, the reverse sync (B → A, started from
// the position cutover recorded, no second load) runs; the writes stop, cutover back says
// EQUAL. Validate agrees after each step.
func TestCutoverAndRollback(t *testing.T) {
	t.Parallel()
	aURL, _ := testenv.FreshPostgresSchema(t)
	bURL, _ := testenv.FreshPostgresSchema(t)
	ctx := context.Background()
	bin := buildCLI(t)
	loadSyntheticPostgres(ctx, t, aURL)
	if code, out := runCLI(t, bin, "schema", "upgrade", "--to", bURL); code != 0 {
		t.Fatalf("schema upgrade: exit %d\n%s", code, out)
	}
	a, b := openPGStore(t, aURL), openPGStore(t, bURL)
	actors, err := a.ListActors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var existing []string
	for _, x := range actors {
		existing = append(existing, x.ID)
	}
	dir := t.TempDir()
	fwd, rev, fwd2 := filepath.Join(dir, "a-to-b"), filepath.Join(dir, "b-to-a"), filepath.Join(dir, "a-to-b-2")
	t.Cleanup(func() {
		for _, c := range []struct {
			s   *postgres.Store
			dir string
		}{{a, fwd}, {b, rev}, {a, fwd2}} {
			if st, err := migrate.ReadSyncStatus(c.dir); err == nil {
				c.s.DropCapture(context.Background(), st.Name)
			}
		}
	})

	// Forward: A → B while the application writes to A.
	stopWriter, waitWriter := liveWriter(a, "a", existing)
	defer stopWriter()
	done, stopSync := runUntil(t, bin, "sync", "--from", aURL, "--to", bURL, "--state-dir", fwd, "--quiet")
	waitSyncState(t, fwd, done, "streaming with changes applied", func(s *migrate.SyncStatus) bool {
		return s.Phase == migrate.PhaseStreaming && s.Applied > 300
	})
	stopWriter()
	if err := waitWriter(); err != nil {
		t.Fatal(err)
	}
	writesStopped := time.Now()
	out := cutover(t, bin, aURL, bURL, fwd, rev)
	t.Logf("cut-over A -> B: write pause %s (from the last write to cutover's exit)\n%s", time.Since(writesStopped).Round(time.Millisecond), out)
	stopSync()
	if code, out := runCLI(t, bin, "sync", "drop", "--from", aURL, "--to", bURL, "--state-dir", fwd); code != 0 {
		t.Fatalf("sync drop: exit %d\n%s", code, out)
	}

	// The application now writes to B; the reverse sync keeps A up to date for a rollback.
	stopWriter, waitWriter = liveWriter(b, "b", existing)
	defer stopWriter()
	done, stopSync = runUntil(t, bin, "sync", "--from", bURL, "--to", aURL, "--state-dir", rev, "--quiet")
	waitSyncState(t, rev, done, "applying the application's writes on B", func(s *migrate.SyncStatus) bool { return s.Applied > 300 })
	stopWriter()
	if err := waitWriter(); err != nil {
		t.Fatal(err)
	}
	writesStopped = time.Now()
	out = cutover(t, bin, bURL, aURL, rev, fwd2)
	t.Logf("rollback B -> A: write pause %s", time.Since(writesStopped).Round(time.Millisecond))
	stopSync()
	if code, out := runCLI(t, bin, "validate", "--from", aURL, "--to", bURL, "--quiet"); code != 0 || !strings.Contains(out, "EQUAL") {
		t.Fatalf("validate after rollback: exit %d\n%s", code, out)
	}
}
