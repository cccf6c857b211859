package migrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"golang.org/x/sync/errgroup"
)

// sourceOwners gives the contested keys of the sink's rebuild (ls.Result.Contested) the owner
// the source's lookup table names, when that owner is one of the key's contenders on the sink
// (§5.4: upstream keeps the first writer of a shared value, which only its lookup table
// records). It streams the source's property_lookup table (every end yields LookupKey and
// ActorID) and writes single rows through the sink's CreatePropertyLookup with overwrite.
// Values are never logged.
func (e *engine) sourceOwners(ctx context.Context, ls *LookupSummary) error {
	res := ls.Result
	ls.Contested = len(res.Contested)
	if len(res.Contested) == 0 {
		return nil
	}
	w, ok := e.dst.(bulk.LookupOwnerWriter)
	if !ok {
		ls.SourceOwners = "the target cannot write single lookup rows: the rebuild's owners kept"
		return nil
	}
	if has, err := hasTable(ctx, e.src, actingweb.TablePropertyLookup); err != nil {
		return err
	} else if !has {
		ls.SourceOwners = "the source has no property lookup table (an upstream export without one, or a legacy-mode " +
			"deployment): the rebuild's owners kept (the smallest actor id of each contested key)"
		return nil
	}
	byKey := make(map[string]*bulk.LookupContest, len(res.Contested))
	for i := range res.Contested {
		byKey[res.Contested[i].LookupKey] = &res.Contested[i]
	}
	n := e.o.Segments * scanSplit(ctx, e.src, actingweb.TablePropertyLookup, e.o.Segments, true) // Segments at once
	var taken, notContender atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.o.Segments)
	for seg := 0; seg < n && gctx.Err() == nil; seg++ {
		g.Go(func() error {
			opts := bulk.ScanOptions{Segment: seg, TotalSegments: n, PageSize: e.o.PageSize, Consistent: e.o.Consistent, AnyOrder: true}
			if n == 1 {
				opts.TotalSegments = 0
			}
			return e.src.Scan(gctx, actingweb.TablePropertyLookup, opts, func(p bulk.Page) error {
				for _, r := range p.Records {
					l, ok := r.(*actingweb.PropertyLookup)
					if !ok || !e.o.Actors.Has(l) {
						continue
					}
					c := byKey[l.LookupKey]
					if c == nil || l.ActorID == c.Kept {
						continue
					}
					if !slices.Contains(c.Others, l.ActorID) {
						notContender.Add(1)
						continue
					}
					if _, err := w.CreatePropertyLookup(gctx, c.PropertyName, c.Value, l.ActorID, true); err != nil {
						return fmt.Errorf("set the owner of lookup key %s (%s) to the source's %s: %w",
							c.LookupKey, c.PropertyName, l.ActorID, err)
					}
					taken.Add(1)
				}
				return nil
			})
		})
	}
	err := g.Wait()
	ls.OwnersFromSource, ls.SourceOwnerNotContender = taken.Load(), notContender.Load()
	if err != nil {
		if (errors.Is(err, actingweb.ErrSchema) || errors.Is(err, actingweb.ErrNotFound)) && taken.Load() == 0 {
			ls.SourceOwners = "the source's property lookup table cannot be read (" + err.Error() + "): the rebuild's owners kept"
			e.log.Warn("source property lookup table not readable; contested lookup keys keep the rebuild's owners",
				"contested", ls.Contested, "err", err)
			return nil
		}
		return fmt.Errorf("read the source's property lookup owners: %w", err)
	}
	if res.ContestedTruncated {
		ls.SourceOwners = fmt.Sprintf("more than %d contested keys: only those listed were checked against the source", bulk.MaxLookupContests)
	}
	e.log.Info("contested lookup keys given the source's owner", "contested", ls.Contested,
		"owners_from_source", ls.OwnersFromSource, "source_owner_not_contender", ls.SourceOwnerNotContender)
	return nil
}
