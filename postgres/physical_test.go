package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/postgres"
	"github.com/jackc/pgx/v5"
)

// physicalStore returns a store on a fresh schema whose properties table holds n rows,
// written in a shuffled order (so physical order is not key order), the rows in that order,
// and a connection for changing the table behind the store's back.
func physicalStore(t *testing.T, n int) (*postgres.Store, []actingweb.Record, func(sql string)) {
	t.Helper()
	ctx := coreCtx(t)
	s, schema := coreHead(t)
	recs := props(n, func(i int) string { return fmt.Sprintf("actor-%02d", i%37) })
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	if _, err := s.WriteBatch(ctx, actingweb.TableProperties, recs, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(coreCtx(t)) })
	if _, err := conn.Exec(ctx, "SET search_path = "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	exec := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	return s, recs, exec
}

func keys(recs []actingweb.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Key()
	}
	return out
}

// firstPage scans one page of pageSize rows in physical order and returns it with its cursor.
func firstPage(t *testing.T, s *postgres.Store, pageSize int) ([]actingweb.Record, string) {
	t.Helper()
	stop := errors.New("stop")
	var recs []actingweb.Record
	var cur string
	err := s.Scan(coreCtx(t), actingweb.TableProperties, bulk.ScanOptions{PageSize: pageSize, AnyOrder: true}, func(p bulk.Page) error {
		recs, cur = p.Records, p.Cursor
		return stop
	})
	if !errors.Is(err, stop) {
		t.Fatalf("first page: %v", err)
	}
	return recs, cur
}

// scanErr scans properties with opts and returns the rows or the error.
func scanErr(s *postgres.Store, opts bulk.ScanOptions) ([]actingweb.Record, error) {
	var out []actingweb.Record
	err := s.Scan(context.Background(), actingweb.TableProperties, opts, func(p bulk.Page) error {
		out = append(out, p.Records...)
		return nil
	})
	return out, err
}

// TestScanAnyOrder: an AnyOrder scan reads the table in physical order (the order the rows
// were written in, for a fresh table), in pages, and resumes after a page from its cursor.
func TestScanAnyOrder(t *testing.T) {
	t.Parallel()
	s, written, _ := physicalStore(t, 2500)
	var sizes []int
	var lasts []bool
	var cursors []string
	var all []actingweb.Record
	err := s.Scan(coreCtx(t), actingweb.TableProperties, bulk.ScanOptions{PageSize: 1000, AnyOrder: true}, func(p bulk.Page) error {
		sizes = append(sizes, len(p.Records))
		lasts = append(lasts, p.Last)
		cursors = append(cursors, p.Cursor)
		all = append(all, p.Records...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sizes, []int{1000, 1000, 500}) || !slices.Equal(lasts, []bool{false, false, true}) {
		t.Fatalf("pages %v last %v", sizes, lasts)
	}
	if !slices.Equal(keys(all), keys(written)) {
		t.Fatal("an AnyOrder scan of a fresh table did not return the rows in the order they were written")
	}
	if slices.IsSorted(keys(all)) {
		t.Fatal("the rows were written in key order: the test does not tell the orders apart")
	}
	if _, cur := firstPage(t, s, 1000); cur != cursors[0] {
		t.Fatalf("cursor %q vs %q", cur, cursors[0])
	}
	// A physical-order position is never resumed, AnyOrder or not, whether the table
	// changed or not, nor whatever else runs on the server.
	for _, anyOrder := range []bool{true, false} {
		for i, cur := range cursors {
			if _, err := scanErr(s, bulk.ScanOptions{Cursor: cur, PageSize: 700, AnyOrder: anyOrder}); !errors.Is(err, actingweb.ErrStaleCursor) {
				t.Fatalf("AnyOrder %v: resumption from page %d's cursor: %v, want ErrStaleCursor", anyOrder, i+1, err)
			}
		}
	}
	// A key-order cursor resumes in key order, AnyOrder or not.
	var keyCur string
	stop := errors.New("stop")
	s.Scan(coreCtx(t), actingweb.TableProperties, bulk.ScanOptions{PageSize: 1000}, func(p bulk.Page) error {
		keyCur = p.Cursor
		return stop
	})
	rest, _ := scanAll(t, s, actingweb.TableProperties, bulk.ScanOptions{Cursor: keyCur, AnyOrder: true})
	if len(rest) != 1500 || !slices.IsSorted(keys(rest)) {
		t.Fatalf("key cursor with AnyOrder: %d rows, sorted %v", len(rest), slices.IsSorted(keys(rest)))
	}
	// Segments are disjoint and cover the table.
	seen := map[string]int{}
	for seg := range 3 {
		recs, _ := scanAll(t, s, actingweb.TableProperties, bulk.ScanOptions{Segment: seg, TotalSegments: 3, AnyOrder: true})
		for _, r := range recs {
			seen[r.Key()]++
		}
	}
	if len(seen) != 2500 {
		t.Fatalf("segments cover %d rows, want 2500", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("row %s in %d segments", actingweb.KeyString(k), n)
		}
	}
}

// TestScanAnyOrderBusy: a physical-order scan reads every row while another session holds a
// transaction open and writes, and its cursor is refused the same way before and after
// those writes, so the caller's restart does not depend on what else runs on the server.
func TestScanAnyOrderBusy(t *testing.T) {
	t.Parallel()
	s, written, exec := physicalStore(t, 600)
	other, err := pgx.Connect(coreCtx(t), testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close(coreCtx(t)) })
	tx, err := other.Begin(coreCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(coreCtx(t))
	if _, err := tx.Exec(coreCtx(t), "SELECT txid_current()"); err != nil { // holds the horizon back
		t.Fatal(err)
	}
	first, cur := firstPage(t, s, 200)
	if !slices.Equal(keys(first), keys(written[:200])) {
		t.Fatal("first page is not the first rows written")
	}
	if _, err := scanErr(s, bulk.ScanOptions{Cursor: cur, AnyOrder: true}); !errors.Is(err, actingweb.ErrStaleCursor) {
		t.Fatalf("resumption, nothing written: %v, want ErrStaleCursor", err)
	}
	exec(updateSQL(written[500]))
	exec(deleteSQL(written[10]))
	if _, err := scanErr(s, bulk.ScanOptions{Cursor: cur, AnyOrder: true}); !errors.Is(err, actingweb.ErrStaleCursor) {
		t.Fatalf("resumption after writes: %v, want ErrStaleCursor", err)
	}
	all, err := scanErr(s, bulk.ScanOptions{AnyOrder: true, PageSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	want := keys(written)
	want = slices.DeleteFunc(want, func(k string) bool { return k == written[10].Key() })
	got := keys(all)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("scan from the start: %d rows, want %d", len(got), len(want))
	}
	for _, r := range all {
		if r.Key() == written[500].Key() && r.(*actingweb.Property).Value != "changed" {
			t.Fatal("the updated row was read with its old value")
		}
	}
}

func deleteSQL(r actingweb.Record) string {
	p := r.(*actingweb.Property)
	return fmt.Sprintf("DELETE FROM properties WHERE id = '%s' AND name = '%s'", p.ID, p.Name)
}

func updateSQL(r actingweb.Record) string {
	p := r.(*actingweb.Property)
	return fmt.Sprintf("UPDATE properties SET value = 'changed' WHERE id = '%s' AND name = '%s'", p.ID, p.Name)
}
