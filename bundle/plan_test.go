package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
)

// fullRecord returns a record of table m with every field set to a non-zero value (i varies
// the values).
func fullRecord(t *testing.T, m *actingweb.TableModel, i int) actingweb.Record {
	t.Helper()
	r := m.New()
	tm := time.Date(2025, 4, 13, 2, 21, 39, 694133000+i, time.UTC)
	for j := range m.Fields {
		f := &m.Fields[j]
		s := "v<" + f.Name + ">é" + strings.Repeat("x", i)
		switch p := f.Ptr(r).(type) {
		case *string:
			*p = s
		case **string:
			*p = &s
		case *bool:
			*p = true
		case *int64:
			*p = int64(-7 * (i + j + 1))
		case **int64:
			n := int64(1767225600 + i + j)
			*p = &n
		case *time.Time:
			*p = tm
		case **time.Time:
			v := tm.Add(time.Duration(j) * time.Second)
			*p = &v
		case *json.RawMessage:
			*p = json.RawMessage(`{"k":[1,"x é",null],"i":` + string(rune('0'+i%10)) + `}`)
		default:
			t.Fatalf("%s.%s: unexpected %T", m.Table, f.Name, p)
		}
	}
	return r
}

// TestPlanEveryField: for every table, a record with every field of the model set encodes
// by the fast path exactly as json.Marshal encodes it, with every field's key in the line;
// the line decodes by the fast path to the record encoding/json gives; each field left out
// still round-trips; a field twice or an unknown key is left to encoding/json.
func TestPlanEveryField(t *testing.T) {
	for _, tb := range actingweb.Tables {
		m := actingweb.Model(tb)
		t.Run(string(tb), func(t *testing.T) {
			for i := range 3 {
				r := fullRecord(t, m, i)
				if !checkEncodeEquiv(t, r) {
					t.Fatalf("the fast encoder did not take %#v", r)
				}
				line, err := AppendRecordJSON(nil, r)
				if err != nil {
					t.Fatal(err)
				}
				var keys map[string]json.RawMessage
				if err := json.Unmarshal(line, &keys); err != nil {
					t.Fatal(err)
				}
				for _, f := range m.Fields {
					if _, ok := keys[f.Name]; !ok {
						t.Errorf("field %s missing from %s", f.Name, line)
					}
				}
				if len(keys) != len(m.Fields) {
					t.Errorf("%d keys in %s, %d model fields", len(keys), line, len(m.Fields))
				}
				if !checkDecodeEquiv(t, tb, line) {
					t.Fatalf("the fast decoder refused %s", line)
				}
				got, err := DecodeRecord(tb, line)
				if err != nil || !reflect.DeepEqual(got, r) {
					t.Fatalf("round trip: %#v (%v), want %#v", got, err, r)
				}
			}
			line, _ := AppendRecordJSON(nil, fullRecord(t, m, 1))
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(line, &obj); err != nil {
				t.Fatal(err)
			}
			for _, f := range m.Fields {
				v := obj[f.Name]
				// left out: the fast decoder takes it (required fields are checked after)
				without := bytes.Replace(line, []byte(`"`+f.Name+`":`+string(v)), nil, 1)
				without = bytes.Replace(bytes.Replace(without, []byte(",,"), []byte(","), 1), []byte("{,"), []byte("{"), 1)
				without = bytes.Replace(without, []byte(",}"), []byte("}"), 1)
				if !checkDecodeEquiv(t, tb, without) {
					t.Errorf("%s left out: the fast decoder refused %s", f.Name, without)
				}
				// twice: encoding/json takes the last, the fast decoder refuses
				twice := append(bytes.Clone(line[:len(line)-1]), `,"`+f.Name+`":`+string(v)+`}`...)
				if checkDecodeEquiv(t, tb, twice) {
					t.Errorf("%s twice: the fast decoder took %s", f.Name, twice)
				}
				// a key differing only in case, or a prefix: unknown to the fast decoder
				for _, k := range []string{strings.ToUpper(f.Name), f.Name[:len(f.Name)-1], f.Name + "_"} {
					if m.Field(k) != nil {
						continue
					}
					other := bytes.Replace(line, []byte(`"`+f.Name+`":`), []byte(`"`+k+`":`), 1)
					if checkDecodeEquiv(t, tb, other) {
						t.Errorf("key %q: the fast decoder took %s", k, other)
					}
				}
			}
		})
	}
}

// TestPlanIndex: every field name of a table resolves to its plan field, names of other
// tables' fields and near misses to none.
func TestPlanIndex(t *testing.T) {
	var all []string
	for _, p := range plans {
		for _, f := range p.fields {
			all = append(all, f.name, f.name+"x", "x"+f.name, strings.ToUpper(f.name), f.name[1:])
		}
	}
	all = append(all, "", "a", "_", "idx", "peer")
	for _, p := range plans {
		for i, f := range p.fields {
			for guess := -1; guess <= len(p.fields); guess++ {
				if got := p.fieldIndex([]byte(f.name), guess); got != i {
					t.Errorf("%s: %s at %d (guess %d), want %d", p.table, f.name, got, guess, i)
				}
			}
		}
		for _, n := range all {
			want := -1
			for i, f := range p.fields {
				if f.name == n {
					want = i
				}
			}
			for guess := -1; guess <= len(p.fields); guess++ {
				if got := p.fieldIndex([]byte(n), guess); got != want {
					t.Errorf("%s: %q at %d (guess %d), want %d", p.table, n, got, guess, want)
				}
			}
		}
	}
	for i, tb := range actingweb.Tables {
		if planOf(tb) != plans[i] || planOf(tb).table != tb {
			t.Errorf("table %s: plan of %s", tb, planOf(tb).table)
		}
	}
	for _, n := range []actingweb.Table{"", "nope", "actor", "Actors", "trusts_", "subscription"} {
		if planOf(n) != nil {
			t.Errorf("table %q has a plan", n)
		}
	}
}

// TestCheckRequiredFields: an empty record of each table lacks exactly the fields the
// hand-written check required before it was derived from the model, named in this order.
func TestCheckRequiredFields(t *testing.T) {
	want := map[actingweb.Table]string{
		actingweb.TableActors:                  "id",
		actingweb.TableProperties:              "id, name",
		actingweb.TablePropertyLookup:          "property_name, lookup_key, actor_id",
		actingweb.TableAttributes:              "id, bucket_name",
		actingweb.TableTrusts:                  "id, peerid",
		actingweb.TablePeerTrustees:            "id, peerid",
		actingweb.TableSubscriptions:           "id, peer_sub_id",
		actingweb.TableSubscriptionDiffs:       "id, subid_seqnr, timestamp",
		actingweb.TableSubscriptionSuspensions: "id, target, suspended_at",
	}
	for _, tb := range actingweb.Tables {
		m := actingweb.Model(tb)
		err := CheckRequired(m.New())
		if !errors.Is(err, actingweb.ErrInvalid) || !strings.HasSuffix(err.Error(), "required field(s) "+want[tb]) {
			t.Errorf("%s: %v, want the fields %s", tb, err, want[tb])
		}
		full := fullRecord(t, m, 0)
		if err := CheckRequired(full); err != nil {
			t.Errorf("%s: full record: %v", tb, err)
		}
		// each required field alone: a line without it is decoded, then rejected naming it
		for _, name := range strings.Split(want[tb], ", ") {
			r := fullRecord(t, m, 0)
			switch p := m.Field(name).Ptr(r).(type) {
			case *string:
				*p = ""
			case *time.Time:
				*p = time.Time{}
			}
			err := CheckRequired(r)
			if err == nil || !strings.HasSuffix(err.Error(), "required field(s) "+name) {
				t.Errorf("%s without %s: %v", tb, name, err)
			}
			line, _ := json.Marshal(r)
			if got, derr := DecodeRecord(tb, line); derr == nil || derr.Error() != err.Error() || !reflect.DeepEqual(got, r) {
				t.Errorf("%s without %s: DecodeRecord %#v, %v", tb, name, got, derr)
			}
		}
	}
}

// TestPlanForeignRecords: nil records and record types that are no table's (here one
// embedding a table's record, so that it reports that table) are left to encoding/json and
// pass CheckRequired.
func TestPlanForeignRecords(t *testing.T) {
	type wrapped struct{ actingweb.Trust }
	for _, r := range []actingweb.Record{nil, (*actingweb.Trust)(nil), &wrapped{actingweb.Trust{ID: "a"}}} {
		if _, ok := appendRecordFast(nil, r, false); ok {
			t.Errorf("%#v: taken by the fast encoder", r)
		}
		if err := CheckRequired(r); err != nil {
			t.Errorf("%#v: %v", r, err)
		}
	}
	got, err := AppendRecordJSON(nil, &wrapped{actingweb.Trust{ID: "a"}})
	if want, _ := json.Marshal(&wrapped{actingweb.Trust{ID: "a"}}); err != nil || !bytes.Equal(got, want) {
		t.Errorf("wrapped record: %s, %v; want %s", got, err, want)
	}
}

// TestUpstreamTimeFields: the fields whose upstream values may be Python timestamps are the
// timestamp fields before they were derived from the model, and each is converted in its
// table.
func TestUpstreamTimeFields(t *testing.T) {
	var names []string
	for _, p := range plans {
		for _, f := range p.fields {
			if (f.kind == actingweb.KindTime || f.kind == actingweb.KindOptTime) && !slices.Contains(names, f.name) {
				names = append(names, f.name)
			}
		}
	}
	slices.Sort(names)
	if want := []string{"capabilities_fetched_at", "created_at", "last_accessed", "suspended_at", "timestamp"}; !slices.Equal(names, want) {
		t.Errorf("time fields %v, want %v", names, want)
	}
	want := time.Date(2025, 4, 13, 2, 21, 39, 694133000, time.UTC)
	for _, p := range plans {
		for _, f := range p.fields {
			if f.kind != actingweb.KindTime && f.kind != actingweb.KindOptTime {
				continue
			}
			line, _ := json.Marshal(fullRecord(t, p.model, 0))
			var obj map[string]any
			if err := json.Unmarshal(line, &obj); err != nil {
				t.Fatal(err)
			}
			obj[f.name] = "2025-04-13 02:21:39.694133"
			raw, _ := json.Marshal(obj)
			r, err := decodeUpstream(p.table, raw)
			if err != nil {
				t.Fatalf("%s.%s: %v", p.table, f.name, err)
			}
			var got time.Time
			switch v := p.model.Field(f.name).Ptr(r).(type) {
			case *time.Time:
				got = *v
			case **time.Time:
				got = **v
			}
			if !got.Equal(want) {
				t.Errorf("%s.%s: %v, want %v", p.table, f.name, got, want)
			}
		}
	}
}
