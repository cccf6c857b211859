package postgres_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/internal/benchdata"
	"github.com/actingweb/actingweb-go/postgres"
)

// TestApplySmallAndBulkAgree: ApplyChanges of a few rows per table (one INSERT ... VALUES ...
// ON CONFLICT statement) leaves exactly the rows WriteBatch with ConflictOverwrite (the COPY
// path, the oracle) leaves, over targets holding an older state of half of the keys.
func TestApplySmallAndBulkAgree(t *testing.T) {
	t.Parallel()
	ctx := coreCtx(t)
	small, _ := coreHead(t)
	big, _ := coreHead(t)
	data := benchdata.Default(0)
	data.Actors, data.Properties = 2, 6
	for _, tb := range actingweb.DataTables {
		var recs, old []actingweb.Record
		collect := func(dst *[]actingweb.Record) func(actingweb.Record) error {
			return func(r actingweb.Record) error {
				if len(*dst) < 10 {
					*dst = append(*dst, r)
				}
				return nil
			}
		}
		if err := data.Table(tb, collect(&recs)); err != nil {
			t.Fatal(err)
		}
		if err := data.Table(tb, collect(&old)); err != nil {
			t.Fatal(err)
		}
		changed := 0
		for _, r := range old {
			changed += olderState(r)
		}
		if changed == 0 {
			t.Fatalf("%s: no field of the older state differs", tb)
		}
		for _, s := range []*postgres.Store{small, big} { // half the keys exist, older
			if res, err := s.WriteBatch(ctx, tb, old[:len(old)/2], bulk.ConflictFail); err != nil || len(res.Rejects) > 0 {
				t.Fatalf("%s: seed: %v %v", tb, err, res.Rejects)
			}
		}
		if err := small.ApplyChanges(ctx, recs, nil); err != nil {
			t.Fatalf("%s: ApplyChanges: %v", tb, err)
		}
		if res, err := big.WriteBatch(ctx, tb, recs, bulk.ConflictOverwrite); err != nil || len(res.Rejects) > 0 {
			t.Fatalf("%s: WriteBatch: %v %v", tb, err, res.Rejects)
		}
		for _, r := range recs {
			a, err := small.GetRecord(ctx, r)
			if err != nil {
				t.Fatalf("%s %s: small path: %v", tb, r.Key(), err)
			}
			b, err := big.GetRecord(ctx, r)
			if err != nil {
				t.Fatalf("%s %s: COPY path: %v", tb, r.Key(), err)
			}
			if d := actingweb.CompareRecords(a, b); len(d) > 0 {
				t.Errorf("%s %s: the paths differ in %v", tb, r.Key(), d)
			}
			if d := actingweb.CompareRecords(a, r); len(d) > 0 {
				t.Errorf("%s %s: the row is not the one applied: %v", tb, r.Key(), d)
			}
		}
	}
}

// olderState changes r in place to an older state of the same key: every string field that is
// not part of the key gets a suffix (the change is undone where it moved the key), every time
// goes back an hour. It returns
// how many fields it changed.
func olderState(r actingweb.Record) int {
	v := reflect.ValueOf(r).Elem()
	key := r.Key()
	n := 0
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if !f.CanSet() {
			continue
		}
		switch t := f.Addr().Interface().(type) {
		case *time.Time:
			*t = t.Add(-time.Hour)
			n++
			continue
		case **time.Time:
			if *t != nil {
				u := (*t).Add(-time.Hour)
				*t = &u
				n++
			}
			continue
		}
		if f.Kind() != reflect.String || f.String() == "" {
			continue
		}
		was := f.String()
		f.SetString(was + "~older")
		if r.Key() != key {
			f.SetString(was)
			continue
		}
		n++
	}
	return n
}

// TestGetRecordLookupByDigest: a property lookup key as a DynamoDB row carries it (name and
// digest, no value) reads the row whose value has that digest.
func TestGetRecordLookupByDigest(t *testing.T) {
	t.Parallel()
	ctx := coreCtx(t)
	s, _ := coreHead(t)
	if err := s.CreateActor(ctx, actingweb.Actor{ID: "a1", Creator: "c", Passphrase: "p"}); err != nil {
		t.Fatal(err)
	}
	row := actingweb.NewPropertyLookup("email", "x@example.com", "a1")
	if err := s.ApplyChanges(ctx, []actingweb.Record{&row}, nil); err != nil {
		t.Fatal(err)
	}
	key := actingweb.PropertyLookup{PropertyName: "email", LookupKey: actingweb.LookupKey("email", "x@example.com")}
	got, err := s.GetRecord(ctx, &key)
	if err != nil {
		t.Fatalf("GetRecord by digest: %v", err)
	}
	if d := actingweb.CompareRecords(got, &row); len(d) > 0 {
		t.Fatalf("GetRecord by digest read %+v, differs in %v", got, d)
	}
	other := actingweb.PropertyLookup{PropertyName: "email", LookupKey: actingweb.LookupKey("email", "y@example.com")}
	if _, err := s.GetRecord(ctx, &other); !errors.Is(err, actingweb.ErrNotFound) {
		t.Fatalf("GetRecord of another digest: %v, want ErrNotFound", err)
	}
}
