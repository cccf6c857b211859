package migrate

import (
	"context"
	"fmt"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

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
	opts := bulk.ScanOptions{Segment: seg, TotalSegments: total, Cursor: cursor, PageSize: pageSize, Consistent: o.Consistent,
		AnyOrder: e.seqSink != nil}
	if total <= 1 {
		opts.Segment, opts.TotalSegments = 0, 0
	}
	// Pages go to the sink whole when they hold at most BatchSize items, which they do unless
	// the source asked for larger pages (Capabilities.PageSize: DynamoDB), and always in an AnyOrder scan (a
	// sequential sink); pages are bounded like batches, by rows and bulk.MaxPageBytes. The
	// positions are then page cursors with nothing to skip: they name the last row handled, and
	// rows deleted in the source before a resumption cannot shift which rows a count of rows to
	// skip inside the page would pass over. In an AnyOrder scan a position inside a page (a
	// checkpoint of an earlier version) is not resumed: inside the first page there is not even
	// a cursor whose staleness the source could check.
	if opts.AnyOrder && skip > 0 {
		return fmt.Errorf("scan %s segment %d: %w (the interrupted run stopped inside a page)", tr.t, seg, actingweb.ErrStaleCursor)
	}
	pageStart := cursor
	rc, _ := e.src.(bulk.RecordCursorer)
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
	err := e.src.Scan(ctx, tr.t, opts, func(p bulk.Page) error {
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
					if !o.Actors.Has(r) {
						continue // a pilot's other actors: read, skipped (positions count them)
					}
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
func cutBatch(p bulk.Page, i, n, rows int) int {
	end, size := i, 0
	for end < n && end-i < rows {
		sz := 64
		if end < len(p.Records) {
			sz = bulk.RecordSize(p.Records[end])
		}
		if end > i && size+sz > maxBatchBytes {
			break
		}
		size += sz
		end++
	}
	return end
}
