package migrate_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/bundle"
	"github.com/actingweb/actingweb-go/dynamodb"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/migrate"
	"github.com/actingweb/actingweb-go/postgres"
)

func openPG(t *testing.T) *postgres.Store {
	t.Helper()
	s, _ := openPGSchema(t)
	return s
}

// openPGSchema opens a store on a fresh schema at head and returns it with the schema's name.
func openPGSchema(t *testing.T) (*postgres.Store, string) {
	t.Helper()
	url, schema := testenv.FreshPostgresSchema(t)
	cfg, err := postgres.ConfigFromURL(url, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := postgres.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.UpgradeSchema(ctx); err != nil {
		t.Fatal(err)
	}
	return s, schema
}

func openDDB(t *testing.T) *dynamodb.Store {
	t.Helper()
	cfg := dynamodb.Config{Prefix: testenv.UniqueDynamoPrefix(t), Region: actingweb.DefaultRegion,
		Endpoint: testenv.DynamoDBEndpoint(t), Lookup: actingweb.DefaultLookupConfig()}
	ctx := context.Background()
	s, err := dynamodb.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s.DropTables(ctx)
	})
	if _, err := s.UpgradeSchema(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// seededDDB imports a generated bundle of n actors into fresh DynamoDB tables.
func seededDDB(t *testing.T, n int) (*dynamodb.Store, *bundle.Reader) {
	t.Helper()
	seedDir, seed := seedBundle(t, n)
	ddb := openDDB(t)
	if _, err := migrate.Import(context.Background(), seedDir, ddb, migrate.Options{StateDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	return ddb, seed
}

// reopenDDB opens another handle on s's tables whose scans read split segments in turn
// (dynamodb.Config.ScanSplit).
func reopenDDB(t *testing.T, s *dynamodb.Store, split int) *dynamodb.Store {
	t.Helper()
	s2, err := dynamodb.Open(context.Background(), dynamodb.Config{Prefix: s.Prefix(), Region: actingweb.DefaultRegion,
		Endpoint: testenv.DynamoDBEndpoint(t), Lookup: actingweb.DefaultLookupConfig(), ScanSplit: split})
	if err != nil {
		t.Fatal(err)
	}
	return s2
}

func mustEqual(t *testing.T, a, b bulk.Source) *migrate.ValidationReport {
	t.Helper()
	rep, err := migrate.Validate(context.Background(), a, b, migrate.ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Equal {
		var sb strings.Builder
		rep.WriteText(&sb)
		t.Fatalf("not equal:\n%s", sb.String())
	}
	return rep
}

func seedBundle(t *testing.T, n int) (string, *bundle.Reader) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "seed")
	writeBundle(t, dir, genData(n))
	r, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, r
}

// TestCopyBothWays: bundle → DynamoDB (import) → PostgreSQL (copy) → DynamoDB (copy) → bundle
// (export), validated equal at each step, lookup rebuilt on each store.
func TestCopyBothWays(t *testing.T) {
	testenv.PostgresURL(t)
	testenv.DynamoDBEndpoint(t)
	ctx := context.Background()
	seedDir, seed := seedBundle(t, 200)
	ddb, pg, ddb2 := openDDB(t), openPG(t), openDDB(t)

	rep, err := migrate.Import(ctx, seedDir, ddb, migrate.Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	// the DynamoDB tables were empty: the lookup is built while properties are written
	if rep.Lookup == nil || rep.Lookup.Result.Written != 200 || !rep.Lookup.FromStream {
		t.Errorf("lookup rebuild on DynamoDB: %+v, want 200 written while properties were written", rep.Lookup)
	}
	mustEqual(t, seed, ddb)

	rep, err = migrate.Copy(ctx, ddb, pg, migrate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Lookup == nil || rep.Lookup.Result.Written != 200 || !rep.Lookup.FromStream {
		t.Errorf("lookup rebuild on PostgreSQL: %+v, want 200 written while properties were written", rep.Lookup)
	}
	mustEqual(t, ddb, pg)

	if _, err := migrate.Copy(ctx, pg, ddb2, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, pg, ddb2)

	out := filepath.Join(t.TempDir(), "export")
	if _, err := migrate.Export(ctx, pg, out, migrate.Options{Gzip: true}); err != nil {
		t.Fatal(err)
	}
	exp, err := bundle.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, exp, pg)
	mustEqual(t, exp, seed)

	// a second copy under the fail policy stops at the first existing row
	_, err = migrate.Copy(ctx, ddb, pg, migrate.Options{Tables: []actingweb.Table{actingweb.TableActors}})
	if !errors.Is(err, actingweb.ErrConflict) {
		t.Errorf("copy onto existing rows with policy fail: %v", err)
	}
	// ... and succeeds under skip, writing nothing
	rep, err = migrate.Copy(ctx, ddb, pg, migrate.Options{Policy: bulk.ConflictSkip, Tables: []actingweb.Table{actingweb.TableActors}})
	if err != nil || rep.Totals().Skipped != 200 || rep.Totals().Written != 0 {
		t.Errorf("skip policy: %v %+v", err, rep.Totals())
	}
}

// TestKillAndResume cancels a copy mid-way, resumes it under the fail policy and checks the
// result equal and complete, in both directions.
func TestKillAndResume(t *testing.T) {
	testenv.PostgresURL(t)
	ctx := context.Background()
	ddb, seed := seededDDB(t, 600)
	mustEqual(t, seed, ddb)
	pg := openPG(t)
	pg2 := openPG(t)
	for _, dir := range []struct {
		name      string
		src       bulk.Source
		resumeSrc bulk.Source // the source of the resumed run, when another
		dst       func() bulk.Sink
		batch     int
		cancelAt  int64
		split     int // the split every checkpoint of the first run must record
	}{
		{"ddb-to-pg", ddb, nil, func() bulk.Sink { return pg }, 100, 12, 1},
		{"pg-to-ddb", pg, nil, func() bulk.Sink { return openDDB(t) }, 25, 40, 1},
		// cancelled while properties are written and their lookup rows built alongside: the
		// resumed run rebuilds the lookup by a rescan
		{"pg-to-ddb-in-properties", pg, nil, func() bulk.Sink { return openDDB(t) }, 25, 34, 1},
		// each of the 3 scanners reads 4 segments of 12 in turn; the resumed run's source
		// would split in 7, but a started table keeps its checkpoint's segments
		{"ddb-to-pg-split", reopenDDB(t, ddb, 4), reopenDDB(t, ddb, 7), func() bulk.Sink { return pg2 }, 100, 12, 4},
	} {
		t.Run(dir.name, func(t *testing.T) {
			dst := dir.dst()
			state := t.TempDir()
			cctx, cancel := context.WithCancel(ctx)
			ca := &cancelAfter{n: dir.cancelAt, cancel: cancel}
			o := migrate.Options{StateDir: state, BatchSize: dir.batch, Progress: ca, Segments: 3, Concurrency: 3}
			_, err := migrate.Copy(cctx, dir.src, dst, o)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("first run: %v", err)
			}
			cps, _ := filepath.Glob(filepath.Join(state, "*.checkpoint.json"))
			if len(cps) == 0 {
				t.Fatal("the first run left no checkpoint")
			}
			for _, f := range cps {
				var cp struct {
					Total int            `json:"total_segments"`
					Split int            `json:"split"`
					Segs  map[string]any `json:"segs"`
				}
				b, err := os.ReadFile(f)
				if err == nil {
					err = json.Unmarshal(b, &cp)
				}
				if err != nil {
					t.Fatal(err)
				}
				if max(cp.Split, 1) != dir.split || len(cp.Segs) != cp.Total*dir.split {
					t.Errorf("%s: split %d with %d segments, want %d with %d", filepath.Base(f), cp.Split, len(cp.Segs), dir.split, cp.Total*dir.split)
				}
			}
			if _, err := migrate.Copy(ctx, dir.src, dst, migrate.Options{StateDir: state}); !errors.Is(err, migrate.ErrStateExists) {
				t.Fatalf("run without resume: %v", err)
			}
			src := dir.src
			if dir.resumeSrc != nil {
				src = dir.resumeSrc
			}
			o.Progress, o.Resume = nil, true
			rep, err := migrate.Copy(ctx, src, dst, o)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Resumed {
				t.Error("not reported as resumed")
			}
			resumed := 0
			for _, ts := range rep.Tables {
				if ts.Resumed {
					resumed++
					if ts.Split != dir.split {
						t.Errorf("%s resumed with split %d, want its checkpoint's %d", ts.Table, ts.Split, dir.split)
					}
				}
			}
			if resumed == 0 {
				t.Error("no table resumed")
			}
			for _, ts := range rep.Tables {
				if ts.Table != actingweb.TableProperties {
					continue
				}
				if ts.Resumed && rep.Lookup != nil && rep.Lookup.FromStream {
					t.Error("properties resumed, yet the lookup was built from the resumed run's rows only")
				}
				if dir.name == "pg-to-ddb-in-properties" && !ts.Resumed {
					t.Error("the first run was not cancelled inside properties")
				}
			}
			vr := mustEqual(t, dir.src, dst.(bulk.Source))
			for _, tv := range vr.Tables {
				if tv.CountA != tv.CountB {
					t.Errorf("%s: %d vs %d", tv.Table, tv.CountA, tv.CountB)
				}
			}
			if left, _ := filepath.Glob(filepath.Join(state, "*.checkpoint.json")); len(left) > 0 {
				t.Errorf("checkpoints left: %v", left)
			}
		})
	}
}

// TestRejectsAndValidateFindings: rows the target cannot store are rejected and listed,
// validation finds a changed field, a missing and an extra row.
func TestRejectsAndValidateFindings(t *testing.T) {
	testenv.PostgresURL(t)
	testenv.DynamoDBEndpoint(t)
	ctx := context.Background()
	ddb, pg := openDDB(t), openPG(t)
	long := strings.Repeat("b", 300)
	_, err := ddb.WriteBatch(ctx, actingweb.TableAttributes, []actingweb.Record{
		&actingweb.Attribute{ID: "a1", BucketName: long + ":n", Bucket: long, Name: "n"},
		&actingweb.Attribute{ID: "a1", BucketName: "ok:n", Bucket: "ok", Name: "n"},
	}, bulk.ConflictFail)
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	tabs := []actingweb.Table{actingweb.TableAttributes}
	_, err = migrate.Copy(ctx, ddb, pg, migrate.Options{Tables: tabs, StateDir: state})
	if !errors.Is(err, migrate.ErrTooManyRejects) {
		t.Fatalf("varchar(255) overflow with MaxRejects 0: %v", err)
	}
	os.RemoveAll(state)
	rep, err := migrate.Copy(ctx, ddb, pg, migrate.Options{Tables: tabs, StateDir: state, MaxRejects: -1, Policy: bulk.ConflictSkip})
	if err != nil {
		t.Fatal(err)
	}
	if tot := rep.Totals(); tot.Rejected != 1 || tot.Written+tot.Skipped != 1 {
		t.Errorf("totals %+v", tot)
	}
	b, err := os.ReadFile(filepath.Join(state, "attributes.rejects.jsonl"))
	if err != nil || !strings.Contains(string(b), "a1 / "+long) {
		t.Errorf("rejects file: %v %.200s", err, b)
	}

	// 400 KB item into DynamoDB
	pg2, ddb2 := openPG(t), openDDB(t)
	big := strings.Repeat("x", 450<<10)
	if _, err := pg2.WriteBatch(ctx, actingweb.TableProperties, []actingweb.Record{
		&actingweb.Property{ID: "a1", Name: "big", Value: big},
		&actingweb.Property{ID: "a1", Name: "small", Value: "v"},
	}, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	rep, err = migrate.Copy(ctx, pg2, ddb2, migrate.Options{Tables: []actingweb.Table{actingweb.TableProperties}, MaxRejects: 5})
	if err != nil {
		t.Fatal(err)
	}
	if tot := rep.Totals(); tot.Rejected != 1 || tot.Written != 1 {
		t.Errorf("400 KB: totals %+v", tot)
	}
	if strings.Contains(strings.Join(rep.Tables[0].RejectSamples, ""), big[:100]) {
		t.Error("reject sample shows the value")
	}

	// validate finds a changed field, a missing row, an extra row
	vr, err := migrate.Validate(ctx, pg2, ddb2, migrate.ValidateOptions{Tables: []actingweb.Table{actingweb.TableProperties}})
	if err != nil {
		t.Fatal(err)
	}
	if vr.Equal || vr.Tables[0].OnlyInA != 1 {
		t.Errorf("missing row: %+v", vr.Tables[0])
	}
	ddb2.WriteBatch(ctx, actingweb.TableProperties, []actingweb.Record{
		&actingweb.Property{ID: "a1", Name: "small", Value: "changed"},
		&actingweb.Property{ID: "a1", Name: "extra", Value: "e"},
	}, bulk.ConflictOverwrite)
	vr, err = migrate.Validate(ctx, pg2, ddb2, migrate.ValidateOptions{Tables: []actingweb.Table{actingweb.TableProperties}})
	if err != nil {
		t.Fatal(err)
	}
	tv := vr.Tables[0]
	if vr.Equal || tv.OnlyInA != 1 || tv.OnlyInB != 1 || tv.Changed != 1 || tv.OrphansA != 2 {
		t.Errorf("findings: %+v", tv)
	}
}

// TestResumeAfterDeletesInsideDynamoDBPage: a copy from DynamoDB whose batches are cut from one
// 5000-item page is stopped after 400 properties; five of those, the last one copied among
// them, are then deleted from the source, and the resumption copies every property that was
// not copied yet. Its batches end in their last item's cursor (RecordCursorer): a position
// counted in items of the page would have passed over five items the deletes shifted into it.
func TestResumeAfterDeletesInsideDynamoDBPage(t *testing.T) {
	testenv.PostgresURL(t)
	testenv.DynamoDBEndpoint(t)
	ctx := context.Background()
	seedDir, _ := seedBundle(t, 600)
	ddb := openDDB(t)
	if _, err := migrate.Import(ctx, seedDir, ddb, migrate.Options{StateDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	var order []*actingweb.Property // the scan order of one segment
	err := ddb.Scan(ctx, actingweb.TableProperties, bulk.ScanOptions{PageSize: 5000}, func(p bulk.Page) error {
		for _, r := range p.Records {
			order = append(order, r.(*actingweb.Property))
		}
		return nil
	})
	if err != nil || len(order) != 1200 {
		t.Fatalf("scan: %d properties, %v", len(order), err)
	}
	defer migrate.SetCheckpointEvery(migrate.SetCheckpointEvery(0))
	pg := openPG(t)
	state := t.TempDir()
	tables := []actingweb.Table{actingweb.TableActors, actingweb.TableProperties}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// one writer, batches of 50: the 600 actors are Rows calls 1-12, then 8 batches of properties
	o := migrate.Options{StateDir: state, BatchSize: 50, Segments: 1, Concurrency: 1, Tables: tables,
		Progress: &cancelAfter{n: 20, cancel: cancel}}
	if _, err := migrate.Copy(cctx, ddb, pg, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v", err)
	}
	if n, err := pg.Count(ctx, actingweb.TableProperties); err != nil || n != 400 {
		t.Fatalf("first run copied %d properties (%v), want 400", n, err)
	}
	for _, i := range []int{10, 100, 200, 300, 399} {
		if err := ddb.DeleteProperty(ctx, order[i].ID, order[i].Name); err != nil {
			t.Fatal(err)
		}
	}
	o.Progress, o.Resume = nil, true
	if _, err := migrate.Copy(ctx, ddb, pg, o); err != nil {
		t.Fatal(err)
	}
	vr, err := migrate.Validate(ctx, ddb, pg, migrate.ValidateOptions{Tables: tables, SkipLookup: true})
	if err != nil {
		t.Fatal(err)
	}
	if p := vr.Tables[1]; p.OnlyInA != 0 || p.OnlyInB != 5 || p.Changed != 0 || p.CountB != 1200 {
		t.Fatalf("properties: %+v; want the 1,200 rows on the target, 5 of them deleted from the source since", p)
	}
}

// TestSharedScanSplitMismatch: machines sharing a scan split it by configuration only, and a
// resumption whose checkpoint was split otherwise than the configuration says is refused
// (a table started now would be split differently); with the same split it resumes.
func TestSharedScanSplitMismatch(t *testing.T) {
	testenv.PostgresURL(t)
	ctx := context.Background()
	ddb, _ := seededDDB(t, 100)
	pg := openPG(t)
	state := t.TempDir()
	cctx, cancel := context.WithCancel(ctx)
	o := migrate.Options{StateDir: state, BatchSize: 10, Segments: 2, Segment: 0, TotalSegments: 2,
		Tables: []actingweb.Table{actingweb.TableProperties}, Progress: &cancelAfter{n: 2, cancel: cancel}}
	if _, err := migrate.Copy(cctx, reopenDDB(t, ddb, 2), pg, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v", err)
	}
	o.Progress, o.Resume = nil, true
	if _, err := migrate.Copy(ctx, reopenDDB(t, ddb, 3), pg, o); err == nil || !strings.Contains(err.Error(), "scan-split") {
		t.Fatalf("resumed with another scan-split: %v, want a refusal naming scan-split", err)
	}
	rep, err := migrate.Copy(ctx, reopenDDB(t, ddb, 2), pg, o)
	if err != nil {
		t.Fatalf("resumed with the same scan-split: %v", err)
	}
	if ts := rep.Tables[0]; !ts.Resumed || ts.Split != 2 {
		t.Errorf("properties: resumed %v with split %d, want resumed with 2", ts.Resumed, ts.Split)
	}
}
