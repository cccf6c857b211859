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
// (ScanOptions.AnyOrder), a page per batch; killed inside properties and resumed, it continues
// where it stopped when the source is unchanged or only lost rows, and writes the table again
// from its start when a row was written in between (the stale cursor) or the checkpoint holds
// a position inside a page: either way the bundle holds every row of the source once.
func TestExportFromPostgresResume(t *testing.T) {
	seedDir, _ := seedBundle(t, 600)
	// a checkpoint after every batch, so the run stops after a checkpoint inside the table
	defer migrate.SetCheckpointEvery(migrate.SetCheckpointEvery(0))
	for _, c := range []struct {
		name      string
		change    string // SQL run on the source between the runs
		skip      bool   // make the checkpoint's position one inside a page, as earlier versions wrote
		restarted bool
		extra     int64 // rows the bundle holds that the source no longer does
	}{
		{name: "unchanged"},
		{name: "row updated", change: "UPDATE properties SET value = 'changed' WHERE id = 'a00000' AND name = 'email'", restarted: true},
		{name: "row inserted", change: "INSERT INTO properties VALUES ('a00000', 'new', 'v')", restarted: true},
		{name: "unread row deleted", change: "DELETE FROM properties WHERE ctid IN (SELECT ctid FROM properties ORDER BY ctid DESC LIMIT 1)"},
		{name: "read row deleted", change: "DELETE FROM properties WHERE ctid IN (SELECT ctid FROM properties ORDER BY ctid LIMIT 1)", extra: 1},
		{name: "position inside a page", skip: true, restarted: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			restarted, concurrent := exportResumeCase(t, seedDir, c.change, c.skip, c.extra)
			switch {
			case restarted == c.restarted:
			case restarted && concurrent:
				// the window of rows taken as written starts at the oldest transaction running
				// when the first run began: one of another test package, older than the rows
				// of this table, makes every resumption restart
				t.Logf("restarted: a transaction older than the table's rows ran when the export began")
			default:
				t.Fatalf("properties restarted=%v, want %v", restarted, c.restarted)
			}
		})
	}
}

// exportResumeCase runs one case of TestExportFromPostgresResume on a fresh schema: an export
// stopped after the third page of properties, change run on the source, the checkpoint's
// position moved inside a page when skip, the export resumed. It checks the bundle against the
// source and returns whether properties was restarted, and whether a transaction older than
// the table's rows was running when the first run began (its cursor's snapshot xmin is not
// above every row's xmin), which makes any resumption restart.
func exportResumeCase(t *testing.T, seedDir, change string, skip bool, extra int64) (restarted, concurrent bool) {
	t.Helper()
	ctx := context.Background()
	pg, schema := openPGSchema(t)
	if _, err := migrate.Import(ctx, seedDir, pg, migrate.Options{StateDir: t.TempDir()}); err != nil {
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
	var cursor struct{ X int64 }
	editCheckpoint(t, state, actingweb.TableProperties, func(cp map[string]any) {
		json.Unmarshal([]byte(cp["segs"].(map[string]any)["0"].(map[string]any)["cursor"].(string)), &cursor)
	})
	var newest int64
	if err := conn.QueryRow(ctx, "SELECT max(xmin::text::bigint) FROM properties").Scan(&newest); err != nil {
		t.Fatal(err)
	}
	concurrent = cursor.X == 0 || newest >= cursor.X%(1<<32)
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
	p := vr.Tables[1]
	ts := rep.Tables[1]
	if ts.Table != actingweb.TableProperties || ts.Resumed == ts.Restarted {
		t.Fatalf("report %+v: resumed and restarted should differ", ts)
	}
	if ts.Restarted {
		extra = 0 // the table was exported again: the deleted row is gone from the bundle too
	}
	if p.Table != actingweb.TableProperties || p.CountB != p.CountA+extra || p.OnlyInB != extra ||
		p.OnlyInA != 0 || p.Changed != 0 || p.DuplicatesB != 0 {
		t.Fatalf("bundle against the source: %+v, want %d extra rows and no other difference", p, extra)
	}
	return ts.Restarted, concurrent
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
