package postgres

import (
	"encoding/json"
	"time"
	"unsafe"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/arena"
)

// The row codecs of a table, one loop over its columns (specs.go) switching on each column's
// codec. A column's field is reached at its offset from the record's address (tableSpec.base),
// computed once from the model: no reflection, map or interface call per value.

// scan reads one row (columns in sp.columns order) into a new record.
func (sp *tableSpec) scan(rows rowScanner) (actingweb.Record, error) {
	r := sp.m.New()
	err := sp.scanInto(rows, r)
	return r, err
}

// scanInto reads one row (columns in sp.columns order) into r, a record of the table: the
// fields' own types as scan destinations (a jsonb payload as its text, NULL as nil), times
// then in UTC, derived fields set.
func (sp *tableSpec) scanInto(rows rowScanner, r actingweb.Record) error {
	b := sp.base(r)
	dest := make([]any, len(sp.columns))
	for i := range sp.columns {
		c := &sp.columns[i]
		p := unsafe.Add(b, c.off)
		switch c.codec {
		case codecText:
			dest[i] = (*string)(p)
		case codecOptText:
			dest[i] = (**string)(p)
		case codecBool:
			dest[i] = (*bool)(p)
		case codecInt4:
			dest[i] = (*int64)(p)
		case codecOptInt8:
			dest[i] = (**int64)(p)
		case codecTime:
			dest[i] = (*time.Time)(p)
		case codecOptTime:
			dest[i] = (**time.Time)(p)
		case codecJSONB:
			dest[i] = (*[]byte)(p) // a json.RawMessage: pgx copies the text, nil for NULL
		}
	}
	err := rows.Scan(dest...)
	for i := range sp.columns {
		c := &sp.columns[i]
		switch p := unsafe.Add(b, c.off); c.codec {
		case codecTime:
			t := (*time.Time)(p)
			*t = t.UTC()
		case codecOptTime:
			if t := *(**time.Time)(p); t != nil { // pgx's own allocation: converted in place
				*t = t.UTC()
			}
		}
	}
	if sp.derive != nil {
		sp.derive(r)
	}
	return err
}

// decode is scan from the row's raw column values, for the formats pgx asks for by default
// (text for text and jsonb, binary for the rest); ok false: anything else (a NULL in a
// non-null field, another format), left to scan (rawscan_test.go proves them equal). The
// record comes from the decoder's slab unless it retains rows (rawRow.own).
func (sp *tableSpec) decode(d *rawRow) (rec actingweb.Record, ok bool) {
	if d.own {
		rec = sp.m.New()
	} else {
		rec = arena.Record(sp.template, &d.slab)
	}
	b := sp.base(rec)
	for i := range sp.columns {
		c := &sp.columns[i]
		switch p := unsafe.Add(b, c.off); c.codec {
		case codecText:
			*(*string)(p) = d.str(i)
		case codecOptText:
			*(**string)(p) = d.optStr(i)
		case codecBool:
			*(*bool)(p) = d.bool(i)
		case codecInt4:
			*(*int64)(p) = d.int(i)
		case codecOptInt8:
			*(**int64)(p) = d.optInt64(i)
		case codecTime:
			*(*time.Time)(p) = d.time(i)
		case codecOptTime:
			*(**time.Time)(p) = d.optTime(i)
		case codecJSONB:
			*(*json.RawMessage)(p) = d.jsonb(i)
		}
	}
	if sp.derive != nil {
		sp.derive(rec)
	}
	return rec, d.ok
}

// values renders a record as column values in columns order, appended to dst (the reference
// rendering: pgx encodes these exactly as row does, copy_test.go proves it).
func (sp *tableSpec) values(r actingweb.Record, dst []any) []any {
	b := sp.base(r)
	for i := range sp.columns {
		dst = append(dst, sp.columns[i].arg(b))
	}
	return dst
}

// arg is the query argument of column c of the record at b: the field's value (int32 for an
// integer column, a UTC time, a payload's bytes), or nil for SQL NULL (a nil pointer, a nil
// or JSON null payload, §5.3). An integer out of int32 range stays an int64, which pgx
// refuses for an integer column (written rows are range-checked first, checkRecord).
func (c *column) arg(b unsafe.Pointer) any {
	switch p := unsafe.Add(b, c.off); c.codec {
	case codecText:
		return *(*string)(p)
	case codecOptText:
		if s := *(**string)(p); s != nil {
			return *s
		}
	case codecBool:
		return *(*bool)(p)
	case codecInt4:
		v := *(*int64)(p)
		if v != int64(int32(v)) {
			return v // out of integer range: pgx refuses it, nothing is wrapped
		}
		return int32(v)
	case codecOptInt8:
		if v := *(**int64)(p); v != nil {
			return *v
		}
	case codecTime:
		return (*time.Time)(p).UTC()
	case codecOptTime:
		if t := *(**time.Time)(p); t != nil {
			return t.UTC()
		}
	case codecJSONB:
		if raw := *(*json.RawMessage)(p); raw != nil && !isJSONNull(raw) {
			return []byte(raw)
		}
	}
	return nil
}

// keyOf returns the primary-key column values of a record, in pk order. A nil optional key
// part (property_lookup.value of a row from DynamoDB) panics: checkRecord rejects such rows
// before any write.
func (sp *tableSpec) keyOf(r actingweb.Record) []string {
	b := sp.base(r)
	k := make([]string, len(sp.pkCols))
	for i, j := range sp.pkCols {
		c := &sp.columns[j]
		p := unsafe.Add(b, c.off)
		if c.codec == codecOptText {
			k[i] = **(**string)(p)
		} else {
			k[i] = *(*string)(p)
		}
	}
	return k
}
