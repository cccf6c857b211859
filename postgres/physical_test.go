package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/postgres"
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
	if _, err := s.WriteBatch(ctx, actingweb.TableProperties, recs, actingweb.ConflictFail); err != nil {
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
	err := s.Scan(coreCtx(t), actingweb.TableProperties, actingweb.ScanOptions{PageSize: pageSize, AnyOrder: true}, func(p actingweb.Page) error {
		recs, cur = p.Records, p.Cursor
		return stop
	})
	if !errors.Is(err, stop) {
		t.Fatalf("first page: %v", err)
	}
	return recs, cur
}

// scanErr scans properties with opts and returns the rows or the error.
func scanErr(s *postgres.Store, opts actingweb.ScanOptions) ([]actingweb.Record, error) {
	var out []actingweb.Record
	err := s.Scan(context.Background(), actingweb.TableProperties, opts, func(p actingweb.Page) error {
		out = append(out, p.Records...)
		return nil
	})
	return out, err
}

// retryStale runs f, which takes a physical-order cursor and resumes from it, again while the
// resumption fails with ErrStaleCursor, up to ten times: a transaction of another session open
// across the cursor's scan (test packages run at once on one server) makes any resumption
// stale, the window of rows taken as written starting at the oldest running transaction.
func retryStale(t *testing.T, f func() error) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil {
			return
		}
		if !errors.Is(err, actingweb.ErrStaleCursor) || attempt == 10 {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		t.Logf("attempt %d: %v (a concurrent transaction?)", attempt, err)
	}
}

// TestScanAnyOrder: an AnyOrder scan reads the table in physical order (the order the rows
// were written in, for a fresh table), in pages, and resumes after a page from its cursor.
func TestScanAnyOrder(t *testing.T) {
	s, written, _ := physicalStore(t, 2500)
	var sizes []int
	var lasts []bool
	var cursors []string
	var all []actingweb.Record
	err := s.Scan(coreCtx(t), actingweb.TableProperties, actingweb.ScanOptions{PageSize: 1000, AnyOrder: true}, func(p actingweb.Page) error {
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
	// The cursor decides the order of a resumption, whatever AnyOrder says.
	for _, anyOrder := range []bool{true, false} {
		retryStale(t, func() error {
			_, cur := firstPage(t, s, 1000)
			rest, err := scanErr(s, actingweb.ScanOptions{Cursor: cur, PageSize: 700, AnyOrder: anyOrder})
			if err == nil && !slices.Equal(keys(rest), keys(written[1000:])) {
				t.Fatalf("AnyOrder %v: resumed scan gave %d rows, not the last 1500 in physical order", anyOrder, len(rest))
			}
			return err
		})
	}
	retryStale(t, func() error {
		var end string
		if err := s.Scan(coreCtx(t), actingweb.TableProperties, actingweb.ScanOptions{PageSize: 1000, AnyOrder: true}, func(p actingweb.Page) error {
			end = p.Cursor
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		pages := 0
		err := s.Scan(coreCtx(t), actingweb.TableProperties, actingweb.ScanOptions{Cursor: end, AnyOrder: true}, func(p actingweb.Page) error {
			pages++
			if len(p.Records) != 0 {
				t.Fatalf("scan after end: %d rows", len(p.Records))
			}
			return nil
		})
		if err == nil && pages != 1 {
			t.Fatalf("scan after end: %d pages", pages)
		}
		return err
	})
	// A key-order cursor resumes in key order, AnyOrder or not.
	var keyCur string
	stop := errors.New("stop")
	s.Scan(coreCtx(t), actingweb.TableProperties, actingweb.ScanOptions{PageSize: 1000}, func(p actingweb.Page) error {
		keyCur = p.Cursor
		return stop
	})
	rest, _ := scanAll(t, s, actingweb.TableProperties, actingweb.ScanOptions{Cursor: keyCur, AnyOrder: true})
	if len(rest) != 1500 || !slices.IsSorted(keys(rest)) {
		t.Fatalf("key cursor with AnyOrder: %d rows, sorted %v", len(rest), slices.IsSorted(keys(rest)))
	}
	// Segments are disjoint and cover the table.
	seen := map[string]int{}
	for seg := range 3 {
		recs, _ := scanAll(t, s, actingweb.TableProperties, actingweb.ScanOptions{Segment: seg, TotalSegments: 3, AnyOrder: true})
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

// TestScanAnyOrderStale: a physical-order cursor is refused with ErrStaleCursor once rows were
// written or the table rewritten after the scan began, and accepted after changes that leave
// every live row where it was (none, deletes, a rolled-back insert), resuming with exactly the
// unread rows.
func TestScanAnyOrderStale(t *testing.T) {
	const n, page = 600, 200
	cases := []struct {
		name   string
		change func(written []actingweb.Record) string
		stale  bool
		gone   func(written []actingweb.Record) []string // keys the resumption no longer sees
	}{
		{name: "unchanged", change: func([]actingweb.Record) string { return "SELECT 1" }},
		{name: "delete unread row", change: func(w []actingweb.Record) string { return deleteSQL(w[400]) },
			gone: func(w []actingweb.Record) []string { return []string{w[400].Key()} }},
		{name: "delete read row", change: func(w []actingweb.Record) string { return deleteSQL(w[10]) }},
		{name: "rolled-back insert", change: func([]actingweb.Record) string {
			return "BEGIN; INSERT INTO properties VALUES ('zz', 'n', 'v'); ROLLBACK"
		}},
		{name: "delete, then vacuum", change: func(w []actingweb.Record) string { return deleteSQL(w[450]) + ";\nVACUUM properties" },
			gone: func(w []actingweb.Record) []string { return []string{w[450].Key()} }},
		{name: "update read row", stale: true, change: func(w []actingweb.Record) string { return updateSQL(w[10]) }},
		{name: "update unread row", stale: true, change: func(w []actingweb.Record) string { return updateSQL(w[500]) }},
		{name: "insert", stale: true, change: func([]actingweb.Record) string { return "INSERT INTO properties VALUES ('zz', 'n', 'v')" }},
		{name: "vacuum full", stale: true, change: func([]actingweb.Record) string { return "VACUUM FULL properties" }},
		{name: "truncate and reload", stale: true, change: func([]actingweb.Record) string {
			return "CREATE TEMP TABLE keep AS SELECT * FROM properties; TRUNCATE properties; INSERT INTO properties SELECT * FROM keep"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !c.stale {
				retryStale(t, func() error { return staleCase(t, n, page, c.change, c.gone) })
				return
			}
			if err := staleCase(t, n, page, c.change, c.gone); !errors.Is(err, actingweb.ErrStaleCursor) {
				t.Fatalf("resumed after %q: %v; want ErrStaleCursor", c.name, err)
			}
		})
	}
}

// staleCase scans the first page of a fresh table of n rows, runs change (statements
// separated by ";\n"), resumes from the page's cursor and returns the resumption's error. When
// it resumes, it checks that the rows it read are the unread ones less gone, and that a write
// afterwards makes the resumed scan's last cursor stale.
func staleCase(t *testing.T, n, page int, change func([]actingweb.Record) string, gone func([]actingweb.Record) []string) error {
	t.Helper()
	s, written, exec := physicalStore(t, n)
	first, cur := firstPage(t, s, page)
	if !slices.Equal(keys(first), keys(written[:page])) {
		t.Fatal("first page is not the first rows written")
	}
	for _, q := range strings.Split(change(written), ";\n") {
		exec(q)
	}
	var rest []actingweb.Record
	var endCur string
	err := s.Scan(coreCtx(t), actingweb.TableProperties, actingweb.ScanOptions{Cursor: cur, AnyOrder: true, PageSize: page}, func(p actingweb.Page) error {
		rest, endCur = append(rest, p.Records...), p.Cursor
		return nil
	})
	if err != nil {
		if len(rest) > 0 {
			t.Fatalf("%d rows before the error %v", len(rest), err)
		}
		return err
	}
	want := keys(written[page:])
	if gone != nil {
		for _, k := range gone(written) {
			want = slices.DeleteFunc(want, func(x string) bool { return x == k })
		}
	}
	if !slices.Equal(keys(rest), want) {
		t.Fatalf("resumed: %d rows, want the %d unread ones in physical order", len(rest), len(want))
	}
	// The resumed scan's cursors are physical ones too: a write now is caught.
	exec("INSERT INTO properties VALUES ('zz2', 'n', 'v')")
	if err := s.Scan(coreCtx(t), actingweb.TableProperties, actingweb.ScanOptions{Cursor: endCur, AnyOrder: true}, func(actingweb.Page) error { return nil }); !errors.Is(err, actingweb.ErrStaleCursor) {
		t.Fatalf("insert after the resumption: %v, want ErrStaleCursor", err)
	}
	return nil
}

func deleteSQL(r actingweb.Record) string {
	p := r.(*actingweb.Property)
	return fmt.Sprintf("DELETE FROM properties WHERE id = '%s' AND name = '%s'", p.ID, p.Name)
}

func updateSQL(r actingweb.Record) string {
	p := r.(*actingweb.Property)
	return fmt.Sprintf("UPDATE properties SET value = 'changed' WHERE id = '%s' AND name = '%s'", p.ID, p.Name)
}
