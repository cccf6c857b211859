package postgres

import (
	"encoding/binary"
	"encoding/json"
	"time"
)

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
