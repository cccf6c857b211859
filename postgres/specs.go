package postgres

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unsafe"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/arena"
	"github.com/jackc/pgx/v5"
)

// The physical description of the nine tables is derived from the table model
// (actingweb.Model, docs/storage-model.md §3, §4.2, §5.3): the columns are the model's fields
// with a PostgreSQL type, in physical order; the primary key its PGKey fields; the owner its
// Owner field. Each column gets a codec from its field's kind and column type, and the row
// codecs of tableSpec (codec.go) loop over the columns. What the model does not describe is
// a hook of the table here: fields that are not columns (property_lookup.lookup_key, computed
// from name and value) and property_lookup's value checks (check.go).

// codec is how a column's value crosses between record and row: the field's Go type and the
// column's wire type.
type codec uint8

const (
	codecText    codec = iota + 1 // string, text or varchar NOT NULL
	codecOptText                  // *string, text or varchar (nil = NULL)
	codecBool                     // bool, boolean
	codecInt4                     // int64, integer: int32 on the wire (range checked, §9.2)
	codecOptInt8                  // *int64, bigint
	codecTime                     // time.Time, timestamp or timestamptz NOT NULL
	codecOptTime                  // *time.Time, timestamp or timestamptz
	codecJSONB                    // json.RawMessage, jsonb (nil and JSON null = NULL)
)

// codecs maps a field kind and column type (information_schema's data_type) to its codec.
// Timestamps: both column types carry the same microseconds since 2000-01-01 UTC; values go
// out as UTC times (a `timestamp without time zone` takes the UTC wall time, §4.1) and come
// back in UTC (pgx returns timestamptz in time.Local).
var codecs = map[actingweb.FieldKind]map[string]codec{
	actingweb.KindString:    {"text": codecText, "character varying": codecText},
	actingweb.KindOptString: {"text": codecOptText, "character varying": codecOptText},
	actingweb.KindBool:      {"boolean": codecBool},
	actingweb.KindInt64:     {"integer": codecInt4},
	actingweb.KindOptInt64:  {"bigint": codecOptInt8},
	actingweb.KindTime:      {"timestamp without time zone": codecTime, "timestamp with time zone": codecTime},
	actingweb.KindOptTime:   {"timestamp without time zone": codecOptTime, "timestamp with time zone": codecOptTime},
	actingweb.KindJSON:      {"jsonb": codecJSONB},
}

// column is one PostgreSQL column of a table.
type column struct {
	off      uintptr // offset of the field in the record struct
	codec    codec   // value codec
	name     string  // column name (= field name)
	quoted   string  // name as an SQL identifier
	maxLen   int     // varchar limit in characters, 0 = unlimited (text)
	key      bool    // part of the primary key
	required bool    // must be non-empty (key parts but subscription_suspensions.subtarget, owners)
	// keepStored: on an overwrite a NULL keeps the stored value (a field DynamoDB does not
	// store, actingweb.DynamoDBNone: rows read from DynamoDB lack it, §5.5 item 2).
	keepStored bool
	// hooked: checked by the table's check hook instead of the column checks.
	hooked bool
}

// tableSpec is the physical description of one table and its record mapping.
type tableSpec struct {
	t        actingweb.Table
	m        *actingweb.TableModel
	template actingweb.Record // an empty record of the table (arena.Record's template)
	columns  []column         // physical columns in physical order
	cols     []string         // their names
	pk       []string         // primary-key columns in index order
	pkCols   []int            // their indexes in columns
	owner    string           // owner column (segment hash)
	// selectCols is the quoted column list of a whole-row SELECT, in columns order.
	selectCols string
	// selectFrom is the statement template "SELECT <selectCols> FROM {table}" (Store.sql).
	selectFrom string
	// insert is the statement template of an INSERT of one whole record, its arguments those
	// of values: "INSERT INTO {table} AS t (<columns>) VALUES ($1, ..., $n)".
	insert string
	// update is the SET list of an overwrite (ON CONFLICT DO UPDATE, target aliased t): every
	// non-key column, those of keepStored through COALESCE.
	update string

	// typ is the record type (*actingweb.Trust), for checkRecord's type test.
	typ reflect.Type
	// derive sets the fields that are not columns from those that are, after a row is read.
	derive func(actingweb.Record)
	// check appends to reasons the checks the model does not describe (checkRecord), of the
	// columns marked hooked.
	check func(r actingweb.Record, quick bool, reasons []string) []string
}

// tableHooks are the per-table exceptions the model does not describe.
type tableHooks struct {
	derive func(actingweb.Record)
	check  func(r actingweb.Record, quick bool, reasons []string) []string
	hooked []string // columns whose checks are the check hook's
}

// hooks: property_lookup's lookup_key is the digest of name and value (DynamoDB's key, not a
// column, §3.5); its value is unknown on rows from DynamoDB and bounded by the key's B-tree
// entry (§9.2).
var hooks = map[actingweb.Table]tableHooks{
	actingweb.TablePropertyLookup: {
		derive: func(rec actingweb.Record) {
			if r := rec.(*actingweb.PropertyLookup); r.Value != nil {
				r.LookupKey = actingweb.LookupKey(r.PropertyName, *r.Value)
			}
		},
		check:  checkLookupValue,
		hooked: []string{"value"},
	},
}

// specs describes the nine tables (newSpec).
var specs = func() map[actingweb.Table]*tableSpec {
	m := make(map[actingweb.Table]*tableSpec, len(actingweb.Tables))
	for _, t := range actingweb.Tables {
		m[t] = newSpec(actingweb.Model(t), hooks[t])
	}
	return m
}()

// newSpec derives a table's description from its model. A field the codecs cannot carry (a
// kind and column type without a codec, a key that is not a string, a field neither a column
// nor derived) panics: the model and this package disagree, which the tests catch at once.
func newSpec(m *actingweb.TableModel, h tableHooks) *tableSpec {
	sp := &tableSpec{t: m.Table, m: m, owner: m.Owner, derive: h.derive, check: h.check}
	rec := m.New()
	sp.template = rec
	sp.typ = reflect.TypeOf(rec)
	size := sp.typ.Elem().Size()
	bad := func(f *actingweb.Field, why string) {
		panic(fmt.Sprintf("postgres: table %s, field %s (%s, %q): %s", m.Table, f.Name, f.Kind, f.PGType, why))
	}
	var set []string
	for i := range m.Fields {
		f := &m.Fields[i]
		off := f.Offset
		if off >= size {
			bad(f, "not a field of the record struct")
		}
		if f.PGType == "" {
			if h.derive == nil {
				bad(f, "neither a column nor derived by a hook")
			}
			continue
		}
		cd := codecs[f.Kind][f.PGType]
		if cd == 0 {
			bad(f, "no codec for this kind and column type")
		}
		if f.PGKey && cd != codecText && cd != codecOptText {
			bad(f, "a primary-key part must be a string")
		}
		c := column{name: f.Name, quoted: pgx.Identifier{f.Name}.Sanitize(), codec: cd, off: off,
			maxLen: f.PGMaxLen, key: f.PGKey, required: f.Required,
			keepStored: f.DynamoDB == actingweb.DynamoDBNone && !f.PGKey}
		for _, n := range h.hooked {
			c.hooked = c.hooked || n == f.Name
		}
		if f.PGKey {
			sp.pk = append(sp.pk, f.Name)
			sp.pkCols = append(sp.pkCols, len(sp.columns))
		} else if c.keepStored {
			set = append(set, c.quoted+" = COALESCE(EXCLUDED."+c.quoted+", t."+c.quoted+")")
		} else {
			set = append(set, c.quoted+" = EXCLUDED."+c.quoted)
		}
		sp.columns = append(sp.columns, c)
		sp.cols = append(sp.cols, f.Name)
	}
	if o := m.Field(m.Owner); o == nil || o.PGType == "" || len(sp.pk) == 0 {
		panic(fmt.Sprintf("postgres: table %s: owner %q is not a column, or no primary key", m.Table, m.Owner))
	}
	for _, n := range h.hooked {
		if sp.column(n) == nil {
			panic(fmt.Sprintf("postgres: table %s: the check hook's column %s is not a column", m.Table, n))
		}
	}
	sp.selectCols = quoteList(sp.cols)
	sp.selectFrom = "SELECT " + sp.selectCols + " FROM {" + string(m.Table) + "}"
	ph := make([]string, len(sp.cols))
	for i := range ph {
		ph[i] = "$" + strconv.Itoa(i+1)
	}
	sp.insert = "INSERT INTO {" + string(m.Table) + "} AS t (" + sp.selectCols + ") VALUES (" + strings.Join(ph, ", ") + ")"
	sp.update = strings.Join(set, ", ")
	return sp
}

// base returns the address of record r's struct, where the columns' offsets start. r must be
// a record of the table (TableModel.Addr panics otherwise, as a type assertion would).
func (sp *tableSpec) base(r actingweb.Record) unsafe.Pointer { return arena.Addr(r) }

// column returns the column named name, or nil.
func (sp *tableSpec) column(name string) *column {
	for i := range sp.columns {
		if sp.columns[i].name == name {
			return &sp.columns[i]
		}
	}
	return nil
}
