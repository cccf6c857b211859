// Package migrate moves and compares the nine ActingWeb tables between any two ends that speak
// the table face of the root package: a store (PostgreSQL, DynamoDB) or a bundle directory
// (package bundle). Export, Import and Copy are one engine (Copy) with different ends; Validate
// compares two sources row by row in canonical form with bounded memory.
//
// The engine streams: each table is scanned in parallel segments into a bounded queue, a pool of
// writer workers sends batches to the sink, a shared rate limiter throttles rows per second,
// per-segment checkpoints make a run resumable, rows the sink cannot store are appended to a
// rejects file. It is written against the small interfaces below and never imports a driver.
// Rules quoted as "§N" refer to docs/storage-model.md.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/bundle"
)

// Options shape an Export, Import or Copy run. The zero value is usable: all tables, fail on
// conflicts, 4 segments, 4 writers (or the sink's declared Writers, bulk.Capabilities), no rate limit, stop at the first
// reject.
type Options struct {
	// Tables to move, in any order (the engine orders them: actors first, §5.6). Empty = all
	// eight data tables; the property lookup table is rebuilt, not copied, on sinks that can
	// (LookupRebuilder), and copied row by row to sinks that cannot (bundles), where it is
	// derived data kept for validation.
	Tables []actingweb.Table
	// Policy for rows whose key already exists on the sink (default ConflictFail).
	Policy bulk.ConflictPolicy
	// Segments is the number of parallel scan segments per table (default 4; sources that
	// cannot split, such as bundle files, use 1).
	Segments int
	// Segment and TotalSegments share one table scan between machines: this run does only
	// segment Segment of TotalSegments (its Segments parallel scanners split that share
	// further). TotalSegments <= 1 does everything. The lookup rebuild runs only in segment 0.
	Segment, TotalSegments int
	// Concurrency is the number of writer workers per table (default 4, or the sink's
	// declared Writers; 1 for bundle sinks). Once every table has started, the tables still running
	// get the writers of the finished ones: a second set of Concurrency each, so the run keeps
	// TableParallelism × Concurrency writers busy to its end (not for bundle sinks, nor for
	// sinks that decline it: NoWriterHandover, PostgreSQL).
	Concurrency int
	// TableParallelism is the number of data tables moved at once after actors (default 2).
	TableParallelism int
	// Rate limits rows per second across the whole run (0 = unlimited).
	Rate float64
	// BatchSize is the number of rows per WriteBatch (default: the sink's PreferredBatchSize,
	// else 500).
	BatchSize int
	// PageSize is the scan page size hint (default BatchSize, or the source's declared PageSize when
	// larger: a page per batch, so positions are page cursors).
	PageSize int
	// BatchTimeout bounds one WriteBatch call (default 5 minutes; negative = no bound). A
	// write that gets no answer in time (a connection that went silent: packets dropped, no
	// reset) stops the run with ErrBatchTimeout instead of hanging it; the batch is not
	// checkpointed, so --resume rewrites it. DynamoDB's own retries under throttling count
	// into the bound, so a very slow target may need a larger one.
	BatchTimeout time.Duration
	// MaxRejects is the number of rejected rows tolerated across the run before it stops with
	// ErrTooManyRejects; 0 stops at the first reject, a negative value never stops.
	MaxRejects int
	// Resume continues from the checkpoints in StateDir. Without Resume, existing checkpoints
	// are an error (ErrStateExists). After a resume, rows that may have been written before the
	// interruption are written under ConflictSkip when Policy is ConflictFail (the replay window).
	Resume bool
	// StateDir holds <table>.checkpoint.json and <table>.rejects.jsonl (0600). Export and
	// Import default to the bundle directory; Copy requires it when Resume is set, and without
	// it keeps no checkpoints and writes no rejects file.
	StateDir string
	// DryRun scans and counts without writing; the report estimates the write duration.
	DryRun bool
	// IndexedProperties for the lookup rebuild (default actingweb.DefaultIndexedProperties).
	IndexedProperties []string
	// Consistent asks the source for strongly consistent reads (DynamoDB, §5.5 item 11).
	Consistent bool
	// Estimate counts each source table first, for progress (costs a scan on DynamoDB).
	Estimate bool
	// Gzip compresses bundle table files (Export only).
	Gzip bool
	// NoSync skips the fsync of each finished bundle table file (Export only;
	// bundle.WriterOptions.NoSync).
	NoSync bool
	// Actors limits the run to those actors' rows in every table (a pilot); nil = all rows.
	// Rows of other owners are read and skipped. A resume must name the same set.
	Actors ActorSet
	// Bundle shapes how Import reads its bundle (longest line, world-writable files); the zero
	// value is the safe default (bundle.ReaderOptions).
	Bundle bundle.ReaderOptions
	// SourceName describes the source in a bundle manifest (Export; default src.Describe()).
	SourceName string
	// Progress receives callbacks (may be nil). Calls come from several goroutines.
	Progress Progress
	// Logger receives structured events (nil: slog.Default()). Never passed secrets.
	Logger *slog.Logger

	// set by Export and Import: the bundle end's identity, whether they hold the state
	// directory's lock already, and whether Tables was filled in by them rather than chosen
	srcIdentity, dstIdentity map[string]string
	stateLocked              bool
	tablesDefaulted          bool
}

// Progress receives a run's progress. Implementations must be safe for concurrent use.
type Progress interface {
	// TableStarted: table t begins; estimate is its source row count or -1 when unknown.
	TableStarted(t actingweb.Table, estimate int64)
	// Rows: n more rows of t were handled (written, skipped or rejected; read in a dry run).
	Rows(t actingweb.Table, n int)
	// TableDone: table t finished (or stopped; s.Done tells).
	TableDone(t actingweb.Table, s TableSummary)
}

// TableSummary is one table's line in a Report. Counts are rows.
type TableSummary struct {
	Table    actingweb.Table `json:"table"`
	Estimate int64           `json:"estimate"` // source rows counted beforehand, -1 unknown
	Read     int64           `json:"read"`     // rows read from the source (this run)
	Written  int64           `json:"written"`  // rows inserted or replaced on the sink
	Skipped  int64           `json:"skipped"`  // rows that existed on the sink (skip policy or replay window)
	Rejected int64           `json:"rejected"` // rows refused by the source decoder or the sink
	// Drift counts composite keys that disagree with their parts (actingweb.Drift); they are
	// copied as stored. DriftKeys lists the first few keys (rendered with KeyString).
	Drift     int64    `json:"drift"`
	DriftKeys []string `json:"drift_keys,omitempty"`
	// RejectSamples lists the first few rejects as "key: reason" (never values).
	RejectSamples []string      `json:"reject_samples,omitempty"`
	Duration      time.Duration `json:"duration_ns"`
	RowsPerSec    float64       `json:"rows_per_sec"`
	Bytes         int64         `json:"bytes"` // bundle bytes written (export) or read (import), else 0
	Resumed       bool          `json:"resumed"`
	// Restarted: a resumed export found the source table changed since the interrupted run
	// (actingweb.ErrStaleCursor) and wrote the table again from its start.
	Restarted bool `json:"restarted,omitempty"`
	Done      bool `json:"done"` // the table completed in this run or an earlier one
	// Split is how many scan segments each scanner read in turn (ScanSplitter; a resumed
	// table keeps its checkpoint's).
	Split int `json:"split,omitempty"`
}

// LookupSummary reports the property lookup rebuild (§5.4).
//
// Where several actors hold the same value of an indexed property, one lookup row names one
// owner: upstream keeps the first writer, which the properties table cannot tell, so the
// rebuild picks one (Result.Contested). The engine then reads the source's lookup table and,
// for every contested key whose source owner is one of the contenders on the sink, writes that
// owner (OwnersFromSource). Without a source lookup table (SourceOwners says why) the
// rebuild's choice stays.
type LookupSummary struct {
	Names   []string           `json:"names"`
	Result  bulk.LookupRebuild `json:"result"`
	Skipped string             `json:"skipped,omitempty"` // why it did not run, if it did not
	// FromStream is true when the lookup was built from the property rows as they were
	// written (LookupFeeder) instead of by a rescan of the properties table.
	FromStream bool `json:"from_stream,omitempty"`
	// Contested is the number of lookup keys several actors contend for on the sink
	// (len(Result.Contested)).
	Contested int `json:"contested"`
	// OwnersFromSource counts contested keys whose owner was set to the source's owner.
	OwnersFromSource int64 `json:"owners_from_source"`
	// SourceOwnerNotContender counts contested keys whose source lookup row names an actor that
	// does not hold the value on the sink (the rebuild's owner stays).
	SourceOwnerNotContender int64 `json:"source_owner_not_contender,omitempty"`
	// SourceOwners says why the source's owners were not consulted, when they were not
	// (no lookup table at the source, a sink that cannot write single lookup rows).
	SourceOwners string `json:"source_owners,omitempty"`
}

// Report is the outcome of an Export, Import or Copy; it marshals to JSON for --report FILE
// and renders a summary table with WriteText. It never holds secrets.
type Report struct {
	Operation string         `json:"operation"` // "export", "import" or "copy"
	Source    string         `json:"source"`
	Target    string         `json:"target"`
	Policy    string         `json:"policy,omitempty"` // conflict policy; "" for exports (a new bundle)
	DryRun    bool           `json:"dry_run"`
	Resumed   bool           `json:"resumed"`
	Started   time.Time      `json:"started_at"`
	Finished  time.Time      `json:"finished_at"`
	Tables    []TableSummary `json:"tables"`
	Lookup    *LookupSummary `json:"lookup,omitempty"`
	StateDir  string         `json:"state_dir,omitempty"`
	Estimated *time.Duration `json:"estimated_write_duration_ns,omitempty"` // dry run only
}

// Totals sums the per-table counts.
func (r *Report) Totals() TableSummary {
	var s TableSummary
	s.Table = "total"
	for _, t := range r.Tables {
		s.Read += t.Read
		s.Written += t.Written
		s.Skipped += t.Skipped
		s.Rejected += t.Rejected
		s.Drift += t.Drift
		s.Bytes += t.Bytes
	}
	s.Duration = r.Finished.Sub(r.Started)
	if s.Duration > 0 {
		s.RowsPerSec = float64(s.Read) / s.Duration.Seconds()
	}
	return s
}

// Errors of a run. A run that stops returns a *RunError wrapping one of them (or the failure
// of the source or sink) together with the partial Report.
var (
	// ErrTooManyRejects: more rows were rejected than Options.MaxRejects allows.
	ErrTooManyRejects = errors.New("too many rejected rows")
	// ErrBatchTimeout: a batch write got no answer within Options.BatchTimeout.
	ErrBatchTimeout = errors.New("batch write timed out")
	// ErrStateExists: checkpoints of an earlier run exist and Resume was not asked for.
	ErrStateExists = errors.New("checkpoint state of an earlier run exists")
	// ErrNoState: Resume was asked for, but there is nothing to resume.
	ErrNoState = errors.New("no checkpoint state to resume from")
)

// RunError is returned when a run stops before finishing; Report holds what was done so far
// (like goose's PartialError). Resume the run with Options.Resume.
type RunError struct {
	Op     string          // export, import or copy
	Table  actingweb.Table // table being moved when it stopped ("" if none)
	Report *Report
	Err    error
}

func (e *RunError) Error() string {
	if e.Table != "" {
		return fmt.Sprintf("%s stopped at table %s: %v", e.Op, e.Table, e.Err)
	}
	return fmt.Sprintf("%s stopped: %v", e.Op, e.Err)
}

func (e *RunError) Unwrap() error { return e.Err }

// ValidateOptions shape a Validate run.
type ValidateOptions struct {
	// Tables to compare (empty = all nine).
	Tables []actingweb.Table
	// Partitions is the number of owner-hash partitions per table (default 1024).
	Partitions int
	// MaxDiffs is the number of differences listed per table (default 20); counting goes on.
	MaxDiffs int
	// MemoryRows bounds the rows held at once during the drill-down (default 200000).
	MemoryRows int
	// Segments is the number of parallel scan segments per side (default 4).
	Segments   int
	Consistent bool
	// SkipLookup leaves the property lookup table out (e.g. a side that has none).
	SkipLookup bool
	// Actors limits the comparison to those actors' rows on both sides (a pilot); nil = all.
	Actors   ActorSet
	Progress Progress
	Logger   *slog.Logger
}

// Difference is one finding of Validate. Secret values are never shown (CompareRecords).
type Difference struct {
	Table  actingweb.Table       `json:"table"`
	Key    string                `json:"key"`  // KeyString form
	Kind   string                `json:"kind"` // DiffChanged, DiffOnlyInA, ...
	Fields []actingweb.FieldDiff `json:"fields,omitempty"`
	// Record is a copy of the row (side A's when it has one) of a changed, only-in-A or
	// only-in-B difference, for RecheckLive to read the key again; never marshalled.
	Record actingweb.Record `json:"-"`
}

// Difference kinds.
const (
	DiffChanged    = "changed"
	DiffOnlyInA    = "only in A"
	DiffOnlyInB    = "only in B"
	DiffDuplicateA = "duplicate key in A"
	DiffDuplicateB = "duplicate key in B"
	DiffOrphanA    = "owner without actor in A"
	DiffOrphanB    = "owner without actor in B"
)

// TableValidation is one table's comparison.
type TableValidation struct {
	Table            actingweb.Table `json:"table"`
	CountA           int64           `json:"count_a"`
	CountB           int64           `json:"count_b"`
	Equal            bool            `json:"equal"`
	PartitionsDiffer int             `json:"partitions_differ"`
	Changed          int64           `json:"changed"`
	OnlyInA          int64           `json:"only_in_a"`
	OnlyInB          int64           `json:"only_in_b"`
	DuplicatesA      int64           `json:"duplicates_a"`
	DuplicatesB      int64           `json:"duplicates_b"`
	OrphansA         int64           `json:"orphans_a"` // owner rows without an actor row (reserved ids excepted)
	OrphansB         int64           `json:"orphans_b"`
	RejectsA         int64           `json:"rejects_a"` // rows the source could not decode
	RejectsB         int64           `json:"rejects_b"`
	// InFlight counts listed differences that were gone when read again after the lag had
	// passed them (RecheckLive): changes still on their way when the table was scanned.
	InFlight int64 `json:"in_flight,omitempty"`
	// NotCompared says why the table was not compared (a side without a property lookup
	// table); Equal is true then and no rows were read.
	NotCompared        string        `json:"not_compared,omitempty"`
	Differences        []Difference  `json:"differences,omitempty"`
	DifferencesOmitted int64         `json:"differences_omitted"`
	Duration           time.Duration `json:"duration_ns"`
}

// ValidationReport is the outcome of Validate. Equal is true when every compared table holds
// the same rows (orphans are reported but do not make sides unequal when both sides agree).
type ValidationReport struct {
	A        string            `json:"a"`
	B        string            `json:"b"`
	Equal    bool              `json:"equal"`
	Started  time.Time         `json:"started_at"`
	Finished time.Time         `json:"finished_at"`
	Tables   []TableValidation `json:"tables"`
}

// Copy moves the selected tables from src to dst: actors first, then the other data tables
// (TableParallelism at a time), then the property lookup rebuild on dst (LookupRebuilder).
// A sink whose CheckSchema fails is refused before any write. On a stop it returns the partial
// report and a *RunError.
func Copy(ctx context.Context, src bulk.Source, dst bulk.Sink, o Options) (*Report, error) {
	return run(ctx, "copy", src, dst, o)
}

// Export writes the selected tables of src to a bundle directory dir (created 0700 if
// missing; see docs/bundle-format.md). StateDir defaults to dir. The manifest is written last.
func Export(ctx context.Context, src bulk.Source, dir string, o Options) (*Report, error) {
	return export(ctx, src, dir, o)
}

// Import writes the bundle in dir (or upstream's <table>.json array files) to dst. StateDir
// defaults to dir.
func Import(ctx context.Context, dir string, dst bulk.Sink, o Options) (*Report, error) {
	return importBundle(ctx, dir, dst, o)
}

// Validate compares a and b table by table: row counts, key uniqueness, owners without an
// actor row, and every record field by field in canonical form (actingweb.CompareRecords),
// with memory bounded by ValidateOptions.MemoryRows rather than table size. It returns an
// error only when a side cannot be read; differences are in the report (Equal false).
func Validate(ctx context.Context, a, b bulk.Source, o ValidateOptions) (*ValidationReport, error) {
	return validate(ctx, a, b, o)
}
