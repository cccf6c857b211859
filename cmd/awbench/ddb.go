package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/bundle"
	"github.com/actingweb/actingweb-go/dynamodb"
	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"
)

func ddbStore(ctx context.Context, endpoint, prefix string) (*dynamodb.Store, error) {
	if endpoint == "" {
		endpoint = os.Getenv("ACTINGWEB_TEST_DYNAMODB_ENDPOINT")
	}
	if endpoint == "" {
		return nil, fmt.Errorf("--endpoint (or ACTINGWEB_TEST_DYNAMODB_ENDPOINT) is required")
	}
	if prefix == "" {
		return nil, fmt.Errorf("--prefix is required")
	}
	return dynamodb.Open(ctx, dynamodb.Config{Endpoint: endpoint, Prefix: prefix, Lookup: actingweb.DefaultLookupConfig()})
}

// scanAll scans every table of s with segments parallel segments per table, workers scans at
// once, handing each page's items to fn (called concurrently). Strongly consistent, as the
// actingweb command scans by default.
func scanAll(ctx context.Context, s *dynamodb.Store, segments, workers, limit int, fn func(t actingweb.Table, items []map[string]types.AttributeValue)) error {
	type task struct {
		t   actingweb.Table
		seg int
	}
	segments = max(segments, 1)
	ch := make(chan task)
	g, gctx := errgroup.WithContext(ctx)
	for w := 0; w < max(workers, 1); w++ {
		g.Go(func() error {
			for tk := range ch {
				in := &sdk.ScanInput{TableName: aws.String(s.TableName(tk.t)), ConsistentRead: aws.Bool(true)}
				if limit > 0 {
					in.Limit = aws.Int32(int32(limit))
				}
				if segments > 1 {
					in.Segment, in.TotalSegments = aws.Int32(int32(tk.seg)), aws.Int32(int32(segments))
				}
				p := sdk.NewScanPaginator(s.Client(), in)
				for p.HasMorePages() {
					out, err := p.NextPage(gctx)
					if err != nil {
						return fmt.Errorf("scan %s segment %d: %w", s.TableName(tk.t), tk.seg, err)
					}
					fn(tk.t, out.Items)
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(ch)
		for _, t := range actingweb.Tables {
			for k := 0; k < segments; k++ {
				select {
				case ch <- task{t, k}:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
		}
		return nil
	})
	return g.Wait()
}

// runDDBScan measures a segmented Scan of every table of --prefix, items discarded.
func runDDBScan(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("raw-ddb-scan", flag.ContinueOnError)
	endpoint := fs.String("endpoint", "", "DynamoDB endpoint (default $ACTINGWEB_TEST_DYNAMODB_ENDPOINT)")
	prefix := fs.String("prefix", "", "table prefix (required)")
	segments := fs.Int("segments", 4, "scan segments per table")
	workers := fs.Int("workers", 8, "segment scans at once")
	limit := fs.Int("limit", 1000, "items per Scan page (Limit; 0 = DynamoDB's 1 MB pages)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := ddbStore(ctx, *endpoint, *prefix)
	if err != nil {
		return err
	}
	defer s.Close()
	var n atomic.Int64
	start := time.Now()
	if err := scanAll(ctx, s, *segments, *workers, *limit, func(_ actingweb.Table, items []map[string]types.AttributeValue) {
		n.Add(int64(len(items)))
	}); err != nil {
		return err
	}
	result("raw-ddb-scan", n.Load(), time.Since(start), fmt.Sprintf("segments=%d workers=%d limit=%d", *segments, *workers, *limit))
	return nil
}

// runDDBWrite measures BatchWriteItem of every item of prefix --src, or of bundle --bundle in
// its files' order (loaded first, untimed; --shuffle writes each table in a random order)
// into the nine tables of prefix --dst (created first, untimed): 25 items per request, requests
// in flight as given by --concurrency, unprocessed items resent until none are left. With a
// list of concurrencies (--concurrency 8,32) each is measured in turn on freshly created
// tables, one RESULT line each. --drop-src deletes the source tables once loaded (DynamoDB
// Local keeps everything in memory); the destination tables are kept after the last run.
func runDDBWrite(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("raw-ddb-write", flag.ContinueOnError)
	endpoint := fs.String("endpoint", "", "DynamoDB endpoint (default $ACTINGWEB_TEST_DYNAMODB_ENDPOINT)")
	src := fs.String("src", "", "prefix to read the items from (or --bundle)")
	dst := fs.String("dst", "", "prefix to write to; its tables are created (required)")
	concList := fs.String("concurrency", "8", "BatchWriteItem requests in flight (comma-separated list: one run each)")
	segments := fs.Int("segments", 256, "scan segments per table while loading (DynamoDB Local scans small segments much faster)")
	dropSrc := fs.Bool("drop-src", false, "delete the source tables after loading them")
	shuffle := fs.Bool("shuffle", false, "write each table's items in a random order instead of the scan's")
	bundleDir := fs.String("bundle", "", "load the items from this bundle instead of --src, in its files' order (an import's order)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	concs, err := intList(*concList)
	if err != nil {
		return fmt.Errorf("--concurrency: %w", err)
	}
	if (*src == "") == (*bundleDir == "") {
		return fmt.Errorf("give one of --src and --bundle")
	}
	if *src == *dst {
		return fmt.Errorf("--src and --dst must differ")
	}
	to, err := ddbStore(ctx, *endpoint, *dst)
	if err != nil {
		return err
	}
	defer to.Close()
	items := map[actingweb.Table][]map[string]types.AttributeValue{}
	var total int64
	if *bundleDir != "" {
		if total, err = loadBundleItems(ctx, *bundleDir, items); err != nil {
			return err
		}
	} else {
		from, err := ddbStore(ctx, *endpoint, *src)
		if err != nil {
			return err
		}
		defer from.Close()
		var mu sync.Mutex
		if err := scanAll(ctx, from, *segments, 8, 1000, func(t actingweb.Table, page []map[string]types.AttributeValue) {
			mu.Lock()
			items[t] = append(items[t], page...)
			total += int64(len(page))
			mu.Unlock()
		}); err != nil {
			return fmt.Errorf("load %s: %w", *src, err)
		}
		if *dropSrc {
			if err := from.DropTables(ctx); err != nil {
				return err
			}
		}
	}
	type req struct {
		table string
		reqs  []types.WriteRequest
	}
	var reqs []req
	for _, t := range actingweb.Tables {
		its := items[t]
		if *shuffle {
			rand.New(rand.NewPCG(1, 2)).Shuffle(len(its), func(i, j int) { its[i], its[j] = its[j], its[i] })
		}
		for len(its) > 0 {
			n := min(25, len(its))
			r := req{table: to.TableName(t), reqs: make([]types.WriteRequest, n)}
			for i, it := range its[:n] {
				r.reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: it}}
			}
			reqs = append(reqs, r)
			its = its[n:]
		}
	}
	for i, conc := range concs {
		if i > 0 {
			if err := to.DropTables(ctx); err != nil {
				return err
			}
		}
		if _, err := to.UpgradeSchema(ctx); err != nil {
			return fmt.Errorf("create tables %s: %w", *dst, err)
		}
		ch := make(chan req)
		var written, retries atomic.Int64
		g, gctx := errgroup.WithContext(ctx)
		start := time.Now()
		for w := 0; w < conc; w++ {
			g.Go(func() error {
				for r := range ch {
					pending := map[string][]types.WriteRequest{r.table: r.reqs}
					for attempt := 0; len(pending[r.table]) > 0; attempt++ {
						out, err := to.Client().BatchWriteItem(gctx, &sdk.BatchWriteItemInput{RequestItems: pending})
						if err != nil {
							return fmt.Errorf("batch write %s: %w", r.table, err)
						}
						written.Add(int64(len(pending[r.table]) - len(out.UnprocessedItems[r.table])))
						pending = out.UnprocessedItems
						if len(pending[r.table]) > 0 {
							retries.Add(1)
							if attempt > 50 {
								return errors.New("batch write " + r.table + ": unprocessed items after 50 attempts")
							}
							time.Sleep(time.Duration(min(attempt+1, 20)) * 10 * time.Millisecond)
						}
					}
				}
				return nil
			})
		}
		g.Go(func() error {
			defer close(ch)
			for _, r := range reqs {
				select {
				case ch <- r:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			return nil
		})
		if err := g.Wait(); err != nil {
			return err
		}
		d := time.Since(start)
		if written.Load() != total {
			return fmt.Errorf("wrote %d items, loaded %d", written.Load(), total)
		}
		result("raw-ddb-write", total, d, fmt.Sprintf("concurrency=%d requests=%d retries=%d", conc, len(reqs), retries.Load()))
	}
	return nil
}

// intList parses "1,4,8" (each at least 1).
func intList(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", p)
		}
		out = append(out, n)
	}
	return out, nil
}

// runDDBDrop deletes the nine tables of a prefix.
func runDDBDrop(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ddb-drop", flag.ContinueOnError)
	endpoint := fs.String("endpoint", "", "DynamoDB endpoint (default $ACTINGWEB_TEST_DYNAMODB_ENDPOINT)")
	prefix := fs.String("prefix", "", "table prefix (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := ddbStore(ctx, *endpoint, *prefix)
	if err != nil {
		return err
	}
	defer s.Close()
	return dropDDB(ctx, s)
}

// dropDDB deletes the nine tables of s and its control table (Store.DropTables leaves the
// control table, which holds the migration locks and the dual-write phase).
func dropDDB(ctx context.Context, s *dynamodb.Store) error {
	err := s.DropTables(ctx)
	_, cerr := s.Client().DeleteTable(ctx, &sdk.DeleteTableInput{TableName: aws.String(s.ControlTable())})
	var nf *types.ResourceNotFoundException
	if errors.As(cerr, &nf) {
		cerr = nil
	}
	return errors.Join(err, cerr)
}

// loadBundleItems reads every table of the bundle in dir, in file order, into items as the
// DynamoDB store would write them (dynamodb.Item); it returns the number of items.
func loadBundleItems(ctx context.Context, dir string, items map[actingweb.Table][]map[string]types.AttributeValue) (int64, error) {
	r, err := bundle.Open(dir)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, t := range actingweb.Tables {
		if !r.Has(t) {
			continue
		}
		err := r.Scan(ctx, t, bulk.ScanOptions{}, func(p bulk.Page) error {
			if len(p.Rejects) > 0 {
				return fmt.Errorf("%s: %d rejects in the bundle, first: %s", t, len(p.Rejects), p.Rejects[0].Reason)
			}
			for _, rec := range p.Records {
				it, err := dynamodb.Item(rec)
				if err != nil {
					return fmt.Errorf("%s %s: %w", t, actingweb.KeyString(rec.Key()), err)
				}
				items[t] = append(items[t], it)
			}
			total += int64(len(p.Records))
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("load %s from %s: %w", t, dir, err)
		}
	}
	return total, nil
}
