package postgres

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/actingweb/actingweb-go/internal/arena"
)

// rawRow decodes the raw column values of one result row (pgx rows.RawValues) without the
// type map. A value it cannot decode exactly as rows.Scan would (NULL in a non-pointer field,
// an unexpected type or format, a timestamp pgx refuses) clears ok, and the row is scanned.
type rawRow struct {
	fds  []pgconn.FieldDescription
	vals [][]byte
	ok   bool

	arena arena.Strings // the bytes of the strings and payloads decoded
	slab  any           // the slab of the table's record type (arena.Record)
	own   bool          // every value and record its own allocation (ScanOptions.Retain)
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

// microsecFromUnixEpochToY2K is PostgreSQL's epoch (2000-01-01) in microseconds since 1970:
// binary timestamps count from it.
const microsecFromUnixEpochToY2K = 946684800 * 1000000

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
