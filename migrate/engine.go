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

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	actingweb "github.com/actingweb/actingweb-go"
)

const (
	defaultSegments     = 4
	defaultConcurrency  = 4
	defaultBatchSize    = 500
	defaultTablePar     = 2
	defaultBatchTimeout = 5 * time.Minute
	maxSamples          = 5
	// maxBatchBytes bounds a batch by actingweb.RecordSize as BatchSize bounds it by rows: a
	// batch is cut at whichever comes first (it holds at least one row).
	maxBatchBytes = 4 << 20
)

// checkpointEvery is how often a table's checkpoint is written at most (besides the writes
// a resume's correctness needs); a variable for tests (export_test.go).
var checkpointEvery = time.Second

// engine is one Export, Import or Copy run.
type engine struct {
	op      string
	src     Source
	dst     Sink
	o       Options
	log     *slog.Logger
	limiter *rate.Limiter
	rejects *rejectLog
	seqSink SequentialSink // dst as a sequential sink, or nil

	rejected atomic.Int64 // across the run, for MaxRejects

	mu      sync.Mutex
	summary map[actingweb.Table]*TableSummary
	resumed bool

	// feeder builds the lookup while properties are written (nil: rebuild by rescan); fed is
	// the feed's result once the properties table finished with it.
	feeder LookupFeeder
	fed    *actingweb.LookupRebuild

	// Writer handover: once every table has started, a finished table's writers go to the
	// tables still running (each gets a second set of Concurrency writers, once), so the last
	// large table is not written at half the run's concurrency while the others are done.
	// running holds the tables in progress; handover is set when every table has started.
	hmu      sync.Mutex
	running  map[*tableRun]bool
	handover bool
}

// takesHandover says whether the sink's tables get the writers of finished tables.
func (e *engine) takesHandover() bool {
	wh, ok := e.dst.(WriterHandover)
	return !ok || wh.WriterHandover()
}

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
	if d, ok := x.(Describer); ok {
		return d.Describe()
	}
	return fmt.Sprintf("%T", x)
}

func (o *Options) defaults(src Source, dst Sink) {
	if o.Segments <= 0 {
		o.Segments = defaultSegments
	}
	if sl, ok := src.(SegmentLimiter); ok && o.Segments > sl.MaxSegments() {
		o.Segments = max(1, sl.MaxSegments())
	}
	if o.TotalSegments <= 1 {
		o.TotalSegments, o.Segment = 1, 0
	}
	if o.Concurrency <= 0 {
		o.Concurrency = defaultConcurrency
		if wc, ok := dst.(WriterCounter); ok && wc.PreferredWriters() > 0 {
			o.Concurrency = wc.PreferredWriters()
		}
	}
	if _, ok := dst.(SequentialSink); ok {
		o.Concurrency = 1
	}
	if o.TableParallelism <= 0 {
		o.TableParallelism = defaultTablePar
	}
	if o.BatchSize <= 0 {
		o.BatchSize = defaultBatchSize
		if bs, ok := dst.(BatchSizer); ok && bs.PreferredBatchSize() > 0 {
			o.BatchSize = bs.PreferredBatchSize()
		}
	}
	if o.PageSize <= 0 {
		// A page per batch (positions at page cursors, see tableRun.scan) unless the source
		// asks for larger pages (DynamoDB, where a page is a request).
		o.PageSize = o.BatchSize
		if ps, ok := src.(PageSizer); ok {
			o.PageSize = max(o.PageSize, ps.PreferredPageSize())
		}
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
func plan(sel []actingweb.Table, dst Sink) (copyTables []actingweb.Table, rebuild bool, err error) {
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
	_, rebuilder := dst.(LookupRebuilder)
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

func run(ctx context.Context, op string, src Source, dst Sink, o Options) (*Report, error) {
	o.defaults(src, dst)
	rep := &Report{Operation: op, Source: describe(src), Target: describe(dst), Policy: o.Policy.String(),
		DryRun: o.DryRun, Started: time.Now().UTC(), StateDir: o.StateDir}
	if op == "export" {
		rep.Policy = "" // a new bundle has no existing rows: the policy never applies
	}
	fail := func(t actingweb.Table, err error) (*Report, error) {
		rep.Finished = time.Now().UTC()
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
		if sc, ok := dst.(SchemaChecker); ok {
			if err := sc.CheckSchema(ctx); err != nil {
				return fail("", fmt.Errorf("target %s refused before any write: %w", rep.Target, err))
			}
		}
	}
	e := &engine{op: op, src: src, dst: dst, o: o, log: o.Logger,
		rejects: &rejectLog{resume: o.Resume, files: map[actingweb.Table]*os.File{}},
		summary: map[actingweb.Table]*TableSummary{}}
	if !o.DryRun {
		e.rejects.dir = o.StateDir
	}
	defer e.rejects.close()
	if ss, ok := dst.(SequentialSink); ok {
		e.seqSink = ss
	}
	var rs *runState
	if o.StateDir != "" && !o.DryRun {
		if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
			return fail("", fmt.Errorf("state directory: %w", err))
		}
		if o.stateLock == nil {
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
	if lk, ok := dst.(actingweb.Locker); ok && !o.DryRun {
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
	if lf, ok := dst.(LookupFeeder); ok && rebuild && !o.DryRun && o.TotalSegments <= 1 {
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
			var res actingweb.LookupRebuild
			if e.fed != nil {
				res = *e.fed
				ls.FromStream = true
			} else {
				lr := dst.(LookupRebuilder)
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
	if rs != nil {
		if _, err := e.finishState(rs); err != nil {
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

// batch is a slice of one page's items on its way to the sink.
type batch struct {
	seg     int // global segment
	seq     int64
	recs    []actingweb.Record
	rejects []actingweb.Reject // source rejects (items after recs)
	drift   int64
	driftK  []string
	// position after the batch
	endCursor string
	endSkip   int
	startOrd  int64 // ordinal of the first item
	endOrd    int64 // ordinal after the last item
	pageStart string
	firstItem int
	last      bool // the batch ends the segment's last page
}

// segTrack follows the completion of one segment's batches, which may complete out of order.
type segTrack struct {
	st        *segmentState
	nextSeq   int64
	contig    int64 // batches < contig completed
	pending   map[int64]*batch
	scanDone  bool
	replayEnd int64 // items with ordinal < replayEnd may already exist on the sink
}

type tableRun struct {
	e        *engine
	t        actingweb.Table
	cp       *checkpoint
	segs     map[int]*segTrack
	split    int // scan segments per scanner (checkpoint.Split)
	mu       sync.Mutex
	lastSave time.Time
	sum      *TableSummary
	read     atomic.Int64
	written  atomic.Int64
	skipped  atomic.Int64
	rejected atomic.Int64
	drift    atomic.Int64
	feed     actingweb.LookupFeed // properties only: the lookup built from the written rows

	boost     chan struct{} // closed: the standby writers start (engine.boostLocked)
	boostOnce sync.Once
	extra     atomic.Int64 // standby writers that started
}

// table moves table t. When a resumed scan's cursor has gone stale (the source table changed
// since the interrupted run, actingweb.ErrStaleCursor; only AnyOrder scans, so only for a
// sequential sink) the table starts over: a checkpoint without progress replaces the old one,
// the table's rejects are dropped and the resumed run from that checkpoint has the sink empty
// its table (ResumeSink with no state), so nothing is lost or written twice, and a kill at any
// point of this leaves a checkpoint that leads back here or to the start of the table.
func (e *engine) table(ctx context.Context, t actingweb.Table) error {
	err := e.tableRun(ctx, t, e.o.Resume)
	if !e.restarts(err, e.o.Resume) {
		return err
	}
	e.log.Warn("the interrupted run's position in the source table cannot be resumed: moving the table again from its start", "table", t, "reason", err)
	if err := writeCheckpoint(e.o.StateDir, e.newCheckpoint(ctx, t)); err != nil {
		return fmt.Errorf("start %s again: %w", t, err)
	}
	if err := e.rejects.reset(t); err != nil {
		return fmt.Errorf("start %s again: %w", t, err)
	}
	err = e.tableRun(ctx, t, true)
	e.mu.Lock()
	e.summary[t].Resumed, e.summary[t].Restarted = false, true
	e.mu.Unlock()
	return err
}

// restarts says whether table moves a table again after its run ended with err.
func (e *engine) restarts(err error, resume bool) bool {
	return errors.Is(err, actingweb.ErrStaleCursor) && e.seqSink != nil && resume && !e.o.DryRun
}

// newCheckpoint is the checkpoint of table t before anything was moved.
func (e *engine) newCheckpoint(ctx context.Context, t actingweb.Table) *checkpoint {
	o := e.o
	return &checkpoint{Version: checkpointVersion, Op: e.op, Table: t, Segments: o.Segments, TotalSegments: o.TotalSegments * o.Segments,
		Split: scanSplit(ctx, e.src, t, o.TotalSegments*o.Segments, o.TotalSegments <= 1), PageSize: o.PageSize, Segs: map[int]*segmentState{}}
}

// tableRun moves table t once; resume says whether to continue from its checkpoint.
func (e *engine) tableRun(ctx context.Context, t actingweb.Table, resume bool) error {
	o := e.o
	start := time.Now()
	sum := &TableSummary{Table: t, Estimate: -1}
	e.mu.Lock()
	e.summary[t] = sum
	e.mu.Unlock()
	tr := &tableRun{e: e, t: t, segs: map[int]*segTrack{}, sum: sum, boost: make(chan struct{})}
	total := o.TotalSegments * o.Segments
	var cp *checkpoint
	if resume && !o.DryRun {
		c, err := readCheckpoint(o.StateDir, t)
		if err != nil {
			return err
		}
		if c != nil {
			if c.Op != e.op || c.TotalSegments != total || c.Segments != o.Segments {
				return fmt.Errorf("checkpoint of %s was written by %s with %d segments (%d in all); resume with the same command and options",
					t, c.Op, c.Segments, c.TotalSegments)
			}
			// machines sharing a scan split by configuration only, and must agree: a table
			// started now would take the configured split
			if o.TotalSegments > 1 {
				if want := scanSplit(ctx, e.src, t, total, false); max(c.Split, 1) != want {
					return fmt.Errorf("checkpoint of %s splits each segment in %d, the source's configuration in %d; resume with the same scan-split on every machine",
						t, max(c.Split, 1), want)
				}
			}
			cp = c
			sum.Resumed = true
			e.mu.Lock()
			e.resumed = true
			e.mu.Unlock()
		}
	}
	if cp == nil {
		cp = e.newCheckpoint(ctx, t)
		if fw, ok := e.dst.(FreshTableWriter); ok && o.Policy == actingweb.ConflictFail && !o.DryRun {
			empty, err := fw.IsEmpty(ctx, t)
			if err != nil {
				return fmt.Errorf("check whether %s is empty: %w", t, err)
			}
			cp.Fresh = empty
		}
	}
	tr.cp = cp
	if t == actingweb.TableProperties && e.feeder != nil && cp.Fresh && !sum.Resumed {
		tr.feed = e.feeder.NewLookupFeed(ctx, o.IndexedProperties)
		e.log.Info("property lookup built while properties are written (the table was empty)", "names", o.IndexedProperties)
	}
	pageSize := cp.PageSize
	split := max(cp.Split, 1) // a checkpoint's own split: its cursors belong to those segments
	sum.Split = split
	tr.split = split
	if e.seqSink != nil && !o.DryRun {
		if err := e.seqSink.ResumeSink(t, cp.SinkState); err != nil {
			return err
		}
	}
	if cp.Done {
		e.log.Info("table already done in an earlier run, skipped", "table", t)
		sum.Done = true
		if e.seqSink != nil {
			if err := e.seqSink.FinishTable(t); err != nil {
				return err
			}
		}
		return nil
	}
	// Each of the Segments scanners reads its split scan segments one after another: scanner
	// k's j-th is global segment (Segment×Segments + k)×split + j of total×split.
	segOf := func(k, j int) int { return (o.Segment*o.Segments+k)*split + j }
	for k := 0; k < o.Segments; k++ {
		for j := 0; j < split; j++ {
			g := segOf(k, j)
			st := cp.Segs[g]
			if st == nil {
				st = &segmentState{}
				cp.Segs[g] = st
			}
			st.Done = st.Done || st.lastPageDone()
			tr.segs[g] = &segTrack{st: st, pending: map[int64]*batch{}, replayEnd: st.Lease, scanDone: st.Done}
		}
	}
	if o.Estimate {
		if c, ok := e.src.(Counter); ok {
			if n, err := c.Count(ctx, t); err == nil {
				sum.Estimate = n
			}
		}
	}
	if o.Progress != nil {
		o.Progress.TableStarted(t, sum.Estimate)
	}
	e.log.Info("table started", "table", t, "split", split, "estimate", sum.Estimate, "resumed", sum.Resumed, "empty_at_start", cp.Fresh)

	ch := make(chan *batch, o.Concurrency)
	g, gctx := errgroup.WithContext(ctx)
	var scanners sync.WaitGroup
	for k := 0; k < o.Segments; k++ {
		scanners.Add(1)
		g.Go(func() error {
			defer scanners.Done()
			for j := 0; j < split; j++ {
				seg := segOf(k, j)
				if tk := tr.segs[seg]; !tk.st.Done {
					if err := tr.scan(gctx, seg, tk, total*split, pageSize, ch); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	scanned := make(chan struct{})
	go func() { scanners.Wait(); close(ch); close(scanned) }()
	for w := 0; w < o.Concurrency; w++ {
		g.Go(func() error { return tr.worker(gctx, ch) })
	}
	if e.seqSink == nil && !o.DryRun && e.takesHandover() {
		// standby writers for the handover; a sequential sink keeps its single writer
		for w := 0; w < o.Concurrency; w++ {
			g.Go(func() error {
				select {
				case <-tr.boost:
					tr.extra.Add(1)
					return tr.worker(gctx, ch)
				case <-scanned:
					return nil
				case <-gctx.Done():
					return nil
				}
			})
		}
	}
	e.tableStarted(tr)
	err := g.Wait()
	e.tableFinished(tr)
	if err != nil {
		// drain so the scanners' goroutine can finish
		for range ch {
		}
	}
	if tr.feed != nil {
		fstart := time.Now()
		res, ferr := tr.feed.Close()
		e.log.Info("property lookup feed closed", "duration", time.Since(fstart), "ok", ferr == nil)
		switch {
		case err != nil: // the rescan after a resume rebuilds the lookup
		case ferr != nil:
			err = fmt.Errorf("build property lookup from the written properties: %w", ferr)
		default:
			e.mu.Lock()
			e.fed = &res
			e.mu.Unlock()
		}
	}
	sum.Read = tr.read.Load()
	sum.Written = tr.written.Load()
	sum.Skipped = tr.skipped.Load()
	sum.Rejected = tr.rejected.Load()
	sum.Drift = tr.drift.Load()
	sum.Duration = time.Since(start)
	if s := sum.Duration.Seconds(); s > 0 {
		sum.RowsPerSec = float64(sum.Read) / s
	}
	if err == nil && !o.DryRun {
		tr.mu.Lock()
		cp.Done = true
		serr := tr.saveLocked(true)
		tr.mu.Unlock()
		if serr != nil {
			err = serr
		} else if e.seqSink != nil {
			err = e.seqSink.FinishTable(t)
		}
	}
	if err == nil {
		sum.Done = true
	} else if !o.DryRun && o.StateDir != "" && e.seqSink == nil {
		// positions cover only batches completed without a gap; a sequential sink keeps its
		// last periodic checkpoint (a failed append may have left a partial batch behind it)
		tr.mu.Lock()
		tr.saveLocked(true)
		tr.mu.Unlock()
	}
	if o.Progress != nil && !e.restarts(err, resume) { // a restart goes on with the same progress line
		o.Progress.TableDone(t, *sum)
	}
	e.log.Info("table finished", "table", t, "read", sum.Read, "written", sum.Written, "skipped", sum.Skipped,
		"rejected", sum.Rejected, "drift", sum.Drift, "duration", sum.Duration, "ok", err == nil,
		"handed_over_writers", tr.extra.Load())
	return err
}

// scan reads one segment and cuts its pages into batches.
func (tr *tableRun) scan(ctx context.Context, seg int, tk *segTrack, total, pageSize int, ch chan<- *batch) error {
	e := tr.e
	o := e.o
	tr.mu.Lock()
	cursor, skip, ord := tk.st.Cursor, tk.st.Skip, tk.st.Rows
	tr.mu.Unlock()
	// A bundle takes rows in any order, and an export can write a table's file again from its
	// start when a resumption finds the source changed (engine.table): PostgreSQL then reads
	// in physical order. Other sinks keep key order, whose cursors stay valid whatever is
	// written to the source between runs.
	opts := actingweb.ScanOptions{Segment: seg, TotalSegments: total, Cursor: cursor, PageSize: pageSize, Consistent: o.Consistent,
		AnyOrder: e.seqSink != nil}
	if total <= 1 {
		opts.Segment, opts.TotalSegments = 0, 0
	}
	// Pages go to the sink whole when they hold at most BatchSize items, which they do unless
	// the source asked for larger pages (PageSizer: DynamoDB), and always in an AnyOrder scan (a
	// sequential sink); pages are bounded like batches, by rows and actingweb.MaxPageBytes. The
	// positions are then page cursors with nothing to skip: they name the last row handled, and
	// rows deleted in the source before a resumption cannot shift which rows a count of rows to
	// skip inside the page would pass over. In an AnyOrder scan a position inside a page (a
	// checkpoint of an earlier version) is not resumed: inside the first page there is not even
	// a cursor whose staleness the source could check.
	if opts.AnyOrder && skip > 0 {
		return fmt.Errorf("scan %s segment %d: %w (the interrupted run stopped inside a page)", tr.t, seg, actingweb.ErrStaleCursor)
	}
	pageStart := cursor
	rc, _ := e.src.(RecordCursorer)
	if opts.AnyOrder {
		rc = nil // its pages are never cut
	}
	send := func(b *batch) error {
		tr.mu.Lock()
		b.seq = tk.nextSeq
		tk.nextSeq++
		tr.mu.Unlock()
		select {
		case ch <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := e.src.Scan(ctx, tr.t, opts, func(p actingweb.Page) error {
		n := len(p.Records) + len(p.Rejects)
		first := 0
		if skip > 0 { // resuming inside this page
			first = min(skip, n)
			skip = 0
		}
		tr.read.Add(int64(n - first))
		for i := first; i < n || (i == n && p.Last && n == first); {
			end := n // a page of up to BatchSize items, or any AnyOrder page, is one batch
			if !opts.AnyOrder && n-i > o.BatchSize {
				end = cutBatch(p, i, n, o.BatchSize)
			}
			b := &batch{seg: seg, pageStart: pageStart, firstItem: i, startOrd: ord}
			for j := i; j < end; j++ {
				if j < len(p.Records) {
					r := p.Records[j]
					b.recs = append(b.recs, r)
					if d := actingweb.Drift(r); d != "" {
						b.drift++
						if len(b.driftK) < maxSamples {
							b.driftK = append(b.driftK, actingweb.KeyString(r.Key()))
						}
					}
				} else {
					b.rejects = append(b.rejects, p.Rejects[j-len(p.Records)])
				}
			}
			ord += int64(end - i)
			b.endOrd = ord
			switch {
			case end == n:
				b.endCursor, b.endSkip, b.last = p.Cursor, 0, p.Last
			case rc != nil && end <= len(p.Records):
				c, err := rc.RecordCursor(tr.t, p.Records[end-1])
				if err != nil {
					return fmt.Errorf("cursor after %s: %w", actingweb.KeyString(p.Records[end-1].Key()), err)
				}
				b.endCursor, b.endSkip = c, 0
			default:
				b.endCursor, b.endSkip = pageStart, end
			}
			if err := send(b); err != nil {
				return err
			}
			if end == n {
				break
			}
			i = end
		}
		pageStart = p.Cursor
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan %s segment %d: %w", tr.t, seg, err)
	}
	tr.mu.Lock()
	tk.scanDone = true
	tr.mu.Unlock()
	return nil
}

// cutBatch returns where the batch of page p that starts at item i ends: after at most rows
// items, and before the item that would take it past maxBatchBytes (at least one item). n is
// the page's item count (records, then source rejects, which count 64 bytes each).
func cutBatch(p actingweb.Page, i, n, rows int) int {
	end, size := i, 0
	for end < n && end-i < rows {
		sz := 64
		if end < len(p.Records) {
			sz = actingweb.RecordSize(p.Records[end])
		}
		if end > i && size+sz > maxBatchBytes {
			break
		}
		size += sz
		end++
	}
	return end
}

func (tr *tableRun) worker(ctx context.Context, ch <-chan *batch) error {
	e := tr.e
	o := e.o
	for b := range ch {
		if err := ctx.Err(); err != nil {
			return err
		}
		policy := o.Policy
		if !o.DryRun && len(b.recs) > 0 {
			tr.mu.Lock()
			tk := tr.segs[b.seg]
			if policy == actingweb.ConflictFail && b.startOrd < tk.replayEnd {
				// the replay window after a resume: these rows may have been written before
				// the interruption (§ resume in docs/bundle-format.md)
				policy = actingweb.ConflictSkip
			}
			var err error
			if e.seqSink == nil && o.StateDir != "" && b.endOrd > tk.st.Lease {
				tk.st.Lease = b.endOrd + int64(leaseWindow(o))
				tr.preLeaseLocked(b.seg)
				err = tr.saveLocked(true)
			}
			tr.mu.Unlock()
			if err != nil {
				return err
			}
			if e.limiter != nil {
				if err := e.limiter.WaitN(ctx, len(b.recs)); err != nil {
					return err
				}
			}
			res, err := tr.write(ctx, b.recs, policy)
			if err != nil {
				tr.written.Add(int64(res.Written)) // what a sink reports as landed before it failed
				tr.skipped.Add(int64(res.Skipped))
				return err
			}
			if tr.feed != nil {
				if err := tr.feed.Add(ctx, writtenProperties(b.recs, res.Rejects)); err != nil {
					return err
				}
			}
			tr.written.Add(int64(res.Written))
			tr.skipped.Add(int64(res.Skipped))
			if len(res.Rejects) > 0 {
				if err := tr.reject(res.Rejects, b, "sink"); err != nil {
					return err
				}
			}
		}
		if len(b.rejects) > 0 {
			if err := tr.reject(b.rejects, b, "source"); err != nil {
				return err
			}
		}
		tr.drift.Add(b.drift)
		if len(b.driftK) > 0 {
			tr.mu.Lock()
			for _, k := range b.driftK {
				if len(tr.sum.DriftKeys) < maxSamples {
					tr.sum.DriftKeys = append(tr.sum.DriftKeys, k)
				}
			}
			tr.mu.Unlock()
		}
		if err := tr.complete(b); err != nil {
			return err
		}
		if o.Progress != nil {
			o.Progress.Rows(tr.t, len(b.recs)+len(b.rejects))
		}
		if o.MaxRejects >= 0 && e.rejected.Load() > int64(o.MaxRejects) {
			return fmt.Errorf("%w: %d rejected (limit %d); see %s", ErrTooManyRejects, e.rejected.Load(), o.MaxRejects, e.rejectsWhere(tr.t))
		}
	}
	return nil
}

// write writes one batch under Options.BatchTimeout. A write once started is not cancelled
// with the run (an interrupt, another table's failure): cancelled mid-commit, it could land
// on the sink after the run returned without being counted or checkpointed. So the run stops
// after its batches in flight have finished, and the report counts what landed.
func (tr *tableRun) write(ctx context.Context, recs []actingweb.Record, policy actingweb.ConflictPolicy) (actingweb.WriteResult, error) {
	o := tr.e.o
	wctx := context.WithoutCancel(ctx)
	if o.BatchTimeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(wctx, o.BatchTimeout)
		defer cancel()
	}
	var res actingweb.WriteResult
	var err error
	if fw, ok := tr.e.dst.(FreshTableWriter); ok && policy == actingweb.ConflictFail && tr.cp.Fresh {
		res, err = fw.WriteBatchFresh(wctx, tr.t, recs)
	} else {
		res, err = tr.e.dst.WriteBatch(wctx, tr.t, recs, policy)
	}
	if err != nil {
		if errors.Is(wctx.Err(), context.DeadlineExceeded) {
			return res, fmt.Errorf("write %d rows to %s: %w: no answer within %s (a lost or silent connection?)",
				len(recs), tr.t, ErrBatchTimeout, o.BatchTimeout)
		}
		return res, fmt.Errorf("write %d rows to %s: %w", len(recs), tr.t, err)
	}
	return res, nil
}

func (e *engine) rejectsWhere(t actingweb.Table) string {
	if e.rejects.dir == "" {
		return "the report's reject samples (no state directory, so no rejects file)"
	}
	return rejectsPath(e.rejects.dir, t)
}

func (tr *tableRun) reject(rs []actingweb.Reject, b *batch, side string) error {
	tr.rejected.Add(int64(len(rs)))
	tr.e.rejected.Add(int64(len(rs)))
	tr.mu.Lock()
	for _, r := range rs {
		if len(tr.sum.RejectSamples) < maxSamples {
			tr.sum.RejectSamples = append(tr.sum.RejectSamples, actingweb.KeyString(r.Key)+": "+r.Reason)
		}
	}
	tr.mu.Unlock()
	tr.e.log.Warn("rows rejected", "table", tr.t, "side", side, "count", len(rs), "first_key", actingweb.KeyString(rs[0].Key))
	return tr.e.rejects.add(tr.t, rs, func(i int) string {
		return fmt.Sprintf("%s: segment %d, page after cursor %q, batch from item %d", side, b.seg, b.pageStart, b.firstItem)
	})
}

// complete records a finished batch and advances the segment's checkpoint over the batches
// completed without a gap.
func (tr *tableRun) complete(b *batch) error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tk := tr.segs[b.seg]
	tk.pending[b.seq] = b
	for {
		nb, ok := tk.pending[tk.contig]
		if !ok {
			break
		}
		delete(tk.pending, tk.contig)
		tk.contig++
		tk.st.Cursor, tk.st.Skip, tk.st.Rows = nb.endCursor, nb.endSkip, nb.endOrd
		if nb.last {
			// done now, not when the scan returns: a "" cursor that is not done would
			// read the segment again from its start on resume
			tk.st.Done = true
		}
	}
	if tk.scanDone && tk.contig == tk.nextSeq {
		tk.st.Done = true
	}
	if tr.e.o.DryRun || tr.e.o.StateDir == "" {
		return nil
	}
	return tr.saveLocked(false)
}

// saveLocked writes the checkpoint (at most once per checkpointEvery unless force). For a
// sequential sink it is called between batches of the single worker, so the sink state and
// the positions agree.
func (tr *tableRun) saveLocked(force bool) error {
	o := tr.e.o
	if o.DryRun || o.StateDir == "" {
		return nil
	}
	if !force && time.Since(tr.lastSave) < checkpointEvery {
		return nil
	}
	if tr.e.seqSink != nil {
		st, err := tr.e.seqSink.SinkState(tr.t)
		if err != nil {
			return err
		}
		tr.cp.SinkState = st
	}
	tr.lastSave = time.Now()
	return writeCheckpoint(o.StateDir, tr.cp)
}

// writtenProperties returns the properties of recs that the sink did not reject.
func writtenProperties(recs []actingweb.Record, rejects []actingweb.Reject) []*actingweb.Property {
	var refused map[string]bool
	if len(rejects) > 0 {
		refused = make(map[string]bool, len(rejects))
		for _, r := range rejects {
			refused[r.Key] = true
		}
	}
	out := make([]*actingweb.Property, 0, len(recs))
	for _, r := range recs {
		if p, ok := r.(*actingweb.Property); ok && (refused == nil || !refused[p.Key()]) {
			out = append(out, p)
		}
	}
	return out
}

// leaseWindow is how many items past a batch a lease extension covers: 4 × BatchSize ×
// Concurrency (the replay window of docs/bundle-format.md).
func leaseWindow(o Options) int { return 4 * o.BatchSize * o.Concurrency }

// preLeaseLocked gives the segments that follow seg in its scanner's run (ScanSplitter) and
// have no lease yet a lease of their own, in the same forced checkpoint save as seg's: each
// would otherwise force a save (JSON and fsync, under tr.mu) for its first batch. A copy of
// the bench data set from DynamoDB spent 4.1-4.8 s in 764 such saves, 0.66 s in 128 with
// this. Each gets max(BatchSize, window/16) items, and they get no more than the window in
// all, so a resumption treats no more unwritten rows as possibly written than one segment's
// lease did before the split.
func (tr *tableRun) preLeaseLocked(seg int) {
	if tr.split <= 1 {
		return
	}
	o := tr.e.o
	window := leaseWindow(o)
	per := max(o.BatchSize, window/16)
	end := (seg/tr.split + 1) * tr.split // the scanner's run is [seg/split*split, end)
	for g, granted := seg+1, 0; g < end && granted+per <= window; g++ {
		tk := tr.segs[g]
		if tk == nil || tk.st.Done || tk.st.Lease > 0 {
			continue
		}
		tk.st.Lease = int64(per)
		granted += per
	}
}

// maxScanSplit caps ScanSplitter.ScanSplit: every segment costs at least one request.
const maxScanSplit = 256

// scanSplit is s's ScanSplit for a scan of t by scanners scanners (ScanSplitter), within
// [1, maxScanSplit]; 1 for other sources.
func scanSplit(ctx context.Context, s Source, t actingweb.Table, scanners int, sized bool) int {
	if sp, ok := s.(ScanSplitter); ok {
		return min(max(sp.ScanSplit(ctx, t, scanners, sized), 1), maxScanSplit)
	}
	return 1
}
