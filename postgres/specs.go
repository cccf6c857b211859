package postgres

import (
	"encoding/json"
	"strings"

	"github.com/jackc/pgx/v5"

	actingweb "github.com/actingweb/actingweb-go"
)

// specs describes the nine tables: columns in physical order, key, owner column, and the
// codecs between a row and its record (§4.2, §5.3).
var specs = map[actingweb.Table]*tableSpec{
	actingweb.TableActors: {
		cols: []string{"id", "creator", "passphrase", "created_at"}, pk: []string{"id"}, owner: "id",
		scan: func(rows rowScanner) (actingweb.Record, error) {
			r := &actingweb.Actor{}
			err := rows.Scan(&r.ID, &r.Creator, &r.Passphrase, &r.CreatedAt)
			return r, err
		},
		decode: func(d *rawRow) (actingweb.Record, bool) {
			r := newRec[actingweb.Actor](d)
			*r = actingweb.Actor{ID: d.str(0), Creator: d.str(1), Passphrase: d.str(2), CreatedAt: d.optTime(3)}
			return r, d.ok
		},
		values: func(rec actingweb.Record, dst []any) []any {
			r := rec.(*actingweb.Actor)
			return append(dst, r.ID, r.Creator, r.Passphrase, tsArg(r.CreatedAt))
		},
		row: func(rec actingweb.Record, b []byte) []byte {
			r := rec.(*actingweb.Actor)
			b = appendTupleHeader(b, 4)
			b = appendText(b, r.ID)
			b = appendText(b, r.Creator)
			b = appendText(b, r.Passphrase)
			return appendOptTime(b, r.CreatedAt)
		},
		keyOf: func(rec actingweb.Record) []string { return []string{rec.(*actingweb.Actor).ID} },
		// DynamoDB has no created_at (§5.5 item 2): an overwrite without one keeps the stored one.
		update: `creator = EXCLUDED.creator, passphrase = EXCLUDED.passphrase, created_at = COALESCE(EXCLUDED.created_at, t.created_at)`,
	},
	actingweb.TableProperties: {
		cols: []string{"id", "name", "value"}, pk: []string{"id", "name"}, owner: "id",
		scan: func(rows rowScanner) (actingweb.Record, error) {
			r := &actingweb.Property{}
			err := rows.Scan(&r.ID, &r.Name, &r.Value)
			return r, err
		},
		decode: func(d *rawRow) (actingweb.Record, bool) {
			r := newRec[actingweb.Property](d)
			*r = actingweb.Property{ID: d.str(0), Name: d.str(1), Value: d.str(2)}
			return r, d.ok
		},
		values: func(rec actingweb.Record, dst []any) []any {
			r := rec.(*actingweb.Property)
			return append(dst, r.ID, r.Name, r.Value)
		},
		row: func(rec actingweb.Record, b []byte) []byte {
			r := rec.(*actingweb.Property)
			b = appendTupleHeader(b, 3)
			b = appendText(b, r.ID)
			b = appendText(b, r.Name)
			return appendText(b, r.Value)
		},
		keyOf: func(rec actingweb.Record) []string { r := rec.(*actingweb.Property); return []string{r.ID, r.Name} },
	},
	actingweb.TablePropertyLookup: {
		cols: []string{"property_name", "value", "actor_id"}, pk: []string{"property_name", "value"}, owner: "actor_id",
		scan: func(rows rowScanner) (actingweb.Record, error) {
			var name, value, actor string
			if err := rows.Scan(&name, &value, &actor); err != nil {
				return nil, err
			}
			r := actingweb.NewPropertyLookup(name, value, actor)
			return &r, nil
		},
		decode: func(d *rawRow) (actingweb.Record, bool) {
			r := newRec[actingweb.PropertyLookup](d)
			*r = actingweb.NewPropertyLookup(d.str(0), d.str(1), d.str(2))
			return r, d.ok
		},
		values: func(rec actingweb.Record, dst []any) []any {
			r := rec.(*actingweb.PropertyLookup)
			return append(dst, r.PropertyName, *r.Value, r.ActorID)
		},
		row: func(rec actingweb.Record, b []byte) []byte {
			r := rec.(*actingweb.PropertyLookup)
			b = appendTupleHeader(b, 3)
			b = appendText(b, r.PropertyName)
			b = appendText(b, *r.Value)
			return appendText(b, r.ActorID)
		},
		keyOf: func(rec actingweb.Record) []string {
			r := rec.(*actingweb.PropertyLookup)
			return []string{r.PropertyName, *r.Value}
		},
	},
	actingweb.TableAttributes: {
		cols: []string{"id", "bucket_name", "bucket", "name", "data", "timestamp", "ttl_timestamp"},
		pk:   []string{"id", "bucket_name"}, owner: "id",
		scan: func(rows rowScanner) (actingweb.Record, error) {
			r := &actingweb.Attribute{}
			var data []byte
			err := rows.Scan(&r.ID, &r.BucketName, &r.Bucket, &r.Name, &data, &r.Timestamp, &r.TTLTimestamp)
			if data != nil {
				r.Data = json.RawMessage(data)
			}
			return r, err
		},
		decode: func(d *rawRow) (actingweb.Record, bool) {
			r := newRec[actingweb.Attribute](d)
			*r = actingweb.Attribute{ID: d.str(0), BucketName: d.str(1), Bucket: d.str(2), Name: d.str(3),
				Data: d.jsonb(4), Timestamp: d.optTime(5), TTLTimestamp: d.optInt64(6)}
			return r, d.ok
		},
		values: func(rec actingweb.Record, dst []any) []any {
			r := rec.(*actingweb.Attribute)
			var data any
			if r.Data != nil && !isJSONNull(r.Data) {
				data = []byte(r.Data)
			}
			return append(dst, r.ID, r.BucketName, r.Bucket, r.Name, data, tsArg(r.Timestamp), int64Arg(r.TTLTimestamp))
		},
		row: func(rec actingweb.Record, b []byte) []byte {
			r := rec.(*actingweb.Attribute)
			b = appendTupleHeader(b, 7)
			b = appendText(b, r.ID)
			b = appendText(b, r.BucketName)
			b = appendText(b, r.Bucket)
			b = appendText(b, r.Name)
			b = appendJSONB(b, r.Data)
			b = appendOptTime(b, r.Timestamp)
			return appendOptInt64(b, r.TTLTimestamp)
		},
		keyOf: func(rec actingweb.Record) []string {
			r := rec.(*actingweb.Attribute)
			return []string{r.ID, r.BucketName}
		},
	},
	actingweb.TableTrusts: {
		cols: []string{"id", "peerid", "baseuri", "type", "relationship", "secret", "desc", "approved",
			"peer_approved", "verified", "verification_token", "peer_identifier", "established_via",
			"created_at", "last_accessed", "last_connected_via", "client_name", "client_version",
			"client_platform", "oauth_client_id", "aw_supported", "aw_version", "capabilities_fetched_at"},
		pk: []string{"id", "peerid"}, owner: "id",
		scan: func(rows rowScanner) (actingweb.Record, error) {
			r := &actingweb.Trust{}
			err := rows.Scan(&r.ID, &r.PeerID, &r.BaseURI, &r.Type, &r.Relationship, &r.Secret, &r.Desc,
				&r.Approved, &r.PeerApproved, &r.Verified, &r.VerificationToken, &r.PeerIdentifier,
				&r.EstablishedVia, &r.CreatedAt, &r.LastAccessed, &r.LastConnectedVia, &r.ClientName,
				&r.ClientVersion, &r.ClientPlatform, &r.OAuthClientID, &r.AWSupported, &r.AWVersion,
				&r.CapabilitiesFetchedAt)
			r.CapabilitiesFetchedAt = ptrUTC(r.CapabilitiesFetchedAt)
			return r, err
		},
		decode: func(d *rawRow) (actingweb.Record, bool) {
			r := newRec[actingweb.Trust](d)
			*r = actingweb.Trust{ID: d.str(0), PeerID: d.str(1), BaseURI: d.str(2), Type: d.str(3), Relationship: d.str(4),
				Secret: d.str(5), Desc: d.optStr(6), Approved: d.bool(7), PeerApproved: d.bool(8), Verified: d.bool(9),
				VerificationToken: d.optStr(10), PeerIdentifier: d.optStr(11), EstablishedVia: d.optStr(12),
				CreatedAt: d.optTime(13), LastAccessed: d.optTime(14), LastConnectedVia: d.optStr(15), ClientName: d.optStr(16),
				ClientVersion: d.optStr(17), ClientPlatform: d.optStr(18), OAuthClientID: d.optStr(19), AWSupported: d.optStr(20),
				AWVersion: d.optStr(21), CapabilitiesFetchedAt: d.optTime(22)}
			return r, d.ok
		},
		values: func(rec actingweb.Record, dst []any) []any {
			r := rec.(*actingweb.Trust)
			return append(dst, r.ID, r.PeerID, r.BaseURI, r.Type, r.Relationship, r.Secret, strArg(r.Desc),
				r.Approved, r.PeerApproved, r.Verified, strArg(r.VerificationToken), strArg(r.PeerIdentifier),
				strArg(r.EstablishedVia), tsArg(r.CreatedAt), tsArg(r.LastAccessed), strArg(r.LastConnectedVia),
				strArg(r.ClientName), strArg(r.ClientVersion), strArg(r.ClientPlatform), strArg(r.OAuthClientID),
				strArg(r.AWSupported), strArg(r.AWVersion), tsArg(r.CapabilitiesFetchedAt))
		},
		row: func(rec actingweb.Record, b []byte) []byte {
			r := rec.(*actingweb.Trust)
			b = appendTupleHeader(b, 23)
			b = appendText(b, r.ID)
			b = appendText(b, r.PeerID)
			b = appendText(b, r.BaseURI)
			b = appendText(b, r.Type)
			b = appendText(b, r.Relationship)
			b = appendText(b, r.Secret)
			b = appendOptText(b, r.Desc)
			b = appendBool(b, r.Approved)
			b = appendBool(b, r.PeerApproved)
			b = appendBool(b, r.Verified)
			b = appendOptText(b, r.VerificationToken)
			b = appendOptText(b, r.PeerIdentifier)
			b = appendOptText(b, r.EstablishedVia)
			b = appendOptTime(b, r.CreatedAt)
			b = appendOptTime(b, r.LastAccessed)
			b = appendOptText(b, r.LastConnectedVia)
			b = appendOptText(b, r.ClientName)
			b = appendOptText(b, r.ClientVersion)
			b = appendOptText(b, r.ClientPlatform)
			b = appendOptText(b, r.OAuthClientID)
			b = appendOptText(b, r.AWSupported)
			b = appendOptText(b, r.AWVersion)
			return appendOptTime(b, r.CapabilitiesFetchedAt)
		},
		keyOf: func(rec actingweb.Record) []string { r := rec.(*actingweb.Trust); return []string{r.ID, r.PeerID} },
	},
	actingweb.TablePeerTrustees: {
		cols: []string{"id", "peerid", "baseuri", "type", "passphrase"}, pk: []string{"id", "peerid"}, owner: "id",
		scan: func(rows rowScanner) (actingweb.Record, error) {
			r := &actingweb.PeerTrustee{}
			err := rows.Scan(&r.ID, &r.PeerID, &r.BaseURI, &r.Type, &r.Passphrase)
			return r, err
		},
		decode: func(d *rawRow) (actingweb.Record, bool) {
			r := newRec[actingweb.PeerTrustee](d)
			*r = actingweb.PeerTrustee{ID: d.str(0), PeerID: d.str(1), BaseURI: d.str(2), Type: d.str(3), Passphrase: d.str(4)}
			return r, d.ok
		},
		values: func(rec actingweb.Record, dst []any) []any {
			r := rec.(*actingweb.PeerTrustee)
			return append(dst, r.ID, r.PeerID, r.BaseURI, r.Type, r.Passphrase)
		},
		row: func(rec actingweb.Record, b []byte) []byte {
			r := rec.(*actingweb.PeerTrustee)
			b = appendTupleHeader(b, 5)
			b = appendText(b, r.ID)
			b = appendText(b, r.PeerID)
			b = appendText(b, r.BaseURI)
			b = appendText(b, r.Type)
			return appendText(b, r.Passphrase)
		},
		keyOf: func(rec actingweb.Record) []string {
			r := rec.(*actingweb.PeerTrustee)
			return []string{r.ID, r.PeerID}
		},
	},
	actingweb.TableSubscriptions: {
		cols: []string{"id", "peer_sub_id", "peerid", "subid", "granularity", "target", "subtarget",
			"resource", "seqnr", "callback"},
		pk: []string{"id", "peer_sub_id"}, owner: "id",
		scan: func(rows rowScanner) (actingweb.Record, error) {
			r := &actingweb.Subscription{}
			err := rows.Scan(&r.ID, &r.PeerSubID, &r.PeerID, &r.SubID, &r.Granularity, &r.Target,
				&r.Subtarget, &r.Resource, &r.Seqnr, &r.Callback)
			return r, err
		},
		decode: func(d *rawRow) (actingweb.Record, bool) {
			r := newRec[actingweb.Subscription](d)
			*r = actingweb.Subscription{ID: d.str(0), PeerSubID: d.str(1), PeerID: d.str(2), SubID: d.str(3),
				Granularity: d.optStr(4), Target: d.optStr(5), Subtarget: d.optStr(6), Resource: d.optStr(7),
				Seqnr: d.int(8), Callback: d.bool(9)}
			return r, d.ok
		},
		values: func(rec actingweb.Record, dst []any) []any {
			r := rec.(*actingweb.Subscription)
			return append(dst, r.ID, r.PeerSubID, r.PeerID, r.SubID, strArg(r.Granularity), strArg(r.Target),
				strArg(r.Subtarget), strArg(r.Resource), int32(r.Seqnr), r.Callback)
		},
		row: func(rec actingweb.Record, b []byte) []byte {
			r := rec.(*actingweb.Subscription)
			b = appendTupleHeader(b, 10)
			b = appendText(b, r.ID)
			b = appendText(b, r.PeerSubID)
			b = appendText(b, r.PeerID)
			b = appendText(b, r.SubID)
			b = appendOptText(b, r.Granularity)
			b = appendOptText(b, r.Target)
			b = appendOptText(b, r.Subtarget)
			b = appendOptText(b, r.Resource)
			b = appendInt32(b, int32(r.Seqnr))
			return appendBool(b, r.Callback)
		},
		keyOf: func(rec actingweb.Record) []string {
			r := rec.(*actingweb.Subscription)
			return []string{r.ID, r.PeerSubID}
		},
	},
	actingweb.TableSubscriptionDiffs: {
		cols: []string{"id", "subid_seqnr", "subid", "timestamp", "diff", "seqnr"},
		pk:   []string{"id", "subid_seqnr"}, owner: "id",
		scan: func(rows rowScanner) (actingweb.Record, error) {
			r := &actingweb.SubscriptionDiff{}
			err := rows.Scan(&r.ID, &r.SubIDSeqnr, &r.SubID, &r.Timestamp, &r.Diff, &r.Seqnr)
			return r, err
		},
		decode: func(d *rawRow) (actingweb.Record, bool) {
			r := newRec[actingweb.SubscriptionDiff](d)
			*r = actingweb.SubscriptionDiff{ID: d.str(0), SubIDSeqnr: d.str(1), SubID: d.str(2), Timestamp: d.time(3),
				Diff: d.str(4), Seqnr: d.int(5)}
			return r, d.ok
		},
		values: func(rec actingweb.Record, dst []any) []any {
			r := rec.(*actingweb.SubscriptionDiff)
			return append(dst, r.ID, r.SubIDSeqnr, r.SubID, r.Timestamp.UTC(), r.Diff, int32(r.Seqnr))
		},
		row: func(rec actingweb.Record, b []byte) []byte {
			r := rec.(*actingweb.SubscriptionDiff)
			b = appendTupleHeader(b, 6)
			b = appendText(b, r.ID)
			b = appendText(b, r.SubIDSeqnr)
			b = appendText(b, r.SubID)
			b = appendTime(b, r.Timestamp)
			b = appendText(b, r.Diff)
			return appendInt32(b, int32(r.Seqnr))
		},
		keyOf: func(rec actingweb.Record) []string {
			r := rec.(*actingweb.SubscriptionDiff)
			return []string{r.ID, r.SubIDSeqnr}
		},
	},
	actingweb.TableSubscriptionSuspensions: {
		cols: []string{"id", "target", "subtarget", "suspended_at"}, pk: []string{"id", "target", "subtarget"}, owner: "id",
		scan: func(rows rowScanner) (actingweb.Record, error) {
			r := &actingweb.SubscriptionSuspension{}
			err := rows.Scan(&r.ID, &r.Target, &r.Subtarget, &r.SuspendedAt)
			r.SuspendedAt = r.SuspendedAt.UTC()
			return r, err
		},
		decode: func(d *rawRow) (actingweb.Record, bool) {
			r := newRec[actingweb.SubscriptionSuspension](d)
			*r = actingweb.SubscriptionSuspension{ID: d.str(0), Target: d.str(1), Subtarget: d.str(2), SuspendedAt: d.time(3)}
			return r, d.ok
		},
		values: func(rec actingweb.Record, dst []any) []any {
			r := rec.(*actingweb.SubscriptionSuspension)
			return append(dst, r.ID, r.Target, r.Subtarget, r.SuspendedAt.UTC())
		},
		row: func(rec actingweb.Record, b []byte) []byte {
			r := rec.(*actingweb.SubscriptionSuspension)
			b = appendTupleHeader(b, 4)
			b = appendText(b, r.ID)
			b = appendText(b, r.Target)
			b = appendText(b, r.Subtarget)
			return appendTime(b, r.SuspendedAt)
		},
		keyOf: func(rec actingweb.Record) []string {
			r := rec.(*actingweb.SubscriptionSuspension)
			return []string{r.ID, r.Target, r.Subtarget}
		},
	},
}

func init() {
	for t, sp := range specs {
		sp.t = t
		if sp.update == "" {
			var set []string
			for _, c := range sp.cols[len(sp.pk):] {
				q := pgx.Identifier{c}.Sanitize()
				set = append(set, q+" = EXCLUDED."+q)
			}
			sp.update = strings.Join(set, ", ")
		}
	}
}
