package actingweb

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// The table model: one description per table (its fields in PostgreSQL column order, their
// Go types, PostgreSQL column types and keys, how DynamoDB stores each, which are required and
// which are secret), from which every codec of the module is driven: the PostgreSQL row codecs
// (postgres), the DynamoDB item codec (dynamodb), the bundle line codec (bundle), the canonical
// form, the record digest and the size estimate. The descriptions themselves are in record.go,
// next to the record types (docs/storage-model.md §3, §4.2, §5.3). Adding a column means: a
// field in the record type and its description, a schema migration, tests.

// FieldKind is the Go type of a record field, and so how every codec reads and writes it.
type FieldKind uint8

const (
	// KindString is a string (NOT NULL; an absent DynamoDB attribute reads "").
	KindString FieldKind = iota + 1
	// KindOptString is a *string: nil is SQL NULL, an absent attribute, an absent JSON field.
	KindOptString
	// KindBool is a bool (an absent DynamoDB attribute reads false).
	KindBool
	// KindInt64 is an int64 (an absent DynamoDB attribute reads Field.Absent).
	KindInt64
	// KindOptInt64 is a *int64, nil when absent.
	KindOptInt64
	// KindTime is a time.Time, required: UTC, microsecond precision.
	KindTime
	// KindOptTime is a *time.Time, nil when absent.
	KindOptTime
	// KindJSON is a json.RawMessage, nil when absent (attributes.data).
	KindJSON
)

var kindNames = [...]string{KindString: "string", KindOptString: "*string", KindBool: "bool",
	KindInt64: "int64", KindOptInt64: "*int64", KindTime: "time.Time", KindOptTime: "*time.Time",
	KindJSON: "json.RawMessage"}

func (k FieldKind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "FieldKind(" + strconv.Itoa(int(k)) + ")"
}

// DynamoDBForm says how a DynamoDB item holds a field (docs/storage-model.md §3.2, §5.3).
type DynamoDBForm uint8

const (
	// DynamoDBAsIs: S, BOOL or N by kind (timestamps S in PynamoDB's 31-character form); a nil
	// optional value is an absent attribute.
	DynamoDBAsIs DynamoDBForm = iota
	// DynamoDBNone: not stored on DynamoDB (actors.created_at; property_lookup.value, of which
	// DynamoDB keeps only the digest). Items read back leave the field at its zero value.
	DynamoDBNone
	// DynamoDBNilAsEmpty: nil is written as "" (PynamoDB requires the attribute: trusts.desc and
	// verification_token); "" reads back as "".
	DynamoDBNilAsEmpty
	// DynamoDBEmptyAbsent: nil and "" are both written as an absent attribute (PynamoDB drops
	// empty strings: subscriptions.granularity/target/subtarget/resource, suspensions.subtarget).
	DynamoDBEmptyAbsent
	// DynamoDBPythonJSON: a JSON payload stored as S holding the text Python's json.dumps
	// writes; JSON null is an absent attribute (attributes.data).
	DynamoDBPythonJSON
)

// Field describes one field of a record: its name, which is the PostgreSQL column, the
// DynamoDB attribute and the bundle's JSON key alike (§5.3), its kind and where it lives.
type Field struct {
	// Name is the column, attribute and JSON name.
	Name string
	// Kind is the Go type of the field.
	Kind FieldKind
	// PGType is the PostgreSQL column type as information_schema.columns.data_type names it
	// ("character varying", "text", "boolean", "integer", "bigint", "jsonb", "timestamp
	// without time zone", "timestamp with time zone"), or "" when the field is not a
	// PostgreSQL column (property_lookup.lookup_key, computed from name and value).
	PGType string
	// PGMaxLen is the varchar limit in characters (255, 50), 0 when unlimited.
	PGMaxLen int
	// PGKey marks a part of the PostgreSQL primary key.
	PGKey bool
	// DynamoDB is how DynamoDB stores the field.
	DynamoDB DynamoDBForm
	// Required marks a field every row must carry: non-empty strings, non-zero times. Bundle
	// lines without it are rejected (the owner id, the key parts, required timestamps).
	Required bool
	// Secret marks a field whose value never appears in logs, reports or difference lists.
	Secret bool
	// Absent is the value a DynamoDB item without the attribute reads as, for KindInt64
	// (PynamoDB's defaults: subscription seqnr 0, diff seqnr 1).
	Absent int64
	// AbsentIsNow: a DynamoDB item without this KindTime attribute reads the time of reading
	// (subscription diff timestamps, §5.3); without it a missing required time is invalid.
	AbsentIsNow bool

	// Offset is the field's byte offset in its record struct, for codecs that reach the
	// fields of a record at TableModel.Addr plus Offset instead of calling Ptr per value.
	Offset uintptr

	ptr func(Record) any
}

// Ptr returns a pointer to the field in r, typed by Kind: *string, **string, *bool, *int64,
// **int64, *time.Time, **time.Time or *json.RawMessage. r must be a record of the field's
// table (a *Trust for a trusts field); anything else panics.
func (f *Field) Ptr(r Record) any { return f.ptr(r) }

// Str returns a KindString field's value in r.
func (f *Field) Str(r Record) string { return *f.ptr(r).(*string) }

// OptStr returns a KindOptString field's value in r.
func (f *Field) OptStr(r Record) *string { return *f.ptr(r).(**string) }

// TableModel describes one table: its fields and keys.
type TableModel struct {
	// Table is the table described.
	Table Table
	// Fields are the record's fields, PostgreSQL columns first in physical column order, then
	// fields that are not PostgreSQL columns.
	Fields []Field
	// HashKey and RangeKey are the DynamoDB key attributes (RangeKey "" for hash-only tables).
	// subscription_suspensions.target_key is derived (SubscriptionSuspension.TargetKey) and is
	// not a field.
	HashKey, RangeKey string
	// Owner is the field naming the owning actor: "id", or "actor_id" for property_lookup.
	Owner string

	newRecord func() Record
	clone     func(Record) Record
	byName    map[string]int
}

// New returns an empty record of the table.
func (m *TableModel) New() Record { return m.newRecord() }

// Field returns the field named name, or nil.
func (m *TableModel) Field(name string) *Field {
	if i, ok := m.byName[name]; ok {
		return &m.Fields[i]
	}
	return nil
}

// Columns returns the PostgreSQL column names in physical order.
func (m *TableModel) Columns() []string {
	var cols []string
	for _, f := range m.Fields {
		if f.PGType != "" {
			cols = append(cols, f.Name)
		}
	}
	return cols
}

// PGKey returns the PostgreSQL primary-key columns in key order.
func (m *TableModel) PGKey() []string {
	var k []string
	for _, f := range m.Fields {
		if f.PGKey {
			k = append(k, f.Name)
		}
	}
	return k
}

// Model returns the description of table t, or nil for an unknown table.
func Model(t Table) *TableModel { return models[t] }

var models = map[Table]*TableModel{}

// describe registers the model of the table whose records are *R.
func describe[R any, PR interface {
	*R
	Record
}](hash, rng, owner string, fields ...Field) *TableModel {
	m := &TableModel{HashKey: hash, RangeKey: rng, Owner: owner, Fields: fields,
		newRecord: func() Record { return PR(new(R)) },
		clone:     func(r Record) Record { c := *any(r).(*R); return PR(&c) },
		byName:    map[string]int{}}
	m.Table = m.New().Table()
	for i := range m.Fields {
		f := &m.Fields[i]
		if _, dup := m.byName[f.Name]; dup {
			panic(fmt.Sprintf("actingweb: table model %s: field %s twice", m.Table, f.Name))
		}
		m.byName[f.Name] = i
		rec := m.New()
		f.Kind = kindOf(f.ptr(rec))
		f.Offset = reflect.ValueOf(f.ptr(rec)).Pointer() - reflect.ValueOf(rec).Pointer()
	}
	models[m.Table] = m
	return m
}

func kindOf(p any) FieldKind {
	switch p.(type) {
	case *string:
		return KindString
	case **string:
		return KindOptString
	case *bool:
		return KindBool
	case *int64:
		return KindInt64
	case **int64:
		return KindOptInt64
	case *time.Time:
		return KindTime
	case **time.Time:
		return KindOptTime
	case *json.RawMessage:
		return KindJSON
	}
	panic(fmt.Sprintf("actingweb: table model: unsupported field type %T", p))
}

// col describes a field of records *R: name, PostgreSQL type ("varchar(255)", "text",
// "boolean", "integer", "bigint", "jsonb", "timestamp", "timestamptz" or "" for none), the
// field's address in a record, and flags (pkey, pkeyMayBeEmpty, required, secret, ddbNone, ddbNilAsEmpty,
// ddbEmptyAbsent, ddbPythonJSON, absentOne, absentIsNow).
func col[R any](name, pgType string, addr func(*R) any, flags ...flag) Field {
	f := Field{Name: name, ptr: func(r Record) any { return addr(any(r).(*R)) }}
	switch {
	case strings.HasPrefix(pgType, "varchar("):
		f.PGType = "character varying"
		f.PGMaxLen, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(pgType, "varchar("), ")"))
	case pgType == "timestamp":
		f.PGType = "timestamp without time zone"
	case pgType == "timestamptz":
		f.PGType = "timestamp with time zone"
	default:
		f.PGType = pgType
	}
	for _, fl := range flags {
		fl(&f)
	}
	return f
}

type flag func(*Field)

var (
	pkey           flag = func(f *Field) { f.PGKey, f.Required = true, true }
	pkeyMayBeEmpty flag = func(f *Field) { f.PGKey = true }
	required       flag = func(f *Field) { f.Required = true }
	secret         flag = func(f *Field) { f.Secret = true }
	ddbNone        flag = func(f *Field) { f.DynamoDB = DynamoDBNone }
	ddbNilAsEmpty  flag = func(f *Field) { f.DynamoDB = DynamoDBNilAsEmpty }
	ddbEmptyAbsent flag = func(f *Field) { f.DynamoDB = DynamoDBEmptyAbsent }
	ddbPythonJSON  flag = func(f *Field) { f.DynamoDB = DynamoDBPythonJSON }
	absentOne      flag = func(f *Field) { f.Absent = 1 }
	absentIsNow    flag = func(f *Field) { f.AbsentIsNow = true }
)
