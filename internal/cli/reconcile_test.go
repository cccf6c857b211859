package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/dualwrite"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/migrate"
)

// reconcilePair opens a fresh PostgreSQL store (OLD) and a fresh DynamoDB store (NEW), both at
// head, as the CLI opens them.
func reconcilePair(t *testing.T) (oldURL, newURL string, old, nw reconcileSide) {
	t.Helper()
	ctx := context.Background()
	oldURL, _ = testenv.FreshPostgresSchema(t)
	newURL = freshDDB(t)
	a, _, errb := integrationApp(t)
	for _, u := range []string{oldURL, newURL} {
		if err := a.RunSchemaUpgrade(ctx, SchemaOptions{To: u}); err != nil {
			t.Fatalf("schema upgrade: %v (%s)", err, errb)
		}
	}
	o, _, err := a.OpenStore(ctx, oldURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close() })
	n, _, err := a.OpenStore(ctx, newURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return oldURL, newURL, o.(reconcileSide), n.(reconcileSide)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestReconcile: two stores with known differences (changed rows, rows missing from NEW, rows
// only NEW holds, a lookup row missing); the dry run lists their keys without secret values
// and exits 3, --apply repairs and exits 0, validate finds the stores equal, and the repair
// journal entry pending before the apply is settled.
func TestReconcile(t *testing.T) {
	ctx := context.Background()
	oldURL, newURL, old, nw := reconcilePair(t)
	po, pn := old.(bulk.Backend), nw.(bulk.Backend)
	for _, s := range []bulk.Backend{po, pn} {
		must(t, s.CreateActor(ctx, actingweb.Actor{ID: "a1", Creator: "c", Passphrase: "pw"}))
		must(t, s.CreateActor(ctx, actingweb.Actor{ID: "a2", Creator: "c", Passphrase: "pw"}))
		must(t, s.SetProperty(ctx, "a1", "same", "s"))
	}
	must(t, po.SetProperty(ctx, "a1", "p", "value-old"))
	must(t, pn.SetProperty(ctx, "a1", "p", "value-new"))
	must(t, po.CreateTrust(ctx, actingweb.Trust{ID: "a1", PeerID: "peer", BaseURI: "https://p", Secret: "trust-secret-old", Relationship: "friend"}))
	must(t, pn.CreateTrust(ctx, actingweb.Trust{ID: "a1", PeerID: "peer", BaseURI: "https://p", Secret: "trust-secret-new", Relationship: "friend"}))
	must(t, po.CreateActor(ctx, actingweb.Actor{ID: "a3", Creator: "c", Passphrase: "pw"}))
	must(t, po.SetProperty(ctx, "a3", "email", "a3@example.com")) // and its lookup row
	must(t, pn.SetProperty(ctx, "a2", "extra", "1"))
	must(t, pn.CreateActor(ctx, actingweb.Actor{ID: "a4", Creator: "c", Passphrase: "pw"}))
	entry, _ := json.Marshal(dualwrite.JournalEntry{Op: "SetProperty", Phase: dualwrite.PhaseWriteBoth})
	must(t, old.(actingweb.ControlStore).WriteControl(ctx, dualwrite.JournalPrefix+"20260101T000000.000000000Z-test", string(entry), 0))

	run := func(args ...string) (int, string) {
		t.Helper()
		a, out, errb := integrationApp(t)
		code := a.Execute(ctx, append([]string{"reconcile", "--from", oldURL, "--to", newURL}, args...))
		noSecrets(t, out, errb)
		return code, out.String() + errb.String()
	}
	code, s := run()
	if code != ExitMismatch {
		t.Fatalf("dry run: exit %d, want %d:\n%s", code, ExitMismatch, s)
	}
	for _, want := range []string{"properties a1 / p: changed", "trusts a1 / peer: changed", "actors a3: only in A",
		"properties a3 / email: only in A", "property_lookup", "properties a2 / extra: only in B", "actors a4: only in B", "--apply"} {
		if !strings.Contains(s, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, s)
		}
	}
	for _, secret := range []string{"trust-secret-old", "trust-secret-new"} {
		if strings.Contains(s, secret) {
			t.Errorf("dry run output shows a secret:\n%s", s)
		}
	}
	if _, err := pn.GetActor(ctx, "a3"); err == nil {
		t.Fatalf("the dry run wrote to NEW")
	}

	code, s = run("--apply")
	if code != ExitOK || !strings.Contains(s, "is equal to") || !strings.Contains(s, "1 dual-write repair journal entries") {
		t.Fatalf("--apply: exit %d, want 0, equal, 1 journal entry settled:\n%s", code, s)
	}
	a, out, errb := integrationApp(t)
	if err := a.RunValidate(ctx, ValidateOptions{From: oldURL, To: newURL, ConsistentRead: true}); err != nil {
		t.Fatalf("validate after reconcile: %v\n%s%s", err, out, errb)
	}
	if v, _ := pn.GetProperty(ctx, "a1", "p"); v != "value-old" {
		t.Errorf("NEW's a1/p = %q, want OLD's value-old", v)
	}
	if id, err := pn.GetActorIDFromProperty(ctx, "email", "a3@example.com"); err != nil || id != "a3" {
		t.Errorf("NEW's lookup of a3's email = %q, %v", id, err)
	}
	if es, _ := dualwrite.ListJournal(ctx, old.(dualwrite.Backend)); len(es) != 0 {
		t.Errorf("%d journal entries left", len(es))
	}
	if code, s := run(); code != ExitOK {
		t.Errorf("dry run after the repair: exit %d:\n%s", code, s)
	}
}

// TestReconcileRereads: rows that changed after the comparison are repaired from OLD's current
// row (not the compared one), and differences gone by then are left alone.
func TestReconcileRereads(t *testing.T) {
	ctx := context.Background()
	_, _, old, nw := reconcilePair(t)
	po, pn := old.(bulk.Backend), nw.(bulk.Backend)
	must(t, po.CreateActor(ctx, actingweb.Actor{ID: "a1", Creator: "c", Passphrase: "pw"}))
	must(t, pn.CreateActor(ctx, actingweb.Actor{ID: "a1", Creator: "c", Passphrase: "pw"}))
	must(t, po.SetProperty(ctx, "a1", "p", "v1"))
	must(t, po.SetProperty(ctx, "a1", "q", "v1"))
	rep, err := migrate.Validate(ctx, old, nw, migrate.ValidateOptions{MaxDiffs: 100, Consistent: true})
	must(t, err)
	must(t, po.SetProperty(ctx, "a1", "p", "v2")) // OLD moved on after the comparison
	must(t, pn.SetProperty(ctx, "a1", "q", "v1")) // NEW caught up after the comparison
	repaired, raced, err := repairDiffs(ctx, old, nw, rep)
	must(t, err)
	if repaired != 1 || raced != 1 {
		t.Errorf("repaired %d, raced %d; want 1 and 1", repaired, raced)
	}
	if v, _ := pn.GetProperty(ctx, "a1", "p"); v != "v2" {
		t.Errorf("NEW's a1/p = %q, want OLD's current v2", v)
	}
}

// TestPhaseSetWaitsForJournal: `phase set` refuses to move the primary (write-both ->
// read-new) while the repair journal holds entries; reconcile --apply settles them and the
// move goes through.
func TestPhaseSetWaitsForJournal(t *testing.T) {
	ctx := context.Background()
	oldURL, newURL, old, _ := reconcilePair(t)
	run := func(args ...string) (int, string) {
		t.Helper()
		a, out, errb := integrationApp(t)
		code := a.Execute(ctx, args)
		noSecrets(t, out, errb)
		return code, out.String() + errb.String()
	}
	phase := func(p string) (int, string) { return run("phase", "set", p, "--old", oldURL, "--new", newURL) }
	if code, s := phase("write-both"); code != ExitOK {
		t.Fatalf("phase set write-both: exit %d:\n%s", code, s)
	}
	entry, _ := json.Marshal(dualwrite.JournalEntry{Op: "SetProperty", Phase: dualwrite.PhaseWriteBoth})
	must(t, old.(actingweb.ControlStore).WriteControl(ctx, dualwrite.JournalPrefix+"20260101T000000.000000000Z-test", string(entry), 0))
	if code, s := phase("read-new"); code != ExitFailed || !strings.Contains(s, "repair journal entries are pending") {
		t.Fatalf("phase set read-new with a pending entry: exit %d, want %d:\n%s", code, ExitFailed, s)
	}
	if code, s := phase("old"); code != ExitOK { // the primary stays: allowed
		t.Fatalf("phase set old: exit %d:\n%s", code, s)
	}
	if code, s := phase("write-both"); code != ExitOK {
		t.Fatalf("phase set write-both: exit %d:\n%s", code, s)
	}
	if code, s := run("reconcile", "--from", oldURL, "--to", newURL, "--apply"); code != ExitOK {
		t.Fatalf("reconcile --apply: exit %d:\n%s", code, s)
	}
	if code, s := phase("read-new"); code != ExitOK {
		t.Fatalf("phase set read-new after reconcile: exit %d:\n%s", code, s)
	}
}
