package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/capture"
	"github.com/actingweb/actingweb-go/dualwrite"
	"github.com/actingweb/actingweb-go/migrate"
	"github.com/spf13/cobra"
)

// ReconcileOptions are the options of `actingweb reconcile`.
type ReconcileOptions struct {
	// From is the store holding the truth (OLD), To the store to bring in step (NEW).
	From, To string
	// Apply repairs the differences; without it the run only lists them (dry run).
	Apply bool
	// Tables limits the comparison (empty = all nine).
	Tables []string
	// MaxDiffs is the number of differences listed, and repaired, per table and round
	// (0 = DefaultReconcileMaxDiffs).
	MaxDiffs int
	// Rounds bounds the compare-and-repair rounds of --apply (0 = DefaultReconcileRounds).
	Rounds int
	// Segments is the parallel scan segments per side (0 = engine default).
	Segments int
	// Report is a file for the JSON report of the last comparison (0600), "" = none.
	Report           string
	Quiet            bool
	ProgressInterval time.Duration
}

// DefaultReconcileMaxDiffs is how many differences per table a reconcile round lists and
// repairs; more are repaired in the next round.
const DefaultReconcileMaxDiffs = 10000

// DefaultReconcileRounds bounds the compare-and-repair rounds of reconcile --apply.
const DefaultReconcileRounds = 5

func (a *App) newReconcileCmd() *cobra.Command {
	var o ReconcileOptions
	cmd := &cobra.Command{
		Use:   "reconcile --from OLD --to NEW [--apply]",
		Short: "List the rows in which NEW differs from OLD and, with --apply, repair them from OLD",
		Long: `Compare store OLD (--from, the truth) with store NEW (--to) row by row, as validate does, and
list the keys that differ (secret values are never shown). With --apply, write OLD's row to NEW
for every changed or missing key and delete from NEW the rows only NEW holds; each key is read
again on both sides just before and repaired only if it still differs, so a write that raced
the comparison is not overwritten. Then compare again, up to --rounds rounds, until equal.
With --apply and all tables compared, an equal result also removes the dual-write repair
journal entries (package dualwrite) that were pending when the run started.

Exit codes: 0 the stores are equal (or were repaired to equal), 3 differences are left (always
after a dry run that found some), 1 a store could not be read or written, 2 usage.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return failed(a.RunReconcile(cmd.Context(), o)) },
	}
	f := cmd.Flags()
	f.StringVar(&o.From, "from", "", "OLD: the store holding the truth (postgresql, dynamodb or a URL)")
	f.StringVar(&o.To, "to", "", "NEW: the store to bring in step")
	f.BoolVar(&o.Apply, "apply", false, "repair the differences (default: only list them)")
	f.StringSliceVar(&o.Tables, "tables", nil, "tables to compare, comma-separated (default: all)")
	f.IntVar(&o.MaxDiffs, "max-diffs", DefaultReconcileMaxDiffs, "differences listed and repaired per table and round")
	f.IntVar(&o.Rounds, "rounds", DefaultReconcileRounds, "with --apply: most compare-and-repair rounds")
	f.IntVar(&o.Segments, "segments", 0, "parallel scan segments per side (default 4)")
	f.StringVar(&o.Report, "report", "", "write the JSON report of the last comparison to this file (mode 0600)")
	f.BoolVar(&o.Quiet, "quiet", false, "no progress output and no info log lines")
	return cmd
}

// reconcileSide is what reconcile needs of a store: scans (validate), reads by key and whole
// row writes.
type reconcileSide interface {
	Store
	capture.Sink
}

// RunReconcile compares OLD with NEW and, with Apply, repairs NEW; ExitMismatch when
// differences are left.
func (a *App) RunReconcile(ctx context.Context, o ReconcileOptions) error {
	if strings.TrimSpace(o.From) == "" || strings.TrimSpace(o.To) == "" {
		return usageErrorf("reconcile: --from (OLD) and --to (NEW) are both required")
	}
	if o.MaxDiffs == 0 {
		o.MaxDiffs = DefaultReconcileMaxDiffs
	}
	if o.Rounds == 0 {
		o.Rounds = DefaultReconcileRounds
	}
	if o.MaxDiffs < 0 || o.Rounds < 0 || o.Segments < 0 {
		return usageErrorf("reconcile: --max-diffs and --rounds must be positive, --segments not negative")
	}
	tables, err := parseTables(o.Tables)
	if err != nil {
		return err
	}
	from, to, err := a.openPair(ctx, o.From, o.To)
	if err != nil {
		return err
	}
	defer from.Close()
	defer to.Close()
	old, ok1 := from.(reconcileSide)
	nw, ok2 := to.(reconcileSide)
	if !ok1 || !ok2 {
		return fmt.Errorf("reconcile: %s or %s cannot read and write rows by key", from.Describe(), to.Describe())
	}
	// Journal entries pending now are settled by an equal result (all tables compared).
	var journal map[string][]dualwrite.JournalEntry
	if o.Apply && len(tables) == 0 {
		journal, err = pendingJournal(ctx, old, nw)
		if err != nil {
			return err
		}
	}
	a.Logger.Info("reconcile", "old", old.Describe(), "new", nw.Describe(), "apply", o.Apply)
	var rep *migrate.ValidationReport
	var repaired, raced int
	for round := 1; ; round++ {
		prog := a.newProgress(o.Quiet, o.ProgressInterval)
		rep, err = migrate.Validate(ctx, old, nw, migrate.ValidateOptions{
			Tables: tables, MaxDiffs: o.MaxDiffs, Segments: o.Segments, Consistent: true, Progress: prog, Logger: a.Logger,
		})
		prog.Stop()
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("reconcile interrupted: %w", ctx.Err())
			}
			return fmt.Errorf("reconcile: compare %s with %s: %w", old.Describe(), nw.Describe(), err)
		}
		if err := rep.WriteText(a.Stdout); err != nil {
			a.Logger.Warn("cannot print the summary", "err", err)
		}
		if rep.Equal || !o.Apply || round > o.Rounds {
			break
		}
		n, r, err := repairDiffs(ctx, old, nw, rep)
		repaired, raced = repaired+n, raced+r
		fmt.Fprintf(a.Stdout, "reconcile round %d: %d keys repaired in %s, %d no longer differed when read again\n", round, n, nw.Describe(), r)
		if err != nil {
			return fmt.Errorf("reconcile: repair %s from %s: %w (rows repaired so far stay; run again)", nw.Describe(), old.Describe(), err)
		}
		if n == 0 && r == 0 {
			break // nothing left that a key repair can fix (duplicates, rejects, orphans)
		}
	}
	if o.Report != "" {
		if werr := writeJSONFile(o.Report, rep); werr != nil {
			return werr
		}
		a.Logger.Info("report written", "file", o.Report)
	}
	if !rep.Equal {
		var differ []string
		for _, t := range rep.Tables {
			if !t.Equal {
				differ = append(differ, string(t.Table))
			}
		}
		what := "run again with --apply to repair them"
		if o.Apply {
			what = fmt.Sprintf("%d keys repaired; the rest cannot be repaired by key or changed meanwhile: see the differences above", repaired)
		}
		return &ExitError{Code: ExitMismatch, Err: fmt.Errorf("reconcile: %s differs from %s in %s (%s)",
			nw.Describe(), old.Describe(), strings.Join(differ, ", "), what)}
	}
	if o.Apply {
		fmt.Fprintf(a.Stdout, "reconcile: %s is equal to %s (%d keys repaired)\n", nw.Describe(), old.Describe(), repaired)
		if err := settleJournal(ctx, a, journal, old, nw); err != nil {
			return err
		}
	}
	return nil
}

// pendingJournal lists the dual-write repair journal entries of both stores, by store.
func pendingJournal(ctx context.Context, stores ...reconcileSide) (map[string][]dualwrite.JournalEntry, error) {
	out := map[string][]dualwrite.JournalEntry{}
	for _, s := range stores {
		b, ok := s.(dualwrite.Backend)
		if !ok {
			continue
		}
		if _, ok := s.(actingweb.ControlLister); !ok {
			continue
		}
		es, err := dualwrite.ListJournal(ctx, b)
		if err != nil {
			return nil, fmt.Errorf("reconcile: %w", err)
		}
		out[s.Describe()] = es
	}
	return out, nil
}

// settleJournal deletes the journal entries listed before an apply that ended equal.
func settleJournal(ctx context.Context, a *App, journal map[string][]dualwrite.JournalEntry, stores ...reconcileSide) error {
	for _, s := range stores {
		es := journal[s.Describe()]
		if len(es) == 0 {
			continue
		}
		if err := dualwrite.DeleteJournal(ctx, s.(dualwrite.Backend), es); err != nil && !errors.Is(err, actingweb.ErrConflict) {
			return fmt.Errorf("reconcile: the stores are equal, but the repair journal of %s could not be cleared: %w", s.Describe(), err)
		}
		fmt.Fprintf(a.Stdout, "reconcile: %d dual-write repair journal entries of %s settled\n", len(es), s.Describe())
	}
	return nil
}

// tableOrder applies actors first and lookup rows last (PostgreSQL keeps a lookup row out
// until its actor row is there).
func tableOrder(t actingweb.Table) int {
	switch t {
	case actingweb.TableActors:
		return 0
	case actingweb.TablePropertyLookup:
		return 2
	}
	return 1
}

// repairDiffs repairs the listed changed, only-in-OLD and only-in-NEW differences of rep:
// each key is read again on both sides, and if it still differs OLD's row is written to NEW,
// or NEW's row deleted when OLD has none. It returns the keys repaired and those that no
// longer differed.
func repairDiffs(ctx context.Context, old, nw reconcileSide, rep *migrate.ValidationReport) (repaired, raced int, err error) {
	tvs := append([]migrate.TableValidation(nil), rep.Tables...)
	sort.SliceStable(tvs, func(i, j int) bool { return tableOrder(tvs[i].Table) < tableOrder(tvs[j].Table) })
	for _, tv := range tvs {
		var ups, dels []actingweb.Record
		for _, d := range tv.Differences {
			if d.Record == nil || (d.Kind != migrate.DiffChanged && d.Kind != migrate.DiffOnlyInA && d.Kind != migrate.DiffOnlyInB) {
				continue
			}
			// the sides to read again: both, unless the key is a digest-only lookup row
			// whose value neither side can tell (a DynamoDB row whose property has changed
			// since); then only the side the row came from, the other as compared
			readOld, readNew := true, true
			key, ok := readableKey(ctx, old, nw, d.Record)
			if !ok {
				key, readOld, readNew = d.Record, d.Kind != migrate.DiffOnlyInB, d.Kind == migrate.DiffOnlyInB
			}
			var ro, rn actingweb.Record
			if readOld {
				if ro, err = getOrNil(ctx, old, key); err != nil {
					return repaired, raced, fmt.Errorf("read %s key %s on %s: %w", tv.Table, d.Key, old.Describe(), err)
				}
			}
			if readNew {
				if rn, err = getOrNil(ctx, nw, key); err != nil {
					return repaired, raced, fmt.Errorf("read %s key %s on %s: %w", tv.Table, d.Key, nw.Describe(), err)
				}
			}
			switch {
			case ro != nil && rn != nil && len(actingweb.CompareRecords(ro, rn)) == 0:
				raced++
			case ro != nil:
				ups = append(ups, ro)
			case rn != nil:
				dels = append(dels, rn)
			case !readNew: // gone from OLD, NEW not readable by value: delete by digest
				dels = append(dels, d.Record)
			default: // gone from both
				raced++
			}
		}
		if len(ups)+len(dels) == 0 {
			continue
		}
		err = nw.ApplyChanges(ctx, ups, dels)
		var om *capture.OwnerMissingError
		if errors.As(err, &om) {
			err = nil // held back until their actor row is there: the next round has it
			repaired -= len(om.Records)
		}
		if err != nil {
			return repaired, raced, fmt.Errorf("apply %d rows and %d deletes to %s: %w", len(ups), len(dels), tv.Table, err)
		}
		repaired += len(ups) + len(dels)
	}
	return repaired, raced, nil
}

// readableKey returns a key record both stores can read: a lookup row read from DynamoDB
// carries only its digest, while PostgreSQL reads it by value; the value is taken from the
// owner's property on either side when its digest matches. ok is false when it cannot be found.
func readableKey(ctx context.Context, old, nw reconcileSide, r actingweb.Record) (actingweb.Record, bool) {
	l, isLookup := r.(*actingweb.PropertyLookup)
	if !isLookup || l.Value != nil {
		return r, true
	}
	for _, s := range []reconcileSide{old, nw} {
		p, err := s.GetRecord(ctx, &actingweb.Property{ID: l.ActorID, Name: l.PropertyName})
		if err != nil {
			continue
		}
		if v := p.(*actingweb.Property).Value; actingweb.LookupKey(l.PropertyName, v) == l.LookupKey {
			k := actingweb.NewPropertyLookup(l.PropertyName, v, l.ActorID)
			return &k, true
		}
	}
	return nil, false
}

func getOrNil(ctx context.Context, s capture.Sink, key actingweb.Record) (actingweb.Record, error) {
	r, err := s.GetRecord(ctx, key)
	if errors.Is(err, actingweb.ErrNotFound) {
		return nil, nil
	}
	return r, err
}
