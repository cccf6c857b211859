package cli

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/dualwrite"
	"github.com/actingweb/actingweb-go/internal/fixture"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/migrate"
	"github.com/prometheus/client_golang/prometheus"
)

// racingSource is the old store as a backfill reads it, with a writer that strikes between the
// read and the write of every page of actors: the first actor of each page is deleted with
// its rows through the dual-write store (on both stores) after the copy has read it and before
// the copy writes it to the new store, the race that resurrects a deleted row.
type racingSource struct {
	bulk.Source
	ds      *dualwrite.Store
	mu      sync.Mutex
	deleted []string
}

func (r *racingSource) Scan(ctx context.Context, t actingweb.Table, o bulk.ScanOptions, fn func(bulk.Page) error) error {
	return r.Source.Scan(ctx, t, o, func(p bulk.Page) error {
		if t == actingweb.TableActors && len(p.Records) > 0 {
			id := p.Records[0].(*actingweb.Actor).ID
			if err := actingweb.DeleteActorCascade(ctx, r.ds, id, time.Now()); err != nil {
				return fmt.Errorf("the racing delete of %s: %w", id, err)
			}
			r.mu.Lock()
			r.deleted = append(r.deleted, id)
			r.mu.Unlock()
		}
		return fn(p)
	})
}

// TestBackfillUnderWriteBoth proves the backfill procedure of docs/dualwrite.md: in
// write-both, while the application writes through the dual-write store, `copy --on-conflict
// skip` from OLD to NEW, then `reconcile --apply`, in both directions. The copy resurrects on
// NEW the rows deleted after it read them (forced here on every page of actors); reconcile
// removes them, and the stores end EQUAL, every table. Skip is atomic on both backends
// (PostgreSQL: INSERT ... ON CONFLICT DO NOTHING after a failed COPY; DynamoDB: PutItem on
// attribute_not_exists), so the copy never overwrites a row the dual writes put on NEW: the
// rows it resurrected are its only differences.
func TestBackfillUnderWriteBoth(t *testing.T) {
	for _, dir := range []string{"postgresql-to-dynamodb", "dynamodb-to-postgresql"} {
		t.Run(dir, func(t *testing.T) { // not parallel: integrationApp sets the environment
			oldURL, newURL, old, nw := reconcilePair(t)
			if dir == "dynamodb-to-postgresql" {
				oldURL, newURL, old, nw = newURL, oldURL, nw, old
			}
			testBackfill(t, oldURL, newURL, old, nw)
		})
	}
}

func testBackfill(t *testing.T, oldURL, newURL string, old, nw reconcileSide) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	po := old.(bulk.Backend)
	const seeded = 60
	for i := range seeded { // rows written before write-both: on OLD only
		id := fmt.Sprintf("s%04d", i)
		must(t, po.CreateActor(ctx, actingweb.Actor{ID: id, Creator: id + "@example.org", Passphrase: "pw"}))
		must(t, po.SetProperty(ctx, id, "email", id+"@example.org"))
		must(t, po.SetProperty(ctx, id, "list:notes-#0001", "n"))
		must(t, po.CreateTrust(ctx, actingweb.Trust{ID: id, PeerID: "peer", BaseURI: "https://p", Secret: "s-" + id, Relationship: "friend"}))
	}
	cs := old.(actingweb.ControlStore)
	if _, err := dualwrite.SetPhase(ctx, cs, dualwrite.DefaultControlKey, dualwrite.PhaseWriteBoth); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	ds, err := dualwrite.New(ctx, old.(dualwrite.Backend), nw.(dualwrite.Backend), dualwrite.Options{RepairInterval: -1,
		ShadowPercent: 100, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	if p, _ := ds.Phase(ctx); p != dualwrite.PhaseWriteBoth {
		t.Fatalf("phase %s, want write-both", p)
	}

	// The application: rounds of writes on new actors and on seeded ones (moved e-mail, deleted
	// list property, every third round the seeded actor deleted with its rows).
	// It stops between rounds (a round cut off half-way would be a failed dual write, which
	// the journal covers, not this test).
	writers := 0
	rounds := make(chan struct{}, 1000) // a tick per finished round: the test waits on them
	waitRounds := func(n int) {
		for range n {
			select {
			case <-rounds:
			case <-ctx.Done():
				t.Fatal("the writer made no progress")
			}
		}
	}
	writer := func() (stop func()) {
		writers++
		prefix := fmt.Sprintf("w%d-", writers)
		var stopped atomic.Bool
		errc := make(chan error, 1)
		go func() {
			for i := 0; !stopped.Load(); i++ {
				if err := fixture.LiveRound(ctx, ds, prefix, i, fmt.Sprintf("s%04d", (i*7)%seeded)); err != nil {
					errc <- err
					return
				}
				// reads, shadowed in read-new
				id := fmt.Sprintf("%s%06d", prefix, i)
				if _, err := ds.GetActor(ctx, id); err != nil {
					errc <- fmt.Errorf("read back %s: %w", id, err)
					return
				}
				if _, err := ds.GetProperty(ctx, id, "email"); err != nil {
					errc <- fmt.Errorf("read back %s email: %w", id, err)
					return
				}
				if _, err := ds.ListTrusts(ctx, id); err != nil {
					errc <- fmt.Errorf("read back %s trusts: %w", id, err)
					return
				}
				select {
				case rounds <- struct{}{}:
				default:
				}
			}
			errc <- nil
		}()
		return func() {
			stopped.Store(true)
			if err := <-errc; err != nil {
				t.Fatalf("writer: %v", err)
			}
			for len(rounds) > 0 { // ticks of this writer are spent
				<-rounds
			}
		}
	}
	stopWriter := writer()
	src := &racingSource{Source: po, ds: ds}
	rep, err := migrate.Copy(ctx, src, nw.(bulk.Sink), migrate.Options{Policy: bulk.ConflictSkip, StateDir: t.TempDir(),
		BatchSize: 10, Segments: 1, Logger: slog.New(slog.DiscardHandler), Tables: actingweb.DataTables})
	if err != nil {
		t.Fatalf("backfill copy: %v", err)
	}
	stopWriter()
	if len(src.deleted) == 0 {
		t.Fatal("the racing source deleted nothing: the test did not race")
	}
	t.Logf("copied %d rows (%d skipped); %d actors deleted between the copy's read and its write", rep.Totals().Written, rep.Totals().Skipped, len(src.deleted))

	// After the copy, with the writer stopped: NEW holds OLD's rows plus resurrected ones (rows
	// deleted on both after the copy read them: the forced actors, and what the writer
	// deleted); no row older than OLD's (skip), none missing.
	vr, err := migrate.Validate(ctx, old, nw, migrate.ValidateOptions{Consistent: true, MaxDiffs: 10000})
	if err != nil {
		t.Fatal(err)
	}
	deleted := map[string]bool{}
	for _, id := range src.deleted {
		deleted[id] = true
	}
	resurrected := 0
	for _, tv := range vr.Tables {
		for _, d := range tv.Differences {
			if d.Kind == migrate.DiffOrphanB { // a resurrected row of an actor deleted meanwhile
				continue
			}
			if d.Kind == migrate.DiffOnlyInB { // deleted on both after the copy read it
				if tv.Table == actingweb.TableActors && deleted[d.Record.Owner()] {
					resurrected++
				}
				continue
			}
			if tv.Table == actingweb.TablePropertyLookup && (d.Kind == migrate.DiffOnlyInA || d.Kind == migrate.DiffOnlyInB) {
				continue // the lookup table is rebuilt by the copy from NEW's properties; reconcile settles it
			}
			t.Errorf("after the backfill copy: %s %s %s: only resurrected rows may differ", tv.Table, d.Kind, d.Key)
		}
	}
	if resurrected == 0 {
		t.Fatalf("no deleted actor was resurrected on NEW by the copy: the race did not happen (%d deleted)", len(src.deleted))
	}

	// reconcile --apply while the application writes, then once more after it stopped.
	stopWriter = writer()
	a, _, errb := integrationApp(t)
	if err := a.RunReconcile(ctx, ReconcileOptions{From: oldURL, To: newURL, Apply: true, Quiet: true}); err != nil && ExitCode(err) != ExitMismatch {
		t.Fatalf("reconcile --apply while writing: %v\n%s", err, errb)
	}
	stopWriter()
	if err := a.RunReconcile(ctx, ReconcileOptions{From: oldURL, To: newURL, Apply: true, Quiet: true}); err != nil {
		t.Fatalf("reconcile --apply: %v\n%s", err, errb)
	}
	if err := a.RunValidate(ctx, ValidateOptions{From: oldURL, To: newURL, ConsistentRead: true, Quiet: true}); err != nil {
		t.Fatalf("validate after the backfill: %v", err)
	}

	// On through the phases and back, the writer running between the moves: read-new (every
	// read shadowed), new, read-new again after the rows written in new are backfilled the
	// other way, write-both; then the stores are EQUAL and no shadow read differed.
	move := func(p dualwrite.Phase) {
		t.Helper()
		if _, err := dualwrite.SetPhase(ctx, cs, dualwrite.DefaultControlKey, p); err != nil {
			t.Fatalf("SetPhase %s: %v", p, err)
		}
		if err := ds.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range []dualwrite.Phase{dualwrite.PhaseReadNew, dualwrite.PhaseNew, dualwrite.PhaseReadNew, dualwrite.PhaseWriteBoth} {
		move(p)
		if i == 2 { // back from new: the rows written in new are on NEW only, the truth now
			if _, err := migrate.Copy(ctx, nw.(bulk.Source), old.(bulk.Sink), migrate.Options{Policy: bulk.ConflictSkip,
				StateDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler), Tables: actingweb.DataTables}); err != nil {
				t.Fatalf("backfill back to OLD: %v", err)
			}
			if err := a.RunReconcile(ctx, ReconcileOptions{From: newURL, To: oldURL, Apply: true, Quiet: true}); err != nil {
				t.Fatalf("reconcile back to OLD: %v\n%s", err, errb)
			}
		}
		stopWriter = writer()
		waitRounds(3)
		stopWriter()
	}
	if err := a.RunValidate(ctx, ValidateOptions{From: oldURL, To: newURL, ConsistentRead: true, Quiet: true}); err != nil {
		t.Fatalf("validate after the round trip through the phases: %v", err)
	}
	if n := testenv.CounterSum(t, reg, "actingweb_dualwrite_shadow_reads_total"); n < 9 {
		t.Errorf("%v shadow reads, want every read of the read-new rounds", n)
	}
	if n := testenv.CounterSum(t, reg, "actingweb_dualwrite_shadow_mismatches_total"); n != 0 {
		t.Errorf("%v shadow mismatches, want 0", n)
	}
}
