package cli

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	awddb "github.com/actingweb/actingweb-go/dynamodb"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/postgres"
)

// TestSchemaLegacyPropertyIndex: `schema upgrade --legacy-property-index` creates the GSI once
// and says so; a second run changes nothing; PostgreSQL refuses the flag as a usage error.
func TestSchemaLegacyPropertyIndex(t *testing.T) {
	ctx := context.Background()
	a, out, errb := integrationApp(t)
	to := freshDDB(t)
	if err := a.RunSchemaUpgrade(ctx, SchemaOptions{To: to, LegacyPropertyIndex: true}); err != nil {
		t.Fatalf("upgrade --legacy-property-index: %v\n%s", err, errb)
	}
	// A legacy deployment: eight tables and the GSI, no property lookup table, at head.
	for _, want := range []string{"note:      created GSI property-index on ", "at head:   yes",
		"_property_lookup_v2 does not exist: not needed in legacy mode"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("first run output lacks %q:\n%s", want, out)
		}
	}
	out.Reset()
	if err := a.RunSchemaUpgrade(ctx, SchemaOptions{To: to, LegacyPropertyIndex: true}); err != nil {
		t.Fatalf("second upgrade --legacy-property-index: %v", err)
	}
	if !strings.Contains(out.String(), "already present: nothing changed") || strings.Contains(out.String(), "created ") {
		t.Errorf("second run output:\n%s", out)
	}
	pgURL, _ := testenv.FreshPostgresSchema(t)
	err := a.RunSchemaUpgrade(ctx, SchemaOptions{To: pgURL, LegacyPropertyIndex: true})
	if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "DynamoDB only") {
		t.Errorf("--legacy-property-index on PostgreSQL: %v (exit %d), want a usage error", err, ExitCode(err))
	}
}

// TestCopyFromLegacyDeployment: a DynamoDB deployment that ran upstream's legacy mode (GSI
// property-index, no lookup table at all, properties written without lookup rows) is copied
// to PostgreSQL; validate finds the two stores equal, and the target answers reverse lookups
// from the lookup table the copy built.
func TestCopyFromLegacyDeployment(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	a, out, errb := integrationApp(t)
	tmp := t.TempDir()
	prefix := testenv.UniqueDynamoPrefix(t)
	src := ddbURL(t, prefix)
	t.Cleanup(func() {
		a, _, errb := integrationApp(t)
		if err := a.RunFixtureDrop(context.Background(), FixtureDropOptions{To: src}); err != nil {
			t.Errorf("drop %s: %v (%s)", src, err, errb)
		}
	})
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v (exit %d)\nstdout:\n%s\nstderr:\n%s", what, err, ExitCode(err), out, errb)
		}
	}
	step("schema upgrade --legacy-property-index", a.RunSchemaUpgrade(ctx, SchemaOptions{To: src, LegacyPropertyIndex: true}))

	// The legacy deployment: no lookup table, writes in legacy mode.
	lc := actingweb.DefaultLookupConfig()
	lc.UseLookupTable = false
	legacy, err := awddb.Open(ctx, awddb.Config{Prefix: prefix, Region: "us-west-1", Endpoint: testenv.DynamoDBEndpoint(t), Lookup: lc})
	if err != nil {
		t.Fatal(err)
	}
	defer legacy.Close()
	if has, err := legacy.TableExists(ctx, actingweb.TablePropertyLookup); err != nil || has {
		t.Fatalf("property lookup table after a legacy upgrade: exists=%v, %v; want none", has, err)
	}
	ids := []string{
		"10000000000000000000000000000001", "20000000000000000000000000000002",
		"30000000000000000000000000000003", "40000000000000000000000000000004",
	}
	for _, id := range ids {
		step("create actor", legacy.CreateActor(ctx, actingweb.Actor{ID: id, Creator: "c" + id[:1] + "@example.com", Passphrase: "pw" + id}))
		step("set email", legacy.SetProperty(ctx, id, "email", "user"+id[:1]+"@example.com"))
		step("set oauthId", legacy.SetProperty(ctx, id, "oauthId", "oauth-"+id))
		step("set nickname", legacy.SetProperty(ctx, id, "nickname", "nick"+id[:1]))
		step("set list row", legacy.SetProperty(ctx, id, "list:email-0", "user"+id[:1]+"@example.com"))
	}
	// Two actors hold one address (4's email is 3's), and 1's nickname is 2's address.
	step("shared email", legacy.SetProperty(ctx, ids[3], "email", "user3@example.com"))
	step("nickname equal to an address", legacy.SetProperty(ctx, ids[0], "nickname", "user2@example.com"))
	if got, err := legacy.GetActorIDFromProperty(ctx, "email", "user2@example.com"); err != nil || got != ids[1] {
		t.Fatalf("source legacy lookup = %q, %v; want %s", got, err, ids[1])
	}

	pgURL, _ := testenv.FreshPostgresSchema(t)
	step("upgrade target", a.RunSchemaUpgrade(ctx, SchemaOptions{To: pgURL}))
	step("copy legacy dynamodb→postgresql", a.RunCopy(ctx, CopyOptions{From: src, To: pgURL,
		Move: MoveFlags{Report: filepath.Join(tmp, "copy.json"), StateDir: filepath.Join(tmp, "state"), ConsistentRead: true, Quiet: true}}))
	r := readReport(t, filepath.Join(tmp, "copy.json"))
	if r.Lookup == nil || r.Lookup.Result.Written != 7 || r.Lookup.Result.Collisions != 1 {
		t.Errorf("copy lookup = %+v, want 7 rows written (4 oauthId, 3 distinct email) and 1 collision", r.Lookup)
	}
	out.Reset()
	step("validate", a.RunValidate(ctx, ValidateOptions{From: src, To: pgURL, ConsistentRead: true, Quiet: true}))
	if !strings.Contains(out.String(), ": EQUAL") || !strings.Contains(out.String(), "property_lookup: not compared: side A (") {
		t.Errorf("validate output, want EQUAL and the lookup table of side A not compared:\n%s", out)
	}

	// The target, in lookup mode, answers as the source did in legacy mode.
	pg, err := postgres.Open(ctx, mustPGConfig(t, pgURL))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	n, err := pg.Count(ctx, actingweb.TablePropertyLookup)
	if err != nil || n != 7 {
		t.Fatalf("target lookup rows = %d, %v; want 7", n, err)
	}
	for _, c := range []struct{ name, value, want string }{
		{"email", "user1@example.com", ids[0]},
		{"email", "user2@example.com", ids[1]},
		{"email", "user3@example.com", ids[2]}, // the smallest of the two holders
		{"oauthId", "oauth-" + ids[3], ids[3]},
	} {
		want, err := legacy.GetActorIDFromProperty(ctx, c.name, c.value)
		if err != nil || want != c.want {
			t.Fatalf("source %s lookup = %q, %v; want %s", c.name, want, err, c.want)
		}
		lookupRow, err := pg.GetPropertyLookup(ctx, c.name, c.value)
		if err != nil || lookupRow != c.want {
			t.Errorf("target lookup row %s = %q, %v; want %s", c.name, lookupRow, err, c.want)
		}
		got, err := pg.GetActorIDFromProperty(ctx, c.name, c.value)
		if err != nil || got != c.want {
			t.Errorf("target reverse lookup %s = %q, %v; want %s", c.name, got, err, c.want)
		}
	}
	if _, err := pg.GetActorIDFromProperty(ctx, "nickname", "nick1"); !errors.Is(err, actingweb.ErrNotFound) {
		t.Errorf("target lookup of a non-indexed name: %v, want ErrNotFound (lookup mode)", err)
	}
}
