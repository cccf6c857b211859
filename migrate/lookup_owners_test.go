package migrate_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/bundle"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/migrate"
)

// Actors of the contested-lookup tests: three share one e-mail address; the source's lookup
// row names the one with the largest id (it wrote first), which neither backend's rebuild
// would pick by id order.
const (
	ownerA = "0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	ownerB = "0bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	ownerC = "0ccccccccccccccccccccccccccccccc" // first writer: the source's owner
	shared = "shared@example.com"
)

// seedContested writes the actors and properties through the application face, in time
// order C, A, B, so the store's own lookup maintenance keeps C (§6.3: no overwrite).
func seedContested(t *testing.T, s bulk.Backend) {
	t.Helper()
	ctx := context.Background()
	for _, id := range []string{ownerC, ownerA, ownerB} {
		if err := s.CreateActor(ctx, actingweb.Actor{ID: id, Creator: "creator", Passphrase: "pw-" + id}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetProperty(ctx, id, "email", shared); err != nil {
			t.Fatal(err)
		}
		if err := s.SetProperty(ctx, id, "oauthId", "oauth-"+id); err != nil { // uncontested
			t.Fatal(err)
		}
	}
	if got, err := s.GetPropertyLookup(ctx, "email", shared); err != nil || got != ownerC {
		t.Fatalf("source lookup owner = %q, %v; want %s (first writer)", got, err, ownerC)
	}
}

func lookupOwner(t *testing.T, s actingweb.PropertyLookupStore) string {
	t.Helper()
	got, err := s.GetPropertyLookup(context.Background(), "email", shared)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// checkContest: the rebuild listed the shared key with every contender, and the engine took
// the source's owner when the rebuild had kept another one.
func checkContest(t *testing.T, rep *migrate.Report) {
	t.Helper()
	ls := rep.Lookup
	if ls == nil || ls.Contested != 1 || len(ls.Result.Contested) != 1 {
		t.Fatalf("lookup summary = %+v, want one contested key", ls)
	}
	c := ls.Result.Contested[0]
	all := append([]string{c.Kept}, c.Others...)
	slices.Sort(all)
	if c.PropertyName != "email" || c.Value != shared || c.LookupKey != actingweb.LookupKey("email", shared) ||
		!slices.Equal(all, []string{ownerA, ownerB, ownerC}) || slices.Contains(c.Others, c.Kept) {
		t.Errorf("contest = %+v, want email with kept+others = A, B, C", c)
	}
	want := int64(0)
	if c.Kept != ownerC {
		want = 1
	}
	if ls.OwnersFromSource != want || ls.SourceOwners != "" {
		t.Errorf("owners from source = %d (%q), want %d (rebuild kept %s)", ls.OwnersFromSource, ls.SourceOwners, want, c.Kept)
	}
	var sb strings.Builder
	if err := rep.WriteText(&sb); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sb.String(), shared) || !strings.Contains(sb.String(), "contested lookup keys") {
		t.Errorf("summary shows the value or lacks the contested line:\n%s", sb.String())
	}
}

// TestContestedLookupTakesSourceOwner: two (three) actors share an indexed value; the copy
// DynamoDB → PostgreSQL → DynamoDB keeps the source's owner, so validation including
// property_lookup is equal at each step.
func TestContestedLookupTakesSourceOwner(t *testing.T) {
	testenv.PostgresURL(t)
	testenv.DynamoDBEndpoint(t)
	ctx := context.Background()
	src, pg, back := openDDB(t), openPG(t), openDDB(t)
	seedContested(t, src)

	rep, err := migrate.Copy(ctx, src, pg, migrate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkContest(t, rep)
	if rep.Lookup.Result.Contested[0].Kept != ownerA || rep.Lookup.OwnersFromSource != 1 {
		t.Errorf("PostgreSQL rebuild kept %s (want the smallest id, A), owners from source %d",
			rep.Lookup.Result.Contested[0].Kept, rep.Lookup.OwnersFromSource)
	}
	if got := lookupOwner(t, pg); got != ownerC {
		t.Errorf("PostgreSQL owner = %s, want the source's %s", got, ownerC)
	}
	mustEqual(t, src, pg)

	rep, err = migrate.Copy(ctx, pg, back, migrate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkContest(t, rep)
	if !rep.Lookup.FromStream {
		t.Errorf("copy into empty DynamoDB tables rebuilt the lookup by a rescan: %+v", rep.Lookup)
	}
	if got := lookupOwner(t, back); got != ownerC {
		t.Errorf("DynamoDB owner = %s, want the source's %s", got, ownerC)
	}
	mustEqual(t, pg, back)
	mustEqual(t, src, back)

	// A second rebuild (e.g. a resumed or repeated run) keeps the source's owner: nothing to take.
	rep, err = migrate.Copy(ctx, pg, back, migrate.Options{Tables: []actingweb.Table{actingweb.TablePropertyLookup}})
	if err != nil {
		t.Fatal(err)
	}
	if ls := rep.Lookup; ls == nil || ls.Contested != 1 || ls.OwnersFromSource != 0 || ls.Result.Contested[0].Kept != ownerC || ls.FromStream {
		t.Errorf("lookup-only rerun: %+v", rep.Lookup)
	}
	mustEqual(t, src, back)
}

// TestContestedLookupWithoutSourceTable: a bundle without property_lookup (like upstream's
// export) keeps the rebuild's owner and says why; one whose lookup rows came from the source
// gives the source's owner on import.
func TestContestedLookupWithoutSourceTable(t *testing.T) {
	testenv.PostgresURL(t)
	testenv.DynamoDBEndpoint(t)
	ctx := context.Background()
	src := openDDB(t)
	seedContested(t, src)

	var noLookup []actingweb.Table
	for _, tb := range actingweb.Tables {
		if tb != actingweb.TablePropertyLookup {
			noLookup = append(noLookup, tb)
		}
	}
	dir := filepath.Join(t.TempDir(), "nolookup")
	if _, err := migrate.Export(ctx, src, dir, migrate.Options{Tables: noLookup}); err != nil {
		t.Fatal(err)
	}
	if r, err := bundle.Open(dir); err != nil || r.Has(actingweb.TablePropertyLookup) {
		t.Fatalf("bundle without lookup: %v", err)
	}
	pg := openPG(t)
	rep, err := migrate.Import(ctx, dir, pg, migrate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ls := rep.Lookup; ls == nil || ls.Contested != 1 || ls.OwnersFromSource != 0 || !strings.Contains(ls.SourceOwners, "no property lookup table") {
		t.Errorf("lookup summary = %+v, want the rebuild's owner kept with a reason", rep.Lookup)
	}
	if got := lookupOwner(t, pg); got != ownerA {
		t.Errorf("owner = %s, want the rebuild's choice %s", got, ownerA)
	}

	full := filepath.Join(t.TempDir(), "full")
	if _, err := migrate.Export(ctx, src, full, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	pg2 := openPG(t)
	rep, err = migrate.Import(ctx, full, pg2, migrate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ls := rep.Lookup; ls == nil || ls.OwnersFromSource != 1 {
		t.Errorf("import of a full bundle: %+v", rep.Lookup)
	}
	if got := lookupOwner(t, pg2); got != ownerC {
		t.Errorf("owner after import = %s, want the bundle's %s", got, ownerC)
	}
	fr, err := bundle.Open(full)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, fr, pg2)
}
