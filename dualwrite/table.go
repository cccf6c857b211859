package dualwrite

// table.go: the table face, schema management and the lookup rebuild.
//
// The table face serves moving and comparing data: Scan and Count read the phase's primary
// (the store reads come from); WriteBatch writes to the primary, which applies the conflict
// policy, and copies the rows of the batch's keys as the primary then holds them to the
// secondary (rejected rows are not copied). To read or write one store alone (a backfill, a
// validation), use Old() or New().
//
// Schema management acts on the stores the phase uses: old alone in old, both in write-both
// and read-new, new alone in new.

import (
	"context"
	"errors"
	"fmt"
	"slices"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

// Capabilities declares nothing (bulk.Capabilities): a batch goes to two stores, so neither
// store's tuning fits it; the engine's defaults apply.
func (s *Store) Capabilities(context.Context) bulk.Capabilities { return bulk.Capabilities{} }

// Scan scans the primary.
func (s *Store) Scan(ctx context.Context, t actingweb.Table, opts bulk.ScanOptions, fn func(bulk.Page) error) error {
	return s.view(ctx).primary.Scan(ctx, t, opts, fn)
}

// Count counts on the primary.
func (s *Store) Count(ctx context.Context, t actingweb.Table) (int64, error) {
	return s.view(ctx).primary.Count(ctx, t)
}

// WriteBatch writes recs to the primary under policy and copies the resulting rows of their
// keys to the secondary (rejected rows excepted). The result is the primary's. The owners are
// not locked: the table face is for moving data, not for writes racing the application's.
func (s *Store) WriteBatch(ctx context.Context, t actingweb.Table, recs []actingweb.Record, policy bulk.ConflictPolicy) (bulk.WriteResult, error) {
	v := s.view(ctx)
	res, err := v.primary.WriteBatch(ctx, t, recs, policy)
	if v.secondary == nil {
		return res, err
	}
	// Copied whatever the primary said: a refused batch (ErrConflict) or a failed one may have
	// landed in part (DynamoDB writes a batch in requests of 25).
	rejected := make(map[string]bool, len(res.Rejects))
	for _, r := range res.Rejects {
		rejected[r.Key] = true
	}
	keys := make([]actingweb.Record, 0, len(recs))
	for _, r := range recs {
		if r != nil && !rejected[r.Key()] {
			keys = append(keys, r)
		}
	}
	if serr := s.copyKeys(ctx, v, keys); serr != nil {
		if ferr := s.secondaryFailed(ctx, v, "WriteBatch", "", keys, "", serr); ferr != nil && err == nil {
			return res, ferr
		}
	}
	return res, err
}

// RebuildPropertyLookup rebuilds on the primary, which decides every contested key, then
// copies the primary's lookup rows of the names to the secondary (a scan of the lookup table).
// The report is the primary's.
func (s *Store) RebuildPropertyLookup(ctx context.Context, names []string) (bulk.LookupRebuild, error) {
	v := s.view(ctx)
	rep, err := v.primary.RebuildPropertyLookup(ctx, names)
	if err != nil || v.secondary == nil {
		return rep, err
	}
	if serr := s.copyLookupRows(ctx, v, names); serr != nil {
		return rep, s.secondaryFailed(ctx, v, "RebuildPropertyLookup", "", nil, actingweb.TablePropertyLookup, serr)
	}
	return rep, nil
}

func (s *Store) copyLookupRows(ctx context.Context, v view, names []string) error {
	return v.primary.Scan(ctx, actingweb.TablePropertyLookup, bulk.ScanOptions{Consistent: true, PageSize: 500}, func(p bulk.Page) error {
		var ups []actingweb.Record
		for _, r := range p.Records {
			if l := r.(*actingweb.PropertyLookup); slices.Contains(names, l.PropertyName) {
				ups = append(ups, r)
			}
		}
		if len(ups) == 0 {
			return nil
		}
		return s.apply(ctx, v, ups, nil)
	})
}

// inUse lists the stores the phase uses, primary first.
func (s *Store) inUse(ctx context.Context) []Backend {
	v := s.view(ctx)
	if v.secondary == nil {
		return []Backend{v.primary}
	}
	return []Backend{v.primary, v.secondary}
}

// SchemaStatus reports the primary's status; in write-both and read-new AtHead also requires
// the secondary at head, and its state is added to Notes.
func (s *Store) SchemaStatus(ctx context.Context) (actingweb.SchemaStatus, error) {
	stores := s.inUse(ctx)
	st, err := stores[0].SchemaStatus(ctx)
	if err != nil || len(stores) == 1 {
		return st, err
	}
	sec, err := stores[1].SchemaStatus(ctx)
	if err != nil {
		return st, err
	}
	st.AtHead = st.AtHead && sec.AtHead
	st.Notes = append(st.Notes, fmt.Sprintf("secondary %s: at head %v, missing %v", stores[1].Describe(), sec.AtHead, sec.Missing))
	return st, nil
}

// UpgradeSchema upgrades the stores in use and returns the primary's new state.
func (s *Store) UpgradeSchema(ctx context.Context) (actingweb.SchemaStatus, error) {
	var first actingweb.SchemaStatus
	for i, b := range s.inUse(ctx) {
		st, err := b.UpgradeSchema(ctx)
		if err != nil {
			return first, err
		}
		if i == 0 {
			first = st
		}
	}
	return first, nil
}

// CheckSchema checks the stores in use.
func (s *Store) CheckSchema(ctx context.Context) error {
	var errs []error
	for _, b := range s.inUse(ctx) {
		errs = append(errs, b.CheckSchema(ctx))
	}
	return errors.Join(errs...)
}
