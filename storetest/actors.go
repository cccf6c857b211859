package storetest

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
)

func testSchema(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxOf(t)
	t.Run("CheckSchemaAfterOpen", func(t *testing.T) {
		if err := s.CheckSchema(ctx); err != nil {
			t.Fatalf("CheckSchema on a freshly upgraded store: %v", err)
		}
		st, err := s.SchemaStatus(ctx)
		must(t, err, "SchemaStatus")
		if !st.AtHead {
			t.Fatalf("SchemaStatus.AtHead = false (missing %v, notes %v)", st.Missing, st.Notes)
		}
		if len(st.Missing) != 0 {
			t.Fatalf("SchemaStatus.Missing = %v, want none", st.Missing)
		}
		if st.Backend != "postgresql" && st.Backend != "dynamodb" {
			t.Fatalf("SchemaStatus.Backend = %q, want postgresql or dynamodb", st.Backend)
		}
	})
	t.Run("UpgradeIdempotent", func(t *testing.T) {
		st, err := s.UpgradeSchema(ctx)
		must(t, err, "second UpgradeSchema")
		if !st.AtHead {
			t.Fatalf("UpgradeSchema twice: AtHead = false (missing %v)", st.Missing)
		}
		must(t, s.CheckSchema(ctx), "CheckSchema after second upgrade")
	})
	t.Run("Describe", func(t *testing.T) {
		if strings.TrimSpace(s.Describe()) == "" {
			t.Fatal("Describe() is empty")
		}
	})
}

func testActors(t *testing.T, open Opener) {
	s := open(t)

	t.Run("ListActorsPage", func(t *testing.T) {
		t.Parallel()
		testListActorsPage(t, open)
	})

	t.Run("CreateGetCreatorNormalisation", func(t *testing.T) {
		cases := []struct{ name, creator, want string }{
			{"email-mixed-case", "Alice.Smith@Example.COM", "alice.smith@example.com"},
			{"email-lower", "bob@example.org", "bob@example.org"},
			{"email-unicode", "ÜNÏ.Cödé@Example.NET", "ünï.cödé@example.net"},
			// Python's str.lower(): final sigma and U+0130 (NormalizeCreator).
			{"email-final-sigma", "ΟΔΥΣΣΕΑΣ@EXAMPLE.GR", "οδυσσεας@example.gr"},
			{"email-dotted-capital-i", "İSTANBUL@EXAMPLE.TR", "i\u0307stanbul@example.tr"},
			{"non-email-mixed-case", "ServiceBot_Heidi26", "ServiceBot_Heidi26"},
			{"non-email-default", "creator", "creator"},
			{"non-email-emoji", "Bot " + uniEmoji, "Bot " + uniEmoji},
			{"non-email-rtl", uniRTL, uniRTL},
			{"non-email-combining", "Cafe\u0301 OWNER", "Cafe\u0301 OWNER"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				ctx := ctxOf(t)
				id := newID(t)
				must(t, s.CreateActor(ctx, actingweb.Actor{ID: id, Creator: c.creator, Passphrase: "Secret-" + id}), "CreateActor")
				a, err := s.GetActor(ctx, id)
				must(t, err, "GetActor")
				eq(t, a.ID, id, "GetActor id")
				eq(t, a.Creator, c.want, "stored creator")
				eq(t, a.Passphrase, "Secret-"+id, "passphrase")
			})
		}
	})

	t.Run("GetMissing", func(t *testing.T) {
		_, err := s.GetActor(ctxOf(t), newID(t))
		wantErr(t, err, actingweb.ErrNotFound, "GetActor of a missing id")
	})

	t.Run("CreateExisting", func(t *testing.T) {
		ctx := ctxOf(t)
		id := newID(t)
		must(t, s.CreateActor(ctx, actingweb.Actor{ID: id, Creator: "first@example.com", Passphrase: "p1"}), "CreateActor")
		err := s.CreateActor(ctx, actingweb.Actor{ID: id, Creator: "second@example.com", Passphrase: "p2"})
		wantErr(t, err, actingweb.ErrExists, "CreateActor of an existing id")
		a, err := s.GetActor(ctx, id)
		must(t, err, "GetActor")
		eq(t, a.Creator, "first@example.com", "creator after refused create")
		eq(t, a.Passphrase, "p1", "passphrase after refused create")
	})

	t.Run("CreateInvalid", func(t *testing.T) {
		ctx := ctxOf(t)
		wantErr(t, s.CreateActor(ctx, actingweb.Actor{ID: "", Creator: "x@example.com", Passphrase: "p"}), actingweb.ErrInvalid, "CreateActor with empty id")
		id := newID(t)
		wantErr(t, s.CreateActor(ctx, actingweb.Actor{ID: id, Creator: "", Passphrase: "p"}), actingweb.ErrInvalid, "CreateActor with empty creator")
		_, err := s.GetActor(ctx, id)
		wantErr(t, err, actingweb.ErrNotFound, "GetActor after refused create with empty creator")
	})

	t.Run("GetActorsByCreator", func(t *testing.T) {
		ctx := ctxOf(t)
		tag := newID(t)[:8]
		email := "Owner." + tag + "@Example.com"
		ids := []string{newID(t), newID(t), newID(t)}
		must(t, s.CreateActor(ctx, actingweb.Actor{ID: ids[0], Creator: email, Passphrase: "p"}), "create 0")
		must(t, s.CreateActor(ctx, actingweb.Actor{ID: ids[1], Creator: strings.ToLower(email), Passphrase: "p"}), "create 1")
		must(t, s.CreateActor(ctx, actingweb.Actor{ID: ids[2], Creator: "other." + tag + "@example.com", Passphrase: "p"}), "create 2")
		want := []string{ids[0], ids[1]}
		if want[0] > want[1] {
			want[0], want[1] = want[1], want[0]
		}
		for _, probe := range []string{email, strings.ToUpper(email), strings.ToLower(email)} {
			got, err := s.GetActorsByCreator(ctx, probe)
			must(t, err, "GetActorsByCreator "+probe)
			var gotIDs []string
			for _, a := range got {
				gotIDs = append(gotIDs, a.ID)
				eq(t, a.Creator, strings.ToLower(email), "creator of match")
			}
			deepEq(t, gotIDs, want, "GetActorsByCreator("+probe+") ids (ordered by id)")
		}
		// A non-e-mail creator is matched exactly (no case folding).
		bot := "Bot_" + tag
		botID := newID(t)
		must(t, s.CreateActor(ctx, actingweb.Actor{ID: botID, Creator: bot, Passphrase: "p"}), "create bot")
		got, err := s.GetActorsByCreator(ctx, bot)
		must(t, err, "GetActorsByCreator bot")
		if len(got) != 1 || got[0].ID != botID {
			t.Fatalf("GetActorsByCreator(%q) = %+v, want exactly %s", bot, got, botID)
		}
		got, err = s.GetActorsByCreator(ctx, strings.ToLower(bot))
		wantEmptySlice(t, got, err, "GetActorsByCreator lower-cased bot", fmt.Sprintf("GetActorsByCreator(%q)", strings.ToLower(bot)))
		got, err = s.GetActorsByCreator(ctx, "nobody."+tag+"@example.com")
		wantEmptySlice(t, got, err, "GetActorsByCreator no match", "GetActorsByCreator(no match)")
	})

	t.Run("ModifyActor", func(t *testing.T) {
		ctx := ctxOf(t)
		id := newID(t)
		must(t, s.CreateActor(ctx, actingweb.Actor{ID: id, Creator: "old@example.com", Passphrase: "old-pass"}), "CreateActor")
		must(t, s.ModifyActor(ctx, id, "New.Owner@Example.ORG", ""), "ModifyActor creator")
		a, err := s.GetActor(ctx, id)
		must(t, err, "GetActor")
		eq(t, a.Creator, "new.owner@example.org", "creator after modify (lower-cased)")
		eq(t, a.Passphrase, "old-pass", "passphrase kept when argument empty")
		must(t, s.ModifyActor(ctx, id, "", "new-pass"), "ModifyActor passphrase")
		a, err = s.GetActor(ctx, id)
		must(t, err, "GetActor")
		eq(t, a.Creator, "new.owner@example.org", "creator kept when argument empty")
		eq(t, a.Passphrase, "new-pass", "passphrase after modify")
		must(t, s.ModifyActor(ctx, id, "Plain_Name", "p3"), "ModifyActor both")
		a, err = s.GetActor(ctx, id)
		must(t, err, "GetActor")
		eq(t, a.Creator, "Plain_Name", "non-e-mail creator after modify (untouched)")
		eq(t, a.Passphrase, "p3", "passphrase after modify")
		wantErr(t, s.ModifyActor(ctx, newID(t), "x@example.com", "p"), actingweb.ErrNotFound, "ModifyActor of a missing id")
	})

	t.Run("DeleteActor", func(t *testing.T) {
		ctx := ctxOf(t)
		id, other := newID(t), newID(t)
		createActor(t, s, id, "del@example.com")
		createActor(t, s, other, "keep@example.com")
		email := "lookup." + id + "@example.com"
		must(t, s.SetProperty(ctx, id, "email", email), "SetProperty email")
		owner, err := s.GetPropertyLookup(ctx, "email", email)
		must(t, err, "GetPropertyLookup before delete")
		eq(t, owner, id, "lookup owner before delete")
		must(t, s.DeleteActor(ctx, id), "DeleteActor")
		_, err = s.GetActor(ctx, id)
		wantErr(t, err, actingweb.ErrNotFound, "GetActor after DeleteActor")
		_, err = s.GetPropertyLookup(ctx, "email", email)
		wantErr(t, err, actingweb.ErrNotFound, "lookup row after DeleteActor")
		must(t, s.DeleteActor(ctx, id), "DeleteActor again (idempotent)")
		must(t, s.DeleteActor(ctx, newID(t)), "DeleteActor of a never-existing id")
		if _, err := s.GetActor(ctx, other); err != nil {
			t.Fatalf("other actor after DeleteActor: %v", err)
		}
	})

	t.Run("ListActors", func(t *testing.T) {
		s := open(t) // needs a globally empty store
		ctx := ctxOf(t)
		got, err := s.ListActors(ctx)
		wantEmptySlice(t, got, err, "ListActors on an empty store", "ListActors on an empty store")
		// Reading: "ordered by id" — ids here are lowercase hex like library-generated ones, so
		// byte order and any collation agree.
		ids := []string{newID(t), newID(t), newID(t)}
		for _, id := range ids {
			createActor(t, s, id, "list."+id+"@example.com")
		}
		got, err = s.ListActors(ctx)
		must(t, err, "ListActors")
		want := append([]string(nil), ids...)
		sort.Strings(want)
		var gotIDs []string
		for _, a := range got {
			gotIDs = append(gotIDs, a.ID)
			eq(t, a.Creator, "list."+a.ID+"@example.com", "listed creator")
			eq(t, a.Passphrase, "", "listed passphrase (ListActors omits passphrases)")
		}
		deepEq(t, gotIDs, want, "ListActors ids ordered by id")
	})
}
