package bulk

import (
	"strings"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
)

func TestConflictPolicyString(t *testing.T) {
	for p, want := range map[ConflictPolicy]string{ConflictFail: "fail", ConflictSkip: "skip", ConflictOverwrite: "overwrite"} {
		if p.String() != want {
			t.Errorf("%d.String() = %q, want %q", p, p.String(), want)
		}
	}
}

// TestRecordSize: every record type counts its strings and payload (a field forgotten in
// RecordSize would let batches of large rows grow unbounded).
func TestRecordSize(t *testing.T) {
	s := func(n int) string { return strings.Repeat("x", n) }
	p := func(n int) *string { v := s(n); return &v }
	ts := time.Now()
	for _, tc := range []struct {
		r    actingweb.Record
		want int
	}{
		{&actingweb.Actor{ID: s(1), Creator: s(2), Passphrase: s(4)}, 64 + 7},
		{&actingweb.Property{ID: s(1), Name: s(2), Value: s(1000)}, 64 + 1003},
		{&actingweb.PropertyLookup{PropertyName: s(1), Value: p(2), LookupKey: s(4), ActorID: s(8)}, 64 + 15},
		{&actingweb.Attribute{ID: s(1), BucketName: s(2), Bucket: s(4), Name: s(8), Data: []byte(s(16)), Timestamp: &ts}, 128 + 31},
		{&actingweb.Trust{ID: s(1), PeerID: s(1), BaseURI: s(1), Type: s(1), Relationship: s(1), Secret: s(1), Desc: p(1),
			VerificationToken: p(1), PeerIdentifier: p(1), EstablishedVia: p(1), LastConnectedVia: p(1), ClientName: p(1),
			ClientVersion: p(1), ClientPlatform: p(1), OAuthClientID: p(1), AWSupported: p(1), AWVersion: p(1)}, 256 + 17},
		{&actingweb.PeerTrustee{ID: s(1), PeerID: s(2), BaseURI: s(4), Type: s(8), Passphrase: s(16)}, 128 + 31},
		{&actingweb.Subscription{ID: s(1), PeerSubID: s(1), PeerID: s(1), SubID: s(1), Granularity: p(1), Target: p(1), Subtarget: p(1), Resource: p(1)}, 128 + 8},
		{&actingweb.SubscriptionDiff{ID: s(1), SubIDSeqnr: s(2), SubID: s(4), Diff: s(100)}, 128 + 107},
		{&actingweb.SubscriptionSuspension{ID: s(1), Target: s(2), Subtarget: s(4)}, 128 + 7},
		{nil, 64},
	} {
		if got := RecordSize(tc.r); got != tc.want {
			t.Errorf("RecordSize(%T) = %d, want %d", tc.r, got, tc.want)
		}
	}
}
