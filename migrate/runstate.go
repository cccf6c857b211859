package migrate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bundle"
)

// runStateFile is the name of the run's identity file in a state directory.
const runStateFile = "run.json"

// runStateVersion is the layout version of run.json.
const runStateVersion = 1

// runState is <state-dir>/run.json: what a run moves, from where to where, and the options
// that shape the data. It is written before the first checkpoint and removed with the last
// one; a resume whose ends or options differ from it is refused (ErrRunMismatch), so the
// checkpoints of one run never continue another.
type runState struct {
	Version int       `json:"version"`
	RunID   string    `json:"run_id"` // random, names the run in target locks (Locker)
	Op      string    `json:"op"`
	Started time.Time `json:"started_at"`
	// Source and Target are the ends' identities (Identifier; bundle directories by path
	// and manifest digest).
	Source map[string]string `json:"source"`
	Target map[string]string `json:"target"`
	// Tables are the tables the run moves row by row; a resume may continue a subset of them
	// and keeps the progress of the others.
	Tables []actingweb.Table `json:"tables"`
	// Rebuild: the run rebuilds the property lookup on the target after its tables.
	Rebuild       bool   `json:"rebuild,omitempty"`
	Policy        string `json:"policy"`
	Segments      int    `json:"segments"`
	Segment       int    `json:"segment"`
	TotalSegments int    `json:"total_segments"`
	// Actors names the pilot's actor set (ActorSet.digest), "" for all rows.
	Actors string `json:"actors,omitempty"`
}

// ErrRunMismatch: a resume's source, target or data-shaping options differ from those of the
// run whose checkpoints are in the state directory.
var ErrRunMismatch = errors.New("the checkpoints belong to another run")

// Identifier is implemented by ends that can name what they are beyond Describe: a few named
// values that stay the same while the end is the same database, table set or bundle, and
// change when it is another one (a PostgreSQL system identifier, database OID and schema; a
// DynamoDB endpoint, region, prefix and each table's creation time). A run records them in
// run.json, and a resume against an end whose identity differs is refused, naming the values
// that differ. Values must never hold a password.
type Identifier interface {
	Identity(ctx context.Context) (map[string]string, error)
}

// identityOf returns end's identity: the Identifier's, the bundle directory's for bundles
// (absolute path; for a bundle read, the SHA-256 of its manifest.json, or of its upstream
// array files' names, sizes and modification times), or just Describe.
func identityOf(ctx context.Context, end any) (map[string]string, error) {
	switch x := end.(type) {
	case Identifier:
		id, err := x.Identity(ctx)
		if err != nil {
			return nil, fmt.Errorf("identify %s: %w", describe(end), err)
		}
		return id, nil
	case *bundle.Writer:
		abs, err := filepath.Abs(x.Dir())
		if err != nil {
			return nil, err
		}
		return map[string]string{"bundle directory": abs}, nil
	}
	return map[string]string{"end": describe(end)}, nil
}

// bundleIdentity is the identity of the bundle read from dir by r: its directory and
// r.Digest (the SHA-256 of manifest.json, or of upstream's array files).
func bundleIdentity(dir string, r *bundle.Reader) (map[string]string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return map[string]string{"bundle directory": abs, "bundle digest (sha256)": r.Digest()}, nil
}

func runStatePath(dir string) string { return filepath.Join(dir, runStateFile) }

// readRunState reads dir/run.json; nil without one.
func readRunState(dir string) (*runState, error) {
	b, err := os.ReadFile(runStatePath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", runStatePath(dir), err)
	}
	var rs runState
	if err := json.Unmarshal(b, &rs); err != nil || rs.Version != runStateVersion {
		return nil, fmt.Errorf("%s is damaged or from another tool version (%v): remove the state directory's run.json and *.checkpoint.json files and start again", runStatePath(dir), errOrVersion(err, rs.Version))
	}
	return &rs, nil
}

func errOrVersion(err error, v int) any {
	if err != nil {
		return err
	}
	return fmt.Sprintf("version %d", v)
}

func writeRunState(dir string, rs *runState) error {
	b, err := json.MarshalIndent(rs, "", "  ")
	if err != nil {
		return err
	}
	if err := bundle.WriteFileAtomic(runStatePath(dir), b); err != nil {
		return fmt.Errorf("write %s: %w", runStatePath(dir), err)
	}
	return nil
}

func newRunID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// mismatch lists how cur differs from the recorded run rs (empty: the same run). tables are
// the tables asked for now (nil: all of the run's).
func (rs *runState) mismatch(cur *runState, asked []actingweb.Table) []string {
	var out []string
	if rs.Op != cur.Op {
		out = append(out, fmt.Sprintf("operation %s, the run's %s", cur.Op, rs.Op))
	}
	out = append(out, diffIdentity("source", rs.Source, cur.Source)...)
	out = append(out, diffIdentity("target", rs.Target, cur.Target)...)
	if rs.Policy != cur.Policy {
		out = append(out, fmt.Sprintf("--on-conflict %s, the run's %s", orNone(cur.Policy), orNone(rs.Policy)))
	}
	if rs.Segments != cur.Segments || rs.Segment != cur.Segment || rs.TotalSegments != cur.TotalSegments {
		out = append(out, fmt.Sprintf("segments %d, share %d of %d; the run's %d, share %d of %d",
			cur.Segments, cur.Segment, cur.TotalSegments, rs.Segments, rs.Segment, rs.TotalSegments))
	}
	if rs.Actors != cur.Actors {
		out = append(out, fmt.Sprintf("actors %s, the run's %s", orNone(cur.Actors), orNone(rs.Actors)))
	}
	for _, t := range asked {
		if !slices.Contains(rs.Tables, t) {
			out = append(out, fmt.Sprintf("table %s is not one of the run's (%s)", t, tableNames(rs.Tables)))
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// diffIdentity lists the values of side that differ between was and now.
func diffIdentity(side string, was, now map[string]string) []string {
	keys := map[string]bool{}
	for k := range was {
		keys[k] = true
	}
	for k := range now {
		keys[k] = true
	}
	ks := make([]string, 0, len(keys))
	for k := range keys {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var out []string
	for _, k := range ks {
		a, b := was[k], now[k]
		if a != b {
			out = append(out, fmt.Sprintf("%s %s is %s, the run's was %s", side, k, orNone(b), orNone(a)))
		}
	}
	return out
}

// prepareState checks the state directory against the run about to start and returns the
// run state to record (the recorded one on resume). copyTables are the tables the run moves
// now; asked says whether the caller chose them (Options.Tables). On resume without a
// choice, the run continues the recorded tables.
func (e *engine) prepareState(ctx context.Context, copyTables []actingweb.Table, rebuild, asked bool) (*runState, []actingweb.Table, error) {
	o := e.o
	cur := &runState{Version: runStateVersion, Op: e.op, Started: time.Now().UTC(), Tables: copyTables, Rebuild: rebuild,
		Policy: o.Policy.String(), Segments: o.Segments, Segment: o.Segment, TotalSegments: o.TotalSegments,
		Actors: o.Actors.digest()}
	if e.op == "export" {
		cur.Policy = ""
	}
	var err error
	if cur.Source, err = e.identity(ctx, e.src, o.srcIdentity); err != nil {
		return nil, nil, err
	}
	if cur.Target, err = e.identity(ctx, e.dst, o.dstIdentity); err != nil {
		return nil, nil, err
	}
	rs, err := readRunState(o.StateDir)
	if err != nil {
		return nil, nil, err
	}
	existing := existingCheckpoints(o.StateDir)
	switch {
	case !o.Resume && (rs != nil || len(existing) > 0):
		what := "run.json"
		if len(existing) > 0 {
			what = "tables " + tableNames(existing)
		}
		return nil, nil, fmt.Errorf("%w in %s (%s): resume with --resume, or remove the directory's run.json and *.checkpoint.json files to start over",
			ErrStateExists, o.StateDir, what)
	case o.Resume && rs == nil && len(existing) > 0:
		return nil, nil, fmt.Errorf("%w: %s holds checkpoints (tables %s) but no run.json naming their run (an earlier tool version wrote them): they cannot be checked against this run; remove them and start again",
			ErrRunMismatch, o.StateDir, tableNames(existing))
	case o.Resume && rs == nil:
		return nil, nil, fmt.Errorf("%w in %s", ErrNoState, o.StateDir)
	case !o.Resume:
		cur.RunID = newRunID()
		if err := writeRunState(o.StateDir, cur); err != nil {
			return nil, nil, err
		}
		return cur, copyTables, nil
	}
	var askedTables []actingweb.Table
	if asked {
		askedTables = copyTables
	}
	if diffs := rs.mismatch(cur, askedTables); len(diffs) > 0 {
		return nil, nil, fmt.Errorf("%w in %s (started %s): %s; resume with the run's own --from/--to/--input-dir and options, or remove the state directory to start a new run",
			ErrRunMismatch, o.StateDir, rs.Started.Format(time.RFC3339), strings.Join(diffs, "; "))
	}
	if !asked {
		copyTables = rs.Tables
	}
	return rs, copyTables, nil
}

// identity is the identity of end, or given when the entry point knows it (bundles).
func (e *engine) identity(ctx context.Context, end any, given map[string]string) (map[string]string, error) {
	if given != nil {
		return given, nil
	}
	return identityOf(ctx, end)
}

// finishState removes the run's checkpoints and run.json once every table of the run is
// done (this run or an earlier one); otherwise it keeps them, the finished tables' marked
// done, for the next --resume.
func (e *engine) finishState(rs *runState) error {
	dir := e.o.StateDir
	var open []actingweb.Table
	for _, t := range rs.Tables {
		cp, err := readCheckpoint(dir, t)
		if err != nil {
			return err
		}
		if cp == nil || !cp.Done {
			open = append(open, t)
		}
	}
	if len(open) > 0 {
		e.log.Info("run not complete: checkpoints kept for --resume", "state_dir", dir, "tables_to_go", tableNames(open))
		return nil
	}
	for _, t := range rs.Tables {
		if err := os.Remove(checkpointPath(dir, t)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := os.Remove(runStatePath(dir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
