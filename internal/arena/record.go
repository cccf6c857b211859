package arena

import (
	"fmt"
	"reflect"
	"unsafe"

	actingweb "github.com/actingweb/actingweb-go"
)

// Records for the row decoders, reached through the two words of an interface value: the type
// word (for a non-empty interface such as actingweb.Record, the itab: one per record type) and
// the data word (the record types are all pointers: the record's address). Decoders that fill
// fields at offsets (actingweb.Field.Offset) take a record's address from these words rather
// than by reflection, which costs too much per row; init checks the layout against reflect for
// every table.
type words struct {
	typ, data unsafe.Pointer
}

func wordsOf(r actingweb.Record) words { return *(*words)(unsafe.Pointer(&r)) }

// Addr returns the address of the struct record r points to. r must not be nil.
func Addr(r actingweb.Record) unsafe.Pointer { return wordsOf(r).data }

// SameType reports whether records a and b are of the same type (the same table's), by
// their type words.
func SameType(a, b actingweb.Record) bool { return wordsOf(a).typ == wordsOf(b).typ }

// At returns the record of template's type (the same table) whose struct is at p.
func At(template actingweb.Record, p unsafe.Pointer) actingweb.Record {
	var r actingweb.Record
	*(*words)(unsafe.Pointer(&r)) = words{typ: wordsOf(template).typ, data: p}
	return r
}

// recordSlab is what Record keeps in its slot: SlabSize records of one type, handed out in
// order.
type recordSlab struct {
	typ  unsafe.Pointer // type word of the records
	next unsafe.Pointer // the next free record
	size uintptr        // bytes per record
	left int            // records not handed out
}

// Record returns an empty record of template's type (the same table) from the slab kept in
// *slot (created on first use, or when *slot holds a slab of another type): one allocation
// per SlabSize records instead of one each. A decoder keeps one slot per table.
func Record(template actingweb.Record, slot *any) actingweb.Record {
	w := wordsOf(template)
	s, _ := (*slot).(*recordSlab)
	if s == nil || s.typ != w.typ {
		s = &recordSlab{typ: w.typ}
		*slot = s
	}
	if s.left == 0 {
		elem := reflect.TypeOf(template).Elem()
		s.next = reflect.New(reflect.ArrayOf(SlabSize, elem)).UnsafePointer()
		s.size, s.left = elem.Size(), SlabSize
	}
	var r actingweb.Record
	*(*words)(unsafe.Pointer(&r)) = words{typ: s.typ, data: s.next}
	s.left--
	if s.left > 0 { // never point past the slab's end
		s.next = unsafe.Add(s.next, s.size)
	}
	return r
}

// init checks the interface layout Addr, At and Record rely on, for every table's record type.
func init() {
	for _, t := range actingweb.Tables {
		r := actingweb.Model(t).New()
		if Addr(r) != reflect.ValueOf(r).UnsafePointer() || At(r, Addr(r)) != r {
			panic(fmt.Sprintf("arena: the interface layout of %T is not the one Addr reads", r))
		}
	}
}
