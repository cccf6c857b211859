package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
)

// RecordGetter reads one row by key (capture.Sink's GetRecord; both stores).
type RecordGetter interface {
	GetRecord(ctx context.Context, key actingweb.Record) (actingweb.Record, error)
}

// cloneRecord returns a deep copy of r (through its JSON form), nil for nil.
func cloneRecord(r actingweb.Record) actingweb.Record {
	if r == nil {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return r
	}
	c := actingweb.NewRecord(r.Table())
	if json.Unmarshal(b, c) != nil {
		return r
	}
	return c
}

// RecheckLive is validate's live mode (`validate --live`) for stores that are being written,
// typically while a sync runs: it waits settle (at least the sync's lag), reads every listed
// changed, only-in-A and only-in-B difference again on both sides by key, and removes those
// that are gone (both sides now equal, or the row gone from both), counting them in InFlight.
// Differences that persist stay listed. A table whose differences were not all listed
// (DifferencesOmitted) cannot be rechecked in full and stays unequal: run with a larger
// MaxDiffs. Equal is recomputed.
func RecheckLive(ctx context.Context, a, b RecordGetter, rep *ValidationReport, settle time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(settle):
	}
	get := func(g RecordGetter, key actingweb.Record) (actingweb.Record, error) {
		r, err := g.GetRecord(ctx, key)
		if errors.Is(err, actingweb.ErrNotFound) {
			return nil, nil
		}
		return r, err
	}
	rep.Equal = true
	for i := range rep.Tables {
		tv := &rep.Tables[i]
		kept := tv.Differences[:0]
		for _, d := range tv.Differences {
			if d.Record == nil || (d.Kind != DiffChanged && d.Kind != DiffOnlyInA && d.Kind != DiffOnlyInB) {
				kept = append(kept, d)
				continue
			}
			ra, err := get(a, d.Record)
			if err != nil {
				return fmt.Errorf("validate --live: read %s key %s on side A: %w", tv.Table, d.Key, err)
			}
			rb, err := get(b, d.Record)
			if err != nil {
				return fmt.Errorf("validate --live: read %s key %s on side B: %w", tv.Table, d.Key, err)
			}
			if (ra == nil && rb == nil) || (ra != nil && rb != nil && len(actingweb.CompareRecords(ra, rb)) == 0) {
				tv.InFlight++
				switch d.Kind {
				case DiffChanged:
					tv.Changed--
				case DiffOnlyInA:
					tv.OnlyInA--
				case DiffOnlyInB:
					tv.OnlyInB--
				}
				continue
			}
			kept = append(kept, d)
		}
		tv.Differences = kept
		tv.Equal = tv.Changed == 0 && tv.OnlyInA == 0 && tv.OnlyInB == 0 && tv.DuplicatesA == 0 && tv.DuplicatesB == 0 &&
			tv.RejectsA == 0 && tv.RejectsB == 0 && tv.DifferencesOmitted == 0 && tv.OrphansA == tv.OrphansB
		if !tv.Equal {
			rep.Equal = false
		}
	}
	return nil
}
