package migrate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/fixture"
	"github.com/actingweb/actingweb-go/migrate"
	"github.com/actingweb/actingweb-go/postgres"
)

// syncRun runs migrate.Sync in the background and reports its statuses.
type syncRun struct {
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	last   migrate.SyncStatus
	tick   chan struct{}
}

func startSync(t *testing.T, src migrate.SyncSource, dst migrate.SyncSink, dir string) *syncRun {
	return startSyncWith(t, src, dst, migrate.SyncOptions{StateDir: dir})
}

// startSyncWith is startSync with options o (Logger and Applied are set here).
func startSyncWith(t *testing.T, src migrate.SyncSource, dst migrate.SyncSink, o migrate.SyncOptions) *syncRun {
	ctx, cancel := context.WithCancel(context.Background())
	r := &syncRun{cancel: cancel, done: make(chan error, 1), tick: make(chan struct{}, 1)}
	o.Logger = discardLogger()
	o.Applied = func(st migrate.SyncStatus) {
		r.mu.Lock()
		r.last = st
		r.mu.Unlock()
		select {
		case r.tick <- struct{}{}:
		default:
		}
	}
	go func() { r.done <- migrate.Sync(ctx, src, dst, o) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// waitApplied waits until the sync has applied everything up to the source's WAL position at
// the time of the call (a cut-over's wait).
func (r *syncRun) waitApplied(t *testing.T, src *postgres.Store) migrate.SyncStatus {
	t.Helper()
	var cur pglogrepl.LSN
	if err := src.Pool().QueryRow(context.Background(), `SELECT pg_current_wal_insert_lsn()`).Scan(&cur); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(2 * time.Minute)
	for {
		r.mu.Lock()
		st := r.last
		r.mu.Unlock()
		if st.Phase == migrate.PhaseStreaming && st.Position != "" {
			var p struct{ LSN string }
			json.Unmarshal([]byte(st.Position), &p)
			if lsn, err := pglogrepl.ParseLSN(p.LSN); err == nil && lsn >= cur {
				return st
			}
		}
		select {
		case <-r.tick:
		case err := <-r.done:
			r.done <- err // for the cleanup
			t.Fatalf("sync stopped: %v", err)
		case <-deadline:
			t.Fatalf("sync did not reach %s: last status %+v", cur, st)
		}
	}
}

// TestSyncPostgresToPostgres: a writer runs the application's operations on the source while
// the initial load runs and after it; once the writer stops and the sync has applied
// everything, validate finds the two stores equal, property lookup included.
func TestSyncPostgresToPostgres(t *testing.T) {
	t.Parallel()
	const seeded = 300
	seedDir, _ := seedBundle(t, seeded)
	src := openPG(t)
	if _, err := migrate.Import(context.Background(), seedDir, src, migrate.Options{StateDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	dst := openPG(t)
	dir := t.TempDir()
	ctx := context.Background()

	// The writer starts before the sync so that some of its changes predate the slot.
	var wg sync.WaitGroup
	writerErr := make(chan error, 1)
	stopWriter := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stopWriter:
				return
			default:
			}
			if err := fixture.LiveRound(ctx, src, "w", i, fmt.Sprintf("a%05d", i%seeded)); err != nil {
				writerErr <- err
				return
			}
		}
	}()
	// Registered before startSync's, so it runs after the sync has stopped (cleanups run last
	// first): a running sync's slot cannot be dropped.
	t.Cleanup(func() {
		id, _ := dst.Identity(context.Background())
		src.DropCapture(context.Background(), migrate.DefaultSyncName(id))
	})
	r := startSync(t, src, dst, dir)
	// Let the writer run past the load into the streaming phase.
	for st := r.waitApplied(t, src); st.Applied < 200; st = r.waitApplied(t, src) {
	}
	close(stopWriter)
	wg.Wait()
	select {
	case err := <-writerErr:
		t.Fatal(err)
	default:
	}
	st := r.waitApplied(t, src)
	t.Logf("applied %d changes in %d batches", st.Applied, st.Batches)
	r.cancel()
	if err := <-r.done; !errors.Is(err, context.Canceled) {
		t.Fatalf("sync ended with %v, want context.Canceled", err)
	}
	r.done <- nil // for the cleanup
	mustEqual(t, src, dst)
}

// TestSyncLostCaptureAndRestart: a sync whose replication slot is gone cannot continue and
// says to start over; --restart (Restart) loads again over the earlier load's rows and
// converges to EQUAL with the changes made meanwhile.
func TestSyncLostCaptureAndRestart(t *testing.T) {
	t.Parallel()
	const seeded = 50
	seedDir, _ := seedBundle(t, seeded)
	src := openPG(t)
	ctx := context.Background()
	if _, err := migrate.Import(ctx, seedDir, src, migrate.Options{StateDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	dst := openPG(t)
	dir := t.TempDir()
	id, _ := dst.Identity(ctx)
	name := migrate.DefaultSyncName(id)
	t.Cleanup(func() { src.DropCapture(context.Background(), name) })

	r := startSync(t, src, dst, dir)
	for round := 0; round < 5; round++ {
		if err := fixture.LiveRound(ctx, src, "w", round, fmt.Sprintf("a%05d", round)); err != nil {
			t.Fatal(err)
		}
	}
	r.waitApplied(t, src)
	r.cancel()
	<-r.done
	r.done <- nil

	// The slot is lost (dropped here; on a server, removed WAL does the same).
	if err := src.DropCapture(ctx, name); err != nil {
		t.Fatal(err)
	}
	for round := 5; round < 10; round++ { // changes the lost slot would have carried
		if err := fixture.LiveRound(ctx, src, "w", round, fmt.Sprintf("a%05d", round)); err != nil {
			t.Fatal(err)
		}
	}
	err := migrate.Sync(ctx, src, dst, migrate.SyncOptions{StateDir: dir, Logger: discardLogger()})
	if !errors.Is(err, actingweb.ErrNotFound) || !strings.Contains(err.Error(), "--restart") {
		t.Fatalf("sync without its slot: %v, want ErrNotFound naming --restart", err)
	}

	ctx2, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	var mu sync.Mutex
	var last migrate.SyncStatus
	go func() {
		done <- migrate.Sync(ctx2, src, dst, migrate.SyncOptions{StateDir: dir, Restart: true, Logger: discardLogger(),
			Applied: func(st migrate.SyncStatus) { mu.Lock(); last = st; mu.Unlock() }})
	}()
	head, err := src.HeadPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		st := last
		mu.Unlock()
		if ok, _ := src.PositionReached(st.Position, head); ok && st.Phase == migrate.PhaseStreaming {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("sync --restart stopped: %v", err)
		case <-time.After(20 * time.Millisecond): // poll the reported status
		}
		if time.Now().After(deadline) {
			t.Fatalf("sync --restart did not catch up: %+v", st)
		}
	}
	cancel()
	<-done
	// A restart over a target that kept rows the source deleted meanwhile keeps them (the
	// documented limit): the rounds here delete only after the slot was lost via cascade of
	// actors a00005.., which the first load had copied.
	rep, err := migrate.Validate(ctx, src, dst, migrate.ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tv := range rep.Tables {
		if tv.Changed != 0 || tv.OnlyInA != 0 {
			t.Errorf("%s after --restart: %d changed, %d only on the source", tv.Table, tv.Changed, tv.OnlyInA)
		}
	}
}

// terminateWalsender ends the source's replication connection of the sync into dst (as a
// server restart or a network fault would) and fails the test unless there was one to end.
func terminateWalsender(t *testing.T, src, dst *postgres.Store) {
	t.Helper()
	id, err := dst.Identity(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var n int
	err = src.Pool().QueryRow(context.Background(), `SELECT count(pg_terminate_backend(active_pid)) FROM pg_replication_slots
		WHERE slot_name = $1 AND active_pid IS NOT NULL`, migrate.DefaultSyncName(id)).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("terminate the sync's walsender: %d ended (%v)", n, err)
	}
}

// TestSyncRetriesLostConnection: the source's replication connection is cut while the sync
// streams; the sync opens the capture again at its recorded position in the process, counts
// the failure, applies what was written meanwhile and ends EQUAL. With retries off
// (MaxRetries -1) the same cut ends the sync with the error.
func TestSyncRetriesLostConnection(t *testing.T) {
	t.Parallel()
	seedDir, _ := seedBundle(t, 20)
	ctx := context.Background()
	run := func(t *testing.T, maxRetries int) (*postgres.Store, *postgres.Store, *syncRun) {
		src, dst := openPG(t), openPG(t)
		if _, err := migrate.Import(ctx, seedDir, src, migrate.Options{StateDir: t.TempDir()}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			id, _ := dst.Identity(context.Background())
			src.DropCapture(context.Background(), migrate.DefaultSyncName(id))
		})
		r := startSyncWith(t, src, dst, migrate.SyncOptions{StateDir: t.TempDir(), MaxRetries: maxRetries, RetryWait: 20 * time.Millisecond})
		r.waitApplied(t, src)
		return src, dst, r
	}
	t.Run("retried", func(t *testing.T) {
		t.Parallel()
		src, dst, r := run(t, 0)
		terminateWalsender(t, src, dst)
		if err := src.CreateActor(ctx, actingweb.Actor{ID: "after-cut", Creator: "c", Passphrase: "p"}); err != nil {
			t.Fatal(err)
		}
		st := r.waitApplied(t, src)
		if st.Errors < 1 || st.Retries < 1 || st.LastError == "" {
			t.Fatalf("status after the cut: errors %d, retries %d, last error %q; want the failure counted", st.Errors, st.Retries, st.LastError)
		}
		if _, err := dst.GetActor(ctx, "after-cut"); err != nil {
			t.Fatalf("the actor written after the cut: %v", err)
		}
		mustEqual(t, src, dst)
	})
	t.Run("no retries", func(t *testing.T) {
		t.Parallel()
		src, dst, r := run(t, -1)
		terminateWalsender(t, src, dst)
		select {
		case err := <-r.done:
			r.done <- err // for the cleanup
			if err == nil || errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "run the same command again") {
				t.Fatalf("sync ended with %v, want the connection's error", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("the sync went on after its connection was cut with retries off")
		}
	})
}
