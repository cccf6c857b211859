package migrate_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bundle"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/migrate"
)

// flipByte changes one byte in the middle of dir/name (the manifest is left as it was).
func flipByte(t *testing.T, dir, name string) {
	t.Helper()
	p := filepath.Join(dir, name)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b[len(b)/2:], []byte("example.org")) + len(b)/2
	b[i] = 'X'
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestImportVerifiesBeforeWriting: a bundle changed since its export is refused before any
// row reaches PostgreSQL, in a first run and in a resumed one.
func TestImportVerifiesBeforeWriting(t *testing.T) {
	testenv.PostgresURL(t)
	t.Parallel()
	ctx := context.Background()
	t.Run("tampered byte, then resume", func(t *testing.T) {
		t.Parallel()
		pg, _ := openPGSchema(t)
		dir := filepath.Join(t.TempDir(), "b")
		writeBundle(t, dir, genData(300))
		flipByte(t, dir, "properties.jsonl")
		for _, resume := range []bool{false, true} {
			_, err := migrate.Import(ctx, dir, pg, migrate.Options{Resume: resume, Logger: discardLogger()})
			if !errors.Is(err, bundle.ErrFormat) || !strings.Contains(err.Error(), "properties.jsonl has SHA-256") || !strings.Contains(err.Error(), "export again") {
				t.Fatalf("resume %t: got %v", resume, err)
			}
			if n := countAll(t, pg); n != 0 {
				t.Fatalf("resume %t: %d rows written from a changed bundle", resume, n)
			}
		}
	})
	t.Run("wrong row count", func(t *testing.T) {
		t.Parallel()
		pg, _ := openPGSchema(t)
		dir := filepath.Join(t.TempDir(), "b")
		writeBundle(t, dir, genData(50))
		m, _ := bundle.ReadManifest(dir)
		tf := m.Tables[string(actingweb.TableSubscriptions)]
		tf.Rows--
		m.Tables[string(actingweb.TableSubscriptions)] = tf
		writeJSON(t, filepath.Join(dir, bundle.ManifestFile), m)
		_, err := migrate.Import(ctx, dir, pg, migrate.Options{Logger: discardLogger()})
		if !errors.Is(err, bundle.ErrFormat) || !strings.Contains(err.Error(), "subscriptions.jsonl has 50 lines, the manifest says 49") {
			t.Fatalf("got %v", err)
		}
		if n := countAll(t, pg); n != 0 {
			t.Fatalf("%d rows written", n)
		}
	})
	t.Run("changed between an interrupted run and its resume", func(t *testing.T) {
		t.Parallel()
		pg, _ := openPGSchema(t)
		dir := filepath.Join(t.TempDir(), "b")
		writeBundle(t, dir, genData(3000))
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		_, err := migrate.Import(cctx, dir, pg, migrate.Options{BatchSize: 100, Logger: discardLogger(),
			Progress: &cancelAfter{n: 5, cancel: cancel}})
		if err == nil {
			t.Fatal("the first run was not interrupted")
		}
		before := countAll(t, pg)
		if before == 0 {
			t.Fatal("the interrupted run wrote nothing")
		}
		flipByte(t, dir, "properties.jsonl")
		_, err = migrate.Import(ctx, dir, pg, migrate.Options{Resume: true, BatchSize: 100, Logger: discardLogger()})
		if !errors.Is(err, bundle.ErrFormat) {
			t.Fatalf("resume: got %v", err)
		}
		if after := countAll(t, pg); after != before {
			t.Fatalf("the refused resume wrote rows: %d before, %d after", before, after)
		}
	})
}

// TestImportRefusesUnsafeBundle: the defaults of bundle.ReaderOptions apply to Import;
// Options.Bundle passes other reader options.
func TestImportRefusesUnsafeBundle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "b")
	writeBundle(t, dir, genData(5))
	if err := os.Chmod(filepath.Join(dir, "actors.jsonl"), 0o666); err != nil {
		t.Fatal(err)
	}
	w, _ := bundle.Create(filepath.Join(t.TempDir(), "out"), bundle.WriterOptions{})
	_, err := migrate.Import(ctx, dir, w, migrate.Options{StateDir: t.TempDir(), Logger: discardLogger()})
	if !errors.Is(err, bundle.ErrFormat) || !strings.Contains(err.Error(), "writable by others") {
		t.Fatalf("Import: %v", err)
	}
	if _, err := migrate.Import(ctx, dir, w, migrate.Options{StateDir: t.TempDir(), Logger: discardLogger(), Bundle: bundle.ReaderOptions{AllowWorldWritable: true}}); err != nil {
		t.Fatalf("Import with AllowWorldWritable: %v", err)
	}
	w.Close()
}

// TestInvalidUTF8IsAReject: a property value with a byte that is not UTF-8 is a reject with
// its position, in an import and in a validation (encoding/json would have read it as
// U+FFFD, equal to a target holding U+FFFD).
func TestInvalidUTF8IsAReject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, c := range []struct{ name, field string }{{"value", "value"}, {"name", "name"}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			data := genData(20)
			repl := map[actingweb.Table][]actingweb.Record{}
			for tb, recs := range data {
				repl[tb] = append([]actingweb.Record(nil), recs...)
			}
			p := *(repl[actingweb.TableProperties][4].(*actingweb.Property))
			if c.field == "value" {
				p.Value = "user2@ex\uFFFDample.org"
			} else {
				p.Name = "em\uFFFDail"
			}
			repl[actingweb.TableProperties][4] = &p
			good := filepath.Join(t.TempDir(), "good")
			writeBundle(t, good, repl) // what a decoder replacing the byte would read
			bad := filepath.Join(t.TempDir(), "bad")
			writeBundle(t, bad, repl)
			pf := filepath.Join(bad, "properties.jsonl")
			b, _ := os.ReadFile(pf)
			b = bytes.Replace(b, []byte("\uFFFD"), []byte{0xff}, 1)
			os.WriteFile(pf, b, 0o600)
			fixManifest(t, bad, actingweb.TableProperties, b)

			a, err := bundle.Open(bad)
			if err != nil {
				t.Fatal(err)
			}
			g, _ := bundle.Open(good)
			rep, err := migrate.Validate(ctx, a, g, migrate.ValidateOptions{Logger: discardLogger()})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Equal {
				t.Fatal("validate: a bundle with invalid UTF-8 is equal to one with U+FFFD")
			}
			for _, tv := range rep.Tables {
				if tv.Table == actingweb.TableProperties && tv.RejectsA != 1 {
					t.Errorf("validate: properties rejects %d, want 1", tv.RejectsA)
				}
			}

			state := t.TempDir()
			w, _ := bundle.Create(filepath.Join(t.TempDir(), "out"), bundle.WriterOptions{})
			defer w.Abort()
			_, err = migrate.Import(ctx, bad, w, migrate.Options{StateDir: state, Logger: discardLogger()})
			if !errors.Is(err, migrate.ErrTooManyRejects) {
				t.Fatalf("import: %v", err)
			}
			rj, _ := os.ReadFile(filepath.Join(state, "properties.rejects.jsonl"))
			if !bytes.Contains(rj, []byte("properties.jsonl:5: invalid record: invalid UTF-8 at byte offset")) {
				t.Fatalf("rejects file: %s", rj)
			}
		})
	}
}
