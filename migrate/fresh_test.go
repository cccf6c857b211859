package migrate_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/dynamodb"
	"github.com/actingweb/actingweb-go/migrate"
)

// pathCounter is the DynamoDB store with its two write paths counted.
type pathCounter struct {
	*dynamodb.Store
	fresh, checked atomic.Int64
}

func (p *pathCounter) WriteBatch(ctx context.Context, t actingweb.Table, recs []actingweb.Record, policy bulk.ConflictPolicy) (bulk.WriteResult, error) {
	p.checked.Add(1)
	return p.Store.WriteBatch(ctx, t, recs, policy)
}

func (p *pathCounter) WriteBatchFresh(ctx context.Context, t actingweb.Table, recs []actingweb.Record) (bulk.WriteResult, error) {
	p.fresh.Add(1)
	return p.Store.WriteBatchFresh(ctx, t, recs)
}

// TestFreshTableImport: an import under fail into empty DynamoDB tables writes without the
// per-batch existence check; the decision is kept in the checkpoint, so an interrupted run
// resumes with it (its replay window still goes through WriteBatch under skip) and the result
// equals the bundle; a second import into the now non-empty tables fails with ErrConflict.
func TestFreshTableImport(t *testing.T) {
	ctx := context.Background()
	dir, seed := seedBundle(t, 300)
	ddb := &pathCounter{Store: openDDB(t)}
	state := t.TempDir()
	cctx, cancel := context.WithCancel(ctx)
	o := migrate.Options{StateDir: state, BatchSize: 25, Progress: &cancelAfter{n: 30, cancel: cancel}}
	if _, err := migrate.Import(cctx, dir, ddb, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v", err)
	}
	cps, _ := filepath.Glob(filepath.Join(state, "*.checkpoint.json"))
	var freshCP int
	for _, p := range cps {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), `"fresh":true`) {
			freshCP++
		}
	}
	if freshCP == 0 {
		t.Fatalf("no checkpoint of %v records the empty-at-start decision", cps)
	}
	if ddb.fresh.Load() == 0 {
		t.Fatal("no batch written by WriteBatchFresh into empty tables")
	}
	f0, c0 := ddb.fresh.Load(), ddb.checked.Load()
	o.Progress, o.Resume = nil, true
	if _, err := migrate.Import(ctx, dir, ddb, o); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if ddb.fresh.Load() == f0 {
		t.Error("the resumed run did not keep the empty-at-start decision")
	}
	if ddb.checked.Load() == c0 {
		t.Error("the resumed run's replay window did not go through WriteBatch (skip)")
	}
	mustEqual(t, seed, ddb.Store)

	// the tables are not empty now: fail checks keys again
	f1 := ddb.fresh.Load()
	_, err := migrate.Import(ctx, dir, ddb, migrate.Options{StateDir: t.TempDir()})
	if !errors.Is(err, actingweb.ErrConflict) {
		t.Fatalf("second import into non-empty tables: %v; want ErrConflict", err)
	}
	if ddb.fresh.Load() != f1 {
		t.Error("WriteBatchFresh used on a non-empty table")
	}
}
