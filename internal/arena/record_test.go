package arena

import (
	"reflect"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
)

// TestRecord: every table's records come from a slab, are of the template's type, zero,
// distinct, writable, and stay intact when the slot moves on to a new slab or another table.
func TestRecord(t *testing.T) {
	var slot any
	for _, tb := range actingweb.Tables {
		tmpl := actingweb.Model(tb).New()
		var got []actingweb.Record
		seen := map[uintptr]bool{}
		for i := 0; i < 2*SlabSize+3; i++ {
			r := Record(tmpl, &slot)
			if reflect.TypeOf(r) != reflect.TypeOf(tmpl) || r.Table() != tb {
				t.Fatalf("%s: Record gave %T", tb, r)
			}
			if !reflect.ValueOf(r).Elem().IsZero() {
				t.Fatalf("%s: record %d is not zero", tb, i)
			}
			p := reflect.ValueOf(r).Pointer()
			if seen[p] || uintptr(Addr(r)) != p {
				t.Fatalf("%s: record %d at %x: reused or Addr %x", tb, i, p, Addr(r))
			}
			seen[p] = true
			reflect.ValueOf(r).Elem().Field(0).SetString(string(rune('a' + i%26)))
			got = append(got, r)
		}
		for i, r := range got {
			if s := reflect.ValueOf(r).Elem().Field(0).String(); s != string(rune('a'+i%26)) {
				t.Fatalf("%s: record %d holds %q: overwritten", tb, i, s)
			}
		}
	}
}
