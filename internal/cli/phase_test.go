package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/actingweb/actingweb-go/internal/testenv"
)

// TestPhaseCommands moves the dual-write phase with `actingweb phase` (PostgreSQL old,
// DynamoDB new): get without a record says old; a two-step move is a usage error that writes
// nothing; one step at a time goes forward and back, each printing where writes and reads go.
func TestPhaseCommands(t *testing.T) {
	pgURL, _ := testenv.FreshPostgresSchema(t)
	ddb := freshDDB(t)
	ctx := context.Background()
	a, out, errb := integrationApp(t)
	if err := a.RunSchemaUpgrade(ctx, SchemaOptions{To: ddb}); err != nil {
		t.Fatalf("schema upgrade %s: %v (%s)", ddb, err, errb)
	}
	// the old store needs no schema for its control record
	o := PhaseOptions{Old: pgURL, New: ddb, Key: "dualwrite/phase"}
	run := func(args ...string) (int, string) {
		t.Helper()
		a, out, errb := integrationApp(t)
		code := a.Execute(ctx, append(args, "--old", pgURL, "--new", ddb))
		noSecrets(t, out, errb)
		return code, out.String() + errb.String()
	}
	if err := a.RunPhaseGet(ctx, o); err != nil {
		t.Fatalf("phase get: %v", err)
	}
	if !strings.Contains(out.String(), "phase: old (no record yet") {
		t.Errorf("phase get output:\n%s", out)
	}
	if code, s := run("phase", "set", "read-new"); code != ExitUsage || !strings.Contains(s, "one step at a time") {
		t.Fatalf("phase set read-new from old: exit %d, want %d:\n%s", code, ExitUsage, s)
	}
	if code, s := run("phase", "get"); code != ExitOK || !strings.Contains(s, "phase: old") {
		t.Fatalf("phase get after the refused move: exit %d:\n%s", code, s)
	}
	for _, step := range []struct{ phase, says string }{
		{"write-both", "writes: old store decides"},
		{"read-new", "reads: new store; the configured share"},
		{"new", "writes: new store only"},
		{"read-new", "phase: new -> read-new"},
		{"write-both", "phase: read-new -> write-both"},
		{"old", "writes: old store only"},
	} {
		code, s := run("phase", "set", step.phase)
		if code != ExitOK || !strings.Contains(s, step.says) {
			t.Fatalf("phase set %s: exit %d, want output with %q:\n%s", step.phase, code, step.says, s)
		}
	}
	if code, s := run("phase", "set", "bogus"); code != ExitUsage {
		t.Fatalf("phase set bogus: exit %d:\n%s", code, s)
	}
}
