package migrate_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bundle"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/migrate"
)

// TestExportFromPostgresResume: an export from PostgreSQL reads in physical order
// (ScanOptions.AnyOrder), a page per batch; killed inside properties and resumed, it keeps the
// tables it finished and writes properties again from its start, whatever was written to the
// source in between and whatever else runs on the server (here a transaction of another
// session held open across both runs): the bundle holds every row of the source once.
func TestExportFromPostgresResume(t *testing.T) {
	seedDir, _ := seedBundle(t, 600)
	// a checkpoint after every batch, so the run stops after a checkpoint inside the table
	defer migrate.SetCheckpointEvery(migrate.SetCheckpointEvery(0))
	for _, c := range []struct {
		name   string
		change string // SQL run on the source between the runs
		skip   bool   // make the checkpoint's position one inside a page, as earlier versions wrote
	}{
		{name: "unchanged"},
		{name: "row updated", change: "UPDATE properties SET value = 'changed' WHERE id = 'a00000' AND name = 'email'"},
		{name: "row inserted", change: "INSERT INTO properties VALUES ('a00000', 'new', 'v')"},
		{name: "unread row deleted", change: "DELETE FROM properties WHERE ctid IN (SELECT ctid FROM properties ORDER BY ctid DESC LIMIT 1)"},
		{name: "read row deleted", change: "DELETE FROM properties WHERE ctid IN (SELECT ctid FROM properties ORDER BY ctid LIMIT 1)"},
		{name: "position inside a page", skip: true},
	} {
		t.Run(c.name, func(t *testing.T) { exportResumeCase(t, seedDir, c.change, c.skip) })
	}
}

// exportResumeCase runs one case of TestExportFromPostgresResume on a fresh schema: an export
// stopped after the third page of properties, change run on the source, the checkpoint's
// position moved inside a page when skip, the export resumed, with a transaction of another
// session open throughout. It checks that actors was kept, properties restarted, and the
// bundle equal to the source.
func exportResumeCase(t *testing.T, seedDir, change string, skip bool) {
	t.Helper()
	ctx := context.Background()
	pg, schema := openPGSchema(t)
	if _, err := migrate.Import(ctx, seedDir, pg, migrate.Options{StateDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	busy, err := pgx.Connect(ctx, testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close(ctx)
	btx, err := busy.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer btx.Rollback(ctx)
	if _, err := btx.Exec(ctx, "SELECT txid_current()"); err != nil {
		t.Fatal(err)
	}
	out, state := filepath.Join(t.TempDir(), "out"), t.TempDir()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tables := []actingweb.Table{actingweb.TableActors, actingweb.TableProperties}
	// pages of 120 rows, each one batch: the 600 actors are Rows calls 1-5, the 1,200
	// properties 6-15; the run stops after the third page of properties
	o := migrate.Options{StateDir: state, BatchSize: 50, PageSize: 120, Tables: tables,
		Progress: &cancelAfter{n: 8, cancel: cancel}}
	if _, err := migrate.Export(cctx, pg, out, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v", err)
	}
	conn, err := pgx.Connect(ctx, testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET search_path = "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	if change != "" {
		if _, err := conn.Exec(ctx, change); err != nil {
			t.Fatal(err)
		}
	}
	if skip {
		editCheckpoint(t, state, actingweb.TableProperties, func(cp map[string]any) {
			cp["segs"].(map[string]any)["0"].(map[string]any)["skip"] = 5
		})
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
	if a := rep.Tables[0]; a.Table != actingweb.TableActors || a.Restarted || a.Read != 0 {
		t.Fatalf("actors %+v: want kept from the first run", a)
	}
	if ts := rep.Tables[1]; ts.Table != actingweb.TableProperties || !ts.Restarted || ts.Resumed {
		t.Fatalf("properties %+v: want restarted", ts)
	}
	for _, p := range vr.Tables {
		if p.CountB != p.CountA || p.OnlyInB != 0 || p.OnlyInA != 0 || p.Changed != 0 || p.DuplicatesB != 0 {
			t.Fatalf("bundle against the source: %+v, want equal", p)
		}
	}
}

// editCheckpoint rewrites table t's checkpoint in dir through edit.
func editCheckpoint(t *testing.T, dir string, tb actingweb.Table, edit func(map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, string(tb)+".checkpoint.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cp map[string]any
	if err := json.Unmarshal(b, &cp); err != nil {
		t.Fatal(err)
	}
	edit(cp)
	if b, err = json.Marshal(cp); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
