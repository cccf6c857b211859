package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/arena"
)

// The table face (actingweb.TableStore) on PostgreSQL: whole-table streaming in primary-key
// order with a resumable cursor, batch writes through COPY with a conflict policy, counts, and
// the rebuild of property_lookup from properties (§5.4, §5.6). Rows cross it in canonical
// record form; PostgreSQL column names are the records' JSON field names (§5.3).

// DefaultPageSize is the page size of Scan when ScanOptions.PageSize is not set.
const DefaultPageSize = 1000

// tableSpec is the physical description of one table and its record mapping.
type tableSpec struct {
	t     actingweb.Table
	cols  []string // physical columns in physical order
	pk    []string // primary-key columns in index order
	owner string   // owner column (segment hash)
	// scan reads one row (columns in cols order) into a new record.
	scan func(rowScanner) (actingweb.Record, error)
	// decode is scan from the row's raw column values, for the formats pgx asks for by default
	// (text for text and jsonb, binary for the rest); ok false: anything else (a NULL in a
	// non-null field, another format), left to scan (rawscan_test.go proves them equal).
	decode func(r *rawRow) (rec actingweb.Record, ok bool)
	// values renders a record as column values in cols order, appended to dst (the reference
	// rendering: pgx encodes these exactly as row does, copy_test.go proves it).
	values func(r actingweb.Record, dst []any) []any
	// row appends the record as one tuple of PostgreSQL's binary COPY format (field count,
	// then per column a length-prefixed value in cols order), the bytes pgx's CopyFrom would
	// send for values.
	row func(r actingweb.Record, b []byte) []byte
	// keyOf returns the primary-key column values of a record, in pk order.
	keyOf func(r actingweb.Record) []string
	// update is the SET list of an overwrite (ON CONFLICT DO UPDATE); "" = all non-key columns.
	update string
}

func ptrUTC(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func tsArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

func strArg(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func int64Arg(v *int64) any {
	if v == nil {
		return nil
	}
	return *v
}

// Binary COPY encoding (https://www.postgresql.org/docs/current/sql-copy.html, "Binary
// Format"): each field is an int32 byte length (-1 = NULL) followed by the value in the
// type's binary send format. These helpers write exactly what pgx's codecs write for the Go
// values of tableSpec.values (copy_test.go compares them field by field).

// copyHeader is the binary COPY signature, flags field and header extension length.
var copyHeader = []byte("PGCOPY\n\377\r\n\000\x00\x00\x00\x00\x00\x00\x00\x00")

// microsecFromUnixEpochToY2K is the offset of PostgreSQL's timestamp epoch (2000-01-01).
const microsecFromUnixEpochToY2K = 946684800 * 1000000

func appendTupleHeader(b []byte, n int16) []byte { return binary.BigEndian.AppendUint16(b, uint16(n)) }

func appendNull(b []byte) []byte { return append(b, 0xff, 0xff, 0xff, 0xff) }

// appendText writes a text/varchar value: its UTF-8 bytes.
func appendText(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func appendOptText(b []byte, s *string) []byte {
	if s == nil {
		return appendNull(b)
	}
	return appendText(b, *s)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0, 0, 0, 1, 1)
	}
	return append(b, 0, 0, 0, 1, 0)
}

func appendInt32(b []byte, v int32) []byte {
	b = append(b, 0, 0, 0, 4)
	return binary.BigEndian.AppendUint32(b, uint32(v))
}

func appendOptInt64(b []byte, v *int64) []byte {
	if v == nil {
		return appendNull(b)
	}
	b = append(b, 0, 0, 0, 8)
	return binary.BigEndian.AppendUint64(b, uint64(*v))
}

// appendTime writes a timestamp or timestamptz: microseconds since 2000-01-01 UTC, the
// sub-microsecond part truncated (as pgx does for the UTC times of values).
func appendTime(b []byte, t time.Time) []byte {
	us := t.Unix()*1000000 + int64(t.Nanosecond())/1000 - microsecFromUnixEpochToY2K
	b = append(b, 0, 0, 0, 8)
	return binary.BigEndian.AppendUint64(b, uint64(us))
}

func appendOptTime(b []byte, t *time.Time) []byte {
	if t == nil {
		return appendNull(b)
	}
	return appendTime(b, *t)
}

// appendJSONB writes an attribute payload: jsonb's binary format is the version byte 1 and
// the JSON text; nil and the JSON literal null are SQL NULL (§5.3).
func appendJSONB(b []byte, raw json.RawMessage) []byte {
	if raw == nil || isJSONNull(raw) {
		return appendNull(b)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(raw)+1))
	b = append(b, 1)
	return append(b, raw...)
}

// rawRow decodes the raw column values of one result row (pgx rows.RawValues) without the
// type map. A value it cannot decode exactly as rows.Scan would (NULL in a non-pointer field,
// an unexpected type or format, a timestamp pgx refuses) clears ok, and the row is scanned.
type rawRow struct {
	fds  []pgconn.FieldDescription
	vals [][]byte
	ok   bool

	arena arena.Strings // the bytes of the strings and payloads decoded
	slab  any           // the slab of the table's record type (newRec)
	own   bool          // every value and record its own allocation (ScanOptions.Retain)
}

// newRec returns a zero T from the row decoder's slab (arena.Next).
func newRec[T any](d *rawRow) *T {
	if d.own {
		return new(T)
	}
	return arena.Next[T](&d.slab)
}

// load takes the current row's raw values.
func (d *rawRow) load(vals [][]byte) {
	d.vals = vals
	d.ok = len(vals) == len(d.fds)
}

// PostgreSQL type OIDs (pg_type.dat) of the columns rawRow decodes.
const (
	oidBool        = 16
	oidInt8        = 20
	oidInt4        = 23
	oidText        = 25
	oidVarchar     = 1043
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidJSONB       = 3802
)

// The range of times pgx scans (pgtype's minDateTime and endTimestamp); outside it pgx fails.
var (
	rawMinTime = time.Date(-4713, 11, 24, 0, 0, 0, 0, time.UTC)
	rawEndTime = time.Date(294277, 1, 1, 0, 0, 0, 0, time.UTC)
)

// binary reports whether column i has type oid in binary format and a value of n bytes.
func (d *rawRow) binary(i int, oid uint32, n int) bool {
	fd := &d.fds[i]
	if fd.DataTypeOID != oid || fd.Format != pgx.BinaryFormatCode || len(d.vals[i]) != n {
		d.ok = false
		return false
	}
	return true
}

// str decodes a NOT NULL text or varchar column: its bytes in either format.
func (d *rawRow) str(i int) string {
	v := d.vals[i]
	if oid := d.fds[i].DataTypeOID; v == nil || oid != oidText && oid != oidVarchar {
		d.ok = false
		return ""
	}
	if d.own {
		return string(v)
	}
	return d.arena.String(v)
}

func (d *rawRow) optStr(i int) *string {
	if d.vals[i] == nil {
		return nil
	}
	s := d.str(i)
	return &s
}

func (d *rawRow) bool(i int) bool {
	if !d.binary(i, oidBool, 1) {
		return false
	}
	return d.vals[i][0] != 0
}

// int decodes a NOT NULL integer (int4) column.
func (d *rawRow) int(i int) int64 {
	if !d.binary(i, oidInt4, 4) {
		return 0
	}
	return int64(int32(binary.BigEndian.Uint32(d.vals[i])))
}

func (d *rawRow) optInt64(i int) *int64 {
	if d.vals[i] == nil {
		return nil
	}
	if !d.binary(i, oidInt8, 8) {
		return nil
	}
	v := int64(binary.BigEndian.Uint64(d.vals[i]))
	return &v
}

// time decodes a NOT NULL timestamp or timestamptz column as pgx does, in UTC.
func (d *rawRow) time(i int) time.Time {
	oid := d.fds[i].DataTypeOID
	if oid != oidTimestamp && oid != oidTimestamptz {
		d.ok = false
		return time.Time{}
	}
	if !d.binary(i, oid, 8) {
		return time.Time{}
	}
	us := int64(binary.BigEndian.Uint64(d.vals[i]))
	t := time.Unix(microsecFromUnixEpochToY2K/1_000_000+us/1_000_000,
		(microsecFromUnixEpochToY2K%1_000_000*1_000)+(us%1_000_000*1000)).UTC()
	if t.Before(rawMinTime) || !t.Before(rawEndTime) { // ±infinity included
		d.ok = false
	}
	return t
}

func (d *rawRow) optTime(i int) *time.Time {
	if d.vals[i] == nil {
		return nil
	}
	t := d.time(i)
	return &t
}

// jsonb decodes a jsonb column in text format: the JSON text (nil for NULL).
func (d *rawRow) jsonb(i int) json.RawMessage {
	v := d.vals[i]
	if v == nil {
		return nil
	}
	if fd := &d.fds[i]; fd.DataTypeOID != oidJSONB || fd.Format != pgx.TextFormatCode {
		d.ok = false
		return nil
	}
	if d.own {
		return json.RawMessage(bytes.Clone(v))
	}
	return json.RawMessage(d.arena.Bytes(v))
}

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

// spec returns the table's description or an error wrapping ErrUnknownTable.
func spec(t actingweb.Table) (*tableSpec, error) {
	if sp, ok := specs[t]; ok {
		return sp, nil
	}
	return nil, fmt.Errorf("postgres: %w: %q", actingweb.ErrUnknownTable, string(t))
}

// qtable is the schema-qualified, quoted table name.
func (s *Store) qtable(t actingweb.Table) string {
	return pgx.Identifier{s.schema, string(t)}.Sanitize()
}

func quoteList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(q, ", ")
}

// tableErr wraps a database error of an operation on table t: a missing table or schema
// becomes ErrSchema. PostgreSQL's message is kept; its Detail (which may quote row values,
// secrets included) is not.
func (s *Store) tableErr(t actingweb.Table, what string, err error) error {
	if isUndefinedTable(err) {
		return fmt.Errorf("postgres: %s %s.%s: %w: %w (run `actingweb schema upgrade`)", what, s.schema, t, actingweb.ErrSchema, err)
	}
	return fmt.Errorf("postgres: %s %s.%s: %w", what, s.schema, t, err)
}

// scanCursor is the Page.Cursor of Scan, JSON. A key-order scan's cursor is
// {"t": table, "k": [primary key values of the page's last row]}; a physical-order scan's
// (ScanOptions.AnyOrder) is {"t": table, "n": rows read so far}, which names no position a
// later scan could continue from (see Scan).
type scanCursor struct {
	T string   `json:"t"`
	K []string `json:"k,omitempty"`
	N int64    `json:"n,omitempty"`
}

// Count returns the exact number of rows of t (SELECT count(*)).
func (s *Store) Count(ctx context.Context, t actingweb.Table) (int64, error) {
	if _, err := spec(t); err != nil {
		return 0, err
	}
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM `+s.qtable(t)).Scan(&n); err != nil {
		return 0, s.tableErr(t, "count", err)
	}
	return n, nil
}

// MaxSegments is 1 (migrate.SegmentLimiter): a segment of a PostgreSQL scan is a full
// scan of the table filtered by hashtext, so N local segments cost the server N full scans;
// one streaming query per table is faster (measured: export of 306k rows 2.2-2.5 s with 4
// segments, 1.1-1.6 s with 1). Sharing a scan between machines (TotalSegments) still uses the
// hash segments.
func (s *Store) MaxSegments() int { return 1 }

// rowScanner is what a tableSpec's scan reads a row with (pgx.Rows).
type rowScanner interface{ Scan(dest ...any) error }

// Scan streams table t to fn, PageSize rows per page (DefaultPageSize when unset); a page
// also ends once its rows hold actingweb.MaxPageBytes. The rows of one call are read by one
// streaming query in one read-only transaction (one snapshot); an empty table yields a single
// empty page with Last set. Each page carries a Cursor (scanCursor).
//
// Without ScanOptions.AnyOrder the rows come in primary-key order (the columns' collation, the
// order of the primary-key index), read by a walk of that index, and a scan started with a
// page's Cursor resumes after the page's last row, whatever was written since.
//
// With AnyOrder they come in physical order, read by a sequential scan as pg_dump does (35-65 %
// less server CPU than the index walk; docs/migration.md). Such a position cannot be resumed
// safely on a live server: rows inserted or updated since may land on either side of it, and
// telling whether any were needs a transaction horizon that any long transaction anywhere in
// the cluster holds back. A scan started with a physical-order Cursor therefore fails with
// actingweb.ErrStaleCursor, and the caller reads the table again from its start.
//
// Segment i of TotalSegments N holds the rows whose owner column (id; actor_id for
// property_lookup) satisfies abs(hashtext(owner)) % N = i, so segments are disjoint and
// together cover the table.
func (s *Store) Scan(ctx context.Context, t actingweb.Table, opts actingweb.ScanOptions, fn func(actingweb.Page) error) error {
	sp, err := spec(t)
	if err != nil {
		return err
	}
	pageSize := opts.PageSize
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	physical := opts.AnyOrder
	var cur scanCursor
	if opts.Cursor != "" {
		err := json.Unmarshal([]byte(opts.Cursor), &cur)
		if err != nil || cur.T != string(t) || (cur.N == 0 && len(cur.K) != len(sp.pk)) {
			return fmt.Errorf("postgres: scan %s: %w: cursor %q is not a cursor of this table", t, actingweb.ErrInvalid, opts.Cursor)
		}
		if cur.N > 0 {
			return fmt.Errorf("postgres: scan %s.%s: %w (a physical-order position, after %d rows, is not resumed: rows written since may lie on either side of it; read the table again from its start)",
				s.schema, t, actingweb.ErrStaleCursor, cur.N)
		}
		physical = false
	}
	if opts.TotalSegments > 1 && (opts.Segment < 0 || opts.Segment >= opts.TotalSegments) {
		return fmt.Errorf("postgres: scan %s: %w: segment %d of %d", t, actingweb.ErrInvalid, opts.Segment, opts.TotalSegments)
	}

	// One read-only transaction. Key order: its settings make the plan a walk of the
	// primary-key index, so rows stream from the first one on, in bounded server memory
	// (left to itself the planner may sort instead, a parallel one on the bench data set's
	// attributes and subscription_diffs, whose rows are in key order on disk anyway: that
	// holds the rows back until the whole table is sorted, spills to disk beyond work_mem and
	// cost a third more server CPU for attributes). Physical order: a sequential scan in one
	// process (no parallel workers: the client needs the other core).
	set := "SET LOCAL enable_sort = off; SET LOCAL max_parallel_workers_per_gather = 0"
	if physical {
		set = "SET LOCAL max_parallel_workers_per_gather = 0"
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return s.tableErr(t, "scan", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // nothing to keep
	if _, err := tx.Exec(ctx, set); err != nil {
		return s.tableErr(t, "scan", err)
	}

	var where []string
	var args []any
	if opts.Cursor != "" {
		ph := make([]string, len(cur.K))
		for i, k := range cur.K {
			args = append(args, k)
			ph[i] = "$" + strconv.Itoa(len(args))
		}
		where = append(where, "("+quoteList(sp.pk)+") > ("+strings.Join(ph, ", ")+")")
	}
	if opts.TotalSegments > 1 {
		args = append(args, int64(opts.TotalSegments), int64(opts.Segment))
		where = append(where, fmt.Sprintf("abs(hashtext(%s)::bigint) %% $%d = $%d",
			pgx.Identifier{sp.owner}.Sanitize(), len(args)-1, len(args)))
	}
	q := "SELECT " + quoteList(sp.cols) + " FROM " + s.qtable(t)
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if !physical {
		q += " ORDER BY " + quoteList(sp.pk)
	}
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return s.tableErr(t, "scan", err)
	}
	defer rows.Close()
	page := make([]actingweb.Record, 0, min(pageSize, 10000))
	cursor := opts.Cursor
	var last actingweb.Record
	var read int64 // rows read, for a physical-order cursor
	emit := func(isLast bool) error {
		switch {
		case physical && len(page) > 0:
			b, _ := json.Marshal(scanCursor{T: string(t), N: read})
			cursor = string(b)
		case !physical && last != nil:
			b, _ := json.Marshal(scanCursor{T: string(t), K: sp.keyOf(last)})
			cursor = string(b)
		}
		err := fn(actingweb.Page{Records: page, Cursor: cursor, Last: isLast})
		page = make([]actingweb.Record, 0, cap(page))
		return err
	}
	n := len(sp.cols)
	raw := rawRow{own: opts.Retain}
	pageBytes := 0 // bytes of the page's rows as received
	for rows.Next() {
		if len(page) == pageSize || pageBytes >= actingweb.MaxPageBytes {
			if err := emit(false); err != nil {
				return err
			}
			pageBytes = 0
		}
		if raw.fds == nil {
			raw.fds = rows.FieldDescriptions()[:n]
		}
		vals := rows.RawValues()
		for _, v := range vals {
			pageBytes += len(v)
		}
		raw.load(vals)
		var r actingweb.Record
		if raw.ok {
			r, raw.ok = sp.decode(&raw)
		}
		if !raw.ok {
			if r, err = sp.scan(rows); err != nil {
				return s.tableErr(t, "scan", err)
			}
		}
		page = append(page, r)
		last = r
		read++
	}
	if err := rows.Err(); err != nil {
		return s.tableErr(t, "scan", err)
	}
	return emit(true)
}

// PreferredBatchSize is the batch size the migrate engine uses for writes into PostgreSQL
// (migrate.BatchSizer): bigger COPY batches than the engine's default of 500 cut the per-batch
// costs (statement, round trips, engine bookkeeping) of client and server. Measured on the
// bench data set (1.5 M rows, 2 writers per table, 2 cores, the actingweb binary with its
// 100 MiB soft memory limit): 2,000 rows 7.1-8.0 s, 13.1-14.8 CPU-s, 105-108 MB peak RSS;
// 5,000 rows 6.7-7.2 s, 12.3-13.3 CPU-s, 112-116 MB; 10,000 rows 7.9-8.5 s (the collector
// runs against the memory limit), 127-140 MB.
func (s *Store) PreferredBatchSize() int { return PreferredBatchSize }

// PreferredBatchSize is the value of Store.PreferredBatchSize.
const PreferredBatchSize = 5000

// PreferredWriters is the number of writers per table the migrate engine runs against
// PostgreSQL when --concurrency is not given (migrate.WriterCounter): 2, not the engine's 4.
// Concurrent COPYs into one table contend for its last heap page and the right edge of its
// primary-key B-tree (PostgreSQL 15 extends a relation one page at a time under the extension
// lock). Measured on the bench data set (1.5 M rows, 2 cores, two tables at once, interleaved
// runs): 4 writers 7.2-8.3 s and 1,408-1,543 CPU jiffies, 2 writers 6.5-7.5 s and
// 1,328-1,389 jiffies.
func (s *Store) PreferredWriters() int { return PreferredWriters }

// WriterHandover is false (migrate.WriterHandover): a table keeps its writers when others
// finish. Measured on the bench data set (1.5 M rows, 2 cores, interleaved runs of the import,
// properties the last table running): with the handover (4 writers into properties at the
// end) 6.99-8.87 s and 10.05-13.21 server CPU-s, without 6.78-8.48 s and 9.74-12.29 CPU-s,
// each of six pairs faster without.
func (s *Store) WriterHandover() bool { return false }

// PreferredWriters is the value of Store.PreferredWriters.
const PreferredWriters = 2

// WriteBatch writes recs (all of table t) under policy in one transaction.
//
// Every row is checked first (CheckRecord, §9.2); property_lookup rows are also checked for an
// actors row (the deferred foreign key would otherwise fail the commit). Rows that fail become
// Rejects with the reason; the rest are written. The UTF-8 and NUL check of unlimited text
// columns and the jsonb check of payloads are left to PostgreSQL, which refuses the same
// (checkRecord): when it does, nothing was written and the batch is checked in full and
// written again, so the result is the same.
// Policies:
//
//   - ConflictFail: COPY straight into the table. A key that already exists (or appears twice
//     in recs) fails the whole batch with an error wrapping actingweb.ErrConflict that names the
//     table and the first such key; nothing is written.
//   - ConflictSkip: COPY into a session temporary table, then INSERT ... ON CONFLICT DO
//     NOTHING. Existing keys and later duplicates within recs count as Skipped.
//   - ConflictOverwrite: the same with ON CONFLICT DO UPDATE of every non-key column (actors:
//     a NULL created_at keeps the stored one). Within recs the last row of a key wins; the
//     earlier ones count as Written (replaced).
//
// Written + Skipped + len(Rejects) == len(recs). On any error the transaction is rolled back
// and the error returned (never a commit that silently rolls back, §7.2 I9); the batch may then
// be retried whole. A record of another table is a caller error (ErrInvalid).
func (s *Store) WriteBatch(ctx context.Context, t actingweb.Table, recs []actingweb.Record, policy actingweb.ConflictPolicy) (actingweb.WriteResult, error) {
	res, err := s.writeBatch(ctx, t, recs, policy, true)
	if isDataException(err) {
		// PostgreSQL refused a value the quick checks leave to it (invalid UTF-8 or a NUL in
		// a text column, a payload jsonb refuses): nothing was written; check every row in full and write again, the
		// refused rows as Rejects.
		res, err = s.writeBatch(ctx, t, recs, policy, false)
	}
	return res, err
}

// writeBatch is WriteBatch with the quick or the full row checks (checkRecord).
func (s *Store) writeBatch(ctx context.Context, t actingweb.Table, recs []actingweb.Record, policy actingweb.ConflictPolicy, quick bool) (actingweb.WriteResult, error) {
	var res actingweb.WriteResult
	sp, err := spec(t)
	if err != nil {
		return res, err
	}
	good := make([]actingweb.Record, 0, len(recs))
	for i, r := range recs {
		if r == nil || r.Table() != t {
			return res, fmt.Errorf("postgres: write %s: %w: record %d is %T, not a %s record", t, actingweb.ErrInvalid, i, r, t)
		}
		if reason := checkRecord(r, quick); reason != "" {
			res.Rejects = append(res.Rejects, actingweb.Reject{Table: t, Key: r.Key(), Reason: reason, Record: r})
			continue
		}
		good = append(good, r)
	}
	if t == actingweb.TablePropertyLookup && len(good) > 0 {
		if good, err = s.rejectOrphans(ctx, good, &res); err != nil {
			return actingweb.WriteResult{}, err
		}
	}
	if len(good) == 0 {
		return res, nil
	}

	if policy == actingweb.ConflictFail {
		// The primary key refuses a key that appears twice in good as it refuses one that
		// exists: the duplicate check runs only when the COPY fails (copyFail).
		n, err := s.copyFail(ctx, sp, good)
		if err != nil {
			return actingweb.WriteResult{}, err
		}
		res.Written += n
		return res, nil
	}

	// Duplicate keys within the batch.
	seen := make(map[string]int, len(good))
	dedup := good[:0:0]
	for _, r := range good {
		k := strings.Join(sp.keyOf(r), "\x00") // NUL cannot occur in checked values
		if j, ok := seen[k]; ok {
			switch policy {
			case actingweb.ConflictSkip:
				res.Skipped++
			default: // overwrite: the later row replaces the earlier one
				dedup[j] = r
				res.Written++
			}
			continue
		}
		seen[k] = len(dedup)
		dedup = append(dedup, r)
	}

	n, err := s.copyNew(ctx, sp, dedup, policy)
	if isUniqueViolation(err) {
		// A concurrent writer inserted one of the keys between the check and the COPY: the
		// transaction was rolled back; redo the batch with INSERT ... ON CONFLICT.
		n, err = s.insertOnConflict(ctx, sp, dedup, policy)
	}
	if err != nil {
		return actingweb.WriteResult{}, err
	}
	res.Written += n
	if policy == actingweb.ConflictSkip {
		res.Skipped += len(dedup) - n
	}
	return res, nil
}

// copyFail writes recs with COPY straight into the table. When the COPY fails (nothing
// written) and a key appears twice in recs, the error wraps ErrConflict and names the first
// repeated key (what a check before the COPY would have said); otherwise an existing key
// fails the batch with ErrConflict naming it. Returns the rows written.
func (s *Store) copyFail(ctx context.Context, sp *tableSpec, recs []actingweb.Record) (int, error) {
	// One COPY is one statement, so its own transaction: all rows or none (the deferred
	// foreign key of property_lookup is checked at its end), no BEGIN/COMMIT round trips.
	what := "write (copy)"
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		what = "write"
	} else {
		err = s.copyRecords(ctx, c.Conn().PgConn(), pgx.Identifier{s.schema, string(sp.t)}, sp, recs)
		c.Release()
	}
	if err != nil {
		if r := firstRepeated(sp, recs); r != nil {
			return 0, fmt.Errorf("postgres: write %s: %w: key %s appears twice in the batch (policy fail); nothing written",
				sp.t, actingweb.ErrConflict, s.showKey(sp, r))
		}
		if isUniqueViolation(err) {
			return 0, s.conflictErr(ctx, sp, recs, err)
		}
		return 0, s.tableErr(sp.t, what, err)
	}
	return len(recs), nil
}

// firstRepeated returns the first record of recs whose key an earlier record has, or nil.
func firstRepeated(sp *tableSpec, recs []actingweb.Record) actingweb.Record {
	seen := make(map[string]bool, len(recs))
	for _, r := range recs {
		k := strings.Join(sp.keyOf(r), "\x00") // NUL cannot occur in checked values
		if seen[k] {
			return r
		}
		seen[k] = true
	}
	return nil
}

// copyRecords sends recs into table (columns sp.cols) with one COPY ... FROM STDIN BINARY on
// conn: the statement pgx's CopyFrom sends, with the rows encoded by sp.row (no []any per
// row, no interface boxing of every value) as pgx reads them (copyRows): no buffer of the
// whole batch, whose encoded copy would double the memory a batch holds while it is written.
func (s *Store) copyRecords(ctx context.Context, conn *pgconn.PgConn, table pgx.Identifier, sp *tableSpec, recs []actingweb.Record) error {
	_, err := conn.CopyFrom(ctx, &copyRows{sp: sp, recs: recs, pend: copyHeader}, "copy "+table.Sanitize()+" ( "+quoteList(sp.cols)+" ) from stdin binary;")
	return err
}

// copyRows is the io.Reader of a binary COPY's data: the header, then recs encoded by sp.row
// straight into the reader's buffer (pgconn reads 64 KiB at a time); a row that may not fit
// the rest of it is encoded into spill and handed out over the next reads.
type copyRows struct {
	sp    *tableSpec
	recs  []actingweb.Record
	pend  []byte // bytes encoded but not yet read
	spill []byte
}

func (c *copyRows) Read(p []byte) (int, error) {
	n := copy(p, c.pend)
	c.pend = c.pend[n:]
	for n < len(p) && len(c.pend) == 0 && len(c.recs) > 0 {
		r := c.recs[0]
		c.recs = c.recs[1:]
		// a bound of the row's encoding: its strings and payload (RecordSize), a length
		// word per column, the field count and fixed-size values (RecordSize's 64 or more)
		if len(p)-n >= actingweb.RecordSize(r)+4*len(c.sp.cols) {
			if b := c.sp.row(r, p[:n:len(p)]); unsafe.SliceData(b) == unsafe.SliceData(p) {
				n = len(b)
				continue
			}
		}
		c.spill = c.sp.row(r, c.spill[:0])
		k := copy(p[n:], c.spill)
		n += k
		c.pend = c.spill[k:]
	}
	if n == 0 && len(c.pend) == 0 && len(c.recs) == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// copyNew is the fast path of skip and overwrite: one query finds which keys of recs exist,
// the new rows go in by COPY straight into the table (PostgreSQL's multi-row insert, about
// three times faster than INSERT ... SELECT), and under overwrite the existing ones are
// replaced by INSERT ... ON CONFLICT DO UPDATE. One transaction. A unique violation (a
// concurrent insert after the check) is returned as is, the transaction rolled back.
func (s *Store) copyNew(ctx context.Context, sp *tableSpec, recs []actingweb.Record, policy actingweb.ConflictPolicy) (int, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, s.tableErr(sp.t, "write", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // no-op after Commit
	existing, err := s.existingKeys(ctx, tx, sp, recs)
	if err != nil {
		return 0, err
	}
	fresh, old := recs, []actingweb.Record(nil)
	if len(existing) > 0 {
		fresh = make([]actingweb.Record, 0, len(recs))
		for _, r := range recs {
			if existing[strings.Join(sp.keyOf(r), "\x00")] {
				old = append(old, r)
			} else {
				fresh = append(fresh, r)
			}
		}
	}
	n := 0
	if len(fresh) > 0 {
		if err := s.copyRecords(ctx, tx.Conn().PgConn(), pgx.Identifier{s.schema, string(sp.t)}, sp, fresh); err != nil {
			if isUniqueViolation(err) {
				return 0, err
			}
			return 0, s.tableErr(sp.t, "write (copy)", err)
		}
		n = len(fresh)
	}
	if len(old) > 0 && policy == actingweb.ConflictOverwrite {
		m, err := s.upsertTx(ctx, tx, sp, old, policy)
		if err != nil {
			return 0, err
		}
		n += m
	}
	if err := tx.Commit(ctx); err != nil {
		if isUniqueViolation(err) {
			return 0, err
		}
		return 0, s.tableErr(sp.t, "write (commit)", err)
	}
	return n, nil
}

// insertOnConflict is the slow path of skip and overwrite: INSERT ... ON CONFLICT through a
// temporary table, one transaction.
func (s *Store) insertOnConflict(ctx context.Context, sp *tableSpec, recs []actingweb.Record, policy actingweb.ConflictPolicy) (int, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, s.tableErr(sp.t, "write", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // no-op after Commit
	n, err := s.upsertTx(ctx, tx, sp, recs, policy)
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, s.tableErr(sp.t, "write (commit)", err)
	}
	return n, nil
}

// upsertTx COPYs recs into the session's temporary table aw_tmp_<table> (created on first use,
// emptied at every commit) and moves them with INSERT ... ON CONFLICT DO NOTHING (skip) or DO
// UPDATE (overwrite). Returns the rows inserted or updated.
func (s *Store) upsertTx(ctx context.Context, tx pgx.Tx, sp *tableSpec, recs []actingweb.Record, policy actingweb.ConflictPolicy) (int, error) {
	t := sp.t
	tmp := "aw_tmp_" + string(t)
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS `+pgx.Identifier{tmp}.Sanitize()+
		` (LIKE `+s.qtable(t)+`) ON COMMIT DELETE ROWS`); err != nil {
		return 0, s.tableErr(t, "write (temporary table)", err)
	}
	if err := s.copyRecords(ctx, tx.Conn().PgConn(), pgx.Identifier{"pg_temp", tmp}, sp, recs); err != nil {
		return 0, s.tableErr(t, "write (copy)", err)
	}
	cols := quoteList(sp.cols)
	ins := `INSERT INTO ` + s.qtable(t) + ` AS t (` + cols + `) SELECT ` + cols + ` FROM pg_temp.` + pgx.Identifier{tmp}.Sanitize() +
		` ON CONFLICT (` + quoteList(sp.pk) + `) DO `
	if policy == actingweb.ConflictSkip {
		ins += `NOTHING`
	} else {
		ins += `UPDATE SET ` + sp.update
	}
	tag, err := tx.Exec(ctx, ins)
	if err != nil {
		return 0, s.tableErr(t, "write (insert)", err)
	}
	// Empty the temporary table now too: a later statement of this transaction must not see it.
	if _, err := tx.Exec(ctx, `DELETE FROM pg_temp.`+pgx.Identifier{tmp}.Sanitize()); err != nil {
		return 0, s.tableErr(t, "write (temporary table)", err)
	}
	return int(tag.RowsAffected()), nil
}

// existingKeys returns the keys (parts joined by NUL) of recs that exist in the table.
func (s *Store) existingKeys(ctx context.Context, q pgxQuerier, sp *tableSpec, recs []actingweb.Record) (map[string]bool, error) {
	arrays := make([][]string, len(sp.pk))
	for i := range arrays {
		arrays[i] = make([]string, 0, len(recs))
	}
	for _, r := range recs {
		for i, v := range sp.keyOf(r) {
			arrays[i] = append(arrays[i], v)
		}
	}
	args := make([]any, len(arrays))
	ph := make([]string, len(arrays))
	on := make([]string, len(arrays))
	kcols := make([]string, len(arrays))
	for i := range arrays {
		args[i] = arrays[i]
		ph[i] = fmt.Sprintf("$%d::text[]", i+1)
		kcols[i] = "c" + strconv.Itoa(i)
		on[i] = fmt.Sprintf("t.%s = k.c%d", pgx.Identifier{sp.pk[i]}.Sanitize(), i)
	}
	q2 := `SELECT ` + quoteListPrefixed("t.", sp.pk) + ` FROM ` + s.qtable(sp.t) + ` t JOIN unnest(` +
		strings.Join(ph, ", ") + `) AS k(` + strings.Join(kcols, ", ") + `) ON ` + strings.Join(on, " AND ")
	rows, err := q.Query(ctx, q2, args...)
	if err != nil {
		return nil, s.tableErr(sp.t, "write (check existing keys)", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	key := make([]string, len(sp.pk))
	dst := make([]any, len(key))
	for i := range key {
		dst[i] = &key[i]
	}
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return nil, s.tableErr(sp.t, "write (check existing keys)", err)
		}
		out[strings.Join(key, "\x00")] = true
	}
	if err := rows.Err(); err != nil {
		return nil, s.tableErr(sp.t, "write (check existing keys)", err)
	}
	return out, nil
}

// rejectOrphans moves lookup rows whose actor has no actors row into res.Rejects.
func (s *Store) rejectOrphans(ctx context.Context, recs []actingweb.Record, res *actingweb.WriteResult) ([]actingweb.Record, error) {
	ids := make([]string, 0, len(recs))
	for _, r := range recs {
		ids = append(ids, r.Owner())
	}
	rows, err := s.pool.Query(ctx, `SELECT id FROM `+s.qtable(actingweb.TableActors)+` WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, s.tableErr(actingweb.TableActors, "check lookup owners in", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, s.tableErr(actingweb.TableActors, "check lookup owners in", err)
	}
	exists := make(map[string]bool, len(found))
	for _, id := range found {
		exists[id] = true
	}
	out := recs[:0:0]
	for _, r := range recs {
		if !exists[r.Owner()] {
			res.Rejects = append(res.Rejects, actingweb.Reject{Table: actingweb.TablePropertyLookup, Key: r.Key(), Record: r,
				Reason: fmt.Sprintf("orphan: actor %q has no actors row (foreign key fk_property_lookup_actor)", r.Owner())})
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// showKey renders a record's primary key for messages; a lookup value is withheld.
func (s *Store) showKey(sp *tableSpec, r actingweb.Record) string {
	if l, ok := r.(*actingweb.PropertyLookup); ok {
		return fmt.Sprintf("%s / <value withheld> (actor %s)", l.PropertyName, l.ActorID)
	}
	return strings.Join(sp.keyOf(r), " / ")
}

// conflictErr builds the ErrConflict error of a failed ConflictFail batch, naming the first
// (in key order) existing key of the batch.
func (s *Store) conflictErr(ctx context.Context, sp *tableSpec, recs []actingweb.Record, cause error) error {
	arrays := make([][]string, len(sp.pk))
	for _, r := range recs {
		for i, v := range sp.keyOf(r) {
			arrays[i] = append(arrays[i], v)
		}
	}
	args := make([]any, len(arrays))
	ph := make([]string, len(arrays))
	on := make([]string, len(arrays))
	for i := range arrays {
		args[i] = arrays[i]
		ph[i] = fmt.Sprintf("$%d::text[]", i+1)
		c := pgx.Identifier{sp.pk[i]}.Sanitize()
		on[i] = fmt.Sprintf("t.%s = k.c%d", c, i)
	}
	kcols := make([]string, len(arrays))
	for i := range kcols {
		kcols[i] = "c" + strconv.Itoa(i)
	}
	q := `SELECT ` + quoteListPrefixed("t.", sp.pk) + `, t.` + pgx.Identifier{sp.owner}.Sanitize() + ` FROM ` + s.qtable(sp.t) + ` t JOIN unnest(` +
		strings.Join(ph, ", ") + `) AS k(` + strings.Join(kcols, ", ") + `) ON ` + strings.Join(on, " AND ") +
		` ORDER BY ` + quoteListPrefixed("t.", sp.pk) + ` LIMIT 1`
	key := make([]string, len(sp.pk)+1)
	dst := make([]any, len(key))
	for i := range key {
		dst[i] = &key[i]
	}
	if err := s.pool.QueryRow(ctx, q, args...).Scan(dst...); err != nil {
		var pe *pgconn.PgError
		errors.As(cause, &pe)
		constraint := ""
		if pe != nil {
			constraint = " (" + pe.ConstraintName + ")"
		}
		return fmt.Errorf("postgres: write %s.%s: %w: a key of the batch exists%s (policy fail); nothing written", s.schema, sp.t, actingweb.ErrConflict, constraint)
	}
	shown := strings.Join(key[:len(sp.pk)], " / ")
	if sp.t == actingweb.TablePropertyLookup {
		shown = fmt.Sprintf("%s / <value withheld> (actor %s)", key[0], key[len(sp.pk)])
	}
	return fmt.Errorf("postgres: write %s.%s: %w: key %s exists (policy fail); nothing written", s.schema, sp.t, actingweb.ErrConflict, shown)
}

func quoteListPrefixed(prefix string, cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = prefix + pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(q, ", ")
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// isDataException reports an error of SQLSTATE class 22 (data exception: invalid byte
// sequence, value too long, invalid JSON, ...), PostgreSQL's refusal of a value.
func isDataException(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && strings.HasPrefix(pe.Code, "22")
}

// maxLookupSamples bounds LookupRebuild.Samples.
const maxLookupSamples = 10

// RebuildPropertyLookup derives property_lookup rows from properties for names (rows whose name
// starts with "list:" excluded), in one statement: for every (name, value) the row of the first
// owner by id is inserted (ON CONFLICT DO NOTHING). It counts per property row: Written
// (inserted), Existing (the key already points to this actor), Collisions (the key belongs to
// another actor, or another actor with a smaller id got it), Orphans (no actors row: skipped,
// the foreign key would refuse it). Rows whose name + value exceed MaxLookupEntryBytes cannot
// be indexed: they are skipped, counted in no field but Scanned, and listed in Samples. Samples
// are "name / actor (why)", never values. The same statement (one pass over properties) lists
// the contested keys (LookupRebuild.Contested): lookup rows of the names, as they are after
// the insert, whose value other actors (with an actors row) hold too, with the row's owner as
// Kept. Idempotent.
func (s *Store) RebuildPropertyLookup(ctx context.Context, names []string) (actingweb.LookupRebuild, error) {
	return s.rebuildLookup(ctx, s.pool, names, s.qtable(actingweb.TableProperties))
}

// rebuildWorkMem is the work_mem of the rebuild statement (SET LOCAL): its sorts of the
// candidate rows spill to disk with PostgreSQL's default of 4 MB from ~30,000 lookup rows on.
const rebuildWorkMem = "32MB"

// rebuildLookup is RebuildPropertyLookup with the property rows read from src (a table with
// the columns name, value, id: the properties table, or a lookup feed's staging table), in
// one transaction on db.
func (s *Store) rebuildLookup(ctx context.Context, db interface {
	Begin(context.Context) (pgx.Tx, error)
}, names []string, src string) (actingweb.LookupRebuild, error) {
	out := actingweb.LookupRebuild{Samples: []string{}}
	if len(names) == 0 {
		return out, nil
	}
	q := `WITH src AS (
		SELECT p.name, p.value, p.id,
			EXISTS (SELECT 1 FROM ` + s.qtable(actingweb.TableActors) + ` a WHERE a.id = p.id) AS has_actor,
			octet_length(p.name) + octet_length(p.value) > $2 AS too_long
		FROM ` + src + ` p
		WHERE p.name = ANY($1::text[]) AND left(p.name, 5) <> 'list:'
	), cand AS (
		SELECT DISTINCT ON (name, value) name, value, id FROM src
		WHERE has_actor AND NOT too_long AND length(name) <= 255
		ORDER BY name, value, id
	), ins AS (
		INSERT INTO ` + s.qtable(actingweb.TablePropertyLookup) + ` (property_name, value, actor_id)
		SELECT name, value, id FROM cand
		ON CONFLICT (property_name, value) DO NOTHING
		RETURNING property_name, value, actor_id
	), cls AS (
		SELECT s.name, s.id, CASE
			WHEN NOT s.has_actor THEN 'orphan'
			WHEN s.too_long OR length(s.name) > 255 THEN 'too_long'
			WHEN i.actor_id IS NOT NULL THEN 'written'
			WHEN l.actor_id = s.id THEN 'existing'
			ELSE 'collision' END AS kind,
			coalesce(l.actor_id, c.id) AS holder
		FROM src s
		LEFT JOIN cand c ON c.name = s.name AND c.value = s.value
		LEFT JOIN ins i ON i.property_name = s.name AND i.value = s.value AND i.actor_id = s.id
		LEFT JOIN ` + s.qtable(actingweb.TablePropertyLookup) + ` l ON l.property_name = s.name AND l.value = s.value
	), lk AS (
		-- the lookup rows of names after the insert: those before it and those it wrote
		SELECT l.property_name AS name, l.value, l.actor_id FROM ` + s.qtable(actingweb.TablePropertyLookup) + ` l
		WHERE l.property_name = ANY($1::text[]) AND left(l.property_name, 5) <> 'list:'
		UNION ALL
		SELECT property_name, value, actor_id FROM ins
	), con AS (
		SELECT k.name, k.value, k.actor_id, array_agg(s.id ORDER BY s.id) AS others
		FROM lk k JOIN src s ON s.name = k.name AND s.value = k.value
		WHERE s.id <> k.actor_id AND s.has_actor
		GROUP BY k.name, k.value, k.actor_id
		ORDER BY k.name, k.value
		LIMIT $4
	)
	` + lookupSummary
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL work_mem = '"+rebuildWorkMem+"'"); err != nil {
			return err
		}
		var err error
		out, err = s.queryLookupSummary(ctx, tx, q, names)
		return err
	})
	if err != nil {
		return actingweb.LookupRebuild{}, err
	}
	return out, nil
}

// lookupSummary ends the statements of rebuildLookup and of the lookup feed's Close: from
// the CTEs cls (kind and holder per candidate row) and con (contested keys) it selects the
// contested keys as JSON, the counts and the samples. $3 is maxLookupSamples, $4
// actingweb.MaxLookupContests+1.
const lookupSummary = `SELECT (SELECT coalesce(json_agg(json_build_array(name, value, actor_id, others)), '[]') FROM con),
		count(*),
		count(*) FILTER (WHERE kind = 'written'),
		count(*) FILTER (WHERE kind = 'existing'),
		count(*) FILTER (WHERE kind = 'collision'),
		count(*) FILTER (WHERE kind = 'orphan'),
		coalesce((array_agg(name || ' / ' || id || ' (' || CASE kind
			WHEN 'orphan' THEN 'orphan: no actors row'
			WHEN 'too_long' THEN 'value too large for the lookup index'
			ELSE 'collision: value already owned by ' || coalesce(holder, 'another actor') END || ')'
			ORDER BY name, id) FILTER (WHERE kind IN ('collision', 'orphan', 'too_long')))[1:$3], '{}')
	FROM cls`

// queryLookupSummary runs q (a statement ending with lookupSummary; $1 names, $2
// MaxLookupEntryBytes) on db and reads its result.
func (s *Store) queryLookupSummary(ctx context.Context, db pgx.Tx, q string, names []string) (actingweb.LookupRebuild, error) {
	out := actingweb.LookupRebuild{Samples: []string{}}
	var contested []byte
	if err := db.QueryRow(ctx, q, names, MaxLookupEntryBytes, maxLookupSamples, actingweb.MaxLookupContests+1).Scan(
		&contested, &out.Scanned, &out.Written, &out.Existing, &out.Collisions, &out.Orphans, &out.Samples); err != nil {
		return actingweb.LookupRebuild{}, s.tableErr(actingweb.TablePropertyLookup, "rebuild", err)
	}
	var err error
	if out.Contested, out.ContestedTruncated, err = decodeContests(contested); err != nil {
		return actingweb.LookupRebuild{}, s.tableErr(actingweb.TablePropertyLookup, "rebuild (contested keys)", err)
	}
	return out, nil
}

// decodeContests reads the contested keys of RebuildPropertyLookup's statement, a JSON array
// of [name, value, kept, [others...]], at most actingweb.MaxLookupContests+1 of them: the
// first MaxLookupContests sorted by name and lookup key, and true when there were more.
func decodeContests(raw []byte) ([]actingweb.LookupContest, bool, error) {
	var rows [][]json.RawMessage
	if err := json.Unmarshal(raw, &rows); err != nil {
		return nil, false, err
	}
	out := make([]actingweb.LookupContest, 0, min(len(rows), actingweb.MaxLookupContests))
	truncated := false
	for _, row := range rows {
		if len(out) == actingweb.MaxLookupContests {
			truncated = true
			break
		}
		var c actingweb.LookupContest
		if len(row) != 4 {
			return nil, false, fmt.Errorf("contested key row of %d fields", len(row))
		}
		for i, dst := range []any{&c.PropertyName, &c.Value, &c.Kept, &c.Others} {
			if err := json.Unmarshal(row[i], dst); err != nil {
				return nil, false, err
			}
		}
		c.LookupKey = actingweb.LookupKey(c.PropertyName, c.Value)
		out = append(out, c)
	}
	sortContests(out)
	return out, truncated, nil
}

func sortContests(out []actingweb.LookupContest) {
	sort.Slice(out, func(i, j int) bool {
		if out[i].PropertyName != out[j].PropertyName {
			return out[i].PropertyName < out[j].PropertyName
		}
		return out[i].LookupKey < out[j].LookupKey
	})
}
