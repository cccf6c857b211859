package migrate_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/migrate"
	"github.com/actingweb/actingweb-go/postgres"
)

// liveWriter runs the application's operations on s: actors created and deleted with their
// rows (cascade), indexed and plain properties set and deleted, trusts, subscriptions with
// diffs, attributes with a TTL and large (TOASTed) payloads updated without touching the
// payload. Round i touches the seeded actor a%05d of i and a new actor w<i>.
func liveWriter(ctx context.Context, s actingweb.Store, i, seeded int) error {
	id := fmt.Sprintf("w%05d", i)
	old := fmt.Sprintf("a%05d", i%seeded)
	big := json.RawMessage(`{"blob":"` + randomText(8000) + `"}`) // incompressible: stored out of line (TOAST)
	steps := []func() error{
		func() error {
			return s.CreateActor(ctx, actingweb.Actor{ID: id, Creator: id + "@example.org", Passphrase: "pw"})
		},
		func() error { return s.SetProperty(ctx, id, "email", id+"@example.org") },
		func() error { return s.SetProperty(ctx, id, "note", strings.Repeat("n", 3000)) },
		func() error { return s.SetProperty(ctx, old, "email", fmt.Sprintf("moved%d@example.org", i)) },
		func() error { return s.DeleteProperty(ctx, old, "list:notes-#0001") },
		func() error {
			return s.SetAttribute(ctx, id, "big", "blob", big, nil, time.Hour)
		},
		func() error {
			ts := time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC)
			_, err := s.ConditionalUpdateAttribute(ctx, id, "big", "blob", big, big, &ts)
			return err
		},
		func() error {
			// An update that does not set the payload, as any SQL client may write on
			// PostgreSQL: pgoutput sends the TOASTed payload as unchanged ("u").
			if pg, ok := s.(*postgres.Store); ok {
				_, err := pg.Pool().Exec(ctx, `UPDATE `+pg.Schema()+`.attributes SET ttl_timestamp = ttl_timestamp + 1 WHERE id = $1`, id)
				return err
			}
			return nil
		},
		func() error {
			return s.CreateTrust(ctx, actingweb.Trust{ID: id, PeerID: "peer", BaseURI: "https://p", Secret: "s-" + id, Type: "urn:x", Relationship: "friend"})
		},
		func() error {
			return s.CreateSubscription(ctx, actingweb.Subscription{ID: id, PeerID: "peer", SubID: "sub", Target: ptr("properties")})
		},
		func() error { _, err := s.AddDiff(ctx, id, "peer", "sub", `{"d":1}`); return err },
		func() error { _, err := s.AddDiff(ctx, id, "peer", "sub", `{"d":2}`); return err },
		func() error {
			if i%3 == 0 {
				return actingweb.DeleteActorCascade(ctx, s, old, time.Now())
			}
			return nil
		},
	}
	for _, f := range steps {
		if err := f(); err != nil {
			return fmt.Errorf("writer round %d: %w", i, err)
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// randomText returns n random hex digits.
func randomText(n int) string {
	b := make([]byte, n/2)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// syncRun runs migrate.Sync in the background and reports its statuses.
type syncRun struct {
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	last   migrate.SyncStatus
	tick   chan struct{}
}

func startSync(t *testing.T, src migrate.SyncSource, dst migrate.SyncSink, dir string) *syncRun {
	ctx, cancel := context.WithCancel(context.Background())
	r := &syncRun{cancel: cancel, done: make(chan error, 1), tick: make(chan struct{}, 1)}
	go func() {
		r.done <- migrate.Sync(ctx, src, dst, migrate.SyncOptions{StateDir: dir, Logger: discardLogger(),
			Applied: func(st migrate.SyncStatus) {
				r.mu.Lock()
				r.last = st
				r.mu.Unlock()
				select {
				case r.tick <- struct{}{}:
				default:
				}
			}})
	}()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// waitApplied waits until the sync has applied everything up to the source's WAL position at
// the time of the call (a cut-over's wait).
func (r *syncRun) waitApplied(t *testing.T, src *postgres.Store) migrate.SyncStatus {
	t.Helper()
	var cur pglogrepl.LSN
	if err := src.Pool().QueryRow(context.Background(), `SELECT pg_current_wal_lsn()`).Scan(&cur); err != nil {
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
			if err := liveWriter(ctx, src, i, seeded); err != nil {
				writerErr <- err
				return
			}
		}
	}()
	r := startSync(t, src, dst, dir)
	t.Cleanup(func() {
		id, _ := dst.Identity(context.Background())
		src.DropCapture(context.Background(), migrate.DefaultSyncName(id))
	})
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
