package postgres

import (
	"time"
	"unsafe"

	"github.com/jackc/pgx/v5"

	actingweb "github.com/actingweb/actingweb-go"
)

// Whole-record statements of the application face, from the table descriptions (specs.go):
// a whole row is read with tableSpec.selectFrom and scanAs, written with tableSpec.insert and
// the arguments of tableSpec.values.

// scanAs returns the reader of a whole row of table t (the columns of its selectFrom) into a
// T, the record type of t: times in UTC, NULLs as nil.
func scanAs[T any, PT interface {
	*T
	actingweb.Record
}](t actingweb.Table) func(pgx.Row) (T, error) {
	sp := specs[t]
	return func(row pgx.Row) (T, error) {
		var x T
		err := sp.scanInto(row, PT(&x))
		return x, err
	}
}

// setExcept is the SET list of an upsert that replaces every non-key column with the row
// offered (EXCLUDED) but the columns named in keep.
func (sp *tableSpec) setExcept(keep ...string) string {
	set := ""
	for _, c := range sp.columns {
		skip := c.key
		for _, k := range keep {
			skip = skip || c.name == k
		}
		if skip {
			continue
		}
		if set != "" {
			set += ", "
		}
		set += c.quoted + " = EXCLUDED." + c.quoted
	}
	return set
}

// normalizeTimes sets every time of r, a record of the table, to its UTC microsecond form
// (actingweb.NormalizeTime, §4.1): the value a `timestamp` column stores as naive UTC and a
// `timestamptz` column as the same instant. Optional times get a new pointer: the values the
// caller's record points to are left alone.
func (sp *tableSpec) normalizeTimes(r actingweb.Record) {
	b := sp.base(r)
	for i := range sp.columns {
		c := &sp.columns[i]
		switch p := unsafe.Add(b, c.off); c.codec {
		case codecTime:
			*(*time.Time)(p) = actingweb.NormalizeTime(*(*time.Time)(p))
		case codecOptTime:
			if t := *(**time.Time)(p); t != nil {
				n := actingweb.NormalizeTime(*t)
				*(**time.Time)(p) = &n
			}
		}
	}
}

// emptyOptionalsNull sets every optional string of r, a record of the table, that is "" to
// nil (SQL NULL).
func (sp *tableSpec) emptyOptionalsNull(r actingweb.Record) {
	b := sp.base(r)
	for i := range sp.columns {
		if c := &sp.columns[i]; c.codec == codecOptText {
			if p := (**string)(unsafe.Add(b, c.off)); *p != nil && **p == "" {
				*p = nil
			}
		}
	}
}
