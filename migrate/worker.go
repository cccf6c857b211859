package migrate

import (
	"context"
	"errors"
	"fmt"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

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
			if policy == bulk.ConflictFail && b.startOrd < tk.replayEnd {
				// the replay window after a resume: these rows may have been written before
				// the interruption (§ resume in docs/bundle-format.md)
				policy = bulk.ConflictSkip
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
			tr.written.Add(int64(res.Written)) // counted as soon as they landed
			tr.skipped.Add(int64(res.Skipped))
			if tr.feed != nil {
				if err := tr.feed.Add(ctx, writtenProperties(b.recs, res.Rejects)); err != nil {
					return err
				}
			}
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
func (tr *tableRun) write(ctx context.Context, recs []actingweb.Record, policy bulk.ConflictPolicy) (bulk.WriteResult, error) {
	o := tr.e.o
	wctx := context.WithoutCancel(ctx)
	if o.BatchTimeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(wctx, o.BatchTimeout)
		defer cancel()
	}
	var res bulk.WriteResult
	var err error
	if fw, ok := tr.e.dst.(bulk.FreshTableWriter); ok && policy == bulk.ConflictFail && tr.cp.Fresh {
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

func (tr *tableRun) reject(rs []bulk.Reject, b *batch, side string) error {
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
func writtenProperties(recs []actingweb.Record, rejects []bulk.Reject) []*actingweb.Property {
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
