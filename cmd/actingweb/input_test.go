package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/bundle"
	"github.com/actingweb/actingweb-go/internal/testenv"
)

// TestImportBoundedInput runs the real binary on hostile bundles and measures its peak
// resident size (the kernel's maximum RSS of the child): a properties file that is a symbolic
// link to /dev/zero is refused before anything is read or written, and an 80 MiB line under
// --max-line-bytes 1 MiB is a reject with its position while the process stays far below the
// line's size (before, the /dev/zero link drove the process to the OOM killer and a 50 MB line
// cost 175-285 MB).
func TestImportBoundedInput(t *testing.T) {
	t.Parallel()
	pgURL, _ := testenv.FreshPostgresSchema(t)
	bin := buildCLI(t)
	if code, out := runCLI(t, bin, "schema", "upgrade", "--to", pgURL); code != 0 {
		t.Fatalf("schema upgrade: exit %d\n%s", code, out)
	}
	const mib = 1 << 20
	big := strings.Repeat("v", 80*mib)
	dir := filepath.Join(t.TempDir(), "bundle")
	w, err := bundle.Create(dir, bundle.WriterOptions{Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	writes := []struct {
		t    actingweb.Table
		recs []actingweb.Record
	}{
		{actingweb.TableActors, []actingweb.Record{&actingweb.Actor{ID: "a1", Creator: "c", Passphrase: "p"}}},
		{actingweb.TableProperties, []actingweb.Record{
			&actingweb.Property{ID: "a1", Name: "small", Value: "x"},
			&actingweb.Property{ID: "a1", Name: "huge", Value: big},
			&actingweb.Property{ID: "a1", Name: "after", Value: "y"},
		}},
	}
	for _, wr := range writes {
		if _, err := w.WriteBatch(ctx, wr.t, wr.recs, bulk.ConflictFail); err != nil {
			t.Fatal(err)
		}
		if err := w.FinishTable(wr.t); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	big = ""

	run := func(args ...string) (code int, out string, maxRSS int64) {
		t.Helper()
		return runMeasured(t, bin, args...)
	}

	code, out, rss := run("import", "--to", pgURL, "--input-dir", dir, "--state-dir", t.TempDir(),
		"--max-line-bytes", "1048576", "--max-rejects", "1", "--quiet")
	if code != 0 || !strings.Contains(out, "properties.jsonl:2") {
		t.Fatalf("import with an 80 MiB line: exit %d, want 0 with a reject at properties.jsonl:2\n%s", code, out)
	}
	if rss > 64*mib {
		t.Errorf("import with an 80 MiB line peaked at %d MiB resident", rss/mib)
	}
	t.Logf("an 80 MiB line under a 1 MiB limit: peak RSS %d MiB", rss/mib)

	zero := filepath.Join(t.TempDir(), "bundle")
	if err := os.CopyFS(zero, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	os.Chmod(zero, 0o700)
	p := filepath.Join(zero, "properties.jsonl")
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", p); err != nil {
		t.Fatal(err)
	}
	target, _ := testenv.FreshPostgresSchema(t)
	if code, out := runCLI(t, bin, "schema", "upgrade", "--to", target); code != 0 {
		t.Fatalf("schema upgrade: exit %d\n%s", code, out)
	}
	code, out, rss = run("import", "--to", target, "--input-dir", zero, "--state-dir", t.TempDir(), "--quiet")
	if code != 1 || !strings.Contains(out, "properties.jsonl") || !strings.Contains(out, "symbolic link") {
		t.Fatalf("import of a /dev/zero link: exit %d, want 1 naming the link\n%s", code, out)
	}
	if rss > 64*mib {
		t.Errorf("import of a /dev/zero link peaked at %d MiB resident", rss/mib)
	}
	if code, out := runCLI(t, bin, "validate", "--input-dir", zero, "--to", target, "--quiet"); code == 0 || code == 3 {
		t.Fatalf("validate of a /dev/zero link: exit %d\n%s", code, out)
	}
}

// rssLauncherEnv makes this test binary a launcher (init below): it runs the command named by
// the JSON argument list in the variable and prints {code, out, max_rss} as JSON. The peak
// resident size Linux reports for a child includes the high-water mark of the address space
// it was started from (Go starts children with vfork), so a child of the test process would
// report the test process's own peak; a child of a freshly started launcher reports its own.
const rssLauncherEnv = "ACTINGWEB_TEST_RSS_LAUNCH"

type launched struct {
	Code   int    `json:"code"`
	Out    string `json:"out"`
	MaxRSS int64  `json:"max_rss"` // bytes
}

func init() {
	v := os.Getenv(rssLauncherEnv)
	if v == "" {
		return
	}
	var argv []string
	if err := json.Unmarshal([]byte(v), &argv); err != nil || len(argv) == 0 {
		os.Exit(97)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = slicesWithout(os.Environ(), rssLauncherEnv)
	out, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		os.Exit(98)
	}
	json.NewEncoder(os.Stdout).Encode(launched{Code: cmd.ProcessState.ExitCode(), Out: string(out),
		MaxRSS: cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024})
	os.Exit(0)
}

func slicesWithout(env []string, name string) []string {
	out := env[:0:0]
	for _, e := range env {
		if !strings.HasPrefix(e, name+"=") {
			out = append(out, e)
		}
	}
	return out
}

// runMeasured runs bin with args through the launcher and returns its exit code, combined
// output and peak resident size in bytes.
func runMeasured(t *testing.T, bin string, args ...string) (int, string, int64) {
	t.Helper()
	argv, _ := json.Marshal(append([]string{bin}, args...))
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), rssLauncherEnv+"="+string(argv))
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("launcher: %v", err)
	}
	var l launched
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatalf("launcher output %q: %v", b, err)
	}
	return l.Code, l.Out, l.MaxRSS
}
