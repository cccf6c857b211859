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
	"github.com/actingweb/actingweb-go/migrate"
)

func TestExportImportBundleToBundle(t *testing.T) {
	ctx := context.Background()
	data := genData(300)
	src := filepath.Join(t.TempDir(), "src")
	writeBundle(t, src, data)
	r, err := bundle.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, gz := range []bool{false, true} {
		out := filepath.Join(t.TempDir(), "out")
		rep, err := migrate.Export(ctx, r, out, migrate.Options{Gzip: gz, BatchSize: 64, PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		sameData(t, data, readBundle(t, out), actingweb.Tables)
		tot := rep.Totals()
		var want int64
		for _, recs := range data {
			want += int64(len(recs))
		}
		if tot.Read != want || tot.Written != want || tot.Rejected != 0 {
			t.Errorf("totals %+v, want %d", tot, want)
		}
		var sub migrate.TableSummary
		for _, s := range rep.Tables {
			if s.Table == actingweb.TableSubscriptions {
				sub = s
			}
		}
		if sub.Drift != 43 || len(sub.DriftKeys) == 0 {
			t.Errorf("drift %d %v", sub.Drift, sub.DriftKeys)
		}
		var buf bytes.Buffer
		rep.WriteText(&buf)
		if strings.Contains(buf.String(), "pw-a") || strings.Contains(buf.String(), "secret-") {
			t.Errorf("report shows secrets:\n%s", buf.String())
		}
		if _, err := os.Stat(filepath.Join(out, "actors.checkpoint.json")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("checkpoint left after a clean run: %v", err)
		}
		// import the exported bundle into another bundle writer
		dst := filepath.Join(t.TempDir(), "dst")
		w, err := bundle.Create(dst, bundle.WriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := migrate.Import(ctx, out, w, migrate.Options{}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		sameData(t, data, readBundle(t, dst), actingweb.Tables)
	}
}

func TestExportKillAndResume(t *testing.T) {
	data := genData(2000)
	src := filepath.Join(t.TempDir(), "src")
	writeBundle(t, src, data)
	r, _ := bundle.Open(src)
	for _, gz := range []bool{false, true} {
		out := filepath.Join(t.TempDir(), "out")
		ctx, cancel := context.WithCancel(context.Background())
		ca := &cancelAfter{n: 25, cancel: cancel}
		o := migrate.Options{Gzip: gz, BatchSize: 50, PageSize: 120, Progress: ca, TableParallelism: 3}
		_, err := migrate.Export(ctx, r, out, o)
		var re *migrate.RunError
		if !errors.As(err, &re) || !errors.Is(err, context.Canceled) {
			t.Fatalf("want a RunError wrapping context.Canceled, got %v", err)
		}
		// without --resume: refused
		if _, err := migrate.Export(context.Background(), r, out, migrate.Options{Gzip: gz}); err == nil {
			t.Fatal("second export without resume succeeded")
		}
		o.Progress, o.Resume = nil, true
		rep, err := migrate.Export(context.Background(), r, out, o)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Resumed {
			t.Error("report does not say resumed")
		}
		sameData(t, data, readBundle(t, out), actingweb.Tables)
	}
}

func TestImportRejectsAndMaxRejects(t *testing.T) {
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "src")
	writeBundle(t, src, genData(10))
	// corrupt: an actor line with a missing id, fix the manifest (rows, sha)
	p := filepath.Join(src, "actors.jsonl")
	b, _ := os.ReadFile(p)
	b = append(b, []byte(`{"id":"","creator":"x","passphrase":"secret-pp"}`+"\n")...)
	os.WriteFile(p, b, 0o600)
	fixManifest(t, src, actingweb.TableActors, b)

	dst := filepath.Join(t.TempDir(), "dst")
	w, _ := bundle.Create(dst, bundle.WriterOptions{})
	_, err := migrate.Import(ctx, src, w, migrate.Options{})
	if !errors.Is(err, migrate.ErrTooManyRejects) {
		t.Fatalf("MaxRejects 0: got %v", err)
	}
	w.Abort()
	rj, err := os.ReadFile(filepath.Join(src, "actors.rejects.jsonl"))
	if err != nil || !strings.Contains(string(rj), "actors.jsonl:11") {
		t.Fatalf("rejects file: %v %s", err, rj)
	}
	st, _ := os.Stat(filepath.Join(src, "actors.rejects.jsonl"))
	if st.Mode().Perm() != 0o600 {
		t.Errorf("rejects file mode %v", st.Mode().Perm())
	}
	for _, f := range []string{"actors.checkpoint.json", "run.json"} {
		os.Remove(filepath.Join(src, f))
	}
	dst2 := filepath.Join(t.TempDir(), "dst2")
	w2, _ := bundle.Create(dst2, bundle.WriterOptions{})
	rep, err := migrate.Import(ctx, src, w2, migrate.Options{MaxRejects: 5})
	if err != nil {
		t.Fatal(err)
	}
	w2.Close()
	if tot := rep.Totals(); tot.Rejected != 1 {
		t.Errorf("rejected %d", tot.Rejected)
	}
	var buf bytes.Buffer
	rep.WriteText(&buf)
	if strings.Contains(buf.String(), "secret-pp") {
		t.Error("report shows a secret")
	}
}

func fixManifest(t *testing.T, dir string, tb actingweb.Table, content []byte) {
	t.Helper()
	m, err := bundle.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	tf := m.Tables[string(tb)]
	tf.Rows = int64(bytes.Count(content, []byte("\n")))
	tf.Bytes = int64(len(content))
	tf.SHA256 = shaHex(content)
	m.Tables[string(tb)] = tf
	writeJSON(t, filepath.Join(dir, bundle.ManifestFile), m)
}
