package storetest

import (
	"strings"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

// The stores under test use the default lookup configuration: lookup mode on, indexed names
// oauthId, email and externalUserId (DefaultLookupConfig).

func lookupOwner(t *testing.T, s bulk.Backend, name, value, want, what string) {
	t.Helper()
	ctx := ctxOf(t)
	got, err := s.GetPropertyLookup(ctx, name, value)
	wantActorID(t, got, err, want, what+": GetPropertyLookup", what+": lookup owner")
}

func reverse(t *testing.T, s bulk.Backend, name, value, want, what string) {
	t.Helper()
	ctx := ctxOf(t)
	got, err := s.GetActorIDFromProperty(ctx, name, value)
	wantActorID(t, got, err, want, what+": GetActorIDFromProperty", what+": GetActorIDFromProperty")
}

// wantActorID checks the result of an actor-id read (call names it): ErrNotFound when want
// is "", else no error and got == want (eqWhat names that comparison).
func wantActorID(t *testing.T, got string, err error, want, call, eqWhat string) {
	t.Helper()
	if want == "" {
		wantErr(t, err, actingweb.ErrNotFound, call)
		return
	}
	must(t, err, call)
	eq(t, got, want, eqWhat)
}

func testLookup(t *testing.T, open Opener, o options) {
	s := open(t)

	t.Run("IndexedSetCreatesRow", func(t *testing.T) {
		ctx := ctxOf(t)
		for _, name := range actingweb.DefaultIndexedProperties {
			t.Run(name, func(t *testing.T) {
				a := newID(t)
				createActor(t, s, a, "lk@example.com")
				value := "Mixed.Case." + a + "@Example.ORG"
				must(t, s.SetProperty(ctx, a, name, value), "SetProperty")
				lookupOwner(t, s, name, value, a, "new indexed value")
				reverse(t, s, name, value, a, "new indexed value")
				// Exact, case-sensitive match on the stored value.
				lookupOwner(t, s, name, strings.ToLower(value), "", "lower-cased probe")
				reverse(t, s, name, strings.ToLower(value), "", "lower-cased probe")
			})
		}
	})

	t.Run("ChangeValueMovesRow", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "lk@example.com")
		v1, v2 := "v1."+a+"@example.com", "v2."+a+"@example.com"
		must(t, s.SetProperty(ctx, a, "email", v1), "SetProperty v1")
		must(t, s.SetProperty(ctx, a, "email", v2), "SetProperty v2")
		lookupOwner(t, s, "email", v1, "", "old value")
		lookupOwner(t, s, "email", v2, a, "new value")
		reverse(t, s, "email", v2, a, "new value")
		must(t, s.SetProperty(ctx, a, "email", v2), "SetProperty same value again")
		lookupOwner(t, s, "email", v2, a, "same value twice")
	})

	t.Run("EmptyValueRemovesRow", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "lk@example.com")
		v := "gone." + a + "@example.com"
		must(t, s.SetProperty(ctx, a, "email", v), "SetProperty")
		must(t, s.SetProperty(ctx, a, "email", ""), "SetProperty empty")
		lookupOwner(t, s, "email", v, "", "after empty value")
		reverse(t, s, "email", v, "", "after empty value")
	})

	t.Run("CollisionFirstOwnerKept", func(t *testing.T) {
		ctx := ctxOf(t)
		a, b := newID(t), newID(t)
		createActor(t, s, a, "first@example.com")
		createActor(t, s, b, "second@example.com")
		x := "shared." + a + "@example.com"
		must(t, s.SetProperty(ctx, a, "email", x), "first owner SetProperty")
		// The collision is logged, the property write still succeeds.
		must(t, s.SetProperty(ctx, b, "email", x), "colliding SetProperty")
		vb, err := s.GetProperty(ctx, b, "email")
		must(t, err, "colliding actor's property")
		eq(t, vb, x, "colliding actor's property value")
		lookupOwner(t, s, "email", x, a, "after collision")
		reverse(t, s, "email", x, a, "after collision")

		// The collider moving to another value must not remove the first owner's row.
		y := "moved." + b + "@example.com"
		must(t, s.SetProperty(ctx, b, "email", y), "collider changes value")
		lookupOwner(t, s, "email", x, a, "first owner's row after collider moved")
		lookupOwner(t, s, "email", y, b, "collider's new row")

		// DeleteProperty removes only the caller's own row.
		must(t, s.SetProperty(ctx, b, "email", x), "collide again")
		must(t, s.DeleteProperty(ctx, b, "email"), "collider DeleteProperty")
		lookupOwner(t, s, "email", x, a, "first owner's row after collider deleted")
		must(t, s.DeleteProperty(ctx, a, "email"), "owner DeleteProperty")
		lookupOwner(t, s, "email", x, "", "after owner deleted")
		reverse(t, s, "email", x, "", "after owner deleted")
	})

	t.Run("NonIndexedName", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "lk@example.com")
		v := "nick-" + a
		must(t, s.SetProperty(ctx, a, "nickname", v), "SetProperty non-indexed")
		lookupOwner(t, s, "nickname", v, "", "non-indexed name gets no lookup row")
		reverse(t, s, "nickname", v, "", "non-indexed name")
		// Indexed names are case-sensitive: "Email" is not "email".
		must(t, s.SetProperty(ctx, a, "Email", v), "SetProperty Email")
		lookupOwner(t, s, "Email", v, "", "name differing in case")
		// A lookup row under a non-indexed name does not make it resolvable.
		ok, err := s.CreatePropertyLookup(ctx, "nickname", v, a, false)
		mustBool(t, ok, err, true, "CreatePropertyLookup non-indexed name")
		reverse(t, s, "nickname", v, "", "non-indexed name with a lookup row")
		// list: rows are never indexed.
		must(t, s.SetProperty(ctx, a, "list:email-0", v), "SetProperty list row")
		lookupOwner(t, s, "list:email-0", v, "", "list: row")
	})

	t.Run("ReverseLookupNeedsPropertyRow", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "lk@example.com")
		// A lookup row whose owner has no such property row does not resolve.
		ghost := "ghost." + a + "@example.com"
		ok, err := s.CreatePropertyLookup(ctx, "email", ghost, a, false)
		mustBool(t, ok, err, true, "CreatePropertyLookup")
		lookupOwner(t, s, "email", ghost, a, "direct lookup row")
		reverse(t, s, "email", ghost, "", "lookup row without property row")
		// A stale row resolves while the owner's property exists (the value is not compared, §6.3).
		current := "current." + a + "@example.com"
		must(t, s.SetProperty(ctx, a, "email", current), "SetProperty current")
		reverse(t, s, "email", ghost, a, "stale lookup row while the property exists")
		reverse(t, s, "email", current, a, "current value")
		// A property without lookup row resolves only through upstream's fallback on the
		// properties table (WithPropertyFallback).
		b := newID(t)
		createActor(t, s, b, "lk2@example.com")
		nolookup := "nolookup." + b + "@example.com"
		ok, err = s.CreatePropertyIfNotExists(ctx, b, "oauthId", nolookup)
		mustBool(t, ok, err, true, "CreatePropertyIfNotExists")
		if o.propertyFallback {
			reverse(t, s, "oauthId", nolookup, b, "property without lookup row (fallback)")
		} else {
			reverse(t, s, "oauthId", nolookup, "", "property without lookup row (no fallback)")
		}
	})

	if o.propertyFallback {
		t.Run("PropertyFallback", func(t *testing.T) {
			ctx := ctxOf(t)
			a, b, c := newID(t), newID(t), newID(t)
			for _, id := range []string{a, b, c} {
				createActor(t, s, id, "fb@example.com")
			}
			// Two actors hold the value without lookup rows: the smallest id, as the rebuild.
			v := "fallback." + a + "@example.com"
			for _, id := range []string{a, b} {
				ok, err := s.CreatePropertyIfNotExists(ctx, id, "email", v)
				mustBool(t, ok, err, true, "CreatePropertyIfNotExists "+id)
			}
			reverse(t, s, "email", v, min(a, b), "two holders without lookup row")
			// The fallback filters by name: the value under another name is not this one.
			ok, err := s.CreatePropertyIfNotExists(ctx, c, "nickname", "nick."+c)
			mustBool(t, ok, err, true, "CreatePropertyIfNotExists nickname")
			reverse(t, s, "email", "nick."+c, "", "value held under another name")
			// A non-indexed name is not found, fallback or not.
			reverse(t, s, "nickname", "nick."+c, "", "non-indexed name")
			// A lookup row whose owner lost the property hides the fallback (upstream: the row
			// is found, its property is not, the result is "not found").
			w := "hidden." + c + "@example.com"
			ok, err = s.CreatePropertyLookup(ctx, "email", w, c, false)
			mustBool(t, ok, err, true, "CreatePropertyLookup for c")
			d := newID(t)
			createActor(t, s, d, "fb@example.com")
			ok, err = s.CreatePropertyIfNotExists(ctx, d, "email", w)
			mustBool(t, ok, err, true, "CreatePropertyIfNotExists d email")
			reverse(t, s, "email", w, "", "lookup row of an owner without the property")
			// An empty value is never found.
			reverse(t, s, "email", "", "", "empty value")
		})
	}

	t.Run("CreatePropertyLookup", func(t *testing.T) {
		ctx := ctxOf(t)
		a, b := newID(t), newID(t)
		createActor(t, s, a, "a@example.com")
		createActor(t, s, b, "b@example.com")
		v := "direct-" + a
		ok, err := s.CreatePropertyLookup(ctx, "externalUserId", v, a, false)
		mustBool(t, ok, err, true, "CreatePropertyLookup new")
		ok, err = s.CreatePropertyLookup(ctx, "externalUserId", v, a, false)
		mustBool(t, ok, err, true, "CreatePropertyLookup same actor again (idempotent)")
		ok, err = s.CreatePropertyLookup(ctx, "externalUserId", v, b, false)
		mustBool(t, ok, err, false, "CreatePropertyLookup other actor without overwrite (collision)")
		lookupOwner(t, s, "externalUserId", v, a, "after refused collision")
		ok, err = s.CreatePropertyLookup(ctx, "externalUserId", v, b, true)
		mustBool(t, ok, err, true, "CreatePropertyLookup other actor with overwrite")
		lookupOwner(t, s, "externalUserId", v, b, "after overwrite")
		// Same value under another name is another row.
		lookupOwner(t, s, "email", v, "", "same value, other name")
	})

	t.Run("DeletePropertyLookup", func(t *testing.T) {
		ctx := ctxOf(t)
		a, b := newID(t), newID(t)
		createActor(t, s, a, "a@example.com")
		createActor(t, s, b, "b@example.com")
		v, w := "del-"+a, "keep-"+a
		ok, err := s.CreatePropertyLookup(ctx, "oauthId", v, a, false)
		mustBool(t, ok, err, true, "CreatePropertyLookup")
		ok, err = s.CreatePropertyLookup(ctx, "oauthId", w, b, false)
		mustBool(t, ok, err, true, "CreatePropertyLookup")
		must(t, s.DeletePropertyLookup(ctx, "oauthId", v), "DeletePropertyLookup")
		lookupOwner(t, s, "oauthId", v, "", "deleted row")
		lookupOwner(t, s, "oauthId", w, b, "other row")
		must(t, s.DeletePropertyLookup(ctx, "oauthId", v), "DeletePropertyLookup again (idempotent)")
	})

	t.Run("UnicodeAndLongValues", func(t *testing.T) {
		ctx := ctxOf(t)
		values := map[string]string{}
		for _, u := range unicodeSamples {
			values[u.name] = u.value
		}
		// PostgreSQL's B-tree primary key caps the value at roughly 2.7 KB and a DynamoDB GSI
		// key (the legacy property-index) at 2048 bytes (§9); exactly 2048 bytes with the
		// 32-character actor id appended below fits both.
		values["2KB"] = bigString(2048 - 32)
		for what, v := range values {
			t.Run(what, func(t *testing.T) {
				a := newID(t)
				createActor(t, s, a, "uni@example.com")
				v := v + a
				must(t, s.SetProperty(ctx, a, "externalUserId", v), "SetProperty")
				lookupOwner(t, s, "externalUserId", v, a, what)
				reverse(t, s, "externalUserId", v, a, what)
			})
		}
	})

	t.Run("RebuildPropertyLookup", func(t *testing.T) {
		s := open(t) // counts are global
		ctx := ctxOf(t)
		a, b := "a"+newID(t)[1:], "b"+newID(t)[1:]
		createActor(t, s, a, "a@example.com")
		createActor(t, s, b, "b@example.com")
		x := "rebuild-secret-value-x@example.org"
		y := "rebuild-secret-value-y"
		// a owns x through SetProperty (lookup row exists already).
		must(t, s.SetProperty(ctx, a, "email", x), "SetProperty a email")
		// b's email x and a's oauthId y are written without lookup maintenance.
		ok, err := s.CreatePropertyIfNotExists(ctx, b, "email", x)
		mustBool(t, ok, err, true, "CreatePropertyIfNotExists b email")
		ok, err = s.CreatePropertyIfNotExists(ctx, a, "oauthId", y)
		mustBool(t, ok, err, true, "CreatePropertyIfNotExists a oauthId")
		// Not considered: a name outside the list, and a list: row even when its name is listed.
		must(t, s.SetProperty(ctx, a, "nickname", "n"), "SetProperty nickname")
		must(t, s.SetProperty(ctx, a, "list:x", "listed-list-row"), "SetProperty list:x")

		names := []string{"email", "oauthId", "list:x"}
		r, err := s.RebuildPropertyLookup(ctx, names)
		must(t, err, "RebuildPropertyLookup")
		eq(t, r.Scanned, int64(3), "Scanned (a.email, b.email, a.oauthId; list: rows excluded)")
		eq(t, r.Written, int64(1), "Written (a.oauthId)")
		eq(t, r.Existing, int64(1), "Existing (a.email)")
		eq(t, r.Collisions, int64(1), "Collisions (b.email)")
		eq(t, r.Orphans, int64(0), "Orphans")
		lookupOwner(t, s, "email", x, a, "collision keeps the first row")
		lookupOwner(t, s, "oauthId", y, a, "rebuilt row")
		lookupOwner(t, s, "list:x", "listed-list-row", "", "list: row")
		lookupOwner(t, s, "nickname", "n", "", "unlisted name")
		for _, smp := range r.Samples {
			if strings.Contains(smp, x) || strings.Contains(smp, y) {
				t.Fatalf("RebuildPropertyLookup sample %q shows a value", smp)
			}
		}
		n, err := s.Count(ctx, actingweb.TablePropertyLookup)
		must(t, err, "Count lookup")
		eq(t, n, int64(2), "lookup rows after rebuild")

		r, err = s.RebuildPropertyLookup(ctx, names)
		must(t, err, "RebuildPropertyLookup again")
		eq(t, r.Scanned, int64(3), "second run Scanned")
		eq(t, r.Written, int64(0), "second run Written (idempotent)")
		eq(t, r.Existing, int64(2), "second run Existing")
		eq(t, r.Collisions, int64(1), "second run Collisions")
		n, err = s.Count(ctx, actingweb.TablePropertyLookup)
		must(t, err, "Count lookup")
		eq(t, n, int64(2), "lookup rows after second rebuild")

		// An owner without actor row is counted in Orphans on both backends. Reading:
		// PostgreSQL must skip it (the foreign key); DynamoDB has no foreign key and may write
		// it as upstream's backfill does (then it is also counted in Written). Either way the
		// lookup table agrees with Written.
		ghost := "ghost" + newID(t)
		ok, err = s.CreatePropertyIfNotExists(ctx, ghost, "externalUserId", "ghost-value")
		mustBool(t, ok, err, true, "CreatePropertyIfNotExists ghost")
		r, err = s.RebuildPropertyLookup(ctx, []string{"externalUserId"})
		must(t, err, "RebuildPropertyLookup with an orphan")
		eq(t, r.Scanned, int64(1), "orphan run Scanned")
		eq(t, r.Orphans, int64(1), "orphan run Orphans")
		eq(t, r.Collisions+r.Existing, int64(0), "orphan run Collisions+Existing")
		switch r.Written {
		case 0:
			lookupOwner(t, s, "externalUserId", "ghost-value", "", "orphan skipped")
		case 1:
			lookupOwner(t, s, "externalUserId", "ghost-value", ghost, "orphan written")
		default:
			t.Fatalf("orphan run Written = %d, want 0 or 1", r.Written)
		}
		for _, smp := range r.Samples {
			if strings.Contains(smp, "ghost-value") {
				t.Fatalf("RebuildPropertyLookup sample %q shows a value", smp)
			}
		}
	})
}
