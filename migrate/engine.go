package migrate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"
)

const (
	defaultSegments     = 4
	defaultConcurrency  = 4
	defaultBatchSize    = 500
	defaultTablePar     = 2
	defaultBatchTimeout = 5 * time.Minute
	maxSamples          = 5
	// maxBatchBytes bounds a batch by bulk.RecordSize as BatchSize bounds it by rows: a
	// batch is cut at whichever comes first (it holds at least one row).
	maxBatchBytes = 4 << 20
)

// checkpointEvery is how often a table's checkpoint is written at most (besides the writes
// a resume's correctness needs); a variable for tests (export_test.go).
var checkpointEvery = time.Second

// engine is one Export, Import or Copy run.
type engine struct {
	op      string
	src     bulk.Source
	dst     bulk.Sink
	dstCaps bulk.Capabilities // what dst declared at the start of the run
	o       Options
	log     *slog.Logger
	limiter *rate.Limiter
	rejects *rejectLog
	seqSink bulk.SequentialSink // dst as a sequential sink, or nil

	rejected atomic.Int64 // across the run, for MaxRejects

	mu      sync.Mutex
	summary map[actingweb.Table]*TableSummary
	resumed bool

	// feeder builds the lookup while properties are written (nil: rebuild by rescan); fed is
	// the feed's result once the properties table finished with it.
	feeder bulk.LookupFeeder
	fed    *bulk.LookupRebuild

	// Writer handover: once every table has started, a finished table's writers go to the
	// tables still running (each gets a second set of Concurrency writers, once), so the last
	// large table is not written at half the run's concurrency while the others are done.
	// running holds the tables in progress; handover is set when every table has started.
	hmu      sync.Mutex
	running  map[*tableRun]bool
	handover bool
}

// takesHandover says whether the sink's tables get the writers of finished tables
// (bulk.Capabilities.NoWriterHandover).
func (e *engine) takesHandover() bool { return !e.dstCaps.NoWriterHandover }

// tableStarted and tableFinished track the running tables for the writer handover.
func (e *engine) tableStarted(tr *tableRun) {
	e.hmu.Lock()
	defer e.hmu.Unlock()
	if e.running == nil {
		e.running = map[*tableRun]bool{}
	}
	e.running[tr] = true
	if e.handover && len(e.running) < e.o.TableParallelism {
		e.boostLocked()
	}
}

func (e *engine) tableFinished(tr *tableRun) {
	e.hmu.Lock()
	defer e.hmu.Unlock()
	delete(e.running, tr)
	if e.handover {
		e.boostLocked()
	}
}

// allTablesStarted turns the handover on; slots already free go to the running tables.
func (e *engine) allTablesStarted() {
	e.hmu.Lock()
	defer e.hmu.Unlock()
	e.handover = true
	if len(e.running) < e.o.TableParallelism {
		e.boostLocked()
	}
}

func (e *engine) boostLocked() {
	for tr := range e.running {
		tr.boostOnce.Do(func() { close(tr.boost) })
	}
}

func describe(x any) string {
	if d, ok := x.(bulk.Describer); ok {
		return d.Describe()
	}
	return fmt.Sprintf("%T", x)
}

// defaults fills in what o leaves unset from the capabilities the source and sink declare
// (bulk.Capabilities), else the engine's defaults; sequential says the sink appends
// (bulk.SequentialSink), which takes one writer per table.
func (o *Options) defaults(src, dst bulk.Capabilities, sequential bool) {
	if o.Segments <= 0 {
		o.Segments = defaultSegments
	}
	if src.MaxSegments > 0 && o.Segments > src.MaxSegments {
		o.Segments = src.MaxSegments
	}
	if o.TotalSegments <= 1 {
		o.TotalSegments, o.Segment = 1, 0
	}
	if o.Concurrency <= 0 {
		o.Concurrency = defaultConcurrency
		if dst.Writers > 0 {
			o.Concurrency = dst.Writers
		}
	}
	if sequential {
		o.Concurrency = 1
	}
	if o.TableParallelism <= 0 {
		o.TableParallelism = defaultTablePar
	}
	if o.BatchSize <= 0 {
		o.BatchSize = defaultBatchSize
		if dst.BatchSize > 0 {
			o.BatchSize = dst.BatchSize
		}
	}
	if o.PageSize <= 0 {
		// A page per batch (positions at page cursors, see tableRun.scan) unless the source
		// asks for larger pages (DynamoDB, where a page is a request).
		o.PageSize = o.BatchSize
		o.PageSize = max(o.PageSize, src.PageSize)
	}
	if o.BatchTimeout == 0 {
		o.BatchTimeout = defaultBatchTimeout
	}
	if len(o.IndexedProperties) == 0 {
		o.IndexedProperties = append([]string(nil), actingweb.DefaultIndexedProperties...)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// plan splits the selected tables into the ordered list to copy row by row and whether the
// lookup table is rebuilt on the sink.
func plan(sel []actingweb.Table, dst bulk.Sink) (copyTables []actingweb.Table, rebuild bool, err error) {
	if len(sel) == 0 {
		sel = actingweb.Tables
	}
	want := map[actingweb.Table]bool{}
	for _, t := range sel {
		if actingweb.NewRecord(t) == nil {
			return nil, false, fmt.Errorf("%w: %q", actingweb.ErrUnknownTable, t)
		}
		want[t] = true
	}
	_, rebuilder := dst.(bulk.LookupRebuilder)
	for _, t := range actingweb.Tables {
		if !want[t] {
			continue
		}
		if t == actingweb.TablePropertyLookup && rebuilder {
			rebuild = true
			continue
		}
		copyTables = append(copyTables, t)
	}
	if want[actingweb.TableProperties] && rebuilder {
		rebuild = true
	}
	return copyTables, rebuild, nil
}

func run(ctx context.Context, op string, src bulk.Source, dst bulk.Sink, o Options) (*Report, error) {
	srcCaps, dstCaps := src.Capabilities(ctx), dst.Capabilities(ctx)
	_, sequential := dst.(bulk.SequentialSink)
	o.defaults(srcCaps, dstCaps, sequential)
	rep := &Report{Operation: op, Source: describe(src), Target: describe(dst), Policy: o.Policy.String(),
		DryRun: o.DryRun, Started: time.Now().UTC(), StateDir: o.StateDir}
	if op == "export" {
		rep.Policy = "" // a new bundle has no existing rows: the policy never applies
	}
	fail := func(t actingweb.Table, err error) (*Report, error) {
		rep.Finished = time.Now().UTC()
		if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() && errors.Is(err, context.Canceled) {
			err = cause // the run was cancelled for a reason of its own (its lock was lost)
		}
		return rep, &RunError{Op: op, Table: t, Report: rep, Err: err}
	}
	if o.Resume && o.StateDir == "" {
		return fail("", errors.New("resume needs a state directory (--state-dir) holding the checkpoints"))
	}
	copyTables, rebuild, err := plan(o.Tables, dst)
	if err != nil {
		return fail("", err)
	}
	if !o.DryRun {
		if sc, ok := dst.(bulk.SchemaChecker); ok {
			if err := sc.CheckSchema(ctx); err != nil {
				return fail("", fmt.Errorf("target %s refused before any write: %w", rep.Target, err))
			}
		}
	}
	e := &engine{op: op, src: src, dst: dst, dstCaps: dstCaps, o: o, log: o.Logger,
		rejects: &rejectLog{resume: o.Resume, files: map[actingweb.Table]*os.File{}},
		summary: map[actingweb.Table]*TableSummary{}}
	if !o.DryRun {
		e.rejects.dir = o.StateDir
	}
	defer e.rejects.close()
	if ss, ok := dst.(bulk.SequentialSink); ok {
		e.seqSink = ss
	}
	var rs *runState
	if o.StateDir != "" && !o.DryRun {
		if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
			return fail("", fmt.Errorf("state directory: %w", err))
		}
		if !o.stateLocked {
			l, err := lockDir(o.StateDir, stateLockFile, op)
			if err != nil {
				return fail("", err)
			}
			defer l.Close()
		}
		asked := len(o.Tables) > 0 && !o.tablesDefaulted
		var err error
		if rs, copyTables, err = e.prepareState(ctx, copyTables, rebuild, asked); err != nil {
			return fail("", err)
		}
		if !asked {
			rebuild = rs.Rebuild
		}
	}
	if lk, ok := dst.(bulk.Locker); ok && !o.DryRun {
		name, runID := "migrate", newRunID()
		if o.TotalSegments > 1 {
			name = fmt.Sprintf("migrate share %d of %d", o.Segment, o.TotalSegments)
		}
		if rs != nil {
			runID = rs.RunID
		}
		l, err := lk.Lock(ctx, name, holder(op), runID)
		if err != nil {
			return fail("", fmt.Errorf("target %s: %w", rep.Target, err))
		}
		defer l.Release(context.WithoutCancel(ctx))
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		go func() {
			select {
			case <-l.Lost():
				cancel(fmt.Errorf("target %s: the run's lock was lost: %w", rep.Target, l.Err()))
			case <-ctx.Done():
			}
		}()
	}
	if lf, ok := dst.(bulk.LookupFeeder); ok && rebuild && !o.DryRun && o.TotalSegments <= 1 {
		e.feeder = lf
	}
	if o.Rate > 0 {
		e.limiter = rate.NewLimiter(rate.Limit(o.Rate), max(o.BatchSize, int(o.Rate)))
	}
	e.log.Info("migration started", "op", op, "source", rep.Source, "target", rep.Target,
		"tables", tableNames(copyTables), "policy", rep.Policy, "segments", o.Segments,
		"concurrency", o.Concurrency, "batch", o.BatchSize, "dry_run", o.DryRun, "resume", o.Resume)

	collect := func() {
		for _, t := range copyTables {
			e.mu.Lock()
			if s := e.summary[t]; s != nil {
				rep.Tables = append(rep.Tables, *s)
			}
			e.mu.Unlock()
		}
		rep.Resumed = e.resumed
	}
	// actors first (§5.6), then the other tables in parallel.
	var first, rest []actingweb.Table
	for _, t := range copyTables {
		if t == actingweb.TableActors {
			first = append(first, t)
		} else {
			rest = append(rest, t)
		}
	}
	for _, t := range first {
		if err := e.table(ctx, t); err != nil {
			collect()
			return fail(t, err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.TableParallelism)
	var failed atomic.Value
	for _, t := range rest {
		g.Go(func() error {
			if err := e.table(gctx, t); err != nil {
				failed.CompareAndSwap(nil, t)
				return err
			}
			return nil
		})
	}
	e.allTablesStarted()
	if err := g.Wait(); err != nil {
		collect()
		ft, _ := failed.Load().(actingweb.Table)
		return fail(ft, err)
	}
	collect()
	if rebuild {
		ls := &LookupSummary{Names: o.IndexedProperties}
		rep.Lookup = ls
		switch {
		case o.DryRun:
			ls.Skipped = "dry run"
		case o.TotalSegments > 1:
			ls.Skipped = "the scan is shared between machines: run once more with --tables property_lookup after every share finished"
		default:
			var res bulk.LookupRebuild
			if e.fed != nil {
				res = *e.fed
				ls.FromStream = true
			} else {
				lr := dst.(bulk.LookupRebuilder)
				e.log.Info("rebuilding property lookup", "names", o.IndexedProperties)
				var err error
				if res, err = lr.RebuildPropertyLookup(ctx, o.IndexedProperties); err != nil {
					return fail(actingweb.TablePropertyLookup, fmt.Errorf("rebuild property lookup: %w", err))
				}
			}
			ls.Result = res
			if err := e.sourceOwners(ctx, ls); err != nil {
				return fail(actingweb.TablePropertyLookup, err)
			}
		}
	}
	if an, ok := dst.(bulk.Analyzer); ok && !o.DryRun {
		e.analyze(ctx, an, rep)
	}
	if rs != nil {
		if err := e.finishState(rs); err != nil {
			return fail("", fmt.Errorf("state directory %s: %w", o.StateDir, err))
		}
	}
	rep.Finished = time.Now().UTC()
	if o.DryRun {
		d := rep.Finished.Sub(rep.Started)
		rep.Estimated = &d
	}
	e.log.Info("migration finished", "op", op, "rows", rep.Totals().Read, "duration", rep.Finished.Sub(rep.Started))
	return rep, nil
}

// analyze refreshes the planner statistics of the tables rep says the run wrote (Analyzer),
// with one log line. A failure is logged as a warning and does not fail the run: the rows
// are written, only the statistics wait for the server's own schedule.
func (e *engine) analyze(ctx context.Context, an bulk.Analyzer, rep *Report) {
	var tables []actingweb.Table
	for _, s := range rep.Tables {
		if s.Written > 0 {
			tables = append(tables, s.Table)
		}
	}
	if rep.Lookup != nil && rep.Lookup.Skipped == "" {
		tables = append(tables, actingweb.TablePropertyLookup)
	}
	if len(tables) == 0 {
		return
	}
	start := time.Now()
	if err := an.Analyze(ctx, tables); err != nil {
		e.log.Warn("planner statistics not refreshed; the server's autovacuum will in time, or run ANALYZE on these tables",
			"tables", tableNames(tables), "err", err)
		return
	}
	e.log.Info("analyzed", "tables", tableNames(tables), "duration", time.Since(start))
}

// maxScanSplit caps ScanSplitter.ScanSplit: every segment costs at least one request.
const maxScanSplit = 256

// scanSplit is s's ScanSplit for a scan of t by scanners scanners (ScanSplitter), within
// [1, maxScanSplit]; 1 for other sources.
func scanSplit(ctx context.Context, s bulk.Source, t actingweb.Table, scanners int, sized bool) int {
	if sp, ok := s.(bulk.ScanSplitter); ok {
		return min(max(sp.ScanSplit(ctx, t, scanners, sized), 1), maxScanSplit)
	}
	return 1
}
