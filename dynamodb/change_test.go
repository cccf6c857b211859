package dynamodb

import (
	"context"
	"errors"
	"strings"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
)

// disableTTL turns TTL off on the attributes table: DynamoDB Local sweeps expired rows once
// it is on, and the fixture's TTLs are in the past.
func disableTTL(t *testing.T, s *Store) {
	t.Helper()
	if _, err := s.DisableTTL(context.Background()); err != nil {
		t.Fatalf("disable TTL: %v", err)
	}
}

// requireSame fails unless GetRecord of want's key returns a record equal to want.
func requireSame(t *testing.T, s *Store, want actingweb.Record) {
	t.Helper()
	got, err := s.GetRecord(context.Background(), want)
	if err != nil {
		t.Fatalf("GetRecord %s %s: %v", want.Table(), actingweb.KeyString(want.Key()), err)
	}
	if d := actingweb.CompareRecords(want, got); len(d) > 0 {
		t.Fatalf("GetRecord %s %s differs: %+v", want.Table(), actingweb.KeyString(want.Key()), d)
	}
}

// TestApplyChangesGetRecord applies the upstream fixture (every table, mixed in one call) as
// upserts, reads every record back with GetRecord, deletes half of them by key, and checks
// rejects, repeated keys and lookup keys given by name and value.
func TestApplyChangesGetRecord(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, true)
	disableTTL(t, s)
	ctx := context.Background()
	var all []actingweb.Record
	for _, table := range actingweb.Tables {
		all = append(all, fixtureRecords(t, table)...)
	}
	// interleave the tables: records of several tables in one run
	mixed := make([]actingweb.Record, 0, len(all))
	for i := 0; i < len(all); i += 2 {
		mixed = append(mixed, all[i])
	}
	for i := 1; i < len(all); i += 2 {
		mixed = append(mixed, all[i])
	}
	if err := s.ApplyChanges(ctx, mixed, nil); err != nil {
		t.Fatalf("ApplyChanges: %v", err)
	}
	for _, r := range all {
		requireSame(t, s, r)
	}
	var deletes, kept []actingweb.Record
	for i, r := range all {
		if i%2 == 0 {
			deletes = append(deletes, keyOnly(t, r))
		} else {
			kept = append(kept, r)
		}
	}
	deletes = append(deletes, &actingweb.Actor{ID: "never-existed"})
	if err := s.ApplyChanges(ctx, nil, deletes); err != nil {
		t.Fatalf("ApplyChanges deletes: %v", err)
	}
	for _, r := range deletes {
		if _, err := s.GetRecord(ctx, r); !errors.Is(err, actingweb.ErrNotFound) {
			t.Fatalf("GetRecord of deleted %s %s: %v, want ErrNotFound", r.Table(), actingweb.KeyString(r.Key()), err)
		}
	}
	for _, r := range kept {
		requireSame(t, s, r)
	}

	// A record DynamoDB cannot store fails the whole run, naming table and key.
	good := &actingweb.Actor{ID: "good-actor", Creator: "c", Passphrase: "p"}
	bad := &actingweb.Actor{ID: "bad-actor", Creator: "", Passphrase: "p"}
	err := s.ApplyChanges(ctx, []actingweb.Record{good, bad}, nil)
	if !errors.Is(err, actingweb.ErrInvalid) || !strings.Contains(err.Error(), s.TableName(actingweb.TableActors)) ||
		!strings.Contains(err.Error(), "bad-actor") {
		t.Fatalf("reject: %v, want ErrInvalid naming %s and bad-actor", err, s.TableName(actingweb.TableActors))
	}
	if _, err := s.GetRecord(ctx, good); !errors.Is(err, actingweb.ErrNotFound) {
		t.Fatalf("a run with a reject wrote a record: %v", err)
	}
	// A key given twice is refused.
	err = s.ApplyChanges(ctx, []actingweb.Record{good}, []actingweb.Record{&actingweb.Actor{ID: "good-actor"}})
	if !errors.Is(err, actingweb.ErrConflict) {
		t.Fatalf("key twice: %v, want ErrConflict", err)
	}
	// An empty key in a delete is refused, not sent.
	err = s.ApplyChanges(ctx, nil, []actingweb.Record{&actingweb.Property{ID: "a", Name: ""}})
	if !errors.Is(err, actingweb.ErrInvalid) || !strings.Contains(err.Error(), s.TableName(actingweb.TableProperties)) {
		t.Fatalf("empty key: %v, want ErrInvalid naming the table", err)
	}
	// Lookup records: keyed by LookupKey, or by the digest of name and value.
	l := actingweb.NewPropertyLookup("email", "x@example.com", "owner1")
	if err := s.ApplyChanges(ctx, []actingweb.Record{&l}, nil); err != nil {
		t.Fatal(err)
	}
	v := "x@example.com"
	got, err := s.GetRecord(ctx, &actingweb.PropertyLookup{PropertyName: "email", Value: &v})
	if err != nil {
		t.Fatal(err)
	}
	if g := got.(*actingweb.PropertyLookup); g.LookupKey != l.LookupKey || g.ActorID != "owner1" || g.Value != nil {
		t.Fatalf("lookup read back as %+v", g)
	}
	if id, err := s.GetPropertyLookup(ctx, "email", v); err != nil || id != "owner1" {
		t.Fatalf("GetPropertyLookup after ApplyChanges: %q %v", id, err)
	}
	if err := s.ApplyChanges(ctx, nil, []actingweb.Record{&actingweb.PropertyLookup{LookupKey: l.LookupKey}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetPropertyLookup(ctx, "email", v); !errors.Is(err, actingweb.ErrNotFound) {
		t.Fatalf("lookup after delete: %v", err)
	}
}

// keyOnly returns a record of r's table carrying only r's key fields.
func keyOnly(t *testing.T, r actingweb.Record) actingweb.Record {
	t.Helper()
	switch r := r.(type) {
	case *actingweb.Actor:
		return &actingweb.Actor{ID: r.ID}
	case *actingweb.Property:
		return &actingweb.Property{ID: r.ID, Name: r.Name}
	case *actingweb.PropertyLookup:
		return &actingweb.PropertyLookup{LookupKey: r.LookupKey}
	case *actingweb.Attribute:
		return &actingweb.Attribute{ID: r.ID, BucketName: r.BucketName}
	case *actingweb.Trust:
		return &actingweb.Trust{ID: r.ID, PeerID: r.PeerID}
	case *actingweb.PeerTrustee:
		return &actingweb.PeerTrustee{ID: r.ID, PeerID: r.PeerID}
	case *actingweb.Subscription:
		return &actingweb.Subscription{ID: r.ID, PeerSubID: r.PeerSubID}
	case *actingweb.SubscriptionDiff:
		return &actingweb.SubscriptionDiff{ID: r.ID, SubIDSeqnr: r.SubIDSeqnr}
	case *actingweb.SubscriptionSuspension:
		return &actingweb.SubscriptionSuspension{ID: r.ID, Target: r.Target, Subtarget: r.Subtarget}
	}
	t.Fatalf("keyOnly: %T", r)
	return nil
}
