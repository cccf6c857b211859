package migrate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"golang.org/x/sync/errgroup"
)

// batch is a slice of one page's items on its way to the sink.
type batch struct {
	seg     int // global segment
	seq     int64
	recs    []actingweb.Record
	rejects []bulk.Reject // source rejects (items after recs)
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
	feed     bulk.LookupFeed // properties only: the lookup built from the written rows

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
		if fw, ok := e.dst.(bulk.FreshTableWriter); ok && o.Policy == bulk.ConflictFail && !o.DryRun {
			// a read of the target, bounded as a write is (a silent connection)
			ictx, cancel := ctx, context.CancelFunc(func() {})
			if o.BatchTimeout > 0 {
				ictx, cancel = context.WithTimeout(ctx, o.BatchTimeout)
			}
			empty, err := fw.IsEmpty(ictx, t)
			timedOut := errors.Is(ictx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
			cancel()
			switch {
			case err != nil && timedOut:
				return fmt.Errorf("check whether %s is empty: %w: no answer within %s (a lost or silent connection?)", t, ErrBatchTimeout, o.BatchTimeout)
			case err != nil:
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
		if c, ok := e.src.(bulk.Counter); ok {
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
