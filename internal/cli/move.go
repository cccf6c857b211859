package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/bundle"
	"github.com/actingweb/actingweb-go/migrate"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// MoveFlags are the flags export, import and copy share.
type MoveFlags struct {
	// Tables limits the run to these tables (PostgreSQL names or DynamoDB suffixes); empty = all.
	Tables []string
	// Segments is the number of parallel scan segments per table (0 = engine default, 4).
	Segments int
	// Segment and TotalSegments give this machine one share of a scan split between machines.
	Segment, TotalSegments int
	// Rate limits rows per second over the whole run (0 = unlimited).
	Rate float64
	// Concurrency is the number of writers per table (0 = engine default).
	Concurrency int
	// BatchSize is the rows per write batch (0 = the target's preferred size).
	BatchSize int
	// MaxRejects is the rows that may be rejected before the run stops (0: none; -1: no limit).
	MaxRejects int
	// Resume continues an interrupted run from the checkpoints in StateDir.
	Resume bool
	// StateDir holds checkpoints and rejects files ("" = the command's default).
	StateDir string
	// DryRun reads and counts without writing.
	DryRun bool
	// BatchTimeout bounds one batch write (migrate.Options.BatchTimeout; 0 = no bound).
	BatchTimeout time.Duration
	// Report is a file to write the JSON report to (mode 0600), "" = none.
	Report string
	// ConsistentRead asks DynamoDB for strongly consistent scans (default true).
	ConsistentRead bool
	// Estimate counts source tables first for progress ETAs (a scan on DynamoDB).
	Estimate bool
	// Quiet suppresses progress output (the summary is still printed).
	Quiet bool
	// ProgressInterval is the period of progress log lines when stderr is not a terminal
	// (0 = 5 s).
	ProgressInterval time.Duration
	// Actors is a file of actor ids (one per line) limiting the run to their rows (a pilot).
	Actors string
}

func (a *App) bindMoveFlags(f *pflag.FlagSet, m *MoveFlags, stateHelp string) {
	f.StringSliceVar(&m.Tables, "tables", nil, "tables to move, comma-separated (default: all; names as in PostgreSQL or the DynamoDB suffix)")
	f.IntVar(&m.Segments, "segments", 0, "parallel scan segments per table (default 4)")
	f.IntVar(&m.Segment, "segment", 0, "with --total-segments: the share of the scan this run does (0-based; default JOB_COMPLETION_INDEX when ACTINGWEB_TOTAL_SEGMENTS is set: a Kubernetes Indexed Job)")
	f.IntVar(&m.TotalSegments, "total-segments", 0, "split every table scan into this many shares between machines (use with --segment; default ACTINGWEB_TOTAL_SEGMENTS)")
	f.Float64Var(&m.Rate, "rate", 0, "limit to this many rows per second over the whole run (0 = unlimited)")
	f.IntVar(&m.Concurrency, "concurrency", 0, "writers per table (default 4; 2 into PostgreSQL)")
	f.IntVar(&m.BatchSize, "batch-size", 0, "rows per write batch (default 500; 5000 into PostgreSQL, 1000 into a bundle; DynamoDB sends them 25 per request)")
	f.DurationVar(&m.BatchTimeout, "batch-timeout", 5*time.Minute, "stop the run when one batch write gets no answer for this long (a silent connection); 0 = wait forever")
	f.IntVar(&m.MaxRejects, "max-rejects", 0, "rows that may be rejected before the run stops and exits 1 (-1 = no limit)")
	f.BoolVar(&m.Resume, "resume", false, "continue an interrupted run from the checkpoints in the state directory")
	f.StringVar(&m.StateDir, "state-dir", "", stateHelp)
	f.BoolVar(&m.DryRun, "dry-run", false, "read and count the source without writing anything")
	f.StringVar(&m.Report, "report", "", "write the JSON report to this file (mode 0600)")
	f.BoolVar(&m.ConsistentRead, "consistent-read", true, "strongly consistent DynamoDB scans")
	f.BoolVar(&m.Estimate, "estimate", a.Terminal, "count source tables first for progress ETAs (a full scan on DynamoDB; default on a terminal)")
	f.BoolVar(&m.Quiet, "quiet", false, "no progress output and no info log lines (warnings, errors and the summary are still printed)")
	f.StringVar(&m.Actors, "actors", "", "file of actor ids, one per line: move only their rows in every table (a pilot; _actingweb_* owners only when listed)")
}

// Environment variables that give a run its share of a scan split between machines when
// --total-segments is absent: a Kubernetes Indexed Job sets JOB_COMPLETION_INDEX in each pod
// (0 to completions-1), and its manifest sets ACTINGWEB_TOTAL_SEGMENTS to the Job's
// completions (docs/operations.md §9).
const (
	EnvJobCompletionIndex = "JOB_COMPLETION_INDEX"
	EnvTotalSegments      = "ACTINGWEB_TOTAL_SEGMENTS"
)

// shareFromEnv returns the share (segment, total) that EnvJobCompletionIndex and
// EnvTotalSegments give, (segment, 0) when neither is set; one without the other, or a value
// that is not a whole number, is a usage error. A --segment given with them is an error too.
func (a *App) shareFromEnv(segment int) (int, int, error) {
	idx, total := strings.TrimSpace(a.Getenv(EnvJobCompletionIndex)), strings.TrimSpace(a.Getenv(EnvTotalSegments))
	switch {
	case idx == "" && total == "":
		return segment, 0, nil
	case total == "":
		return 0, 0, usageErrorf("%s=%s is set (a Kubernetes Indexed Job) but the number of shares is not: set %s to the Job's completions, or give --total-segments", EnvJobCompletionIndex, idx, EnvTotalSegments)
	case idx == "":
		return 0, 0, usageErrorf("%s=%s is set but %s is not: give --segment and --total-segments, or run as a Kubernetes Indexed Job", EnvTotalSegments, total, EnvJobCompletionIndex)
	case segment != 0:
		return 0, 0, usageErrorf("--segment %d without --total-segments, and %s=%s: give both flags, or neither", segment, EnvJobCompletionIndex, idx)
	}
	i, err := strconv.Atoi(idx)
	if err != nil {
		return 0, 0, usageErrorf("%s=%q: want a whole number", EnvJobCompletionIndex, idx)
	}
	n, err := strconv.Atoi(total)
	if err != nil || n < 1 {
		return 0, 0, usageErrorf("%s=%q: want a whole number of shares, at least 1", EnvTotalSegments, total)
	}
	a.Logger.Info("share of the scan from the environment", "segment", i, "total_segments", n,
		"from", EnvJobCompletionIndex+", "+EnvTotalSegments)
	return i, n, nil
}

// options turns the flags into engine options; errors are usage errors.
func (a *App) options(m MoveFlags, policy bulk.ConflictPolicy) (migrate.Options, error) {
	o := migrate.Options{
		Policy: policy, Segments: m.Segments, Concurrency: m.Concurrency, Rate: m.Rate,
		BatchSize: m.BatchSize, MaxRejects: m.MaxRejects, Resume: m.Resume, StateDir: m.StateDir,
		DryRun: m.DryRun, IndexedProperties: a.IndexedProperties(), Consistent: m.ConsistentRead,
		Estimate: m.Estimate, Logger: a.Logger, BatchTimeout: m.BatchTimeout,
	}
	if m.BatchTimeout == 0 {
		o.BatchTimeout = -1 // no bound
	}
	var err error
	if o.Tables, err = parseTables(m.Tables); err != nil {
		return o, err
	}
	if m.TotalSegments == 0 {
		if m.Segment, m.TotalSegments, err = a.shareFromEnv(m.Segment); err != nil {
			return o, err
		}
	}
	switch {
	case m.Segments < 0 || m.Concurrency < 0 || m.BatchSize < 0 || m.Rate < 0 || m.BatchTimeout < 0:
		return o, usageErrorf("--segments, --concurrency, --batch-size, --rate and --batch-timeout must not be negative")
	case m.MaxRejects < -1:
		return o, usageErrorf("--max-rejects %d: use a count, or -1 for no limit", m.MaxRejects)
	case m.TotalSegments < 0 || m.Segment < 0:
		return o, usageErrorf("--segment and --total-segments must not be negative")
	case m.TotalSegments <= 1 && m.Segment != 0:
		return o, usageErrorf("--segment %d needs --total-segments greater than it", m.Segment)
	case m.TotalSegments > 1 && m.Segment >= m.TotalSegments:
		return o, usageErrorf("--segment %d is outside 0..%d (--total-segments %d)", m.Segment, m.TotalSegments-1, m.TotalSegments)
	}
	o.Segment, o.TotalSegments = m.Segment, m.TotalSegments
	if m.Actors != "" {
		if o.Actors, err = migrate.ReadActorsFile(m.Actors); err != nil {
			return o, usageErrorf("--actors: %v", err)
		}
	}
	return o, nil
}

func parseTables(names []string) ([]actingweb.Table, error) {
	var out []actingweb.Table
	for _, n := range names {
		for _, p := range actingweb.ParseNameList(n) {
			t, err := actingweb.ParseTable(p)
			if err != nil {
				return nil, usageErrorf("--tables: %v", err)
			}
			out = append(out, t)
		}
	}
	return out, nil
}

// ParseConflictPolicy parses --on-conflict; skipDuplicates (--skip-duplicates, upstream's
// flag) means skip and contradicts any other explicit policy.
func ParseConflictPolicy(s string, skipDuplicates bool) (bulk.ConflictPolicy, error) {
	var p bulk.ConflictPolicy
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "fail":
		p = bulk.ConflictFail
	case "skip":
		p = bulk.ConflictSkip
	case "overwrite":
		p = bulk.ConflictOverwrite
	default:
		return p, usageErrorf("--on-conflict %q: use fail, skip or overwrite", s)
	}
	if skipDuplicates {
		if s != "" && p != bulk.ConflictSkip {
			return p, usageErrorf("--skip-duplicates means --on-conflict skip; it contradicts --on-conflict %s", s)
		}
		p = bulk.ConflictSkip
	}
	return p, nil
}

// ExportOptions are the options of `actingweb export`.
type ExportOptions struct {
	From      string // source store; "" = DATABASE_BACKEND
	OutputDir string // bundle directory (created 0700)
	Gzip      bool   // compress table files
	NoSync    bool   // do not fsync finished table files
	// Format is "bundle" (default: manifest + JSON Lines) or "json": upstream's <table>.json
	// arrays (bundle.WriteUpstreamArrays), written from a bundle staged in
	// <OutputDir>/.actingweb-bundle that is removed once the arrays are complete.
	Format string
	Move   MoveFlags
}

// ImportOptions are the options of `actingweb import`.
type ImportOptions struct {
	To             string // target store; "" = DATABASE_BACKEND
	InputDir       string // bundle directory (or upstream's <table>.json export)
	OnConflict     string // fail (default), skip, overwrite
	SkipDuplicates bool   // upstream's flag: --on-conflict skip
	// MaxLineBytes bounds one bundle line in bytes (0 = bundle.DefaultMaxLineBytes, 64 MiB);
	// a longer line is a reject (bundle.ReaderOptions.MaxLineBytes).
	MaxLineBytes int
	// AllowWorldWritable accepts a bundle directory or files others may write
	// (bundle.ReaderOptions.AllowWorldWritable).
	AllowWorldWritable bool
	Move               MoveFlags
}

// CopyOptions are the options of `actingweb copy`.
type CopyOptions struct {
	From, To       string
	OnConflict     string
	SkipDuplicates bool
	Move           MoveFlags
}

const moveLong = `
Tables are moved actors first, then the other data tables; the property lookup table is
rebuilt on the target from its properties with the indexed property names (--indexed-properties,
INDEXED_PROPERTIES, default oauthId,email,externalUserId). Rows the target cannot store are
rejected into <state-dir>/<table>.rejects.jsonl (0600); more than --max-rejects of them stop the
run with exit code 1. An interrupted run continues with --resume.

Exit codes: 0 done, 1 failed or stopped (partial summary printed), 2 usage.`

func (a *App) newExportCmd() *cobra.Command {
	var o ExportOptions
	cmd := &cobra.Command{
		Use:   "export --from SRC --output-dir DIR",
		Short: "Export a store's tables to a bundle directory",
		Long:  "Export the tables of a store to a bundle directory (manifest + JSON Lines per table).\n" + moveLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return failed(a.RunExport(cmd.Context(), o)) },
	}
	f := cmd.Flags()
	f.StringVar(&o.From, "from", "", "source store: postgresql, dynamodb or a URL (default DATABASE_BACKEND)")
	f.StringVar(&o.OutputDir, "output-dir", "", "bundle directory to write (required)")
	f.BoolVar(&o.Gzip, "gzip", false, "gzip the table files")
	f.StringVar(&o.Format, "format", "bundle", "bundle (manifest + JSON Lines, verified on import) or json (upstream's <table>.json arrays, for tools that expect them; staged as a bundle in <output-dir>/.actingweb-bundle first)")
	f.BoolVar(&o.NoSync, "no-sync", false, "do not wait for each finished table file to reach the disk (like pg_dump --no-sync; an operating-system crash may then leave an incomplete bundle)")
	a.bindMoveFlags(f, &o.Move, "checkpoints and rejects (default: the output directory)")
	return cmd
}

func (a *App) newImportCmd() *cobra.Command {
	var o ImportOptions
	cmd := &cobra.Command{
		Use:   "import --to DST --input-dir DIR",
		Short: "Import a bundle directory into a store",
		Long:  "Import a bundle directory (or upstream's <table>.json export files) into a store whose schema is at head.\n" + moveLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return failed(a.RunImport(cmd.Context(), o)) },
	}
	f := cmd.Flags()
	f.StringVar(&o.To, "to", "", "target store: postgresql, dynamodb or a URL (default DATABASE_BACKEND)")
	f.StringVar(&o.InputDir, "input-dir", "", "bundle directory to read (required)")
	f.StringVar(&o.OnConflict, "on-conflict", "", "rows whose key exists on the target: fail (default), skip or overwrite")
	f.BoolVar(&o.SkipDuplicates, "skip-duplicates", false, "same as --on-conflict skip (upstream's flag)")
	f.IntVar(&o.MaxLineBytes, "max-line-bytes", bundle.DefaultMaxLineBytes, "longest bundle line in bytes; a longer line is rejected with its file:line (raise it for PostgreSQL values above 64 MiB)")
	f.BoolVar(&o.AllowWorldWritable, "allow-world-writable", false, "accept a bundle directory or files that others may write (a bundle holds secrets: 0700/0600 expected)")
	a.bindMoveFlags(f, &o.Move, "checkpoints and rejects (default: the input directory)")
	return cmd
}

func (a *App) newCopyCmd() *cobra.Command {
	var o CopyOptions
	cmd := &cobra.Command{
		Use:   "copy --from SRC --to DST",
		Short: "Copy every table from one store to another",
		Long:  "Copy the tables of one store to another (PostgreSQL and DynamoDB in either direction).\n" + moveLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return failed(a.RunCopy(cmd.Context(), o)) },
	}
	f := cmd.Flags()
	f.StringVar(&o.From, "from", "", "source store: postgresql, dynamodb or a URL (required)")
	f.StringVar(&o.To, "to", "", "target store: postgresql, dynamodb or a URL (required)")
	f.StringVar(&o.OnConflict, "on-conflict", "", "rows whose key exists on the target: fail (default), skip or overwrite")
	f.BoolVar(&o.SkipDuplicates, "skip-duplicates", false, "same as --on-conflict skip")
	a.bindMoveFlags(f, &o.Move, "checkpoints and rejects (default ./actingweb-state/<source>-to-<target>)")
	return cmd
}

// RunExport exports o.From to the bundle directory o.OutputDir.
func (a *App) RunExport(ctx context.Context, o ExportOptions) error {
	if o.OutputDir == "" {
		return usageErrorf("export: --output-dir is required")
	}
	from, err := a.ChooseStore("export", o.From, "--from", BackendDynamoDB)
	if err != nil {
		return err
	}
	opts, err := a.options(o.Move, bulk.ConflictFail)
	if err != nil {
		return err
	}
	opts.Gzip = o.Gzip
	opts.NoSync = o.NoSync
	bundleDir := o.OutputDir
	switch o.Format {
	case "", "bundle":
	case "json":
		bundleDir = filepath.Join(o.OutputDir, ".actingweb-bundle")
		if o.Gzip {
			return usageErrorf("export: --gzip applies to a bundle; upstream's <table>.json files (--format json) are plain JSON")
		}
	default:
		return usageErrorf("export: --format %q: use bundle or json", o.Format)
	}
	src, spec, err := a.OpenStore(ctx, from)
	if err != nil {
		return err
	}
	defer src.Close()
	a.Logger.Info("export", "from", src.Describe(), "to", o.OutputDir, "dry_run", opts.DryRun)
	prog := a.newProgress(o.Move.Quiet, o.Move.ProgressInterval)
	opts.Progress = prog
	rep, err := migrate.Export(ctx, src, bundleDir, opts)
	prog.Stop()
	if err := a.finishMove(ctx, "export", rep, err, o.Move, stateDirOr(opts.StateDir, bundleDir), spec.Arg, ""); err != nil {
		return err
	}
	if bundleDir == o.OutputDir || opts.DryRun {
		return nil
	}
	return a.writeUpstreamArrays(ctx, bundleDir, o.OutputDir)
}

// writeUpstreamArrays turns the finished bundle in bundleDir into upstream's <table>.json
// arrays in dir, then removes the bundle (and the run's state, when it lived there).
func (a *App) writeUpstreamArrays(ctx context.Context, bundleDir, dir string) error {
	r, err := bundle.Open(bundleDir)
	if err != nil {
		return fmt.Errorf("export --format json: read the staged bundle %s: %w (export again)", bundleDir, err)
	}
	start := time.Now()
	paths, err := bundle.WriteUpstreamArrays(ctx, r, dir)
	if err != nil {
		return fmt.Errorf("export --format json: %w; the staged bundle stays in %s: run the export again to retry", err, bundleDir)
	}
	if err := os.RemoveAll(bundleDir); err != nil {
		return fmt.Errorf("export --format json: remove the staged bundle %s: %w (remove it by hand)", bundleDir, err)
	}
	a.Logger.Info("upstream array files written", "dir", dir, "files", len(paths), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// RunImport imports the bundle in o.InputDir into o.To.
func (a *App) RunImport(ctx context.Context, o ImportOptions) error {
	if o.InputDir == "" {
		return usageErrorf("import: --input-dir is required")
	}
	to, err := a.ChooseStore("import", o.To, "--to", BackendPostgres)
	if err != nil {
		return err
	}
	policy, err := ParseConflictPolicy(o.OnConflict, o.SkipDuplicates)
	if err != nil {
		return err
	}
	opts, err := a.options(o.Move, policy)
	if err != nil {
		return err
	}
	if o.MaxLineBytes < 0 {
		return usageErrorf("--max-line-bytes %d: give a positive number of bytes (0 = the default, %d)", o.MaxLineBytes, bundle.DefaultMaxLineBytes)
	}
	ro := bundle.ReaderOptions{MaxLineBytes: o.MaxLineBytes, AllowWorldWritable: o.AllowWorldWritable}
	if st, err := os.Stat(o.InputDir); err != nil || !st.IsDir() {
		return fmt.Errorf("import: input directory %s cannot be read (%v): give the directory an export wrote", o.InputDir, errOr(err, "not a directory"))
	}
	dst, spec, err := a.OpenStore(ctx, to)
	if err != nil {
		return err
	}
	defer dst.Close()
	a.Logger.Info("import", "from", o.InputDir, "to", dst.Describe(), "on_conflict", policy.String(), "dry_run", opts.DryRun)
	prog := a.newProgress(o.Move.Quiet, o.Move.ProgressInterval)
	opts.Progress = prog
	opts.Bundle = ro
	rep, err := migrate.Import(ctx, o.InputDir, dst, opts)
	prog.Stop()
	return a.finishMove(ctx, "import", rep, err, o.Move, stateDirOr(opts.StateDir, o.InputDir), "", spec.Arg)
}

// RunCopy copies o.From to o.To.
func (a *App) RunCopy(ctx context.Context, o CopyOptions) error {
	if strings.TrimSpace(o.From) == "" || strings.TrimSpace(o.To) == "" {
		return usageErrorf("copy: --from and --to are both required")
	}
	policy, err := ParseConflictPolicy(o.OnConflict, o.SkipDuplicates)
	if err != nil {
		return err
	}
	opts, err := a.options(o.Move, policy)
	if err != nil {
		return err
	}
	fromSpec, toSpec, err := a.resolvePair("copy", o.From, o.To)
	if err != nil {
		return err
	}
	if opts.StateDir == "" {
		opts.StateDir = filepath.Join("actingweb-state", fromSpec.Slug()+"-to-"+toSpec.Slug())
		if opts.TotalSegments > 1 { // shares on one machine must not share a state directory
			opts.StateDir += fmt.Sprintf("-share-%d-of-%d", opts.Segment, opts.TotalSegments)
		}
	}
	if !opts.DryRun {
		if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
			return fmt.Errorf("copy: create state directory %s: %w (choose another with --state-dir)", opts.StateDir, err)
		}
	}
	src, dst, err := a.openPair(ctx, o.From, o.To)
	if err != nil {
		return err
	}
	defer src.Close()
	defer dst.Close()
	a.Logger.Info("copy", "from", src.Describe(), "to", dst.Describe(), "on_conflict", policy.String(),
		"state_dir", opts.StateDir, "dry_run", opts.DryRun)
	prog := a.newProgress(o.Move.Quiet, o.Move.ProgressInterval)
	opts.Progress = prog
	rep, err := migrate.Copy(ctx, src, dst, opts)
	prog.Stop()
	return a.finishMove(ctx, "copy", rep, err, o.Move, opts.StateDir, fromSpec.Arg, toSpec.Arg)
}

// openPair connects to the source and the target of a command; on an error nothing stays open.
func (a *App) openPair(ctx context.Context, from, to string) (src, dst Store, err error) {
	if err := a.CheckPairFlags("open", from, to); err != nil {
		return nil, nil, err
	}
	if src, _, err = a.OpenStore(ctx, from); err != nil {
		return nil, nil, err
	}
	if dst, _, err = a.OpenStore(ctx, to); err != nil {
		src.Close()
		return nil, nil, err
	}
	return src, dst, nil
}

// resolvePair resolves the two stores of op (copy, sync), which must differ.
func (a *App) resolvePair(op, from, to string) (StoreSpec, StoreSpec, error) {
	if err := a.CheckPairFlags(op, from, to); err != nil {
		return StoreSpec{}, StoreSpec{}, err
	}
	fromSpec, err := a.ResolveStore(from)
	if err != nil {
		return fromSpec, StoreSpec{}, err
	}
	toSpec, err := a.ResolveStore(to)
	if err != nil {
		return fromSpec, toSpec, err
	}
	if fromSpec.String() == toSpec.String() {
		return fromSpec, toSpec, usageErrorf("%s: --from and --to name the same store (%s)", op, fromSpec)
	}
	return fromSpec, toSpec, nil
}

func stateDirOr(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func errOr(err error, s string) any {
	if err != nil {
		return err
	}
	return s
}

// finishMove prints the summary, writes the JSON report and turns the engine's error into one
// line that says what failed and what to do.
func (a *App) finishMove(ctx context.Context, op string, rep *migrate.Report, err error, m MoveFlags, stateDir, from, to string) error {
	var re *migrate.RunError
	if errors.As(err, &re) && rep == nil {
		rep = re.Report
	}
	if rep != nil {
		if werr := rep.WriteText(a.Stdout); werr != nil {
			a.Logger.Warn("cannot print the summary", "err", werr)
		}
		if m.Report != "" {
			if werr := writeJSONFile(m.Report, rep); werr != nil {
				if err == nil {
					return werr
				}
				a.Logger.Error("cannot write the report", "file", m.Report, "err", werr)
			} else {
				a.Logger.Info("report written", "file", m.Report)
			}
		}
	}
	if err == nil {
		return nil
	}
	// what: "copy stopped at table trusts" (from the RunError) or "copy"; cause: the inner error.
	what, cause := op, err
	if re != nil {
		what = op + " stopped"
		if re.Table != "" {
			what += " at table " + string(re.Table)
		}
		if re.Err != nil {
			cause = re.Err
		}
	}
	switch {
	case errors.Is(err, migrate.ErrTooManyRejects):
		limit := fmt.Sprintf("--max-rejects %d", m.MaxRejects)
		return fmt.Errorf("%s: more rows were rejected than %s allows (the summary lists them; the rows are in %s/*.rejects.jsonl): fix them at the source or raise --max-rejects, then rerun with --resume",
			what, limit, stateDir)
	case errors.Is(err, migrate.ErrBatchTimeout):
		return fmt.Errorf("%s: %v: check the connection to the target, then rerun the same command with --resume to continue from the checkpoints in %s (--batch-timeout sets the bound)",
			what, cause, stateDir)
	case errors.Is(err, migrate.ErrStateExists):
		return fmt.Errorf("%s: checkpoints of an earlier run exist in %s: add --resume to continue that run, or remove the directory (or choose another --state-dir) to start over", op, stateDir)
	case errors.Is(err, migrate.ErrRunMismatch), errors.Is(err, actingweb.ErrLocked):
		return fmt.Errorf("%s: %w", what, cause) // the cause says what differs or who holds the lock, and what to do
	case errors.Is(err, migrate.ErrNoState):
		return fmt.Errorf("%s --resume: nothing to resume in %s (%w; the last run there finished, or none started): run without --resume", op, stateDir, migrate.ErrNoState)
	case errors.Is(err, actingweb.ErrSchema):
		store := to
		if store == "" {
			store = from
		}
		return fmt.Errorf("%s: %v (run 'actingweb schema upgrade --to %s' first)", what, cause, store)
	case errors.Is(err, actingweb.ErrConflict):
		return fmt.Errorf("%s: %v (rows already exist on the target: use --on-conflict skip or overwrite, or an empty target)", what, cause)
	case ctx.Err() != nil:
		return fmt.Errorf("%s: interrupted: rerun the same command with --resume to continue from the checkpoints in %s", what, stateDir)
	}
	if re == nil {
		return fmt.Errorf("%s failed: %w", op, cause)
	}
	if stateDir != "" && !m.DryRun {
		return fmt.Errorf("%s: %w (once fixed, rerun the same command with --resume to continue from the checkpoints in %s)", what, cause, stateDir)
	}
	return fmt.Errorf("%s: %w", what, cause)
}

// writeJSONFile writes v as indented JSON to path with mode 0600 (also when the file exists).
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("write report %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write report %s: %w", path, err)
	}
	return f.Close()
}
