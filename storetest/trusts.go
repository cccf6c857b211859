package storetest

import (
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

func fullTrust(id, peer, secret string) actingweb.Trust {
	return actingweb.Trust{
		ID: id, PeerID: peer, BaseURI: "https://peer.example.com/" + peer,
		Type: "urn:actingweb:example.com:banking", Relationship: "friend", Secret: secret,
		Desc: ptr("Trust — " + uniMixed), Approved: true, PeerApproved: false, Verified: true,
		VerificationToken:     ptr("vtok-" + peer),
		PeerIdentifier:        ptr("Peer.One@Example.com"),
		EstablishedVia:        ptr("mcp"),
		CreatedAt:             ptr(microTime(0)),
		LastAccessed:          ptr(microTime(time.Hour)),
		LastConnectedVia:      ptr("trust"),
		ClientName:            ptr("Claude " + uniEmoji),
		ClientVersion:         ptr("1.2.3"),
		ClientPlatform:        ptr("macOS 14.5; arm64"),
		OAuthClientID:         ptr("mcp_client_" + peer),
		AWSupported:           ptr("subscriptionbatch,callbackcompression"),
		AWVersion:             ptr("1.0"),
		CapabilitiesFetchedAt: ptr(microTime(2 * time.Hour)),
	}
}

func getTrust(t *testing.T, s bulk.Backend, id, peer string) actingweb.Trust {
	t.Helper()
	tr, err := s.GetTrust(ctxOf(t), id, peer)
	must(t, err, "GetTrust "+peer)
	return tr
}

func strp(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func testTrusts(t *testing.T, open Opener) {
	s := open(t)

	t.Run("RoundTrip", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "tr@example.com")
		want := fullTrust(a, newID(t), "secret-"+newID(t))
		must(t, s.CreateTrust(ctx, want), "CreateTrust")
		got := getTrust(t, s, a, want.PeerID)
		sameRecord(t, &got, &want, "trust read back")
	})

	t.Run("Defaults", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "tr@example.com")
		before := time.Now()
		tr := actingweb.Trust{ID: a, PeerID: "p1", BaseURI: "https://p1", Type: "t", Relationship: "friend",
			Secret: "s-" + a, EstablishedVia: ptr("OAuth2_Interactive")}
		must(t, s.CreateTrust(ctx, tr), "CreateTrust")
		after := time.Now()
		got := getTrust(t, s, a, "p1")
		if got.CreatedAt == nil {
			t.Fatal("created_at not set by CreateTrust")
		}
		within(t, *got.CreatedAt, before, after, "created_at default")
		if got.LastAccessed == nil || !got.LastAccessed.Equal(*got.CreatedAt) {
			t.Fatalf("last_accessed = %v, want created_at %v", got.LastAccessed, got.CreatedAt)
		}
		eq(t, strp(got.EstablishedVia), "OAuth2_Interactive", "established_via stored as given")
		eq(t, strp(got.LastConnectedVia), "oauth", "last_connected_via = canonical(established_via)")
		eq(t, got.Approved || got.PeerApproved || got.Verified, false, "booleans default false")

		// Without established_via there is no connection method.
		tr2 := actingweb.Trust{ID: a, PeerID: "p2", Secret: "s2-" + a}
		must(t, s.CreateTrust(ctx, tr2), "CreateTrust minimal")
		got = getTrust(t, s, a, "p2")
		if got.LastConnectedVia != nil && *got.LastConnectedVia != "" {
			t.Fatalf("last_connected_via without established_via = %q, want none", *got.LastConnectedVia)
		}
		if got.EstablishedVia != nil && *got.EstablishedVia != "" {
			t.Fatalf("established_via = %q, want none", *got.EstablishedVia)
		}
	})

	t.Run("CreateCanonicalisesLastConnectedVia", func(t *testing.T) {
		// Reading: §6.5 create stores canonical(last_connected_via) when given, else
		// canonical(established_via); store.go only states the default.
		cases := []struct{ name, in, established, want string }{
			{"oauth-prefix", "OAuth2_Interactive", "trust", "oauth"},
			{"upper-mcp", " MCP ", "trust", "mcp"},
			{"subscription", "Subscription", "trust", "subscription"},
			{"unknown-kept-verbatim", "Custom-Method", "trust", "Custom-Method"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				ctx := ctxOf(t)
				a := newID(t)
				createActor(t, s, a, "tr@example.com")
				tr := actingweb.Trust{ID: a, PeerID: "peer", Secret: "s-" + a, EstablishedVia: ptr(c.established), LastConnectedVia: ptr(c.in)}
				must(t, s.CreateTrust(ctx, tr), "CreateTrust")
				got := getTrust(t, s, a, "peer")
				eq(t, strp(got.LastConnectedVia), c.want, "last_connected_via")
			})
		}
	})

	t.Run("RecreateKeepsCreatedAt", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "tr@example.com")
		first := fullTrust(a, "peer", "s1-"+a)
		must(t, s.CreateTrust(ctx, first), "CreateTrust")
		second := fullTrust(a, "peer", "s2-"+a)
		second.CreatedAt = ptr(microTime(48 * time.Hour))
		second.Relationship = "admin"
		second.Desc = ptr("second")
		must(t, s.CreateTrust(ctx, second), "CreateTrust again (upsert)")
		got := getTrust(t, s, a, "peer")
		want := second
		want.CreatedAt = first.CreatedAt
		sameRecord(t, &got, &want, "trust after re-create (created_at of the first kept, rest replaced)")
		ok, err := s.IsTokenInDB(ctx, a, "s1-"+a)
		mustBool(t, ok, err, false, "old secret after re-create")
	})

	t.Run("CreateInvalid", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "tr@example.com")
		wantErr(t, s.CreateTrust(ctx, actingweb.Trust{ID: "", PeerID: "p", Secret: "s"}), actingweb.ErrInvalid, "CreateTrust empty id")
		wantErr(t, s.CreateTrust(ctx, actingweb.Trust{ID: a, PeerID: "", Secret: "s"}), actingweb.ErrInvalid, "CreateTrust empty peer id")
		wantErr(t, s.CreateTrust(ctx, actingweb.Trust{ID: a, PeerID: "p", Secret: ""}), actingweb.ErrInvalid, "CreateTrust empty secret")
		list, err := s.ListTrusts(ctx, a)
		must(t, err, "ListTrusts")
		eq(t, len(list), 0, "trusts after refused creates")
	})

	t.Run("GetMissing", func(t *testing.T) {
		ctx := ctxOf(t)
		_, err := s.GetTrust(ctx, newID(t), "nope")
		wantErr(t, err, actingweb.ErrNotFound, "GetTrust missing")
		_, err = s.GetTrustBySecret(ctx, newID(t), "nope")
		wantErr(t, err, actingweb.ErrNotFound, "GetTrustBySecret missing")
	})

	t.Run("DescAbsentVsEmpty", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "tr@example.com")
		for peer, desc := range map[string]*string{"nil": nil, "empty": ptr(""), "text": ptr("d " + uniRTL)} {
			tr := actingweb.Trust{ID: a, PeerID: peer, Secret: "s-" + peer + a, Desc: desc, VerificationToken: desc}
			must(t, s.CreateTrust(ctx, tr), "CreateTrust desc "+peer)
			got := getTrust(t, s, a, peer)
			// nil and "" are the same value (DynamoDB requires the attribute, §5.3).
			eq(t, strp(actingweb.Canonical(&got).(*actingweb.Trust).Desc), strp(actingweb.Canonical(&tr).(*actingweb.Trust).Desc), "desc "+peer)
			if desc != nil && *desc != "" {
				eq(t, strp(got.Desc), *desc, "desc text")
				eq(t, strp(got.VerificationToken), *desc, "verification_token text")
			}
		}
	})

	t.Run("BySecretAndIsTokenInDB", func(t *testing.T) {
		ctx := ctxOf(t)
		a, b := newID(t), newID(t)
		createActor(t, s, a, "a@example.com")
		createActor(t, s, b, "b@example.com")
		s1, s2, s3 := "s1-"+a, "s2-"+a, "s3-"+b
		must(t, s.CreateTrust(ctx, fullTrust(a, "peer1", s1)), "CreateTrust 1")
		must(t, s.CreateTrust(ctx, fullTrust(a, "peer2", s2)), "CreateTrust 2")
		must(t, s.CreateTrust(ctx, fullTrust(b, "peer3", s3)), "CreateTrust 3")
		got, err := s.GetTrustBySecret(ctx, a, s2)
		must(t, err, "GetTrustBySecret")
		eq(t, got.PeerID, "peer2", "trust by secret")
		eq(t, got.ID, a, "trust by secret owner")
		_, err = s.GetTrustBySecret(ctx, a, s3)
		wantErr(t, err, actingweb.ErrNotFound, "GetTrustBySecret of another actor's secret")
		for _, c := range []struct {
			actor, token string
			want         bool
		}{{a, s1, true}, {a, s2, true}, {a, s3, false}, {b, s3, true}, {b, s1, false}, {a, "unknown", false}} {
			ok, err := s.IsTokenInDB(ctx, c.actor, c.token)
			mustBool(t, ok, err, c.want, "IsTokenInDB")
		}
	})

	t.Run("ModifyTrust", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "tr@example.com")
		orig := fullTrust(a, "peer", "orig-"+a)
		must(t, s.CreateTrust(ctx, orig), "CreateTrust")
		want := orig

		step := func(what string, u actingweb.TrustUpdate, apply func(*actingweb.Trust)) {
			t.Helper()
			must(t, s.ModifyTrust(ctx, a, "peer", u), "ModifyTrust "+what)
			apply(&want)
			got := getTrust(t, s, a, "peer")
			sameRecord(t, &got, &want, "trust after "+what)
		}
		step("approved only", actingweb.TrustUpdate{PeerApproved: ptr(true)}, func(w *actingweb.Trust) { w.PeerApproved = true })
		step("booleans false", actingweb.TrustUpdate{Approved: ptr(false), Verified: ptr(false)}, func(w *actingweb.Trust) { w.Approved, w.Verified = false, false })
		step("empty strings ignored for baseuri/secret/desc/verification_token",
			actingweb.TrustUpdate{BaseURI: ptr(""), Secret: ptr(""), Desc: ptr(""), VerificationToken: ptr("")}, func(*actingweb.Trust) {})
		step("baseuri and desc", actingweb.TrustUpdate{BaseURI: ptr("https://new.example.com/x"), Desc: ptr("new desc " + uniCombining)},
			func(w *actingweb.Trust) {
				w.BaseURI, w.Desc = "https://new.example.com/x", ptr("new desc "+uniCombining)
			})
		step("secret", actingweb.TrustUpdate{Secret: ptr("new-" + a)}, func(w *actingweb.Trust) { w.Secret = "new-" + a })
		step("client fields", actingweb.TrustUpdate{ClientName: ptr("Other"), ClientVersion: ptr("9"), AWVersion: ptr("1.1"), PeerIdentifier: ptr("pid")},
			func(w *actingweb.Trust) {
				w.ClientName, w.ClientVersion, w.AWVersion, w.PeerIdentifier = ptr("Other"), ptr("9"), ptr("1.1"), ptr("pid")
			})
		la, cf, ca := microTime(72*time.Hour), microTime(73*time.Hour), microTime(-time.Hour)
		step("timestamps", actingweb.TrustUpdate{LastAccessed: &la, CapabilitiesFetchedAt: &cf, CreatedAt: &ca},
			func(w *actingweb.Trust) { w.LastAccessed, w.CapabilitiesFetchedAt, w.CreatedAt = &la, &cf, &ca })
		step("established_via and oauth client", actingweb.TrustUpdate{EstablishedVia: ptr("oauth2_client"), OAuthClientID: ptr("cid"), ClientPlatform: ptr("linux")},
			func(w *actingweb.Trust) {
				w.EstablishedVia, w.OAuthClientID, w.ClientPlatform = ptr("oauth2_client"), ptr("cid"), ptr("linux")
			})
		// Reading: other optional strings are applied even when empty (§6.5: "every other field when not
		// null (empty strings are written)"); the stored "" may read back as "" or absent.
		must(t, s.ModifyTrust(ctx, a, "peer", actingweb.TrustUpdate{ClientName: ptr(""), AWSupported: ptr("")}), "ModifyTrust empty optional strings")
		got := getTrust(t, s, a, "peer")
		if strp(got.ClientName) != "<nil>" && strp(got.ClientName) != "" {
			t.Fatalf("client_name after ModifyTrust with \"\" = %q, want empty or absent", *got.ClientName)
		}
		if strp(got.AWSupported) != "<nil>" && strp(got.AWSupported) != "" {
			t.Fatalf("aw_supported after ModifyTrust with \"\" = %q, want empty or absent", *got.AWSupported)
		}
		want.ClientName, want.AWSupported = got.ClientName, got.AWSupported
		sameRecord(t, &got, &want, "trust after clearing optional strings")
		for _, c := range []struct{ in, want string }{
			{"OAuth2_Interactive", "oauth"}, {" MCP ", "mcp"}, {"trust", "trust"}, {"Custom-Method", "Custom-Method"},
		} {
			step("last_connected_via "+c.in, actingweb.TrustUpdate{LastConnectedVia: ptr(c.in)}, func(w *actingweb.Trust) { w.LastConnectedVia = ptr(c.want) })
		}
		ok, err := s.IsTokenInDB(ctx, a, "orig-"+a)
		mustBool(t, ok, err, false, "IsTokenInDB old secret after modify")
		got, err = s.GetTrustBySecret(ctx, a, "new-"+a)
		must(t, err, "GetTrustBySecret new secret")
		eq(t, got.PeerID, "peer", "trust by new secret")

		wantErr(t, s.ModifyTrust(ctx, a, "missing", actingweb.TrustUpdate{Approved: ptr(true)}), actingweb.ErrNotFound, "ModifyTrust of a missing trust")
	})

	t.Run("DeleteTrust", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "tr@example.com")
		must(t, s.CreateTrust(ctx, fullTrust(a, "p1", "s1"+a)), "CreateTrust")
		must(t, s.CreateTrust(ctx, fullTrust(a, "p2", "s2"+a)), "CreateTrust")
		must(t, s.DeleteTrust(ctx, a, "p1"), "DeleteTrust")
		_, err := s.GetTrust(ctx, a, "p1")
		wantErr(t, err, actingweb.ErrNotFound, "GetTrust after DeleteTrust")
		ok, err := s.IsTokenInDB(ctx, a, "s1"+a)
		mustBool(t, ok, err, false, "IsTokenInDB after DeleteTrust")
		getTrust(t, s, a, "p2")
		must(t, s.DeleteTrust(ctx, a, "p1"), "DeleteTrust again (idempotent)")
	})

	t.Run("ListAndDeleteAll", func(t *testing.T) {
		ctx := ctxOf(t)
		a, b := newID(t), newID(t)
		createActor(t, s, a, "a@example.com")
		createActor(t, s, b, "b@example.com")
		empty, err := s.ListTrusts(ctx, a)
		wantEmptySlice(t, empty, err, "ListTrusts empty", "ListTrusts(no trusts)")
		peers := []string{"b", "\u00e9", "a", "B", "a:b", "a-b"}
		for i, p := range peers {
			must(t, s.CreateTrust(ctx, fullTrust(a, p, "s"+string(rune('0'+i))+a)), "CreateTrust "+p)
		}
		must(t, s.CreateTrust(ctx, fullTrust(b, "zz", "sb"+b)), "CreateTrust b")
		list, err := s.ListTrusts(ctx, a)
		must(t, err, "ListTrusts")
		var got []string
		for _, tr := range list {
			got = append(got, tr.PeerID)
			eq(t, tr.ID, a, "listed trust owner")
		}
		deepEq(t, got, []string{"B", "a", "a-b", "a:b", "b", "\u00e9"}, "ListTrusts peer ids (byte order)")
		want := fullTrust(a, "a", "s2"+a)
		sameRecord(t, &list[1], &want, "listed trust")

		must(t, s.DeleteAllTrusts(ctx, a), "DeleteAllTrusts")
		list, err = s.ListTrusts(ctx, a)
		must(t, err, "ListTrusts after DeleteAllTrusts")
		eq(t, len(list), 0, "trusts left")
		ok, err := s.IsTokenInDB(ctx, a, "s0"+a)
		mustBool(t, ok, err, false, "IsTokenInDB after DeleteAllTrusts")
		getTrust(t, s, b, "zz")
	})
}
