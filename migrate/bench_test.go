package migrate_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bundle"
	"github.com/actingweb/actingweb-go/migrate"
)

// TestThroughput measures import/export/copy/validate rates and peak heap on a generated data
// set. It runs only when ACTINGWEB_MIGRATE_BENCH is set to the number of actors (each actor
// has ~9 rows), e.g. ACTINGWEB_MIGRATE_BENCH=20000.
func TestThroughput(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ACTINGWEB_MIGRATE_BENCH"))
	if n <= 0 {
		t.Skip("set ACTINGWEB_MIGRATE_BENCH=<actors> to measure throughput")
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "seed")
	writeBundle(t, dir, genData(n))
	seed, _ := bundle.Open(dir)
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				if ms.Sys > peak.Load() {
					peak.Store(ms.Sys)
				}
			}
		}
	}()
	defer close(stop)
	measure := func(name string, f func() (int64, error)) {
		runtime.GC()
		peak.Store(0)
		start := time.Now()
		rows, err := f()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		d := time.Since(start)
		t.Logf("%-22s %8d rows %7.2fs %9.0f rows/s  peak Go Sys %d MB", name, rows, d.Seconds(), float64(rows)/d.Seconds(), peak.Load()>>20)
	}
	quiet := migrate.Options{Logger: discardLogger()}
	pg := openPG(t)
	measure("import bundle->pg", func() (int64, error) {
		o := quiet
		o.StateDir = t.TempDir()
		r, err := migrate.Import(ctx, dir, pg, o)
		if err != nil {
			return 0, err
		}
		return r.Totals().Read, nil
	})
	out := filepath.Join(t.TempDir(), "out")
	measure("export pg->bundle", func() (int64, error) {
		r, err := migrate.Export(ctx, pg, out, quiet)
		if err != nil {
			return 0, err
		}
		return r.Totals().Read, nil
	})
	measure("validate bundle~pg", func() (int64, error) {
		r, err := migrate.Validate(ctx, seed, pg, migrate.ValidateOptions{Logger: discardLogger()})
		if err != nil || !r.Equal {
			return 0, fmt.Errorf("validate: %v equal=%v", err, r != nil && r.Equal)
		}
		var rows int64
		for _, tv := range r.Tables {
			rows += tv.CountA
		}
		return rows, nil
	})
	ddb := openDDB(t)
	measure("copy pg->ddb", func() (int64, error) {
		r, err := migrate.Copy(ctx, pg, ddb, quiet)
		if err != nil {
			return 0, err
		}
		return r.Totals().Read, nil
	})
	measure("export ddb->bundle", func() (int64, error) {
		r, err := migrate.Export(ctx, ddb, filepath.Join(t.TempDir(), "o2"), quiet)
		if err != nil {
			return 0, err
		}
		return r.Totals().Read, nil
	})
	measure("validate pg~ddb", func() (int64, error) {
		r, err := migrate.Validate(ctx, pg, ddb, migrate.ValidateOptions{Logger: discardLogger(), SkipLookup: false})
		if err != nil || !r.Equal {
			return 0, fmt.Errorf("validate: %v", err)
		}
		var rows int64
		for _, tv := range r.Tables {
			rows += tv.CountA
		}
		return rows, nil
	})
	_ = actingweb.Tables
}
