package postgres

import (
	"encoding/json"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
)

func strp(s string) *string { return &s }

// encodingRecords builds records of every table from the parts: NULLs (nil pointers) when
// flag bits say so, times in a non-UTC zone, sub-microsecond nanoseconds, extreme integers.
func encodingRecords(s1, s2 string, n int64, ns int64, flags uint8, data []byte) []actingweb.Record {
	zone := time.FixedZone("X", int(n%50000))
	ts := time.Unix(n%(1<<40)-(1<<39), ns%1e9).In(zone)
	tsp := &ts
	opt := strp(s2)
	if flags&1 != 0 {
		tsp, opt = nil, nil
	}
	var ttl *int64
	if flags&2 != 0 {
		ttl = &n
	}
	var raw json.RawMessage
	if flags&4 != 0 {
		raw = json.RawMessage(data)
	}
	b := flags&8 != 0
	lk := actingweb.NewPropertyLookup(s1, s2, s1+s2)
	return []actingweb.Record{
		&actingweb.Actor{ID: s1, Creator: s2, Passphrase: s1 + s2, CreatedAt: tsp},
		&actingweb.Property{ID: s1, Name: s2, Value: string(data)},
		&lk,
		&actingweb.Attribute{ID: s1, BucketName: s2, Bucket: s1, Name: s2, Data: raw, Timestamp: tsp, TTLTimestamp: ttl},
		&actingweb.Trust{ID: s1, PeerID: s2, BaseURI: s1, Type: s2, Relationship: s1, Secret: s2, Desc: opt,
			Approved: b, PeerApproved: !b, Verified: b, VerificationToken: opt, PeerIdentifier: opt, EstablishedVia: opt,
			CreatedAt: tsp, LastAccessed: tsp, LastConnectedVia: opt, ClientName: opt, ClientVersion: opt,
			ClientPlatform: opt, OAuthClientID: opt, AWSupported: opt, AWVersion: opt, CapabilitiesFetchedAt: tsp},
		&actingweb.PeerTrustee{ID: s1, PeerID: s2, BaseURI: s1, Type: s2, Passphrase: string(data)},
		&actingweb.Subscription{ID: s1, PeerSubID: s2, PeerID: s1, SubID: s2, Granularity: opt, Target: opt,
			Subtarget: opt, Resource: opt, Seqnr: int64(int32(n)), Callback: b},
		&actingweb.SubscriptionDiff{ID: s1, SubIDSeqnr: s2, SubID: s1, Timestamp: ts, Diff: string(data), Seqnr: int64(int32(n >> 3))},
		&actingweb.SubscriptionSuspension{ID: s1, Target: s2, Subtarget: s1, SuspendedAt: ts},
	}
}
