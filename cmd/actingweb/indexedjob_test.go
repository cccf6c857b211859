package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/actingweb/actingweb-go/internal/testenv"
)

// TestIndexedJobShares runs a copy the way a Kubernetes Indexed Job of three completions does
// (docs/operations.md §9): three processes at once, each told its share only by
// JOB_COMPLETION_INDEX and ACTINGWEB_TOTAL_SEGMENTS, each with the default state directory
// of one working directory (as pods on one node might share a volume); then the lookup
// rebuild as its own step; then validate must say EQUAL.
func TestIndexedJobShares(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	src, _ := testenv.FreshPostgresSchema(t)
	dst, _ := testenv.FreshPostgresSchema(t)
	loadSyntheticPostgres(ctx, t, src)
	bin := buildCLI(t)
	if code, out := runCLI(t, bin, "schema", "upgrade", "--to", dst); code != 0 {
		t.Fatalf("schema upgrade: %d\n%s", code, out)
	}
	work := t.TempDir()
	const completions = 3
	run := func(env []string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	var g errgroup.Group
	outs := make([]string, completions)
	for i := range completions {
		g.Go(func() error {
			out, err := run([]string{fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i), fmt.Sprintf("ACTINGWEB_TOTAL_SEGMENTS=%d", completions)},
				"copy", "--from", src, "--to", dst)
			outs[i] = out
			if err != nil {
				return fmt.Errorf("share %d: %v\n%s", i, err, out)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	for i, out := range outs {
		if !strings.Contains(out, fmt.Sprintf("segment=%d total_segments=%d", i, completions)) {
			t.Errorf("share %d did not take its share from the environment:\n%s", i, out)
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(work, "actingweb-state", "*-share-*-of-3"))
	if len(dirs) != completions {
		t.Errorf("state directories %v: want one per share", dirs)
	}
	if out, err := run(nil, "copy", "--from", src, "--to", dst, "--tables", "property_lookup", "--quiet"); err != nil {
		t.Fatalf("lookup rebuild: %v\n%s", err, out)
	}
	if out, err := run(nil, "validate", "--from", src, "--to", dst, "--quiet"); err != nil {
		t.Fatalf("validate after the shares: %v\n%s", err, out)
	}
}
