package storetest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

func testSuspensions(t *testing.T, open Opener) {
	s := open(t)

	t.Run("SuspendResumeReturnValues", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "su@example.com")
		ok, err := s.Suspend(ctx, a, "properties", "")
		mustBool(t, ok, err, true, "Suspend new")
		ok, err = s.Suspend(ctx, a, "properties", "")
		mustBool(t, ok, err, false, "Suspend existing")
		ok, err = s.Resume(ctx, a, "properties", "")
		mustBool(t, ok, err, true, "Resume existing")
		ok, err = s.Resume(ctx, a, "properties", "")
		mustBool(t, ok, err, false, "Resume missing")
		ok, err = s.IsSuspended(ctx, a, "properties", "")
		mustBool(t, ok, err, false, "IsSuspended after resume")
	})

	t.Run("TargetCoversSubtargets", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "su@example.com")
		ok, err := s.Suspend(ctx, a, "properties", "")
		mustBool(t, ok, err, true, "Suspend target")
		for _, c := range []struct {
			target, sub string
			want        bool
		}{
			{"properties", "", true}, {"properties", "email", true}, {"properties", "anything", true},
			{"trust", "", false}, {"trust", "properties", false}, {"prop", "", false}, {"prop", "erties", false},
		} {
			ok, err := s.IsSuspended(ctx, a, c.target, c.sub)
			mustBool(t, ok, err, c.want, "IsSuspended("+c.target+", "+c.sub+")")
		}
		ok, err = s.IsSuspended(ctx, newID(t), "properties", "")
		mustBool(t, ok, err, false, "IsSuspended of another actor")
	})

	t.Run("SubtargetOnly", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "su@example.com")
		ok, err := s.Suspend(ctx, a, "properties", "email")
		mustBool(t, ok, err, true, "Suspend subtarget")
		ok, err = s.Suspend(ctx, a, "properties", "email")
		mustBool(t, ok, err, false, "Suspend subtarget again")
		for _, c := range []struct {
			target, sub string
			want        bool
		}{
			{"properties", "", false}, {"properties", "email", true}, {"properties", "emai", false},
			{"properties", "email2", false}, {"properties", "phone", false},
		} {
			ok, err := s.IsSuspended(ctx, a, c.target, c.sub)
			mustBool(t, ok, err, c.want, "IsSuspended("+c.target+", "+c.sub+")")
		}
	})

	t.Run("ResumingTargetKeepsSubtarget", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "su@example.com")
		for _, sub := range []string{"", "email"} {
			ok, err := s.Suspend(ctx, a, "properties", sub)
			mustBool(t, ok, err, true, "Suspend "+sub)
		}
		ok, err := s.Resume(ctx, a, "properties", "")
		mustBool(t, ok, err, true, "Resume target")
		for _, c := range []struct {
			sub  string
			want bool
		}{{"", false}, {"email", true}, {"phone", false}} {
			ok, err := s.IsSuspended(ctx, a, "properties", c.sub)
			mustBool(t, ok, err, c.want, "IsSuspended(properties, "+c.sub+") after resuming the target")
		}
		ok, err = s.Resume(ctx, a, "properties", "email")
		mustBool(t, ok, err, true, "Resume subtarget")
		ok, err = s.IsSuspended(ctx, a, "properties", "email")
		mustBool(t, ok, err, false, "IsSuspended after resuming the subtarget")
	})

	t.Run("ListAndDeleteAll", func(t *testing.T) {
		ctx := ctxOf(t)
		a, b := newID(t), newID(t)
		createActor(t, s, a, "su@example.com")
		createActor(t, s, b, "su2@example.com")
		empty, err := s.ListSuspensions(ctx, a)
		wantEmptySlice(t, empty, err, "ListSuspensions empty", "ListSuspensions(none)")
		before := time.Now()
		keys := [][2]string{{"trust", ""}, {"properties", "email"}, {"properties", ""}, {"properties", "a" + uniEmoji}, {"meta", "x"}}
		for _, k := range keys {
			ok, err := s.Suspend(ctx, a, k[0], k[1])
			mustBool(t, ok, err, true, "Suspend "+k[0]+"/"+k[1])
		}
		after := time.Now()
		ok, err := s.Suspend(ctx, b, "properties", "")
		mustBool(t, ok, err, true, "Suspend other actor")
		list, err := s.ListSuspensions(ctx, a)
		must(t, err, "ListSuspensions")
		var got [][2]string
		for _, x := range list {
			got = append(got, [2]string{x.Target, x.Subtarget})
			eq(t, x.ID, a, "suspension owner")
			within(t, x.SuspendedAt, before, after, "suspended_at")
		}
		want := [][2]string{{"meta", "x"}, {"properties", ""}, {"properties", "a" + uniEmoji}, {"properties", "email"}, {"trust", ""}}
		deepEq(t, got, want, "ListSuspensions (target, subtarget order; whole target has subtarget \"\")")
		must(t, s.DeleteAllSuspensions(ctx, a), "DeleteAllSuspensions")
		list, err = s.ListSuspensions(ctx, a)
		must(t, err, "ListSuspensions after DeleteAll")
		eq(t, len(list), 0, "suspensions left")
		ok, err = s.IsSuspended(ctx, b, "properties", "")
		mustBool(t, ok, err, true, "other actor's suspension after DeleteAllSuspensions")
	})
}

// actorSnapshot is everything the application face shows of one owner.
type actorSnapshot struct {
	Actor       *actingweb.Actor
	Properties  map[string]string
	Trusts      []actingweb.Trust
	Peers       []actingweb.PeerTrustee
	Subs        []actingweb.Subscription
	Diffs       []actingweb.SubscriptionDiff
	Attributes  map[string]map[string]actingweb.Attribute
	Suspensions []actingweb.SubscriptionSuspension
}

func snapshot(t *testing.T, s bulk.Backend, id string) actorSnapshot {
	t.Helper()
	ctx := ctxOf(t)
	var sn actorSnapshot
	if a, err := s.GetActor(ctx, id); err == nil {
		sn.Actor = &a
	} else if !errors.Is(err, actingweb.ErrNotFound) {
		t.Fatalf("GetActor %s: %v", id, err)
	}
	var err error
	sn.Properties, err = s.ListAllProperties(ctx, id)
	must(t, err, "ListAllProperties")
	sn.Trusts, err = s.ListTrusts(ctx, id)
	must(t, err, "ListTrusts")
	sn.Peers, err = s.ListPeerTrustees(ctx, id)
	must(t, err, "ListPeerTrustees")
	sn.Subs, err = s.ListSubscriptions(ctx, id)
	must(t, err, "ListSubscriptions")
	sn.Diffs, err = s.ListDiffs(ctx, id, "")
	must(t, err, "ListDiffs")
	sn.Attributes, err = s.ListAttributes(ctx, id)
	must(t, err, "ListAttributes")
	sn.Suspensions, err = s.ListSuspensions(ctx, id)
	must(t, err, "ListSuspensions")
	return sn
}

func populateActor(t *testing.T, s bulk.Backend, id string) {
	t.Helper()
	ctx := ctxOf(t)
	createActor(t, s, id, "Owner."+id+"@Example.com")
	must(t, s.SetProperty(ctx, id, "email", "mail."+id+"@example.com"), "SetProperty email")
	must(t, s.SetProperty(ctx, id, "oauthId", "oauth-"+id), "SetProperty oauthId")
	must(t, s.SetProperty(ctx, id, "description", "desc "+uniMixed), "SetProperty description")
	must(t, s.SetProperty(ctx, id, "list:notes-meta", `{"format": 2}`), "SetProperty list meta")
	must(t, s.SetProperty(ctx, id, "list:notes-#V", "item"), "SetProperty list item")
	setAttr(t, s, id, "_internal", "oauth_tokens:peer", `{"tok": "x"}`, ptr(microTime(0)), 0)
	setAttr(t, s, id, "_trust_permissions", "peer1", `{"p": [1]}`, nil, time.Hour)
	must(t, s.CreateTrust(ctx, fullTrust(id, "peer1", "sec1-"+id)), "CreateTrust 1")
	must(t, s.CreateTrust(ctx, fullTrust(id, "peer2", "sec2-"+id)), "CreateTrust 2")
	must(t, s.CreatePeerTrustee(ctx, actingweb.PeerTrustee{ID: id, PeerID: "trustee", BaseURI: "https://t", Type: "t", Passphrase: "pp"}), "CreatePeerTrustee")
	must(t, s.CreateSubscription(ctx, sub(id, "peer1", "s1")), "CreateSubscription 1")
	must(t, s.CreateSubscription(ctx, sub(id, "peer2", "s2")), "CreateSubscription 2")
	for i := 0; i < 3; i++ {
		_, err := s.AddDiff(ctx, id, "peer1", "s1", `{"n": 1}`)
		must(t, err, "AddDiff")
	}
	_, err := s.AddDiff(ctx, id, "peer2", "s2", `{"n": 2}`)
	must(t, err, "AddDiff")
	for _, k := range [][2]string{{"properties", ""}, {"properties", "email"}, {"trust", "x"}} {
		ok, err := s.Suspend(ctx, id, k[0], k[1])
		mustBool(t, ok, err, true, "Suspend")
	}
}

func countAll(t *testing.T, s bulk.Backend) map[actingweb.Table]int64 {
	t.Helper()
	out := map[actingweb.Table]int64{}
	for _, tb := range actingweb.Tables {
		n, err := s.Count(ctxOf(t), tb)
		must(t, err, "Count "+string(tb))
		out[tb] = n
	}
	return out
}

func testCascade(t *testing.T, open Opener) {
	t.Run("DeleteActorCascade", func(t *testing.T) {
		s := open(t)
		ctx := ctxOf(t)
		a, b := newID(t), newID(t)
		populateActor(t, s, a)
		populateActor(t, s, b)
		// A reserved owner holds a row that names a (it must survive).
		setAttr(t, s, "_actingweb_oauth2", "_client_index", "c1", `{"actor_id": "`+a+`"}`, nil, 0)
		snapB := snapshot(t, s, b)
		before := countAll(t, s)
		perActor := map[actingweb.Table]int64{
			actingweb.TableActors: 1, actingweb.TableProperties: 5, actingweb.TablePropertyLookup: 2,
			actingweb.TableAttributes: 2, actingweb.TableTrusts: 2, actingweb.TablePeerTrustees: 1,
			actingweb.TableSubscriptions: 2, actingweb.TableSubscriptionDiffs: 4, actingweb.TableSubscriptionSuspensions: 3,
		}
		for tb, n := range perActor {
			want := 2 * n
			if tb == actingweb.TableAttributes {
				want++ // the reserved owner's row
			}
			eq(t, before[tb], want, "rows in "+string(tb)+" before the cascade")
		}

		now := time.Now().UTC().Truncate(time.Microsecond)
		must(t, actingweb.DeleteActorCascade(ctx, s, a, now), "DeleteActorCascade")

		after := countAll(t, s)
		for tb, n := range perActor {
			want := before[tb] - n
			if tb == actingweb.TableAttributes {
				want++ // the tombstone
			}
			eq(t, after[tb], want, "rows in "+string(tb)+" after the cascade")
		}
		snapA := snapshot(t, s, a)
		if snapA.Actor != nil {
			t.Fatal("actor row survived the cascade")
		}
		for what, n := range map[string]int{
			"properties": len(snapA.Properties), "trusts": len(snapA.Trusts), "peer trustees": len(snapA.Peers),
			"subscriptions": len(snapA.Subs), "diffs": len(snapA.Diffs), "attribute buckets": len(snapA.Attributes),
			"suspensions": len(snapA.Suspensions),
		} {
			eq(t, n, 0, what+" left after the cascade")
		}
		lookupOwner(t, s, "email", "mail."+a+"@example.com", "", "a's email lookup row after the cascade")
		lookupOwner(t, s, "oauthId", "oauth-"+a, "", "a's oauthId lookup row after the cascade")
		ok, err := s.IsSuspended(ctx, a, "properties", "")
		mustBool(t, ok, err, false, "IsSuspended after the cascade")

		// Other actor and reserved owner untouched.
		deepEq(t, snapshot(t, s, b), snapB, "other actor after the cascade")
		lookupOwner(t, s, "email", "mail."+b+"@example.com", b, "b's lookup row")
		getAttr(t, s, "_actingweb_oauth2", "_client_index", "c1")

		// The tombstone (§6.12 step 1).
		tomb := getAttr(t, s, actingweb.ReservedOwnerPrefix+"deleted", "_deleted_actors", a)
		var payload struct {
			ActorID string `json:"actor_id"`
		}
		if err := json.Unmarshal(tomb.Data, &payload); err != nil {
			t.Fatalf("tombstone payload %s: %v", tomb.Data, err)
		}
		eq(t, payload.ActorID, a, "tombstone actor_id")
		if tomb.Timestamp == nil || !tomb.Timestamp.Equal(now) {
			t.Fatalf("tombstone timestamp = %v, want %v", tomb.Timestamp, now)
		}
		wantTTL := now.Unix() + 30*24*3600 + actingweb.TTLClockSkewBuffer
		if tomb.TTLTimestamp == nil || *tomb.TTLTimestamp < wantTTL-5 || *tomb.TTLTimestamp > wantTTL+5 {
			t.Fatalf("tombstone ttl_timestamp = %v, want about %d (now + 30 days + %d)", tomb.TTLTimestamp, wantTTL, actingweb.TTLClockSkewBuffer)
		}

		// Deleting an actor that no longer exists succeeds and only refreshes the tombstone.
		must(t, actingweb.DeleteActorCascade(ctx, s, a, now), "DeleteActorCascade again")
		eq(t, countAll(t, s)[actingweb.TableAttributes], after[actingweb.TableAttributes], "attributes after repeating the cascade")
	})
}
