package actingweb

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestModelCoversRecords checks every table model against its record type: one field per
// struct field, named by its JSON tag, whose Ptr addresses that very struct field, with the
// kind of its Go type.
func TestModelCoversRecords(t *testing.T) {
	t.Parallel()
	for _, table := range Tables {
		m := Model(table)
		if m == nil {
			t.Fatalf("no model for %s", table)
		}
		rec := m.New()
		if rec.Table() != table || reflect.TypeOf(rec) != reflect.TypeOf(NewRecord(table)) {
			t.Fatalf("%s: model makes %T", table, rec)
		}
		v := reflect.ValueOf(rec).Elem()
		if v.NumField() != len(m.Fields) {
			t.Errorf("%s: record has %d fields, model %d", table, v.NumField(), len(m.Fields))
		}
		for i := 0; i < v.NumField(); i++ {
			sf := v.Type().Field(i)
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			f := m.Field(name)
			if f == nil {
				t.Errorf("%s: field %s (json %q) is not in the model", table, sf.Name, name)
				continue
			}
			p := reflect.ValueOf(f.Ptr(rec))
			if p.Pointer() != v.Field(i).Addr().Pointer() || p.Elem().Type() != sf.Type {
				t.Errorf("%s.%s: Ptr addresses another field", table, name)
			}
			if got, want := f.Kind.String(), sf.Type.String(); got != want {
				t.Errorf("%s.%s: kind %s, Go type %s", table, name, got, want)
			}
		}
		if m.Field(m.Owner) == nil || m.Field(m.HashKey) == nil {
			t.Errorf("%s: owner %q or hash key %q is not a field", table, m.Owner, m.HashKey)
		}
		for _, f := range m.Fields {
			if f.Secret != SecretFields[table][f.Name] {
				t.Errorf("%s.%s: secret %v in the model, %v in SecretFields", table, f.Name, f.Secret, SecretFields[table][f.Name])
			}
		}
	}
}

// TestTrustUpdateApply sets every field of a TrustUpdate and checks Apply names one trusts
// field for each, sets it, and leaves the fields an update cannot change alone.
func TestTrustUpdateApply(t *testing.T) {
	t.Parallel()
	var u TrustUpdate
	uv := reflect.ValueOf(&u).Elem()
	for i := 0; i < uv.NumField(); i++ {
		p := reflect.New(uv.Field(i).Type().Elem())
		switch p.Elem().Kind() {
		case reflect.String:
			p.Elem().SetString("x-" + uv.Type().Field(i).Name)
		case reflect.Bool:
			p.Elem().SetBool(true)
		default: // time.Time
			p.Elem().Set(reflect.ValueOf(time.Unix(1700000000, 123456789)))
		}
		uv.Field(i).Set(p)
	}
	var tr Trust
	names := u.Apply(&tr)
	if len(names) != uv.NumField() {
		t.Fatalf("Apply named %d fields (%v), the update has %d", len(names), names, uv.NumField())
	}
	m := Model(TableTrusts)
	for _, n := range names {
		f := m.Field(n)
		if f == nil || reflect.ValueOf(f.Ptr(&tr)).Elem().IsZero() {
			t.Errorf("field %s named but not set", n)
		}
	}
	if tr.ID != "" || tr.PeerID != "" || tr.Type != "" || tr.Relationship != "" {
		t.Errorf("Apply changed a field no update names: %+v", tr)
	}
	if got := (TrustUpdate{Desc: new(string)}).Apply(&tr); len(got) != 0 {
		t.Errorf("an empty desc is not applied, Apply named %v", got)
	}
}

// TestFieldOffset: Offset added to the address of a record's struct is where Ptr points, for
// every field.
func TestFieldOffset(t *testing.T) {
	t.Parallel()
	for _, table := range Tables {
		m := Model(table)
		r := m.New()
		for i := range m.Fields {
			f := &m.Fields[i]
			if got, want := reflect.ValueOf(r).Pointer()+f.Offset, reflect.ValueOf(f.Ptr(r)).Pointer(); got != want {
				t.Errorf("%s.%s: address+Offset %#x, Ptr %#x", table, f.Name, got, want)
			}
		}
	}
}
