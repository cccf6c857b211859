package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/bundle"
	"github.com/actingweb/actingweb-go/migrate"
	"github.com/spf13/cobra"
)

// ValidateOptions are the options of `actingweb validate`.
type ValidateOptions struct {
	// From is side A as a store; InputDir is side A as a bundle directory (exactly one).
	From, InputDir string
	// To is side B, the store being validated; "" = DATABASE_BACKEND.
	To string
	// Tables limits the comparison (empty = all nine).
	Tables []string
	// MaxDiffs is the number of differences listed per table (0 = engine default, 20).
	MaxDiffs int
	// Segments is the parallel scan segments per side (0 = engine default).
	Segments int
	// ConsistentRead asks DynamoDB for strongly consistent scans (default true).
	ConsistentRead bool
	// SkipLookup leaves the property lookup table out of the comparison.
	SkipLookup bool
	// Actors is a file of actor ids limiting the comparison to their rows (a pilot).
	Actors string
	// Live checks every difference again after Settle and reports only those that persist
	// (stores being written, e.g. while a sync runs); MaxDiffs defaults to 10000 then.
	Live   bool
	Settle time.Duration
	// Report is a file for the JSON report (0600), "" = none.
	Report string
	// Quiet suppresses progress output.
	Quiet            bool
	ProgressInterval time.Duration
	// MaxLineBytes and AllowWorldWritable shape how the bundle of InputDir is read
	// (bundle.ReaderOptions; as for import).
	MaxLineBytes       int
	AllowWorldWritable bool
}

func (a *App) newValidateCmd() *cobra.Command {
	var o ValidateOptions
	cmd := &cobra.Command{
		Use:   "validate (--from SRC | --input-dir DIR) --to DST",
		Short: "Compare two stores (or a bundle and a store) row by row",
		Long: `Compare every table of side A (a store given with --from, or a bundle directory given with
--input-dir) with store B (--to): row counts, duplicate keys, owners without an actor row, and
every field of every row in canonical form (decoded JSON, UTC instants; secrets are never shown).

Exit codes: 0 the sides are equal, 3 they differ (the report lists the differences), 1 a side
could not be read, 2 usage.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return failed(a.RunValidate(cmd.Context(), o)) },
	}
	f := cmd.Flags()
	f.StringVar(&o.From, "from", "", "side A: a store (postgresql, dynamodb or a URL)")
	f.StringVar(&o.InputDir, "input-dir", "", "side A: a bundle directory (instead of --from)")
	f.StringVar(&o.To, "to", "", "side B: the store to validate (default DATABASE_BACKEND)")
	f.IntVar(&o.MaxLineBytes, "max-line-bytes", bundle.DefaultMaxLineBytes, "with --input-dir: longest bundle line in bytes; a longer line is a reject")
	f.BoolVar(&o.AllowWorldWritable, "allow-world-writable", false, "with --input-dir: accept a bundle directory or files that others may write")
	f.StringSliceVar(&o.Tables, "tables", nil, "tables to compare, comma-separated (default: all)")
	f.IntVar(&o.MaxDiffs, "max-diffs", 0, "differences listed per table (default 20; counting goes on)")
	f.IntVar(&o.Segments, "segments", 0, "parallel scan segments per side (default 4)")
	f.BoolVar(&o.ConsistentRead, "consistent-read", true, "strongly consistent DynamoDB scans")
	f.BoolVar(&o.SkipLookup, "skip-lookup", false, "leave the property lookup table out")
	f.StringVar(&o.Actors, "actors", "", "file of actor ids, one per line: compare only their rows (a pilot)")
	f.BoolVar(&o.Live, "live", false, "the stores are being written (a sync runs): read every difference again after --settle and report only those that persist; in-flight ones are counted apart")
	f.DurationVar(&o.Settle, "settle", 5*time.Second, "with --live: how long to wait before reading differences again (at least the sync's lag)")
	f.StringVar(&o.Report, "report", "", "write the JSON report to this file (mode 0600)")
	f.BoolVar(&o.Quiet, "quiet", false, "no progress output and no info log lines (warnings, errors and the result are still printed)")
	return cmd
}

// RunValidate compares side A with store B; ExitMismatch when they differ.
func (a *App) RunValidate(ctx context.Context, o ValidateOptions) error {
	if (o.From == "") == (o.InputDir == "") {
		return usageErrorf("validate: give exactly one of --from (a store) and --input-dir (a bundle)")
	}
	var to string
	var err error
	if o.InputDir != "" {
		// a bundle against a store: upstream's validate, whose --pg-* flags name the store
		to, err = a.ChooseStore("validate", o.To, "--to", BackendPostgres)
	} else {
		// two stores: a connection flag may configure either one, but not neither
		if to = strings.TrimSpace(o.To); to == "" {
			if to = strings.TrimSpace(a.Getenv("DATABASE_BACKEND")); to == "" {
				return usageErrorf("validate: --to is required (or set DATABASE_BACKEND to postgresql or dynamodb)")
			}
		}
		err = a.CheckPairFlags("validate", o.From, to)
	}
	if err != nil {
		return err
	}
	tables, err := parseTables(o.Tables)
	if err != nil {
		return err
	}
	if o.MaxDiffs < 0 || o.Segments < 0 {
		return usageErrorf("--max-diffs and --segments must not be negative")
	}
	var srcA bulk.Source
	if o.InputDir != "" {
		if o.MaxLineBytes < 0 {
			return usageErrorf("--max-line-bytes %d: give a positive number of bytes (0 = the default, %d)", o.MaxLineBytes, bundle.DefaultMaxLineBytes)
		}
		r, err := bundle.OpenWith(o.InputDir, bundle.ReaderOptions{MaxLineBytes: o.MaxLineBytes, AllowWorldWritable: o.AllowWorldWritable})
		if err != nil {
			return fmt.Errorf("validate: open bundle %s: %w (give the directory an export wrote)", o.InputDir, err)
		}
		srcA = r
	} else {
		s, _, err := a.OpenStore(ctx, o.From)
		if err != nil {
			return err
		}
		defer s.Close()
		srcA = s
	}
	b, _, err := a.OpenStore(ctx, to)
	if err != nil {
		return err
	}
	defer b.Close()
	nameA := o.InputDir
	if d, ok := srcA.(bulk.Describer); ok {
		nameA = d.Describe()
	}
	var actors migrate.ActorSet
	if o.Actors != "" {
		if actors, err = migrate.ReadActorsFile(o.Actors); err != nil {
			return usageErrorf("validate --actors: %v", err)
		}
	}
	if o.Live && o.MaxDiffs == 0 {
		o.MaxDiffs = 10000
	}
	a.Logger.Info("validate", "a", nameA, "b", b.Describe())
	prog := a.newProgress(o.Quiet, o.ProgressInterval)
	rep, err := migrate.Validate(ctx, srcA, b, migrate.ValidateOptions{
		Tables: tables, MaxDiffs: o.MaxDiffs, Segments: o.Segments, Consistent: o.ConsistentRead,
		SkipLookup: o.SkipLookup, Actors: actors, Progress: prog, Logger: a.Logger,
	})
	prog.Stop()
	if err == nil && o.Live {
		ga, okA := srcA.(migrate.RecordGetter)
		gb, okB := b.(migrate.RecordGetter)
		if !okA || !okB {
			return usageErrorf("validate --live: both sides must be stores (not a bundle)")
		}
		a.Logger.Info("validate --live: reading the differences again", "after", o.Settle)
		err = migrate.RecheckLive(ctx, ga, gb, rep, o.Settle)
	}
	if rep != nil {
		if werr := rep.WriteText(a.Stdout); werr != nil {
			a.Logger.Warn("cannot print the summary", "err", werr)
		}
		if o.Report != "" {
			if werr := writeJSONFile(o.Report, rep); werr != nil {
				if err == nil {
					return werr
				}
				a.Logger.Error("cannot write the report", "file", o.Report, "err", werr)
			} else {
				a.Logger.Info("report written", "file", o.Report)
			}
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("validate interrupted: %w", ctx.Err())
		}
		return fmt.Errorf("validate %s against %s failed: %w", nameA, b.Describe(), err)
	}
	if !rep.Equal {
		var differ []string
		for _, t := range rep.Tables {
			if !t.Equal {
				differ = append(differ, string(t.Table))
			}
		}
		return &ExitError{Code: ExitMismatch, Err: fmt.Errorf("validate: %s and %s differ in %s (see the differences above)",
			nameA, b.Describe(), strings.Join(differ, ", "))}
	}
	return nil
}
