package dynamodb

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	actingweb "github.com/actingweb/actingweb-go"
)

// sameTables opens a second store on s's tables with lookup configuration lc.
func sameTables(t *testing.T, s *Store, lc actingweb.LookupConfig) *Store {
	t.Helper()
	cfg := s.cfg
	cfg.Lookup = lc
	o, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close() })
	return o
}

func hasNote(st actingweb.SchemaStatus, sub string) bool {
	for _, n := range st.Notes {
		if strings.Contains(n, sub) {
			return true
		}
	}
	return false
}

// TestLegacyPropertyIndex: legacy mode without the GSI fails with the fix command; the fix
// creates upstream's index once; then legacy mode resolves through it and lookup mode falls
// back to it for an indexed property without lookup row.
func TestLegacyPropertyIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTestStore(t, true)
	lc := actingweb.DefaultLookupConfig()
	lc.UseLookupTable = false
	legacy := sameTables(t, s, lc)

	a := "a0000000000000000000000000000001"
	must(t, s.CreateActor(ctx, actingweb.Actor{ID: a, Creator: "a@example.com", Passphrase: "pw"}))
	must(t, legacy.SetProperty(ctx, a, "email", "legacy@example.com"))
	_, err := legacy.GetActorIDFromProperty(ctx, "email", "legacy@example.com")
	if !errors.Is(err, actingweb.ErrSchema) || !strings.Contains(err.Error(), "--legacy-property-index") ||
		!strings.Contains(err.Error(), s.TableName(actingweb.TableProperties)) {
		t.Fatalf("legacy lookup without the GSI: %v, want ErrSchema naming the table and --legacy-property-index", err)
	}
	st, err := legacy.SchemaStatus(ctx)
	must(t, err)
	if !hasNote(st, "lacks the GSI property-index") {
		t.Errorf("legacy status notes %q, want one about the missing GSI", st.Notes)
	}
	// Lookup mode without the GSI: the property has no lookup row (written in legacy mode).
	if _, err := s.GetActorIDFromProperty(ctx, "email", "legacy@example.com"); !errors.Is(err, actingweb.ErrNotFound) {
		t.Fatalf("lookup mode without lookup row or GSI: %v, want ErrNotFound", err)
	}

	created, err := s.EnsureLegacyPropertyIndex(ctx)
	if err != nil || !created {
		t.Fatalf("EnsureLegacyPropertyIndex = %v, %v; want created", created, err)
	}
	d, err := s.describe(ctx, actingweb.TableProperties)
	must(t, err)
	g := findGSI(d, LegacyPropertyIndex)
	if g == nil || g.IndexStatus != types.IndexStatusActive || len(g.KeySchema) != 1 ||
		aws.ToString(g.KeySchema[0].AttributeName) != "value" || g.Projection.ProjectionType != types.ProjectionTypeAll {
		t.Fatalf("GSI after EnsureLegacyPropertyIndex = %+v", g)
	}
	if created, err := s.EnsureLegacyPropertyIndex(ctx); err != nil || created {
		t.Fatalf("second EnsureLegacyPropertyIndex = %v, %v; want no change", created, err)
	}
	st, err = legacy.SchemaStatus(ctx)
	must(t, err)
	if hasNote(st, "lacks the GSI") || !hasNote(st, "has the legacy property-index") || !st.AtHead {
		t.Errorf("status after the fix: %+v", st)
	}

	for _, store := range []*Store{legacy, s} {
		got, err := store.GetActorIDFromProperty(ctx, "email", "legacy@example.com")
		if err != nil || got != a {
			t.Fatalf("lookup (mode lookup=%v) with the GSI = %q, %v; want %s", store.lookup.UseLookupTable, got, err, a)
		}
	}
	// Lookup mode still refuses non-indexed names; legacy mode resolves any name.
	must(t, legacy.SetProperty(ctx, a, "nickname", "nick"))
	if _, err := s.GetActorIDFromProperty(ctx, "nickname", "nick"); !errors.Is(err, actingweb.ErrNotFound) {
		t.Errorf("lookup mode, non-indexed name: %v, want ErrNotFound", err)
	}
	if got, err := legacy.GetActorIDFromProperty(ctx, "nickname", "nick"); err != nil || got != a {
		t.Errorf("legacy mode, non-indexed name = %q, %v", got, err)
	}
}

// TestLegacyIndexNeedsTable: the index cannot be added before the table exists.
func TestLegacyIndexNeedsTable(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, false)
	if _, err := s.EnsureLegacyPropertyIndex(context.Background()); !errors.Is(err, actingweb.ErrSchema) ||
		!strings.Contains(err.Error(), "schema upgrade") {
		t.Fatalf("EnsureLegacyPropertyIndex without tables: %v, want ErrSchema naming the schema upgrade", err)
	}
}

// TestV1LookupFallback: in lookup mode a v2 miss reads the deprecated v1 table when it exists
// (§3.6), with the same "owner's property row must exist" rule.
func TestV1LookupFallback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTestStore(t, true)
	v1 := s.prefix + "_" + v1LookupSuffix
	_, err := s.client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(v1),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("property_name"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("value"), KeyType: types.KeyTypeRange}},
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("property_name"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("value"), AttributeType: types.ScalarAttributeTypeS}},
	})
	must(t, err)
	t.Cleanup(func() {
		if _, err := s.client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(v1)}); err != nil {
			t.Errorf("delete %s: %v", v1, err)
		}
	})
	must(t, s.waitActive(ctx, v1))
	put := func(name, value, actor string) {
		_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(v1), Item: map[string]types.AttributeValue{
			"property_name": avS(name), "value": avS(value), "actor_id": avS(actor)}})
		must(t, err)
	}
	a, b := "a0000000000000000000000000000002", "b0000000000000000000000000000002"
	must(t, s.CreateActor(ctx, actingweb.Actor{ID: a, Creator: "a@example.com", Passphrase: "pw"}))
	ok, err := s.CreatePropertyIfNotExists(ctx, a, "oauthId", "current-a")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	put("oauthId", "old-a", a)   // a stale v1 row of an actor that has the property
	put("oauthId", "ghost-b", b) // b has no oauthId property
	put("nickname", "nick-a", a) // not an indexed name
	if got, err := s.GetActorIDFromProperty(ctx, "oauthId", "old-a"); err != nil || got != a {
		t.Errorf("v1 row = %q, %v; want %s", got, err, a)
	}
	if _, err := s.GetActorIDFromProperty(ctx, "oauthId", "ghost-b"); !errors.Is(err, actingweb.ErrNotFound) {
		t.Errorf("v1 row of an owner without the property: %v, want ErrNotFound", err)
	}
	if _, err := s.GetActorIDFromProperty(ctx, "nickname", "nick-a"); !errors.Is(err, actingweb.ErrNotFound) {
		t.Errorf("v1 row of a non-indexed name: %v, want ErrNotFound", err)
	}
}
