package bulk

import (
	"encoding/json"
	"reflect"

	actingweb "github.com/actingweb/actingweb-go"
)

// RecordSize estimates the memory r holds, in bytes: the lengths of its strings and payload
// plus its struct's size rounded up to 64 (64 for actors, properties and lookup rows, 256 for
// trusts, 128 for the others). The migrate engine and the scans bound their batches and
// pages by it as well as by rows, so rows of 400 KB (DynamoDB's item limit) do not multiply a
// batch's memory by a thousand. A nil or unknown record counts 64.
func RecordSize(r actingweb.Record) int {
	if r == nil {
		return 64
	}
	m := actingweb.Model(r.Table())
	if m == nil {
		return 64
	}
	n := sizeBase[r.Table()]
	for i := range m.Fields {
		switch p := m.Fields[i].Ptr(r).(type) {
		case *string:
			n += len(*p)
		case **string:
			if *p != nil {
				n += len(**p)
			}
		case *json.RawMessage:
			n += len(*p)
		}
	}
	return n
}

// sizeBase is each table's record struct size rounded up to 64 bytes.
var sizeBase = func() map[actingweb.Table]int {
	b := make(map[actingweb.Table]int, len(actingweb.Tables))
	for _, t := range actingweb.Tables {
		b[t] = (int(reflect.TypeOf(actingweb.Model(t).New()).Elem().Size()) + 63) / 64 * 64
	}
	return b
}()
