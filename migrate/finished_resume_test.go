package migrate_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bundle"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/migrate"
)

// TestResumeAfterFinishedRun: once a run finished (its checkpoints removed), --resume has
// nothing to continue: every op returns ErrNoState before touching the sink, instead of
// replaying the whole run (which would stop at the first existing row under the fail policy,
// or rewrite a finished bundle).
func TestResumeAfterFinishedRun(t *testing.T) {
	testenv.PostgresURL(t)
	ctx := context.Background()
	seedDir, _ := seedBundle(t, 30)
	pg := openPG(t)

	state := t.TempDir()
	if _, err := migrate.Import(ctx, seedDir, pg, migrate.Options{StateDir: state}); err != nil {
		t.Fatal(err)
	}
	pg2 := openPG(t)
	copyState := t.TempDir()
	if _, err := migrate.Copy(ctx, pg, pg2, migrate.Options{StateDir: copyState}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "export")
	if _, err := migrate.Export(ctx, pg, out, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(filepath.Join(out, bundle.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	counts := func() int64 {
		n, err := pg2.Count(ctx, actingweb.TableActors)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := counts()

	for _, tc := range []struct {
		name string
		run  func() (*migrate.Report, error)
	}{
		{"import", func() (*migrate.Report, error) {
			return migrate.Import(ctx, seedDir, pg, migrate.Options{StateDir: state, Resume: true})
		}},
		{"copy", func() (*migrate.Report, error) {
			return migrate.Copy(ctx, pg, pg2, migrate.Options{StateDir: copyState, Resume: true})
		}},
		{"export", func() (*migrate.Report, error) {
			return migrate.Export(ctx, pg, out, migrate.Options{Resume: true})
		}},
		{"copy, state directory removed", func() (*migrate.Report, error) {
			return migrate.Copy(ctx, pg, pg2, migrate.Options{StateDir: filepath.Join(copyState, "gone"), Resume: true})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := tc.run()
			if !errors.Is(err, migrate.ErrNoState) {
				t.Fatalf("resume after a finished run: %v, want ErrNoState", err)
			}
			if errors.Is(err, actingweb.ErrConflict) || !strings.Contains(err.Error(), "no checkpoint state") {
				t.Errorf("message %q does not say there is nothing to resume", err)
			}
			if rep != nil && (rep.Totals().Read != 0 || rep.Lookup != nil) {
				t.Errorf("the refused resume did work: %+v, lookup %+v", rep.Totals(), rep.Lookup)
			}
			if rep != nil {
				var sb strings.Builder
				rep.WriteText(&sb)
				if !strings.HasSuffix(sb.String(), "\nnothing was read or written\n") {
					t.Errorf("summary of the refused resume:\n%s", sb.String())
				}
			}
		})
	}
	if got := counts(); got != before {
		t.Errorf("target actors %d, want %d: the refused resume wrote", got, before)
	}
	if b, err := os.ReadFile(filepath.Join(out, bundle.ManifestFile)); err != nil || string(b) != string(manifest) {
		t.Errorf("the bundle's manifest changed after a refused resume: %v", err)
	}
	if _, err := bundle.Open(out); err != nil {
		t.Errorf("bundle no longer readable after a refused resume: %v", err)
	}
}

// TestReportPolicyLine: the summary names the conflict policy for import and copy, not for
// export (a new bundle has no rows to conflict with), and the JSON report omits it there.
func TestReportPolicyLine(t *testing.T) {
	for _, tc := range []struct {
		op, policy string
		want       string
	}{
		{"copy", "fail", "copy a -> b, policy fail\n"},
		{"import", "skip", "import a -> b, policy skip\n"},
		{"export", "", "export a -> b\n"},
	} {
		r := &migrate.Report{Operation: tc.op, Source: "a", Target: "b", Policy: tc.policy,
			Started: time.Unix(0, 0), Finished: time.Unix(1, 0)}
		var sb strings.Builder
		if err := r.WriteText(&sb); err != nil {
			t.Fatal(err)
		}
		if first, _, _ := strings.Cut(sb.String(), "\n"); first+"\n" != tc.want {
			t.Errorf("%s: first line %q, want %q", tc.op, first, tc.want)
		}
	}
}

// TestExportReportHasNoPolicy: a real export's report carries no policy.
func TestExportReportHasNoPolicy(t *testing.T) {
	ctx := context.Background()
	_, seed := seedBundle(t, 5)
	out := filepath.Join(t.TempDir(), "export")
	rep, err := migrate.Export(ctx, seed, out, migrate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	rep.WriteText(&sb)
	if rep.Policy != "" || strings.Contains(sb.String(), "policy") {
		t.Errorf("export report names a policy (%q):\n%s", rep.Policy, sb.String())
	}
}
