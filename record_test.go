package actingweb

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDrift(t *testing.T) {
	cases := []struct {
		name  string
		r     Record
		drift bool
	}{
		{"attribute-agrees", &Attribute{BucketName: "_internal:oauth_tokens:peer", Bucket: "_internal", Name: "oauth_tokens:peer"}, false},
		{"attribute-name-with-colons", &Attribute{BucketName: "notes:list:x:3", Bucket: "notes", Name: "list:x:3"}, false},
		{"attribute-drift", &Attribute{BucketName: "a:b", Bucket: "a:b", Name: ""}, true},
		{"attribute-split-elsewhere", &Attribute{BucketName: "a:b:c", Bucket: "a:b", Name: "d"}, true},
		{"subscription-agrees", &Subscription{PeerSubID: "p:s", PeerID: "p", SubID: "s"}, false},
		{"subscription-other-split-same-text", &Subscription{PeerSubID: "p:x:y", PeerID: "p:x", SubID: "y"}, false},
		{"subscription-drift", &Subscription{PeerSubID: "old:s", PeerID: "new", SubID: "s"}, true},
		{"diff-agrees", &SubscriptionDiff{SubIDSeqnr: "s:10", SubID: "s", Seqnr: 10}, false},
		{"diff-drift-leading-zero", &SubscriptionDiff{SubIDSeqnr: "s:010", SubID: "s", Seqnr: 10}, true},
		{"diff-drift-seqnr", &SubscriptionDiff{SubIDSeqnr: "s:1", SubID: "s", Seqnr: 2}, true},
		{"actor-never", &Actor{ID: "x"}, false},
		{"suspension-never", &SubscriptionSuspension{ID: "x", Target: "a:b"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Drift(c.r)
			if (d != "") != c.drift {
				t.Fatalf("Drift = %q, want drift %v", d, c.drift)
			}
		})
	}
}

func TestParseTable(t *testing.T) {
	ok := map[string]Table{
		"actors": TableActors, "properties": TableProperties, "property_lookup": TablePropertyLookup,
		"property_lookup_v2": TablePropertyLookup, "attributes": TableAttributes, "trusts": TableTrusts,
		"peertrustees": TablePeerTrustees, "subscriptions": TableSubscriptions,
		"subscription_diffs": TableSubscriptionDiffs, "subscriptiondiffs": TableSubscriptionDiffs,
		"subscription_suspensions": TableSubscriptionSuspensions,
	}
	for in, want := range ok {
		got, err := ParseTable(in)
		if err != nil || got != want {
			t.Errorf("ParseTable(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "Actors", "actor", "demo_actingweb_actors", "property_lookup_v1", " actors", "alembic_version"} {
		got, err := ParseTable(in)
		if !errors.Is(err, ErrUnknownTable) {
			t.Errorf("ParseTable(%q) = %q, %v; want ErrUnknownTable", in, got, err)
		} else if !strings.Contains(err.Error(), "subscription_suspensions") {
			t.Errorf("ParseTable error %q does not list the known tables", err)
		}
	}
}

func TestTableNames(t *testing.T) {
	if len(Tables) != 9 || len(DataTables) != 8 {
		t.Fatalf("Tables %d, DataTables %d", len(Tables), len(DataTables))
	}
	for _, tb := range DataTables {
		if tb == TablePropertyLookup {
			t.Fatal("DataTables contains the lookup table")
		}
	}
	if Tables[0] != TableActors {
		t.Fatal("actors must be written first")
	}
	want := map[Table]string{
		TableActors: "p_actors", TableSubscriptionDiffs: "p_subscriptiondiffs", TablePropertyLookup: "p_property_lookup_v2",
		TableSubscriptionSuspensions: "p_subscription_suspensions",
	}
	for tb, w := range want {
		if got := tb.DynamoDBName("p"); got != w {
			t.Errorf("%s.DynamoDBName(p) = %q, want %q", tb, got, w)
		}
	}
	if got := TableTrusts.DynamoDBName("p_"); got != "p__trusts" {
		t.Errorf("prefix ending in _ = %q, want p__trusts", got)
	}
}

func TestRecordKeysAndOwners(t *testing.T) {
	ts := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		r          Record
		table      Table
		key, owner string
	}{
		{&Actor{ID: "a"}, TableActors, "a", "a"},
		{&Property{ID: "a", Name: "n:x"}, TableProperties, "a\x1fn:x", "a"},
		{&PropertyLookup{LookupKey: "k", ActorID: "a"}, TablePropertyLookup, "k", "a"},
		{&Attribute{ID: "_actingweb_oauth2", BucketName: "b:n"}, TableAttributes, "_actingweb_oauth2\x1fb:n", "_actingweb_oauth2"},
		{&Trust{ID: "a", PeerID: "p"}, TableTrusts, "a\x1fp", "a"},
		{&PeerTrustee{ID: "a", PeerID: "p"}, TablePeerTrustees, "a\x1fp", "a"},
		{&Subscription{ID: "a", PeerSubID: "p:s", PeerID: "x", SubID: "y"}, TableSubscriptions, "a\x1fp:s", "a"},
		{&SubscriptionDiff{ID: "a", SubIDSeqnr: "s:1", Timestamp: ts}, TableSubscriptionDiffs, "a\x1fs:1", "a"},
		{&SubscriptionSuspension{ID: "a", Target: "t"}, TableSubscriptionSuspensions, "a\x1ft\x1f", "a"},
	}
	for _, c := range cases {
		if c.r.Table() != c.table || c.r.Key() != c.key || c.r.Owner() != c.owner {
			t.Errorf("%T: table %q key %q owner %q; want %q %q %q", c.r, c.r.Table(), c.r.Key(), c.r.Owner(), c.table, c.key, c.owner)
		}
		if n := NewRecord(c.table); n == nil || n.Table() != c.table {
			t.Errorf("NewRecord(%s) = %v", c.table, n)
		}
	}
	if NewRecord("nope") != nil {
		t.Error("NewRecord of an unknown table is not nil")
	}
	if got := KeyString("a\x1fb\x1fc"); got != "a / b / c" {
		t.Errorf("KeyString = %q", got)
	}
}

func TestTargetKeyAndExpired(t *testing.T) {
	if k := (SubscriptionSuspension{Target: "properties"}).TargetKey(); k != "properties" {
		t.Errorf("TargetKey whole target = %q", k)
	}
	if k := (SubscriptionSuspension{Target: "properties", Subtarget: "email"}).TargetKey(); k != "properties:email" {
		t.Errorf("TargetKey subtarget = %q", k)
	}
	now := time.Unix(1000, 500)
	for _, c := range []struct {
		ttl  *int64
		want bool
	}{{nil, false}, {ptrTo(int64(999)), true}, {ptrTo(int64(1000)), true}, {ptrTo(int64(1001)), false}} {
		if got := (Attribute{TTLTimestamp: c.ttl}).Expired(now); got != c.want {
			t.Errorf("Expired(ttl %v) = %v, want %v", c.ttl, got, c.want)
		}
	}
}

func TestReservedOwner(t *testing.T) {
	for id, want := range map[string]bool{"_actingweb_oauth2": true, "_actingweb_deleted": true, "_actingweb_": true, "actingweb_x": false, "_global_system": false, "": false} {
		if IsReservedOwner(id) != want {
			t.Errorf("IsReservedOwner(%q) != %v", id, want)
		}
	}
}

// TestDriftAllocates: Drift runs for every row a migration moves and must not allocate when
// the keys agree.
func TestDriftAllocates(t *testing.T) {
	a := &Attribute{ID: "x", BucketName: "b:n", Bucket: "b", Name: "n"}
	s := &Subscription{ID: "x", PeerSubID: "p:s", PeerID: "p", SubID: "s"}
	d := &SubscriptionDiff{ID: "x", SubIDSeqnr: "s:12", SubID: "s", Seqnr: 12}
	if n := testing.AllocsPerRun(100, func() { Drift(a); Drift(s); Drift(d) }); n != 0 {
		t.Fatalf("Drift allocates %v times per run", n)
	}
}
