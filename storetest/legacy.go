package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

// RunLegacyLookup runs the reverse-lookup cases of legacy mode (§2.4, §6.3:
// USE_PROPERTY_LOOKUP_TABLE=false, LookupConfig.UseLookupTable false) against the stores open
// returns: property writes maintain no lookup rows, and GetActorIDFromProperty resolves any
// property name through the properties table (PostgreSQL: a scan; DynamoDB: the GSI
// property-index, which the opener must have created). Reading: the lookup is by name and
// value, not by value alone as upstream's (which returns another property's owner when two
// properties share a value), and several holders of the pair give the smallest actor id.
//
// Reading: a legacy-mode schema may lack the lookup table (DynamoDB: upstream's legacy mode never
// creates it), so "no lookup row" accepts ErrSchema from the lookup table's own operations.
func RunLegacyLookup(t *testing.T, open Opener) {
	s := open(t)

	t.Run("AnyNameResolves", func(t *testing.T) {
		t.Parallel()
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "legacy@example.com")
		for _, name := range []string{"email", "oauthId", "nickname", "Email", "list:email-0"} {
			v := "Value." + name + "." + a + "@Example.ORG"
			must(t, s.SetProperty(ctx, a, name, v), "SetProperty "+name)
			reverse(t, s, name, v, a, name)
			reverse(t, s, name, strings.ToLower(v), "", name+": lower-cased probe (exact match)")
			// Legacy mode writes no lookup rows.
			noLookupRow(t, s, name, v, name+": legacy mode")
		}
		reverse(t, s, "email", "never-stored-"+a, "", "unknown value")
		reverse(t, s, "", "x", "", "empty name")
		reverse(t, s, "email", "", "", "empty value")
	})

	t.Run("NameFiltered", func(t *testing.T) {
		t.Parallel()
		ctx := ctxOf(t)
		a, b := newID(t), newID(t)
		createActor(t, s, a, "a@example.com")
		createActor(t, s, b, "b@example.com")
		// Both actors hold the same value under different names: each name finds its owner.
		// A lookup by value alone cannot give both answers.
		x := "shared." + a + "@example.com"
		must(t, s.SetProperty(ctx, a, "email", x), "SetProperty a email")
		must(t, s.SetProperty(ctx, b, "displayName", x), "SetProperty b displayName")
		reverse(t, s, "email", x, a, "email")
		reverse(t, s, "displayName", x, b, "displayName")
		reverse(t, s, "oauthId", x, "", "name nobody holds the value under")
	})

	t.Run("SeveralHoldersSmallestID", func(t *testing.T) {
		t.Parallel()
		ctx := ctxOf(t)
		a, b, c := newID(t), newID(t), newID(t)
		x := "dup." + a + "@example.com"
		for _, id := range []string{a, b, c} {
			createActor(t, s, id, "dup@example.com")
			must(t, s.SetProperty(ctx, id, "email", x), "SetProperty "+id)
		}
		reverse(t, s, "email", x, min(a, b, c), "three holders")
		must(t, s.DeleteProperty(ctx, min(a, b, c), "email"), "DeleteProperty smallest")
		lo, hi := a, b
		switch min(a, b, c) {
		case a:
			lo, hi = b, c
		case b:
			lo, hi = a, c
		}
		reverse(t, s, "email", x, min(lo, hi), "after the smallest holder deleted its property")
	})

	t.Run("ChangesFollowTheProperty", func(t *testing.T) {
		t.Parallel()
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "chg@example.com")
		v1, v2 := "v1."+a, "v2."+a
		must(t, s.SetProperty(ctx, a, "oauthId", v1), "SetProperty v1")
		must(t, s.SetProperty(ctx, a, "oauthId", v2), "SetProperty v2")
		reverse(t, s, "oauthId", v1, "", "old value")
		reverse(t, s, "oauthId", v2, a, "new value")
		must(t, s.SetProperty(ctx, a, "oauthId", ""), "SetProperty empty")
		reverse(t, s, "oauthId", v2, "", "after empty value")
		ok, err := s.CreatePropertyIfNotExists(ctx, a, "externalUserId", v1)
		mustBool(t, ok, err, true, "CreatePropertyIfNotExists")
		reverse(t, s, "externalUserId", v1, a, "CreatePropertyIfNotExists")
		ok, err = s.SetPropertyIfValueEquals(ctx, a, "externalUserId", v1, v2)
		mustBool(t, ok, err, true, "SetPropertyIfValueEquals")
		reverse(t, s, "externalUserId", v1, "", "compare-and-set old value")
		reverse(t, s, "externalUserId", v2, a, "compare-and-set new value")
		must(t, s.DeleteProperty(ctx, a, "externalUserId"), "DeleteProperty")
		reverse(t, s, "externalUserId", v2, "", "after DeleteProperty")
	})

	t.Run("UnicodeValues", func(t *testing.T) {
		t.Parallel()
		ctx := ctxOf(t)
		for _, u := range unicodeSamples {
			a := newID(t)
			createActor(t, s, a, "uni@example.com")
			v := u.value + a
			must(t, s.SetProperty(ctx, a, "email", v), "SetProperty "+u.name)
			reverse(t, s, "email", v, a, u.name)
		}
	})

	t.Run("CascadeRemoves", func(t *testing.T) {
		t.Parallel()
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "cascade@example.com")
		v := "cascade." + a
		must(t, s.SetProperty(ctx, a, "email", v), "SetProperty")
		reverse(t, s, "email", v, a, "before cascade")
		must(t, actingweb.DeleteActorCascade(ctx, s, a, time.Now()), "DeleteActorCascade")
		reverse(t, s, "email", v, "", "after cascade")
	})

	t.Run("NoLookupRows", func(t *testing.T) {
		s := open(t) // counts are global
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "rows@example.com")
		for _, name := range actingweb.DefaultIndexedProperties {
			must(t, s.SetProperty(ctx, a, name, name+"."+a), "SetProperty "+name)
		}
		must(t, s.DeleteAllProperties(ctx, a), "DeleteAllProperties")
		must(t, s.SetProperty(ctx, a, "email", "again."+a), "SetProperty again")
		n, err := s.Count(ctx, actingweb.TablePropertyLookup)
		if !errors.Is(err, actingweb.ErrSchema) { // no lookup table at all (DynamoDB legacy schema)
			must(t, err, "Count lookup")
			eq(t, n, int64(0), "lookup rows written in legacy mode")
		}
		reverse(t, s, "email", "again."+a, a, "after DeleteAllProperties and a new value")
	})
}

// noLookupRow fails unless (name, value) has no lookup row: ErrNotFound, or ErrSchema when the
// store has no lookup table.
func noLookupRow(t *testing.T, s bulk.Backend, name, value, what string) {
	t.Helper()
	_, err := s.GetPropertyLookup(ctxOf(t), name, value)
	if !errors.Is(err, actingweb.ErrNotFound) && !errors.Is(err, actingweb.ErrSchema) {
		t.Fatalf("%s: GetPropertyLookup: %v, want ErrNotFound (or ErrSchema: no lookup table)", what, err)
	}
}
