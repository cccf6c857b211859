package migrate_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bundle"
	"github.com/actingweb/actingweb-go/migrate"
)

// TestExportFromPostgresResume: an export from PostgreSQL reads in physical order
// (ScanOptions.AnyOrder); killed inside properties and resumed, it continues where it stopped
// when the source is unchanged, and writes the table again from its start when a row was
// written in between (the stale cursor): either way the bundle holds every row once, as the
// source holds it at the end.
func TestExportFromPostgresResume(t *testing.T) {
	ctx := context.Background()
	seedDir, _ := seedBundle(t, 600)
	// a checkpoint after every batch, so the run stops after a checkpoint inside the table
	defer migrate.SetCheckpointEvery(migrate.SetCheckpointEvery(0))
	for _, c := range []struct {
		name     string
		cancelAt int64
		change   bool
		resumed  bool
	}{
		// batches of 50 rows cut from pages of 120: 50, 50, 20. The 600 actors are calls 1-15.
		{name: "unchanged", cancelAt: 20, resumed: true},
		{name: "row updated", cancelAt: 20, change: true},
		{name: "row updated, stopped in the first page", cancelAt: 16, change: true},
		{name: "unchanged, stopped in the first page", cancelAt: 16},
	} {
		t.Run(c.name, func(t *testing.T) {
			pg := openPG(t)
			if _, err := migrate.Import(ctx, seedDir, pg, migrate.Options{StateDir: t.TempDir()}); err != nil {
				t.Fatal(err)
			}
			out, state := filepath.Join(t.TempDir(), "out"), t.TempDir()
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			tables := []actingweb.Table{actingweb.TableActors, actingweb.TableProperties}
			o := migrate.Options{StateDir: state, BatchSize: 50, PageSize: 120, Tables: tables,
				Progress: &cancelAfter{n: c.cancelAt, cancel: cancel}}
			if _, err := migrate.Export(cctx, pg, out, o); !errors.Is(err, context.Canceled) {
				t.Fatalf("first run: %v", err)
			}
			changed := &actingweb.Property{ID: "a00000", Name: "email", Value: "changed@example.org"}
			if c.change {
				if _, err := pg.WriteBatch(ctx, actingweb.TableProperties, []actingweb.Record{changed}, actingweb.ConflictOverwrite); err != nil {
					t.Fatal(err)
				}
			}
			o.Progress, o.Resume = nil, true
			rep, err := migrate.Export(ctx, pg, out, o)
			if err != nil {
				t.Fatal(err)
			}
			r, err := bundle.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			vr, err := migrate.Validate(ctx, pg, r, migrate.ValidateOptions{Tables: tables, SkipLookup: true})
			if err != nil {
				t.Fatal(err)
			}
			if !vr.Equal || vr.Tables[1].CountA != 1200 || vr.Tables[1].CountB != 1200 {
				t.Fatalf("bundle differs from the source: %+v", vr.Tables)
			}
			if len(rep.Tables) != 2 || rep.Tables[1].Table != actingweb.TableProperties || rep.Tables[1].Resumed != c.resumed {
				t.Fatalf("report tables %+v: want properties resumed=%v", rep.Tables, c.resumed)
			}
			if got := readBundle(t, out)[actingweb.TableProperties][changed.Key()].(*actingweb.Property); c.change && got.Value != changed.Value {
				t.Fatalf("bundle has %q, the source %q", got.Value, changed.Value)
			}
		})
	}
}
