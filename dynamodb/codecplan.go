package dynamodb

// codecplan.go: the item codec's per-table plans, derived once from the table model
// (actingweb.Model): key attribute names, the stored fields, and the hooks for the keys the
// model does not hold as plain field values (§3.5 lookup digest, §3.12 suspension target_key).

import (
	"fmt"
	"reflect"
	"strings"
	"unsafe"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/arena"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// tablePlan is how the codec reads and writes the items of one table.
type tablePlan struct {
	table actingweb.Table
	model *actingweb.TableModel
	// recType is the record type of the table, so a foreign Record implementation is refused
	// (ErrUnknownTable) rather than a panic in Field.Ptr.
	recType reflect.Type
	// hash and rng are the key attribute names (Model.HashKey, Model.RangeKey; rng "" for a
	// hash-only table); hashField and rngField their KindString fields, nil when the key
	// attribute is not a field (a suspension's target_key).
	hash, rng           string
	hashField, rngField *actingweb.Field
	// fields are the stored non-key fields in model order (DynamoDBNone fields left out).
	fields []fieldPlan
	// hashOff and rngOff are the offsets of the key fields (when they are fields).
	hashOff, rngOff uintptr
	// size is the most attributes an item of the table has (the capacity of encoded items).
	size int
	// optStrings and optTimes count the KindOptString and KindOptTime fields (itemDecoder).
	optStrings, optTimes int

	// derivedKey, when set, gives the key attribute values of r: for tables whose key is not
	// the plain value of the key fields.
	derivedKey func(r actingweb.Record) (hash, rng string)
	// checkKey, when set, checks a decoded record against its stored key values (ErrInvalid).
	checkKey func(r actingweb.Record, hash, rng string) error
	// fromKey, when set, builds a record from its key values alone where decodeRecord of a
	// key-only item cannot (keyRecord).
	fromKey func(hash, rng string) actingweb.Record
}

// fieldPlan is a stored field and its offset in the record struct: the codec reads and writes
// fields at base+off (Field.Ptr costs two indirect calls per field; the codec runs per row of
// migrations of millions of rows). The offsets are taken from Field.Ptr once, when the plan
// is made, and TestPlanCoversModel checks them against Field.Ptr.
type fieldPlan struct {
	*actingweb.Field
	off uintptr
}

// base returns the address of record r's struct (r must be of the plan's record type).
func (p *tablePlan) base(r actingweb.Record) unsafe.Pointer { return arena.Addr(r) }

// plans holds the plan of each of the nine tables, in actingweb.Tables order.
var plans = func() []*tablePlan {
	ps := make([]*tablePlan, len(actingweb.Tables))
	for i, t := range actingweb.Tables {
		ps[i] = newPlan(actingweb.Model(t))
	}
	return ps
}()

// planOf returns the plan of table t, or nil for an unknown table.
func planOf(t actingweb.Table) *tablePlan {
	for _, p := range plans {
		if p.table == t {
			return p
		}
	}
	return nil
}

// planFor returns the plan of r's table, or nil when r is nil or not a record type of the
// model.
func planFor(r actingweb.Record) *tablePlan {
	if r == nil {
		return nil
	}
	p := planOf(r.Table())
	if p == nil || reflect.TypeOf(r) != p.recType {
		return nil
	}
	return p
}

// newPlan derives the plan of table model m. It panics on a model the codec cannot store (a
// key field that is no string, a DynamoDB form that does not fit the field's kind, a key
// attribute that is no field and has no hook), so a model change that needs codec work fails
// at start-up, in every test.
func newPlan(m *actingweb.TableModel) *tablePlan {
	p := &tablePlan{table: m.Table, model: m, recType: reflect.TypeOf(m.New()), hash: m.HashKey, rng: m.RangeKey}
	offset := func(f *actingweb.Field) uintptr { return f.Offset }
	bad := func(format string, args ...any) {
		panic(fmt.Sprintf("dynamodb: codec plan of %s: "+format, append([]any{m.Table}, args...)...))
	}
	keyField := func(name string) *actingweb.Field {
		f := m.Field(name)
		if f != nil && f.Kind != actingweb.KindString {
			bad("key field %s is %s, want string", name, f.Kind)
		}
		return f
	}
	if p.hashField = keyField(p.hash); p.hashField != nil {
		p.hashOff = offset(p.hashField)
	}
	if p.rng != "" {
		if p.rngField = keyField(p.rng); p.rngField != nil {
			p.rngOff = offset(p.rngField)
		}
	}
	p.size = 1
	if p.rng != "" {
		p.size = 2
	}
	for i := range m.Fields {
		f := &m.Fields[i]
		if f.Kind < actingweb.KindString || f.Kind > actingweb.KindJSON {
			bad("field %s: unknown kind %s", f.Name, f.Kind)
		}
		if f == p.hashField || f == p.rngField || f.DynamoDB == actingweb.DynamoDBNone {
			continue
		}
		switch form := f.DynamoDB; {
		case (form == actingweb.DynamoDBPythonJSON) != (f.Kind == actingweb.KindJSON),
			form == actingweb.DynamoDBNilAsEmpty && f.Kind != actingweb.KindOptString,
			form == actingweb.DynamoDBEmptyAbsent && f.Kind != actingweb.KindString && f.Kind != actingweb.KindOptString,
			f.AbsentIsNow && f.Kind != actingweb.KindTime:
			bad("field %s: DynamoDB form %d does not fit kind %s", f.Name, form, f.Kind)
		}
		p.fields = append(p.fields, fieldPlan{Field: f, off: offset(f)})
		switch f.Kind {
		case actingweb.KindOptString:
			p.optStrings++
		case actingweb.KindOptTime:
			p.optTimes++
		}
	}
	p.size += len(p.fields)
	addKeyHooks(p)
	if p.derivedKey == nil && (p.hashField == nil || (p.rng != "" && p.rngField == nil)) {
		bad("key attribute %s/%s is not a field and has no hook", p.hash, p.rng)
	}
	return p
}

// addKeyHooks sets the hooks of the tables whose DynamoDB key the model does not hold as plain
// field values: these are the codec's only per-table code.
func addKeyHooks(p *tablePlan) {
	switch p.table {
	case actingweb.TablePropertyLookup:
		// The hash key is the digest of name and value (§5.4); a record without it gets it.
		p.derivedKey = func(r actingweb.Record) (string, string) {
			l := r.(*actingweb.PropertyLookup)
			k := l.LookupKey
			if k == "" && l.Value != nil {
				k = actingweb.LookupKey(l.PropertyName, *l.Value)
			}
			return k, ""
		}
	case actingweb.TableSubscriptionSuspensions:
		// The range key is derived, TargetKey() (§3.12). A stored one that disagrees with
		// target/subtarget is refused: the row is unreachable upstream and would change its
		// key when copied. A key alone splits at its first ':' (upstream's targets hold none).
		rng := p.rng
		p.derivedKey = func(r actingweb.Record) (string, string) {
			s := r.(*actingweb.SubscriptionSuspension)
			return s.ID, s.TargetKey()
		}
		p.checkKey = func(r actingweb.Record, _, tk string) error {
			if want := r.(*actingweb.SubscriptionSuspension).TargetKey(); tk != want {
				return fmt.Errorf("%w: %s %q disagrees with target/subtarget (expected %q)", actingweb.ErrInvalid, rng, tk, want)
			}
			return nil
		}
		p.fromKey = func(id, tk string) actingweb.Record {
			s := &actingweb.SubscriptionSuspension{ID: id}
			s.Target, s.Subtarget, _ = strings.Cut(tk, ":")
			return s
		}
	}
}

// keyValues returns the key attribute values of r, whose address is base (rng "" for a
// hash-only table).
func (p *tablePlan) keyValues(r actingweb.Record, base unsafe.Pointer) (hash, rng string) {
	if p.derivedKey != nil {
		return p.derivedKey(r)
	}
	hash = *(*string)(unsafe.Add(base, p.hashOff))
	if p.rngField != nil {
		rng = *(*string)(unsafe.Add(base, p.rngOff))
	}
	return hash, rng
}

// putKey sets the key attributes of r, whose address is base, in item.
func (p *tablePlan) putKey(item map[string]types.AttributeValue, r actingweb.Record, base unsafe.Pointer) {
	h, rg := p.keyValues(r, base)
	item[p.hash] = avS(h)
	if p.rng != "" {
		item[p.rng] = avS(rg)
	}
}

// readKey reads the key attributes of item (present and S, ErrInvalid otherwise: the first
// error is returned) and sets the key fields of the record at base.
func (p *tablePlan) readKey(item map[string]types.AttributeValue, base unsafe.Pointer) (hash, rng string, err error) {
	hash, err = keyAttr(item, p.hash)
	if p.hashField != nil {
		*(*string)(unsafe.Add(base, p.hashOff)) = hash
	}
	if p.rng == "" {
		return hash, "", err
	}
	rng, e := keyAttr(item, p.rng)
	if err == nil {
		err = e
	}
	if p.rngField != nil {
		*(*string)(unsafe.Add(base, p.rngOff)) = rng
	}
	return hash, rng, err
}

// keyRecord builds a record of table t from its key attributes alone (a stream REMOVE record
// without an old image): decodeRecord of the key item, or the table's fromKey hook. Key
// attributes that are missing or not S fail with an error wrapping actingweb.ErrInvalid.
func keyRecord(t actingweb.Table, keys map[string]types.AttributeValue) (actingweb.Record, error) {
	p := planOf(t)
	if p == nil || p.fromKey == nil {
		return decodeRecord(t, keys)
	}
	h, rg, err := p.readKey(keys, p.base(p.model.New()))
	if err != nil {
		return nil, err
	}
	return p.fromKey(h, rg), nil
}

// field returns the stored non-key field named name, or nil.
func (p *tablePlan) field(name string) *fieldPlan {
	for i := range p.fields {
		if p.fields[i].Name == name {
			return &p.fields[i]
		}
	}
	return nil
}

// fieldUpdate returns the update that writes the named fields of r as the item codec writes
// them (encodeField): SET to the encoded value, or REMOVE where the codec leaves the attribute
// absent (a nil optional value). A name that is no stored non-key field of r's table fails with
// an error wrapping actingweb.ErrInvalid, a value the codec refuses with its error.
func fieldUpdate(r actingweb.Record, names []string) (*update, error) {
	p := planFor(r)
	if p == nil {
		return nil, fmt.Errorf("%w: record type %T", actingweb.ErrUnknownTable, r)
	}
	base := p.base(r)
	u := newUpdate()
	for _, name := range names {
		f := p.field(name)
		if f == nil {
			return nil, fmt.Errorf("%w: %s is no stored non-key attribute of %s", actingweb.ErrInvalid, name, p.table)
		}
		v, err := encodeField(f, base)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		if v == nil {
			u.remove(name)
		} else {
			u.set(name, v)
		}
	}
	return u, nil
}
