package dualwrite_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/dualwrite"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/migrate"
	"github.com/actingweb/actingweb-go/postgres"
)

// TestControlLister appends, lists and deletes control values under a prefix on both backends
// (the repair journal's storage).
func TestControlLister(t *testing.T) {
	testenv.PostgresURL(t)
	for _, b := range []backend{pgBackend, ddbBackend} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := b.open(t)
			cl := s.(actingweb.ControlLister)
			cs := s.(actingweb.ControlStore)
			if got, err := cl.ListControl(ctx, "j/", 0); err != nil || len(got) != 0 {
				t.Fatalf("ListControl before the table exists = %v, %v; want nothing", got, err)
			}
			if err := cl.DeleteControl(ctx, "j/1", 0); err != nil {
				t.Fatalf("DeleteControl before the table exists: %v", err)
			}
			for _, k := range []string{"j/2", "j/1", "other", "j/3"} {
				if err := cs.WriteControl(ctx, k, "v"+k, 0); err != nil {
					t.Fatalf("WriteControl %s: %v", k, err)
				}
			}
			if err := cs.WriteControl(ctx, "j/3", "v3b", 1); err != nil {
				t.Fatalf("WriteControl j/3 v2: %v", err)
			}
			got, err := cl.ListControl(ctx, "j/", 0)
			if err != nil {
				t.Fatalf("ListControl: %v", err)
			}
			want := []actingweb.ControlEntry{{Key: "j/1", Value: "vj/1", Version: 1}, {Key: "j/2", Value: "vj/2", Version: 1}, {Key: "j/3", Value: "v3b", Version: 2}}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("ListControl = %v, want %v", got, want)
			}
			if got, _ := cl.ListControl(ctx, "j/", 2); len(got) != 2 || got[1].Key != "j/2" {
				t.Fatalf("ListControl limit 2 = %v, want j/1, j/2", got)
			}
			if err := cl.DeleteControl(ctx, "j/3", 1); !errors.Is(err, actingweb.ErrConflict) {
				t.Fatalf("DeleteControl j/3 at version 1: %v, want ErrConflict", err)
			}
			if err := cl.DeleteControl(ctx, "j/3", 2); err != nil {
				t.Fatalf("DeleteControl j/3 at version 2: %v", err)
			}
			if err := cl.DeleteControl(ctx, "j/1", 0); err != nil {
				t.Fatalf("DeleteControl j/1: %v", err)
			}
			if err := cl.DeleteControl(ctx, "j/1", 0); err != nil {
				t.Fatalf("DeleteControl j/1 again: %v", err)
			}
			if got, _ := cl.ListControl(ctx, "j/", 0); len(got) != 1 || got[0].Key != "j/2" {
				t.Fatalf("ListControl after deletes = %v, want j/2", got)
			}
			if _, v, _ := cs.ReadControl(ctx, "other"); v != 1 {
				t.Fatalf("the key outside the prefix is at version %d, want 1", v)
			}
		})
	}
}

// pgHandle opens another store on the PostgreSQL schema of s.
func pgHandle(t *testing.T, pgURL string) *postgres.Store {
	t.Helper()
	cfg, err := postgres.ConfigFromURL(pgURL, func(string) string { return "" })
	if err != nil {
		t.Fatalf("ConfigFromURL: %v", err)
	}
	cfg.Lookup = actingweb.DefaultLookupConfig()
	s, err := postgres.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// freshPG opens a fresh PostgreSQL store at head and returns it with its URL.
func freshPG(t *testing.T) (*postgres.Store, string) {
	t.Helper()
	u, _ := testenv.FreshPostgresSchema(t)
	s := pgHandle(t, u)
	if _, err := s.UpgradeSchema(context.Background()); err != nil {
		t.Fatalf("UpgradeSchema: %v", err)
	}
	return s, u
}

// TestRepairJournal records failed writes in the journal while the new store (PostgreSQL) is
// unreachable to one dual-write store, changes the primary further, and repairs with a second
// dual-write store that reaches it: the secondary gets the primary's current rows (a later
// value, a deleted row gone), the journal is empty, the stores are equal, and the entries held
// keys only.
func TestRepairJournal(t *testing.T) {
	testenv.PostgresURL(t)
	for _, ob := range []backend{pgBackend, ddbBackend} {
		t.Run(ob.name+"-to-postgres", func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			old := ob.open(t)
			nw, nwURL := freshPG(t)
			moveTo(t, old, dualwrite.PhaseWriteBoth)
			good, err := dualwrite.New(ctx, old, nw, dualwrite.Options{Journal: true, RepairInterval: -1})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if err := good.CreateActor(ctx, actingweb.Actor{ID: "a0", Creator: "c", Passphrase: "pw-secret"}); err != nil {
				t.Fatal(err)
			}
			if err := good.SetProperty(ctx, "a0", "gone", "x"); err != nil {
				t.Fatal(err)
			}
			cut := pgHandle(t, nwURL)
			reg := prometheus.NewRegistry()
			ds, err := dualwrite.New(ctx, old, cut, dualwrite.Options{Journal: true, RepairInterval: -1, Secondary: dualwrite.ReportAndSucceed, Registerer: reg})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			_ = cut.Close()
			for i, op := range []func() error{
				func() error {
					return ds.CreateActor(ctx, actingweb.Actor{ID: "a1", Creator: "c", Passphrase: "pw-secret"})
				},
				func() error { return ds.SetProperty(ctx, "a1", "p", "value-1") },
				func() error { return ds.DeleteProperty(ctx, "a0", "gone") },
				func() error { return ds.SetAttribute(ctx, "a1", "b", "n", []byte(`{"k":"attr-value"}`), nil, 0) },
			} {
				if err := op(); err != nil {
					t.Fatalf("write %d under ReportAndSucceed: %v", i, err)
				}
			}
			if err := old.SetProperty(ctx, "a1", "p", "value-2"); err != nil { // the primary moves on
				t.Fatal(err)
			}
			entries, err := dualwrite.ListJournal(ctx, old, nw)
			if err != nil || len(entries) != 4 {
				t.Fatalf("ListJournal = %d entries, %v; want 4", len(entries), err)
			}
			raw, _ := old.(actingweb.ControlLister).ListControl(ctx, dualwrite.JournalPrefix, 0)
			for _, e := range raw {
				for _, secret := range []string{"pw-secret", "value-1", "attr-value"} {
					if strings.Contains(e.Value, secret) {
						t.Errorf("journal entry %s holds a row value: %s", e.Key, e.Value)
					}
				}
			}
			if n := gauge(t, reg, "actingweb_dualwrite_repairs_pending"); n != 4 {
				t.Errorf("pending gauge %v, want 4", n)
			}

			// in phase old the entries wait (the new store is not touched)
			cs := old.(actingweb.ControlStore)
			for _, p := range []dualwrite.Phase{dualwrite.PhaseOld, dualwrite.PhaseWriteBoth} {
				if _, err := dualwrite.SetPhase(ctx, cs, dualwrite.DefaultControlKey, p); err != nil {
					t.Fatal(err)
				}
				if err := good.Refresh(ctx); err != nil {
					t.Fatal(err)
				}
				if p == dualwrite.PhaseOld {
					if res, err := good.Repair(ctx); err != nil || res.Waiting != 4 || res.Repaired != 0 {
						t.Fatalf("Repair in phase old = %+v, %v; want 4 waiting", res, err)
					}
				}
			}
			res, err := good.Repair(ctx)
			if err != nil || res.Repaired != 4 || res.Pending() != 0 {
				t.Fatalf("Repair = %+v, %v; want 4 repaired", res, err)
			}
			if entries, _ := dualwrite.ListJournal(ctx, old, nw); len(entries) != 0 {
				t.Fatalf("%d entries left after the repair", len(entries))
			}
			if v, err := nw.GetProperty(ctx, "a1", "p"); err != nil || v != "value-2" {
				t.Errorf("new store's property = %q, %v; want the primary's current value-2", v, err)
			}
			if _, err := nw.GetProperty(ctx, "a0", "gone"); !errors.Is(err, actingweb.ErrNotFound) {
				t.Errorf("deleted property on the new store: %v, want ErrNotFound", err)
			}
			assertEqualStores(t, old, nw, nil)
		})
	}
}

// TestJournalNotRecorded: when the journal entry cannot be written (a constraint on the
// bookkeeping table refuses repair keys), a write the secondary missed fails even under
// ReportAndSucceed, wrapping ErrSecondary and ErrNotRecorded.
func TestJournalNotRecorded(t *testing.T) {
	testenv.PostgresURL(t)
	ctx := context.Background()
	old, oldURL := freshPG(t)
	nw, nwURL := freshPG(t)
	moveTo(t, old, dualwrite.PhaseWriteBoth)
	rest, schema, err := testenv.SplitSchemaParam(oldURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, rest)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `ALTER TABLE `+pgx.Identifier{schema, postgres.ControlTable}.Sanitize()+
		` ADD CONSTRAINT no_journal CHECK (key NOT LIKE 'dualwrite/repair/%')`); err != nil {
		t.Fatal(err)
	}
	_ = nw
	cut := pgHandle(t, nwURL)
	ds, err := dualwrite.New(ctx, old, cut, dualwrite.Options{Journal: true, RepairInterval: -1, Secondary: dualwrite.ReportAndSucceed})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	_ = cut.Close()
	err = ds.CreateActor(ctx, actingweb.Actor{ID: "a1", Creator: "c", Passphrase: "pw"})
	if !errors.Is(err, dualwrite.ErrSecondary) || !errors.Is(err, dualwrite.ErrNotRecorded) {
		t.Fatalf("CreateActor = %v, want ErrSecondary and ErrNotRecorded", err)
	}
}

// gauge reads a gauge of reg.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return 0
}

// TestFaultNewUnreachable runs application writes in write-both, DynamoDB old and PostgreSQL
// new, the new store reached through a toxiproxy that is disabled after a number of writes and
// enabled again once some writes missed it. Under ReportAndSucceed every call succeeds; under
// FailCall the calls that missed the new store fail with ErrSecondary. Either way every miss is
// journaled, the background repair empties the journal once the proxy is back, and the stores
// are equal for the writer's actors.
func TestFaultNewUnreachable(t *testing.T) {
	testenv.PostgresURL(t)
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	for i, policy := range []dualwrite.SecondaryPolicy{dualwrite.ReportAndSucceed, dualwrite.FailCall} {
		t.Run(policy.String(), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			old := openDDB(t)
			nw, nwURL := freshPG(t)
			_ = nw
			u, err := url.Parse(nwURL)
			if err != nil {
				t.Fatal(err)
			}
			proxy := toxiproxy.NewProxy(server, fmt.Sprintf("pg-%d", i), "127.0.0.1:0", u.Host)
			if err := proxy.Start(); err != nil {
				t.Fatalf("toxiproxy: %v", err)
			}
			t.Cleanup(proxy.Stop)
			u.Host = proxy.Listen
			viaProxy := pgHandle(t, u.String())
			moveTo(t, old, dualwrite.PhaseWriteBoth)
			reg := prometheus.NewRegistry()
			ds, err := dualwrite.New(ctx, old, viaProxy, dualwrite.Options{Journal: true, RepairInterval: 100 * time.Millisecond,
				Secondary: policy, Registerer: reg})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer ds.Close()

			const strikeAfter, missesWanted = 30, 40
			var writes, misses atomic.Int64
			struck, healed := make(chan struct{}), make(chan struct{})
			var once, healOnce sync.Once
			actors := migrate.ActorSet{}
			var mu sync.Mutex
			stop := make(chan struct{})
			werr := make(chan error, 1)
			go func() {
				werr <- func() error {
					for i := 0; ; i++ {
						select {
						case <-stop:
							return nil
						default:
						}
						id := fmt.Sprintf("f%04d", i)
						mu.Lock()
						actors[id] = true
						mu.Unlock()
						for _, op := range []func() error{
							func() error { return ds.CreateActor(ctx, actingweb.Actor{ID: id, Creator: "c", Passphrase: "pw"}) },
							func() error { return ds.SetProperty(ctx, id, "note", "n1") },
							func() error { return ds.SetProperty(ctx, id, "n2", "x") },
							func() error { return ds.ModifyActor(ctx, id, "c2", "") },
							func() error { return ds.DeleteProperty(ctx, id, "n2") },
							func() error {
								return ds.CreateTrust(ctx, actingweb.Trust{ID: id, PeerID: "p", BaseURI: "https://p", Secret: "s-" + id, Relationship: "friend"})
							},
							func() error { return ds.SetAttribute(ctx, id, "b", "n", []byte(`1`), nil, 0) },
						} {
							err := op()
							switch {
							case err == nil:
							case policy == dualwrite.FailCall && errors.Is(err, dualwrite.ErrSecondary) && !errors.Is(err, dualwrite.ErrNotRecorded):
								misses.Add(1)
							default:
								return fmt.Errorf("actor %s: %w", id, err)
							}
							n := writes.Add(1)
							if n == strikeAfter {
								once.Do(func() { close(struck) })
							}
							if policy == dualwrite.ReportAndSucceed {
								misses.Store(int64(testenv.CounterSum(t, reg, "actingweb_dualwrite_secondary_failures_total")))
							}
							select {
							case <-struck:
								select {
								case <-healed:
								default:
									if misses.Load() >= missesWanted {
										healOnce.Do(func() { close(healed) })
									}
								}
							default:
							}
						}
					}
				}()
			}()
			waitOr := func(ch <-chan struct{}, what string) {
				select {
				case <-ch:
				case err := <-werr:
					t.Fatalf("writer stopped before %s: %v", what, err)
				case <-ctx.Done():
					t.Fatalf("timed out waiting for %s", what)
				}
			}
			waitOr(struck, "the strike")
			proxy.Stop() // closes every connection and refuses new ones
			waitOr(healed, "the misses")
			if err := proxy.Start(); err != nil {
				t.Fatalf("toxiproxy restart: %v", err)
			}
			after := writes.Load()
			for writes.Load() < after+strikeAfter {
				select {
				case err := <-werr:
					t.Fatalf("writer stopped: %v", err)
				case <-time.After(10 * time.Millisecond): // polling the writer's progress
				}
			}
			close(stop)
			if err := <-werr; err != nil {
				t.Fatalf("writer: %v", err)
			}
			if n := testenv.CounterSum(t, reg, "actingweb_dualwrite_secondary_failures_total"); n < missesWanted {
				t.Fatalf("%v secondary failures, want at least %d", n, missesWanted)
			}
			for {
				entries, err := dualwrite.ListJournal(ctx, old, nw)
				if err != nil {
					t.Fatalf("ListJournal: %v", err)
				}
				if len(entries) == 0 {
					break
				}
				select {
				case <-ctx.Done():
					t.Fatalf("%d journal entries left", len(entries))
				case <-time.After(50 * time.Millisecond): // polling the background repair
				}
			}
			t.Logf("%d writes, %v secondary failures, %v repairs", writes.Load(), testenv.CounterSum(t, reg, "actingweb_dualwrite_secondary_failures_total"), testenv.CounterSum(t, reg, "actingweb_dualwrite_repairs_total"))
			if n := testenv.CounterSum(t, reg, "actingweb_dualwrite_repairs_total"); n < 1 {
				t.Errorf("%v repairs counted, want at least one", n)
			}
			mu.Lock()
			defer mu.Unlock()
			assertEqualStores(t, old, nw, actors)
		})
	}
}
