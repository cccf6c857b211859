package bundle

import (
	actingweb "github.com/actingweb/actingweb-go"
)

// The fast decoders of each table's lines (decodeFast), on lineScanner.

// Bits of the members, per table, for lineScanner.mark.
const (
	b0 uint64 = 1 << iota
	b1
	b2
	b3
	b4
	b5
	b6
	b7
	b8
	b9
	b10
	b11
	b12
	b13
	b14
	b15
	b16
	b17
	b18
	b19
	b20
	b21
	b22
)

func decodePropertyLine(line []byte, d *lineDecoder) (actingweb.Record, bool) {
	r := newRecord[actingweb.Property](d)
	s := newLineScanner(line, d)
	for s.next() {
		switch string(s.key) {
		case "id":
			r.ID = s.str(b0)
		case "name":
			r.Name = s.str(b1)
		case "value":
			r.Value = s.str(b2)
		default:
			s.unknown()
		}
	}
	return r, !s.bad
}

func decodeActorLine(line []byte, d *lineDecoder) (actingweb.Record, bool) {
	r := newRecord[actingweb.Actor](d)
	s := newLineScanner(line, d)
	for s.next() {
		switch string(s.key) {
		case "id":
			r.ID = s.str(b0)
		case "creator":
			r.Creator = s.str(b1)
		case "passphrase":
			r.Passphrase = s.str(b2)
		case "created_at":
			r.CreatedAt = s.timePtr(b3)
		default:
			s.unknown()
		}
	}
	return r, !s.bad
}

func decodePropertyLookupLine(line []byte, d *lineDecoder) (actingweb.Record, bool) {
	r := newRecord[actingweb.PropertyLookup](d)
	s := newLineScanner(line, d)
	for s.next() {
		switch string(s.key) {
		case "property_name":
			r.PropertyName = s.str(b0)
		case "value":
			r.Value = s.strPtr(b1)
		case "lookup_key":
			r.LookupKey = s.str(b2)
		case "actor_id":
			r.ActorID = s.str(b3)
		default:
			s.unknown()
		}
	}
	return r, !s.bad
}

func decodeAttributeLine(line []byte, d *lineDecoder) (actingweb.Record, bool) {
	r := newRecord[actingweb.Attribute](d)
	s := newLineScanner(line, d)
	for s.next() {
		switch string(s.key) {
		case "id":
			r.ID = s.str(b0)
		case "bucket_name":
			r.BucketName = s.str(b1)
		case "bucket":
			r.Bucket = s.str(b2)
		case "name":
			r.Name = s.str(b3)
		case "data":
			r.Data = s.raw(b4)
		case "timestamp":
			r.Timestamp = s.timePtr(b5)
		case "ttl_timestamp":
			r.TTLTimestamp = s.intPtr(b6)
		default:
			s.unknown()
		}
	}
	return r, !s.bad
}

func decodeTrustLine(line []byte, d *lineDecoder) (actingweb.Record, bool) {
	r := newRecord[actingweb.Trust](d)
	s := newLineScanner(line, d)
	for s.next() {
		switch string(s.key) {
		case "id":
			r.ID = s.str(b0)
		case "peerid":
			r.PeerID = s.str(b1)
		case "baseuri":
			r.BaseURI = s.str(b2)
		case "type":
			r.Type = s.str(b3)
		case "relationship":
			r.Relationship = s.str(b4)
		case "secret":
			r.Secret = s.str(b5)
		case "desc":
			r.Desc = s.strPtr(b6)
		case "approved":
			r.Approved = s.boolean(b7)
		case "peer_approved":
			r.PeerApproved = s.boolean(b8)
		case "verified":
			r.Verified = s.boolean(b9)
		case "verification_token":
			r.VerificationToken = s.strPtr(b10)
		case "peer_identifier":
			r.PeerIdentifier = s.strPtr(b11)
		case "established_via":
			r.EstablishedVia = s.strPtr(b12)
		case "created_at":
			r.CreatedAt = s.timePtr(b13)
		case "last_accessed":
			r.LastAccessed = s.timePtr(b14)
		case "last_connected_via":
			r.LastConnectedVia = s.strPtr(b15)
		case "client_name":
			r.ClientName = s.strPtr(b16)
		case "client_version":
			r.ClientVersion = s.strPtr(b17)
		case "client_platform":
			r.ClientPlatform = s.strPtr(b18)
		case "oauth_client_id":
			r.OAuthClientID = s.strPtr(b19)
		case "aw_supported":
			r.AWSupported = s.strPtr(b20)
		case "aw_version":
			r.AWVersion = s.strPtr(b21)
		case "capabilities_fetched_at":
			r.CapabilitiesFetchedAt = s.timePtr(b22)
		default:
			s.unknown()
		}
	}
	return r, !s.bad
}

func decodePeerTrusteeLine(line []byte, d *lineDecoder) (actingweb.Record, bool) {
	r := newRecord[actingweb.PeerTrustee](d)
	s := newLineScanner(line, d)
	for s.next() {
		switch string(s.key) {
		case "id":
			r.ID = s.str(b0)
		case "peerid":
			r.PeerID = s.str(b1)
		case "baseuri":
			r.BaseURI = s.str(b2)
		case "type":
			r.Type = s.str(b3)
		case "passphrase":
			r.Passphrase = s.str(b4)
		default:
			s.unknown()
		}
	}
	return r, !s.bad
}

func decodeSubscriptionLine(line []byte, d *lineDecoder) (actingweb.Record, bool) {
	r := newRecord[actingweb.Subscription](d)
	s := newLineScanner(line, d)
	for s.next() {
		switch string(s.key) {
		case "id":
			r.ID = s.str(b0)
		case "peer_sub_id":
			r.PeerSubID = s.str(b1)
		case "peerid":
			r.PeerID = s.str(b2)
		case "subid":
			r.SubID = s.str(b3)
		case "granularity":
			r.Granularity = s.strPtr(b4)
		case "target":
			r.Target = s.strPtr(b5)
		case "subtarget":
			r.Subtarget = s.strPtr(b6)
		case "resource":
			r.Resource = s.strPtr(b7)
		case "seqnr":
			r.Seqnr = s.int(b8)
		case "callback":
			r.Callback = s.boolean(b9)
		default:
			s.unknown()
		}
	}
	return r, !s.bad
}

func decodeSubscriptionDiffLine(line []byte, d *lineDecoder) (actingweb.Record, bool) {
	r := newRecord[actingweb.SubscriptionDiff](d)
	s := newLineScanner(line, d)
	for s.next() {
		switch string(s.key) {
		case "id":
			r.ID = s.str(b0)
		case "subid_seqnr":
			r.SubIDSeqnr = s.str(b1)
		case "subid":
			r.SubID = s.str(b2)
		case "timestamp":
			r.Timestamp = s.time(b3)
		case "diff":
			r.Diff = s.str(b4)
		case "seqnr":
			r.Seqnr = s.int(b5)
		default:
			s.unknown()
		}
	}
	return r, !s.bad
}

func decodeSubscriptionSuspensionLine(line []byte, d *lineDecoder) (actingweb.Record, bool) {
	r := newRecord[actingweb.SubscriptionSuspension](d)
	s := newLineScanner(line, d)
	for s.next() {
		switch string(s.key) {
		case "id":
			r.ID = s.str(b0)
		case "target":
			r.Target = s.str(b1)
		case "subtarget":
			r.Subtarget = s.str(b2)
		case "suspended_at":
			r.SuspendedAt = s.time(b3)
		default:
			s.unknown()
		}
	}
	return r, !s.bad
}
