package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/bundle"
	"github.com/actingweb/actingweb-go/internal/benchdata"
)

// runGen writes the benchmark data set at --scale as a bundle in --out (which must not hold a
// bundle yet), one table after the other, 1000 rows per WriteBatch.
func runGen(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	scale := fs.Float64("scale", 1, "data set scale (1 = 20,000 actors, 1,000,000 property rows)")
	out := fs.String("out", "", "bundle directory to create (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *scale <= 0 {
		return fmt.Errorf("--out is required and --scale must be positive")
	}
	cfg := benchdata.Default(*scale)
	start := time.Now()
	w, err := bundle.Create(*out, bundle.WriterOptions{Source: fmt.Sprintf("awbench gen --scale %g (seed %d)", *scale, cfg.Seed)})
	if err != nil {
		return err
	}
	var total int64
	for _, t := range actingweb.Tables {
		batch := make([]actingweb.Record, 0, 1000)
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			res, err := w.WriteBatch(ctx, t, batch, bulk.ConflictFail)
			if err != nil {
				return err
			}
			if len(res.Rejects) > 0 {
				return fmt.Errorf("table %s: %d generated rows rejected, first: %s", t, len(res.Rejects), res.Rejects[0].Reason)
			}
			total += int64(res.Written)
			batch = batch[:0]
			return nil
		}
		err := cfg.Table(t, func(r actingweb.Record) error {
			batch = append(batch, r)
			if len(batch) == cap(batch) {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err == nil {
			err = w.FinishTable(t)
		}
		if err != nil {
			w.Abort()
			return fmt.Errorf("generate %s: %w", t, err)
		}
		fmt.Fprintf(os.Stderr, "awbench gen: %-25s %9d rows\n", t, cfg.Rows(t))
	}
	if err := w.Close(); err != nil {
		return err
	}
	result("gen", total, time.Since(start), fmt.Sprintf("actors=%d properties=%d", cfg.Actors, cfg.Rows(actingweb.TableProperties)))
	return nil
}
