package bundle

import (
	"fmt"
	"reflect"
	"strings"
	"time"
	"unsafe"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/arena"
	"github.com/actingweb/actingweb-go/internal/jsonscan"
)

// The line codec of every table is driven by the table model (actingweb.Model, model.go):
// a plan per table, built once at package initialisation, holds its fields in the order
// encoding/json writes the record struct (the struct's field order, which is not always the
// model's PostgreSQL column order: property_lookup's lookup_key and actor_id are swapped),
// each with its kind, its offset in the record and its key as written. The fast encoder and
// decoder loop over a plan with a switch on the kind; nothing per table is written by hand.
//
// The plan is checked against the struct's json tags when it is built: every exported
// field with a JSON name is a model field of the same name, omitempty exactly on the
// optional kinds (nil pointers, empty payloads), and nothing else. A record type that breaks
// this panics at initialisation, so any test of the package catches it.

// planField is one field of a plan.
type planField struct {
	name     string              // JSON name (= model name, §5.3)
	key      [maxKey]byte        // `,"name":` as the encoder writes it, zero-padded
	keyLen   int                 // its length
	kind     actingweb.FieldKind // Go type, and so how it is read and written
	off      uintptr             // offset of the field in the record struct
	bit      uint64              // lineScanner.mark's bit (1 << index)
	required bool                // Field.Required: a non-empty string, a non-zero time
}

// maxKey bounds the length of a key as the encoder writes it (`,"name":`), which it copies
// as a whole array, without a call.
const maxKey = 32

// tablePlan is the line codec's description of one table.
type tablePlan struct {
	table    actingweb.Table
	model    *actingweb.TableModel
	ptrType  reflect.Type     // *R, the record's type in a Record
	fields   []planField      // in the struct's field order (encoding/json's)
	required []int            // indexes of the required fields, in that order
	names    *nameIndex       // JSON name → index in fields
	template actingweb.Record // an empty record of the table (arena.Record's template)
}

// plans holds the plan of every table, in actingweb.Tables order; tableIndex finds a
// table's plan by name.
var plans, tableIndex = func() ([]*tablePlan, *nameIndex) {
	var ps []*tablePlan
	var names []string
	for _, t := range actingweb.Tables {
		m := actingweb.Model(t)
		if m == nil {
			panic(fmt.Sprintf("bundle: table %s has no model", t))
		}
		ps = append(ps, newPlan(m))
		names = append(names, string(t))
	}
	idx, err := newNameIndex(names)
	if err != nil {
		panic("bundle: table names: " + err.Error())
	}
	return ps, idx
}()

// planOf returns the plan of table t, or nil for an unknown table.
func planOf(t actingweb.Table) *tablePlan {
	if i := tableIndex.find(string(t)); i >= 0 {
		return plans[i]
	}
	return nil
}

// planOfRecord returns the plan of r's record type and the address of the record, or nil
// for a type that is no table's (or a nil record).
func planOfRecord(r actingweb.Record) (*tablePlan, unsafe.Pointer) {
	for _, p := range plans {
		if arena.SameType(p.template, r) {
			if ptr := arena.Addr(r); ptr != nil {
				return p, ptr
			}
			return nil, nil
		}
	}
	return nil, nil
}

// optionalKind reports whether a kind's zero value is "absent" (a nil pointer, an empty
// payload): encoding/json omits it (omitempty), CheckRequired cannot ask for it.
func optionalKind(k actingweb.FieldKind) bool {
	switch k {
	case actingweb.KindOptString, actingweb.KindOptInt64, actingweb.KindOptTime, actingweb.KindJSON:
		return true
	}
	return false
}

// newPlan builds the plan of m's table and checks it against the record struct's json tags.
func newPlan(m *actingweb.TableModel) *tablePlan {
	fail := func(format string, a ...any) {
		panic(fmt.Sprintf("bundle: table %s: ", m.Table) + fmt.Sprintf(format, a...))
	}
	rec := m.New()
	p := &tablePlan{table: m.Table, model: m, ptrType: reflect.TypeOf(rec)}
	if p.ptrType.Kind() != reflect.Pointer || p.ptrType.Elem().Kind() != reflect.Struct {
		fail("record type %s is not a pointer to a struct", p.ptrType)
	}
	elem := p.ptrType.Elem()
	byOff := map[uintptr]*actingweb.Field{}
	for i := range m.Fields {
		byOff[m.Fields[i].Offset] = &m.Fields[i]
	}
	for i := range elem.NumField() {
		sf := elem.Field(i)
		tag := sf.Tag.Get("json")
		if !sf.IsExported() || tag == "-" {
			continue // encoding/json leaves it out
		}
		name, opts, _ := strings.Cut(tag, ",")
		f := byOff[sf.Offset]
		if f == nil || reflect.TypeOf(f.Ptr(rec)).Elem() != sf.Type {
			fail("field %s (JSON %q) is not in the table model", sf.Name, name)
		}
		if name != f.Name {
			fail("field %s: JSON name %q, model name %q", sf.Name, name, f.Name)
		}
		if strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			fail("JSON name %q needs escaping", name)
		}
		if omit := strings.Contains(","+opts+",", ",omitempty,"); omit != optionalKind(f.Kind) {
			fail("field %s: omitempty %t for a %s", f.Name, omit, f.Kind)
		}
		if f.Required && f.Kind != actingweb.KindString && f.Kind != actingweb.KindTime {
			fail("field %s: required %s cannot be checked", f.Name, f.Kind)
		}
		if len(p.fields) == 64 {
			fail("more than 64 fields")
		}
		if f.Required {
			p.required = append(p.required, len(p.fields))
		}
		key := `,"` + f.Name + `":`
		if len(key) > maxKey {
			fail("JSON name %q longer than %d bytes", name, maxKey-4)
		}
		pf := planField{name: f.Name, keyLen: len(key), kind: f.Kind, off: sf.Offset, bit: 1 << len(p.fields), required: f.Required}
		copy(pf.key[:], key)
		p.fields = append(p.fields, pf)
	}
	if len(p.fields) != len(m.Fields) {
		fail("%d model fields, %d of them in the JSON form", len(m.Fields), len(p.fields))
	}
	var names []string
	for _, f := range p.fields {
		names = append(names, f.name)
	}
	idx, err := newNameIndex(names)
	if err != nil {
		fail("field names: %v", err)
	}
	p.names = idx
	p.template = rec
	return p
}

// nameIndex finds a name among a few (the JSON names of a table's fields, the table names)
// by a perfect hash of the name's signature (nameSig), its multiplier chosen when the index
// is built, and one comparison of signatures: no string comparison (a call) for names of
// up to 16 bytes, and one cache line of slots per index.
type nameIndex struct {
	seed  uint64
	slots [64]uint8 // by hash: position + 1 of the name, 0 for none
	sigs  []nameSignature
	names []string
}

// nameSignature identifies a name of up to 16 bytes exactly (longer names are also compared
// past the first and last eight bytes).
type nameSignature struct {
	a, b uint64
	n    int
}

// nameSig returns name's signature: its length and its first and last eight bytes (four,
// for names of 4 to 7 bytes; first, middle and last, for shorter ones), which together cover
// every byte of a name of up to 16 bytes.
func nameSig(name string) nameSignature {
	n := len(name)
	switch {
	case n >= 8:
		return nameSignature{jsonscan.Load64(name, 0), jsonscan.Load64(name, n-8), n}
	case n >= 4:
		return nameSignature{load32(name, 0) | load32(name, n-4)<<32, 0, n}
	case n > 0:
		return nameSignature{uint64(name[0]) | uint64(name[n>>1])<<8 | uint64(name[n-1])<<16, 0, n}
	}
	return nameSignature{}
}

// load32 returns s[i:i+4] as a little-endian word.
func load32(s string, i int) uint64 {
	s = s[i : i+4]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24
}

func (g nameSignature) hash(seed uint64) uint8 {
	return uint8(((g.a ^ (g.b+uint64(g.n))*0xff51afd7ed558ccd) * seed) >> 58)
}

// newNameIndex indexes names (non-empty, distinct, at most 64, no two longer than 16 bytes
// with the same length and first and last eight bytes).
func newNameIndex(names []string) (*nameIndex, error) {
	if len(names) > 64 {
		return nil, fmt.Errorf("%d names", len(names))
	}
	x := &nameIndex{names: names}
	for i, a := range names {
		if a == "" {
			return nil, fmt.Errorf("empty name")
		}
		x.sigs = append(x.sigs, nameSig(a))
		for j, b := range names[:i] {
			if x.sigs[i] == x.sigs[j] {
				return nil, fmt.Errorf("%q and %q have the same length and first and last eight bytes", b, a)
			}
		}
	}
	seed := uint64(0x9e3779b97f4a7c15)
seeds:
	for range 1 << 16 {
		seed = seed*6364136223846793005 + 1442695040888963407 | 1
		x.seed, x.slots = seed, [64]uint8{}
		for i, g := range x.sigs {
			h := g.hash(seed) & 63
			if x.slots[h] != 0 {
				continue seeds
			}
			x.slots[h] = uint8(i + 1)
		}
		return x, nil
	}
	return nil, fmt.Errorf("no collision-free hash of %d names", len(names))
}

// find returns the position of name, or -1.
func (x *nameIndex) find(name string) int { return x.findSig(nameSig(name), name) }

// findSig is find of a name whose signature is g.
func (x *nameIndex) findSig(g nameSignature, name string) int {
	i := int(x.slots[g.hash(x.seed)&63]) - 1
	if i < 0 || !x.is(i, g, name) {
		return -1
	}
	return i
}

// is reports whether the name at position i (any int) is name, of signature g.
func (x *nameIndex) is(i int, g nameSignature, name string) bool {
	return uint(i) < uint(len(x.sigs)) && x.sigs[i] == g && (g.n <= 16 || name[8:g.n-8] == x.names[i][8:g.n-8])
}

// fieldIndex returns the index in p.fields of the field whose JSON name is key, or -1;
// guess is the likeliest index (checked first: the next field in a canonical line).
func (p *tablePlan) fieldIndex(key []byte, guess int) int {
	// the string does not outlive the call
	name := unsafe.String(unsafe.SliceData(key), len(key))
	g := nameSig(name)
	if p.names.is(guess, g, name) {
		return guess
	}
	return p.names.findSig(g, name)
}

// missingRequired returns the JSON names of the required fields the record at base (of
// p's table) lacks: empty strings, zero times.
func (p *tablePlan) missingRequired(base unsafe.Pointer) []string {
	var missing []string
	for _, i := range p.required {
		f := &p.fields[i]
		ptr := unsafe.Add(base, f.off)
		switch f.kind {
		case actingweb.KindString:
			if *(*string)(ptr) == "" {
				missing = append(missing, f.name)
			}
		case actingweb.KindTime:
			if (*time.Time)(ptr).IsZero() {
				missing = append(missing, f.name)
			}
		}
	}
	return missing
}

// newRecord returns a zero record of p's table and its address, from d's slab when d is not
// nil (arena.Record: one allocation per arena.SlabSize records).
func (p *tablePlan) newRecord(d *lineDecoder) (actingweb.Record, unsafe.Pointer) {
	if d == nil {
		r := p.model.New()
		return r, arena.Addr(r)
	}
	r := arena.Record(p.template, &d.slab)
	return r, arena.Addr(r)
}
