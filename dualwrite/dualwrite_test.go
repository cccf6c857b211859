package dualwrite_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/dualwrite"
	"github.com/actingweb/actingweb-go/dynamodb"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/migrate"
	"github.com/actingweb/actingweb-go/postgres"
	"github.com/actingweb/actingweb-go/storetest"
	"github.com/prometheus/client_golang/prometheus"
)

// backend opens a fresh, empty store at head whose cleanup is registered on t.
type backend struct {
	name string
	open func(t *testing.T) dualwrite.Backend
}

var (
	pgBackend  = backend{"postgres", openPG}
	ddbBackend = backend{"dynamodb", openDDB}
)

func openPG(t *testing.T) dualwrite.Backend {
	t.Helper()
	url, _ := testenv.FreshPostgresSchema(t)
	cfg, err := postgres.ConfigFromURL(url, func(string) string { return "" })
	if err != nil {
		t.Fatalf("ConfigFromURL: %v", err)
	}
	cfg.Lookup = actingweb.DefaultLookupConfig()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := postgres.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.UpgradeSchema(ctx); err != nil {
		t.Fatalf("UpgradeSchema: %v", err)
	}
	return s
}

func openDDB(t *testing.T) dualwrite.Backend {
	t.Helper()
	cfg := dynamodb.Config{
		Prefix:   testenv.UniqueDynamoPrefix(t),
		Region:   actingweb.DefaultRegion,
		Endpoint: testenv.DynamoDBEndpoint(t),
		Lookup:   actingweb.DefaultLookupConfig(),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := dynamodb.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := s.DropTables(ctx); err != nil {
			t.Errorf("DropTables %s: %v", cfg.Prefix, err)
		}
		_ = s.Close()
	})
	if _, err := s.UpgradeSchema(ctx); err != nil {
		t.Fatalf("UpgradeSchema: %v", err)
	}
	// The contract reads rows whose ttl_timestamp has passed: DynamoDB Local's TTL sweeper
	// must not delete them between the write and the read.
	if _, err := s.DisableTTL(ctx); err != nil {
		t.Fatalf("DisableTTL: %v", err)
	}
	return s
}

// moveTo moves the phase of old's control record step by step from old to p.
func moveTo(t *testing.T, old dualwrite.Backend, p dualwrite.Phase) {
	t.Helper()
	if p == dualwrite.PhaseOld {
		return
	}
	cs := old.(actingweb.ControlStore)
	for _, q := range dualwrite.Phases[1:] {
		if _, err := dualwrite.SetPhase(context.Background(), cs, dualwrite.DefaultControlKey, q); err != nil {
			t.Fatalf("SetPhase %s: %v", q, err)
		}
		if q == p {
			return
		}
	}
}

// assertEqualStores compares the two stores row by row (migrate.Validate), limited to actors
// when not nil.
func assertEqualStores(t *testing.T, old, nw dualwrite.Backend, actors migrate.ActorSet) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := migrate.Validate(ctx, old, nw, migrate.ValidateOptions{Partitions: 16, Segments: 1, Consistent: true, Actors: actors})
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	for _, tv := range rep.Tables {
		if !tv.Equal && !onlyOrphans(tv) {
			t.Errorf("stores differ in %s: %+v", tv.Table, tv)
		}
	}
}

// onlyOrphans reports whether the differences of a table are lookup rows whose owner has no
// actor row on the side that holds them: PostgreSQL's foreign key keeps them out of the other
// side (dualwrite counts them in actingweb_dualwrite_orphans_total).
func onlyOrphans(tv migrate.TableValidation) bool {
	if tv.Table != actingweb.TablePropertyLookup || tv.DifferencesOmitted > 0 || tv.RejectsA+tv.RejectsB > 0 {
		return false
	}
	orphan := map[string]bool{}
	for _, d := range tv.Differences {
		switch d.Kind {
		case migrate.DiffOrphanA:
			orphan["A"+d.Key] = true
		case migrate.DiffOrphanB:
			orphan["B"+d.Key] = true
		}
	}
	for _, d := range tv.Differences {
		switch {
		case d.Kind == migrate.DiffOrphanA || d.Kind == migrate.DiffOrphanB:
		case d.Kind == migrate.DiffOnlyInA && orphan["A"+d.Key], d.Kind == migrate.DiffOnlyInB && orphan["B"+d.Key]:
		default:
			return false
		}
	}
	return true
}

// TestContract runs the contract suite on the dual-write store in every phase, PostgreSQL old
// and DynamoDB new and the reverse. In write-both and read-new every store the suite opens is
// checked at its cleanup: both stores hold the same rows (migrate.Validate). Reads in read-new
// are all shadowed; the mismatches are logged, not failed: the suite also probes documented
// differences between the backends (the property fallback of §6.3). The suite's stores come
// from a storePool: emptied schemas and table prefixes, reused.
func TestContract(t *testing.T) {
	testenv.PostgresURL(t)
	testenv.DynamoDBEndpoint(t)
	pool := newStorePool()
	t.Cleanup(func() { pool.close(t) })
	for _, dir := range [][2]backend{{pgBackend, ddbBackend}, {ddbBackend, pgBackend}} {
		for _, phase := range dualwrite.Phases {
			t.Run(dir[0].name+"-to-"+dir[1].name+"/"+string(phase), func(t *testing.T) {
				t.Parallel()
				reader := dir[0]
				if phase.NewIsPrimary() {
					reader = dir[1]
				}
				var opts []storetest.Option
				if reader.name == "postgres" {
					opts = append(opts, storetest.WithPropertyFallback())
				}
				storetest.Run(t, func(t *testing.T) bulk.Backend {
					old, nw := pool.open(t, dir[0]), pool.open(t, dir[1])
					moveTo(t, old, phase)
					reg := prometheus.NewRegistry()
					ds, err := dualwrite.New(context.Background(), old, nw, dualwrite.Options{ShadowPercent: 100, Registerer: reg})
					if err != nil {
						t.Fatalf("dualwrite.New: %v", err)
					}
					if got, _ := ds.Phase(context.Background()); got != phase {
						t.Fatalf("phase %s, want %s", got, phase)
					}
					if phase.WritesBoth() {
						t.Cleanup(func() {
							assertEqualStores(t, old, nw, nil)
							if n := testenv.CounterSum(t, reg, "actingweb_dualwrite_shadow_mismatches_total"); n > 0 {
								t.Logf("%s: %v shadow mismatches", t.Name(), n)
							}
						})
					}
					return ds
				}, opts...)
			})
		}
	}
}

// TestControlCAS checks the control record's compare-and-set on both backends and SetPhase's
// one-step rule.
func TestControlCAS(t *testing.T) {
	for _, b := range []backend{pgBackend, ddbBackend} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			cs := b.open(t).(actingweb.ControlStore)
			if v, n, err := cs.ReadControl(ctx, "k"); err != nil || v != "" || n != 0 {
				t.Fatalf("ReadControl before any write = %q, %d, %v; want \"\", 0, nil", v, n, err)
			}
			if err := cs.WriteControl(ctx, "k", "a", 0); err != nil {
				t.Fatalf("WriteControl create: %v", err)
			}
			if err := cs.WriteControl(ctx, "k", "b", 0); !errors.Is(err, actingweb.ErrConflict) {
				t.Fatalf("second create: %v, want ErrConflict", err)
			}
			if v, n, err := cs.ReadControl(ctx, "k"); err != nil || v != "a" || n != 1 {
				t.Fatalf("ReadControl = %q, %d, %v; want a, 1", v, n, err)
			}
			if err := cs.WriteControl(ctx, "k", "c", 1); err != nil {
				t.Fatalf("WriteControl at version 1: %v", err)
			}
			if err := cs.WriteControl(ctx, "k", "d", 1); !errors.Is(err, actingweb.ErrConflict) {
				t.Fatalf("stale WriteControl: %v, want ErrConflict", err)
			}
			if v, n, err := cs.ReadControl(ctx, "k"); err != nil || v != "c" || n != 2 {
				t.Fatalf("ReadControl = %q, %d, %v; want c, 2", v, n, err)
			}
			if v, n, err := cs.ReadControl(ctx, "other"); err != nil || v != "" || n != 0 {
				t.Fatalf("ReadControl other key = %q, %d, %v", v, n, err)
			}

			key := dualwrite.DefaultControlKey
			if _, err := dualwrite.SetPhase(ctx, cs, key, dualwrite.PhaseReadNew); !errors.Is(err, dualwrite.ErrStep) {
				t.Fatalf("old -> read-new: %v, want ErrStep", err)
			}
			for _, p := range []dualwrite.Phase{dualwrite.PhaseWriteBoth, dualwrite.PhaseReadNew, dualwrite.PhaseNew} {
				if _, err := dualwrite.SetPhase(ctx, cs, key, p); err != nil {
					t.Fatalf("SetPhase %s: %v", p, err)
				}
			}
			if _, err := dualwrite.SetPhase(ctx, cs, key, dualwrite.PhaseWriteBoth); !errors.Is(err, dualwrite.ErrStep) {
				t.Fatalf("new -> write-both: %v, want ErrStep", err)
			}
			if p, _, err := dualwrite.ReadPhase(ctx, cs, key); err != nil || p != dualwrite.PhaseNew {
				t.Fatalf("ReadPhase = %s, %v; want new", p, err)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// round runs one round of application operations on fresh actors id and id+"-gone" (deleted
// by the cascade) and reads them back; it returns the first error.
func round(ctx context.Context, s bulk.Backend, id string) error {
	steps := []func() error{
		func() error {
			return s.CreateActor(ctx, actingweb.Actor{ID: id, Creator: "W-" + id + "@Example.com", Passphrase: "pw"})
		},
		func() error { return s.SetProperty(ctx, id, "email", id+"-a@example.com") },
		func() error { return s.SetProperty(ctx, id, "email", id+"-b@example.com") },
		func() error { return s.SetProperty(ctx, id, "note", "n") },
		func() error { _, err := s.CreatePropertyIfNotExists(ctx, id, "once", "1"); return err },
		func() error { _, err := s.SetPropertyIfValueEquals(ctx, id, "once", "1", "2"); return err },
		func() error {
			return s.CreateTrust(ctx, actingweb.Trust{ID: id, PeerID: "p1", BaseURI: "https://p1", Secret: "s-" + id, EstablishedVia: ptr("OAuth2")})
		},
		func() error { return s.ModifyTrust(ctx, id, "p1", actingweb.TrustUpdate{Approved: ptr(true)}) },
		func() error {
			return s.CreateSubscription(ctx, actingweb.Subscription{ID: id, PeerID: "p1", SubID: "s1", Target: ptr("properties")})
		},
		func() error { _, err := s.AddDiff(ctx, id, "p1", "s1", `{"a":1}`); return err },
		func() error { _, err := s.AddDiff(ctx, id, "p1", "s1", `{"a":2}`); return err },
		func() error { _, err := s.DeleteDiffs(ctx, id, "s1", 1); return err },
		func() error {
			return s.SetAttribute(ctx, id, "bucket", "x:y", []byte(`{"v":[1,2]}`), ptr(time.Now()), time.Hour)
		},
		func() error { _, err := s.Suspend(ctx, id, "properties", ""); return err },
		func() error {
			return s.CreatePeerTrustee(ctx, actingweb.PeerTrustee{ID: id, PeerID: "t1", Type: "x", Passphrase: "pp"})
		},
		// a second actor, created and deleted with everything it owns
		func() error {
			return s.CreateActor(ctx, actingweb.Actor{ID: id + "-gone", Creator: "gone", Passphrase: "pw"})
		},
		func() error { return s.SetProperty(ctx, id+"-gone", "oauthId", id+"-o") },
		func() error { return s.SetAttribute(ctx, id+"-gone", "b", "n", []byte(`1`), nil, 0) },
		func() error { return actingweb.DeleteActorCascade(ctx, s, id+"-gone", time.Now()) },
		// reads (shadowed in read-new)
		func() error { _, err := s.GetActor(ctx, id); return err },
		func() error {
			got, err := s.GetActorIDFromProperty(ctx, "email", id+"-b@example.com")
			if err == nil && got != id {
				err = fmt.Errorf("GetActorIDFromProperty = %q, want %q", got, id)
			}
			return err
		},
		func() error { _, err := s.ListAllProperties(ctx, id); return err },
		func() error { _, err := s.ListTrusts(ctx, id); return err },
		func() error { _, err := s.ListDiffs(ctx, id, ""); return err },
		func() error { _, err := s.GetSubscription(ctx, id, "p1", "s1"); return err },
		func() error { _, err := s.GetAttribute(ctx, id, "bucket", "x:y"); return err },
		func() error { _, err := s.ListSuspensions(ctx, id); return err },
		func() error {
			_, err := s.GetActor(ctx, id+"-gone")
			if errors.Is(err, actingweb.ErrNotFound) {
				return nil
			}
			return fmt.Errorf("deleted actor: %v", err)
		},
	}
	for i, st := range steps {
		if err := st(); err != nil {
			return fmt.Errorf("%s step %d: %w", id, i, err)
		}
	}
	return nil
}

type roundDone struct {
	id    string
	phase dualwrite.Phase
	err   error
}

// TestPhaseMoves moves the phase old -> write-both -> read-new -> new and back to old while a
// writer runs rounds of application operations on fresh actors. The phase changes between
// rounds (the writer holds a read lock for each round; the mover takes the write lock), so each
// round runs in one phase. At the end, the actors of the rounds run in write-both and read-new
// hold identical rows in both stores, every read in read-new was shadowed and none differed.
// Rows written in old and new reach one store only; the backfill that brings them over is
// TestBackfillUnderWriteBoth (internal/cli), which moves through the phases with it.
func TestPhaseMoves(t *testing.T) {
	for _, dir := range [][2]backend{{pgBackend, ddbBackend}, {ddbBackend, pgBackend}} {
		t.Run(dir[0].name+"-to-"+dir[1].name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			old, nw := dir[0].open(t), dir[1].open(t)
			reg := prometheus.NewRegistry()
			ds, err := dualwrite.New(ctx, old, nw, dualwrite.Options{ShadowPercent: 100, Registerer: reg})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			var gate = make(chan struct{}, 1) // held by whoever runs: a round or a phase move
			done := make(chan roundDone)
			stop := make(chan struct{})
			go func() {
				defer close(done)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					case gate <- struct{}{}:
					}
					p, _ := ds.Phase(ctx)
					id := fmt.Sprintf("w%03d-%s", i, p)
					err := round(ctx, ds, id)
					<-gate
					select {
					case done <- roundDone{id, p, err}:
					case <-stop:
						return
					}
				}
			}()
			dual := migrate.ActorSet{}
			wait := func(p dualwrite.Phase, n int) {
				for n > 0 {
					r, ok := <-done
					if !ok {
						t.Fatal("writer stopped")
					}
					if r.err != nil {
						t.Fatalf("round in %s: %v", r.phase, r.err)
					}
					if r.phase.WritesBoth() {
						dual[r.id], dual[r.id+"-gone"] = true, true
					}
					if r.phase == p {
						n--
					}
				}
			}
			cs := old.(actingweb.ControlStore)
			wait(dualwrite.PhaseOld, 2)
			for _, p := range []dualwrite.Phase{dualwrite.PhaseWriteBoth, dualwrite.PhaseReadNew, dualwrite.PhaseNew,
				dualwrite.PhaseReadNew, dualwrite.PhaseWriteBoth, dualwrite.PhaseOld} {
				gate <- struct{}{}
				if _, err := dualwrite.SetPhase(ctx, cs, dualwrite.DefaultControlKey, p); err != nil {
					t.Fatalf("SetPhase %s: %v", p, err)
				}
				if err := ds.Refresh(ctx); err != nil {
					t.Fatalf("Refresh: %v", err)
				}
				<-gate
				wait(p, 2)
				if p.WritesBoth() {
					assertEqualStores(t, old, nw, dual)
				}
			}
			close(stop)
			for range done {
			}
			assertEqualStores(t, old, nw, dual)
			if n := testenv.CounterSum(t, reg, "actingweb_dualwrite_shadow_reads_total"); n < 20 {
				t.Errorf("%v shadow reads, want every read of the read-new rounds", n)
			}
			if n := testenv.CounterSum(t, reg, "actingweb_dualwrite_shadow_mismatches_total"); n != 0 {
				t.Errorf("%v shadow mismatches, want 0", n)
			}
			if n := testenv.CounterSum(t, reg, "actingweb_dualwrite_secondary_failures_total"); n != 0 {
				t.Errorf("%v secondary failures, want 0", n)
			}
		})
	}
}

// repairs records the failures a Store reports.
type repairs struct {
	mu sync.Mutex
	fs []dualwrite.Failure
}

func (r *repairs) Repair(_ context.Context, f dualwrite.Failure) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fs = append(r.fs, f)
}

// TestSecondaryFailure writes in write-both while the new store is unreachable (closed):
// FailCall returns ErrSecondary, ReportAndSucceed succeeds; both leave the write on the primary
// and hand the affected keys to the Repairer.
func TestSecondaryFailure(t *testing.T) {
	testenv.PostgresURL(t)
	for _, policy := range []dualwrite.SecondaryPolicy{dualwrite.FailCall, dualwrite.ReportAndSucceed} {
		t.Run(fmt.Sprint(policy), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			old, nw := openPG(t), openPG(t)
			moveTo(t, old, dualwrite.PhaseWriteBoth)
			rep := &repairs{}
			reg := prometheus.NewRegistry()
			ds, err := dualwrite.New(ctx, old, nw, dualwrite.Options{Secondary: policy, Repairer: rep, Registerer: reg})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			_ = nw.Close()
			err = ds.CreateActor(ctx, actingweb.Actor{ID: "a1", Creator: "c", Passphrase: "pw"})
			switch policy {
			case dualwrite.FailCall:
				if !errors.Is(err, dualwrite.ErrSecondary) {
					t.Fatalf("CreateActor: %v, want ErrSecondary", err)
				}
			default:
				if err != nil {
					t.Fatalf("CreateActor: %v, want success", err)
				}
			}
			if _, err := old.GetActor(ctx, "a1"); err != nil {
				t.Fatalf("the primary lacks the actor: %v", err)
			}
			if len(rep.fs) != 1 || rep.fs[0].Op != "CreateActor" || len(rep.fs[0].Keys) != 1 || rep.fs[0].Keys[0].Key() != "a1" {
				t.Fatalf("repairs = %+v, want one CreateActor with key a1", rep.fs)
			}
			if n := testenv.CounterSum(t, reg, "actingweb_dualwrite_secondary_failures_total"); n != 1 {
				t.Errorf("secondary failures metric %v, want 1", n)
			}
		})
	}
}

// TestShadowMismatch makes the stores differ behind the dual-write store's back (a property
// written to the new store only) and reads it in read-new: the shadow read counts a mismatch,
// or an ignored one when the Ignore hook declares it known. Reads in write-both are not
// shadowed.
func TestShadowMismatch(t *testing.T) {
	testenv.PostgresURL(t)
	for _, ignore := range []bool{false, true} {
		t.Run(fmt.Sprintf("ignore=%v", ignore), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			old, nw := openPG(t), openPG(t)
			moveTo(t, old, dualwrite.PhaseWriteBoth)
			reg := prometheus.NewRegistry()
			o := dualwrite.Options{ShadowPercent: 100, Registerer: reg}
			var asked []string
			if ignore {
				o.Ignore = func(op string, primary, shadow any) bool {
					asked = append(asked, fmt.Sprintf("%s %v %v", op, primary, shadow))
					return true
				}
			}
			ds, err := dualwrite.New(ctx, old, nw, o)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if err := ds.CreateActor(ctx, actingweb.Actor{ID: "a1", Creator: "c", Passphrase: "pw"}); err != nil {
				t.Fatalf("CreateActor: %v", err)
			}
			if err := nw.SetProperty(ctx, "a1", "note", "only new"); err != nil {
				t.Fatalf("SetProperty on new: %v", err)
			}
			if _, err := ds.ListAllProperties(ctx, "a1"); err != nil {
				t.Fatalf("ListAllProperties: %v", err)
			}
			if n := testenv.CounterSum(t, reg, "actingweb_dualwrite_shadow_reads_total"); n != 0 {
				t.Fatalf("%v shadow reads in write-both, want 0", n)
			}
			moveTo(t, old, dualwrite.PhaseReadNew)
			if err := ds.Refresh(ctx); err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			props, err := ds.ListAllProperties(ctx, "a1")
			if err != nil || props["note"] != "only new" {
				t.Fatalf("ListAllProperties in read-new = %v, %v; want the new store's", props, err)
			}
			if _, err := ds.GetActor(ctx, "a1"); err != nil {
				t.Fatalf("GetActor: %v", err)
			}
			reads := testenv.CounterSum(t, reg, "actingweb_dualwrite_shadow_reads_total")
			mism := testenv.CounterSum(t, reg, "actingweb_dualwrite_shadow_mismatches_total")
			ign := testenv.CounterSum(t, reg, "actingweb_dualwrite_shadow_ignored_total")
			if reads != 2 {
				t.Errorf("%v shadow reads, want 2", reads)
			}
			if ignore && (mism != 0 || ign != 1 || len(asked) != 1) {
				t.Errorf("mismatches %v, ignored %v, hook asked %q; want 0, 1, once", mism, ign, asked)
			}
			if !ignore && (mism != 1 || ign != 0) {
				t.Errorf("mismatches %v, ignored %v; want 1, 0", mism, ign)
			}
		})
	}
}
