package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/capture"
)

// SyncSource is a source whose changes can be captured (PostgreSQL: logical replication;
// DynamoDB: DynamoDB Streams).
type SyncSource interface {
	bulk.Source
	capture.Source
}

// SyncSink is a sink captured changes can be applied to.
type SyncSink interface {
	bulk.Sink
	capture.Sink
}

// SyncOptions shape a Sync run.
type SyncOptions struct {
	// Name names the capture on the source (PostgreSQL: the replication slot and publication).
	// Default: "actingweb_sync_" and 12 hex digits of the target's identity, so syncs from one
	// source to different targets do not share a slot.
	Name string
	// StateDir holds sync.json (the phase and the last applied position) and, under load/, the
	// initial load's checkpoints. Required.
	StateDir string
	// Restart drops an existing capture and state and starts over with a fresh load (after
	// ErrHistoryLost, or to begin again on purpose). The target is not emptied: the load then
	// overwrites what it finds (ConflictOverwrite), and rows the source no longer has stay
	// unless the target is emptied first.
	Restart bool
	// Load shapes the initial load (the copy engine's Options; StateDir, Resume and Progress
	// are set by Sync).
	Load Options
	// BatchChanges is about how many changes are applied in one ApplyChanges call (default
	// 5000; a PostgreSQL transaction is never split).
	BatchChanges int
	// Applied is called after every applied batch, and after every failed attempt that is
	// retried (may be nil), from one goroutine.
	Applied func(SyncStatus)
	// MaxRetries is how many failures in a row of the streaming phase (a lost connection to
	// either store, a server restart, a refused write) are retried in the process before Sync
	// gives up and returns the error: the capture is opened again at the recorded position
	// after a pause of RetryWait doubling up to 30 s. An applied batch starts the count again.
	// Lost history (capture.ErrHistoryLost) is never retried. 0 = DefaultSyncRetries; -1 =
	// no retries.
	MaxRetries int
	// RetryWait is the first pause before a retry (0 = 1 s).
	RetryWait time.Duration
	// Logger receives progress lines (nil: slog.Default()).
	Logger *slog.Logger
}

// SyncStatus is a running sync's state, also kept in <state>/sync.json.
type SyncStatus struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
	// RunID names the sync in the locks it holds on both stores (bulk.Locker), so a
	// restart after SIGKILL takes over a DynamoDB lease its dead process still appears to hold.
	RunID string `json:"run_id"`
	// Phase is "loading" (the initial load runs; its checkpoints are in load/) or "streaming".
	Phase  string            `json:"phase"`
	Source map[string]string `json:"source"`
	Target map[string]string `json:"target"`
	// Start is the capture's start position; Position the source position up to which every
	// change is applied to the target (opaque JSON of the source: {"lsn": ...} on PostgreSQL,
	// stream shard sequence numbers on DynamoDB).
	Start    string `json:"start,omitempty"`
	Position string `json:"position,omitempty"`
	// Applied counts changes applied since the capture started; Batches the ApplyChanges calls.
	Applied int64 `json:"applied"`
	Batches int64 `json:"batches"`
	// LastSourceTime is the source commit time of the last applied change; LagSeconds how far
	// behind the source the target was when that batch was applied (0 when caught up).
	LastSourceTime time.Time `json:"last_source_time,omitzero"`
	LagSeconds     float64   `json:"lag_seconds"`
	// BehindBytes is, for a source that can tell (BacklogMeasurer: PostgreSQL's WAL), how
	// much the source has written after Position when it was last measured (at most once a
	// second): the lag in volume. Counting the changes themselves would take decoding them.
	BehindBytes int64     `json:"behind_bytes,omitempty"`
	CaughtUp    bool      `json:"caught_up"`
	LoadedAt    time.Time `json:"loaded_at,omitzero"`
	UpdatedAt   time.Time `json:"updated_at"`
	// Tables counts per table the rows the initial load wrote and the changes applied since.
	Tables map[actingweb.Table]*SyncTableStatus `json:"tables,omitempty"`
	// Actors names the pilot's actor set (SyncOptions.Load.Actors), "" for all rows.
	Actors string `json:"actors,omitempty"`
	// Overwrite: the initial load replaces rows it finds on the target (a --restart over a
	// target that holds an earlier load) instead of refusing them.
	Overwrite bool `json:"overwrite,omitempty"`
	// HeldLookupRows is the number of property lookup rows waiting for their actor or
	// property row on the target (DynamoDB sources; see ApplyChanges).
	HeldLookupRows int `json:"held_lookup_rows,omitempty"`
	// Errors counts the streaming phase's failures since the capture started, Retries those
	// retried in the process (SyncOptions.MaxRetries); LastError is the latest failure's
	// message and LastErrorAt its time.
	Errors      int64     `json:"errors,omitempty"`
	Retries     int64     `json:"retries,omitempty"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// BacklogMeasurer is implemented by change sources that can tell how far behind their head a
// position is, in bytes of their change log (postgres.Store: WAL).
type BacklogMeasurer interface {
	Behind(ctx context.Context, position string) (bytes int64, err error)
}

// DefaultSyncRetries is SyncOptions.MaxRetries' default: with pauses of 1, 2, 4, 8, 16 and then
// 30 s, about four minutes of failures in a row.
const DefaultSyncRetries = 10

// SyncTableStatus is one table's line of a SyncStatus.
type SyncTableStatus struct {
	Loaded  int64 `json:"loaded"`
	Applied int64 `json:"applied"`
}

// table returns t's line, created on first use.
func (s *SyncStatus) table(t actingweb.Table) *SyncTableStatus {
	if s.Tables == nil {
		s.Tables = map[actingweb.Table]*SyncTableStatus{}
	}
	if s.Tables[t] == nil {
		s.Tables[t] = &SyncTableStatus{}
	}
	return s.Tables[t]
}

const (
	syncStateFile    = "sync.json"
	syncStateVersion = 1
	// PhaseLoading and PhaseStreaming are the values of SyncStatus.Phase.
	PhaseLoading   = "loading"
	PhaseStreaming = "streaming"
)

// ReadSyncStatus reads the sync state in dir (ErrNoState when there is none).
func ReadSyncStatus(dir string) (*SyncStatus, error) {
	b, err := os.ReadFile(filepath.Join(dir, syncStateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s", ErrNoState, dir)
	}
	if err != nil {
		return nil, err
	}
	var st SyncStatus
	if err := json.Unmarshal(b, &st); err != nil || st.Version != syncStateVersion {
		return nil, fmt.Errorf("sync state %s: unreadable or of another version (%v): remove the directory to start over", filepath.Join(dir, syncStateFile), errOrVersion(err, st.Version))
	}
	return &st, nil
}

// writeSyncStatus replaces dir/sync.json atomically and durably (write, fsync, rename, fsync
// of the directory): the position in it is where a restart continues.
func writeSyncStatus(dir string, st *SyncStatus) error {
	st.UpdatedAt = time.Now().UTC()
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	p := filepath.Join(dir, syncStateFile)
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write sync state: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write sync state %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write sync state %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("write sync state: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Sync keeps dst in step with src while the application writes to src: an initial load (the
// Copy engine) and then, without a gap, the changes captured on src applied to dst, until ctx
// ends (it then returns ctx's error after the last applied batch is recorded).
//
// Order and durability: the capture is opened (PostgreSQL: a replication slot whose exported
// snapshot the load reads, so load and stream meet at the slot's start) before the load; the
// stream is applied from the capture's start once the load is done. A batch's changes are
// reduced to each key's final state (a Fill change is completed from the state before it:
// earlier in the batch, else the target's row) and applied with one ApplyChanges call; then
// the batch's position is written to <state>/sync.json (fsync) and acknowledged to the source.
// A restart continues after the recorded position. A kill between the apply and the record
// replays that one batch, whose final states are the same rows again.
//
// A restart during the load resumes the load from its checkpoints, reading the source as it is
// now (the slot's snapshot died with the killed process); the stream then replays every change
// since the slot's start over those rows, so the target converges to the source once caught up
// (rows the resumed load read may briefly show an older state while the replay passes them).
//
// The history the stream needs being gone (capture.ErrHistoryLost) stops Sync; rerun with
// Restart for a fresh load. Sync holds the state directory's lock while it runs.
func Sync(ctx context.Context, src SyncSource, dst SyncSink, o SyncOptions) error {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	if o.StateDir == "" {
		return fmt.Errorf("sync: %w: a state directory is required", actingweb.ErrInvalid)
	}
	if o.BatchChanges <= 0 {
		o.BatchChanges = 5000
	}
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return fmt.Errorf("sync: create state directory %s: %w", o.StateDir, err)
	}
	lock, err := lockDir(o.StateDir, stateLockFile, "sync")
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	defer lock.Close()
	srcID, err := identityOf(ctx, src)
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	dstID, err := identityOf(ctx, dst)
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if o.Name == "" {
		o.Name = DefaultSyncName(dstID)
	}
	loadDir := filepath.Join(o.StateDir, "load")

	st, err := ReadSyncStatus(o.StateDir)
	if err != nil && !errors.Is(err, ErrNoState) {
		return fmt.Errorf("sync: %w", err)
	}
	if st != nil && !o.Restart {
		if d := append(diffIdentity("source", st.Source, srcID), diffIdentity("target", st.Target, dstID)...); len(d) > 0 {
			return fmt.Errorf("sync: %w: the state in %s is of a sync between other stores: %v (use its own state directory, or --restart to start over here)", ErrRunMismatch, o.StateDir, d)
		}
		if st.Actors != o.Load.Actors.digest() {
			return fmt.Errorf("sync: %w: the state in %s is of a sync of actors %s, not %s (--restart to start over)", ErrRunMismatch, o.StateDir, orNone(st.Actors), orNone(o.Load.Actors.digest()))
		}
		if st.Name != o.Name {
			return fmt.Errorf("sync: %w: the state in %s is of capture %s, not %s", ErrRunMismatch, o.StateDir, st.Name, o.Name)
		}
	}

	runID := newRunID()
	if st != nil && !o.Restart {
		runID = st.RunID
	}
	// One sync per store, either end: a sync in the other direction between the same stores
	// while this one runs would send every change back where it came from, for ever.
	for _, end := range []struct {
		x    any
		what string
	}{{src, "source"}, {dst, "target"}} {
		release, err := holdSyncLock(ctx, end.x, runID)
		if err != nil {
			return fmt.Errorf("sync: %s %s: %w", end.what, describe(end.x), err)
		}
		defer release()
	}

	var capt capture.Capture
	resumeLoad := false
	if st == nil || o.Restart {
		// A fresh start: whatever an earlier attempt left (a slot created before it died,
		// load checkpoints) goes first.
		if err := src.DropCapture(ctx, o.Name); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
		if err := os.RemoveAll(loadDir); err != nil {
			return fmt.Errorf("sync: remove %s: %w", loadDir, err)
		}
		capt, err = src.OpenCapture(ctx, o.Name, true)
		if err != nil {
			return fmt.Errorf("sync: %w", err)
		}
		st = &SyncStatus{Version: syncStateVersion, Name: o.Name, RunID: runID, Phase: PhaseLoading, Source: srcID, Target: dstID,
			Start: capt.Start(), Position: capt.Start(), Actors: o.Load.Actors.digest(),
			Overwrite: o.Restart || o.Load.Policy == bulk.ConflictOverwrite}
		if err := writeSyncStatus(o.StateDir, st); err != nil {
			capt.Close()
			return fmt.Errorf("sync: %w", err)
		}
		log.Info("sync: capture opened, initial load starts", "capture", o.Name, "source", describe(src), "target", describe(dst))
	} else {
		capt, err = src.OpenCapture(ctx, o.Name, false)
		if err != nil {
			if errors.Is(err, actingweb.ErrNotFound) || errors.Is(err, capture.ErrHistoryLost) {
				return fmt.Errorf("sync: %w: the capture cannot continue; rerun with --restart for a fresh load", err)
			}
			return fmt.Errorf("sync: %w", err)
		}
		resumeLoad = st.Phase == PhaseLoading
		log.Info("sync: continuing", "capture", o.Name, "phase", st.Phase)
	}
	defer func() {
		if capt != nil {
			capt.Close()
		}
	}()

	if st.Phase == PhaseLoading {
		lo := o.Load
		lo.StateDir = loadDir
		lo.Resume = resumeLoad
		if st.Overwrite {
			lo.Policy = bulk.ConflictOverwrite
		}
		if resumeLoad {
			if _, err := os.Stat(filepath.Join(loadDir, runStateFile)); err != nil {
				// Killed before the load wrote its first checkpoint: start the load again
				// over what it may have written.
				lo.Resume = false
				lo.Policy = bulk.ConflictOverwrite
			}
		}
		rep, err := Copy(ctx, capt.LoadSource(), dst, lo)
		if err != nil {
			return fmt.Errorf("sync: initial load: %w", err)
		}
		for _, ts := range rep.Tables {
			st.table(ts.Table).Loaded += ts.Written + ts.Skipped
		}
		st.Phase = PhaseStreaming
		st.LoadedAt = time.Now().UTC()
		if err := writeSyncStatus(o.StateDir, st); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
		log.Info("sync: initial load done, applying changes", "capture", o.Name)
	}

	a := &applier{dst: dst, log: log, held: map[string]heldRecord{}}
	failures := 0 // in a row
	bm, _ := src.(BacklogMeasurer)
	var measured time.Time
	applyBatch := func(b capture.Batch) error {
		if o.Load.Actors != nil { // a pilot: the other actors' changes are not applied
			kept := b.Changes[:0:0]
			for _, ch := range b.Changes {
				if o.Load.Actors.Has(ch.Record) {
					kept = append(kept, ch)
				}
			}
			b.Changes = kept
		}
		n, err := a.apply(ctx, b.Changes)
		if err != nil {
			return err
		}
		for _, ch := range b.Changes {
			st.table(ch.Table).Applied++
		}
		st.Applied += int64(n)
		st.HeldLookupRows = len(a.held)
		if len(a.held) > 0 {
			// Held-back lookup rows live only in memory: the recorded position stays where a
			// restart replays them from.
			if o.Applied != nil {
				o.Applied(*st)
			}
			return nil
		}
		st.Position = b.Position
		st.CaughtUp = b.CaughtUp
		if n > 0 {
			st.Batches++
			st.LastSourceTime = b.SourceTime
		}
		st.LagSeconds = 0
		if !b.CaughtUp && !b.SourceTime.IsZero() {
			st.LagSeconds = time.Since(b.SourceTime).Seconds()
		}
		if bm != nil && time.Since(measured) >= time.Second {
			if behind, err := bm.Behind(ctx, st.Position); err == nil {
				st.BehindBytes = behind
			} else { // the last measurement stays: a gauge, not a position
				log.Debug("sync: backlog not measured", "err", err)
			}
			measured = time.Now()
		}
		if err := writeSyncStatus(o.StateDir, st); err != nil {
			return err
		}
		capt.Ack(b.Position)
		if n > 0 {
			failures = 0
		}
		if o.Applied != nil {
			o.Applied(*st)
		}
		return nil
	}
	maxRetries := o.MaxRetries
	switch {
	case maxRetries == 0:
		maxRetries = DefaultSyncRetries
	case maxRetries < 0:
		maxRetries = 0
	}
	wait := o.RetryWait
	if wait <= 0 {
		wait = time.Second
	}
	for {
		err = capt.Stream(ctx, st.Position, o.BatchChanges, applyBatch)
		if err == nil || ctx.Err() != nil || errors.Is(err, capture.ErrHistoryLost) {
			break
		}
		failures++
		st.Errors++
		st.LastError, st.LastErrorAt = actingweb.RedactPasswords(err.Error()), time.Now().UTC()
		if failures > maxRetries {
			writeSyncStatus(o.StateDir, st) // best effort: the error is returned either way
			if o.Applied != nil {
				o.Applied(*st)
			}
			return fmt.Errorf("sync: %w (failed %d times in a row; the last applied position is recorded: run the same command again to continue)", err, failures)
		}
		st.Retries++
		pause := min(wait<<(failures-1), 30*time.Second)
		log.Warn("sync: streaming failed; opening the capture again at the recorded position",
			"attempt", failures, "of", maxRetries, "in", pause, "err", err)
		if werr := writeSyncStatus(o.StateDir, st); werr != nil {
			return fmt.Errorf("sync: %w", werr)
		}
		if o.Applied != nil {
			o.Applied(*st)
		}
		capt.Close()
		capt = nil
		for capt == nil {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pause):
			}
			c, oerr := src.OpenCapture(ctx, o.Name, false)
			if oerr == nil {
				capt = c
				break
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(oerr, actingweb.ErrNotFound) || errors.Is(oerr, capture.ErrHistoryLost) || failures >= maxRetries {
				return fmt.Errorf("sync: %w: the capture cannot continue (open it again after a failure: %v)", oerr, err)
			}
			failures++
			st.Errors++
			st.Retries++
			pause = min(wait<<(failures-1), 30*time.Second)
			log.Warn("sync: opening the capture again failed; retrying", "attempt", failures, "of", maxRetries, "in", pause, "err", oerr)
		}
	}
	if errors.Is(err, capture.ErrHistoryLost) {
		return fmt.Errorf("sync: %w: the target cannot be brought in step from where it is; rerun with --restart for a fresh load", err)
	}
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("sync: %w", err)
	}
	return err
}

// SyncLockName is the name of the lock a sync holds on its source and its target
// (bulk.Locker) while it runs.
const SyncLockName = "sync"

// holdSyncLock takes the sync lock on end when it is a Locker; release gives it up. A lost lock
// is logged by the store; the sync goes on (its writes are idempotent).
func holdSyncLock(ctx context.Context, end any, runID string) (release func(), err error) {
	lk, ok := end.(bulk.Locker)
	if !ok {
		return func() {}, nil
	}
	l, err := lk.Lock(ctx, SyncLockName, holder("sync"), runID)
	if err != nil {
		if errors.Is(err, actingweb.ErrLocked) {
			return nil, fmt.Errorf("%w (a sync in either direction, or a cut-over step, runs on this store: stop it first)", err)
		}
		return nil, err
	}
	return func() { l.Release(context.WithoutCancel(ctx)) }, nil
}

// DefaultSyncName is the capture name of a sync into the target whose identity is id.
func DefaultSyncName(id map[string]string) string {
	b, _ := json.Marshal(id) // map keys are sorted
	h := sha256.Sum256(b)
	return "actingweb_sync_" + hex.EncodeToString(h[:6])
}

// applier reduces a batch to each key's final state and applies it.
type applier struct {
	dst SyncSink
	log *slog.Logger
	// held are property lookup rows the target could not take yet: their actor row had not
	// arrived (DynamoDB Streams keep no order between tables). They are applied again with
	// every batch until the actor row is there, a newer change of their key replaces them, or
	// HeldLookupTimeout passes (a lookup row of an actor the source does not have either).
	held map[string]heldRecord
}

type heldRecord struct {
	rec   actingweb.Record
	since time.Time
}

// HeldLookupTimeout is how long a property lookup row waits for its actor row on the target
// before it is dropped with a warning (the source then has a lookup row without an actor, which
// a PostgreSQL target refuses, as the copy engine does).
const HeldLookupTimeout = time.Minute

type finalState struct {
	rec    actingweb.Record
	delete bool
}

func changeKey(t actingweb.Table, r actingweb.Record) string { return string(t) + "\x00" + r.Key() }

// apply applies the held rows and changes; returns how many changes the batch held.
func (a *applier) apply(ctx context.Context, changes []capture.Change) (int, error) {
	if len(changes) == 0 && len(a.held) == 0 {
		return 0, nil
	}
	final := make(map[string]*finalState, len(changes)+len(a.held))
	var order []string
	for k, h := range a.held {
		final[k] = &finalState{rec: h.rec}
		order = append(order, k)
	}
	for _, ch := range changes {
		k := changeKey(ch.Table, ch.Record)
		rec := ch.Record
		if ch.Fill != nil && !ch.Delete {
			var prev actingweb.Record
			if f, ok := final[k]; ok {
				if !f.delete {
					prev = f.rec
				}
			} else {
				p, err := a.dst.GetRecord(ctx, ch.Record)
				if err != nil && !errors.Is(err, actingweb.ErrNotFound) {
					return 0, fmt.Errorf("apply a change to %s, key %s: read the row's previous state: %w", ch.Table, actingweb.KeyString(ch.Record.Key()), err)
				}
				prev = p
			}
			full, err := ch.Fill(prev)
			if err != nil {
				return 0, fmt.Errorf("apply a change to %s, key %s: %w", ch.Table, actingweb.KeyString(ch.Record.Key()), err)
			}
			rec = full
		}
		delete(a.held, k) // a newer change of the key replaces a held row
		if f, ok := final[k]; ok {
			f.rec, f.delete = rec, ch.Delete
			continue
		}
		final[k] = &finalState{rec: rec, delete: ch.Delete}
		order = append(order, k)
	}
	var ups, dels []actingweb.Record
	for _, k := range order {
		if f := final[k]; f.delete {
			dels = append(dels, f.rec)
		} else {
			ups = append(ups, f.rec)
		}
	}
	err := a.dst.ApplyChanges(ctx, ups, dels)
	var om *capture.OwnerMissingError
	if errors.As(err, &om) {
		now := time.Now()
		next := make(map[string]heldRecord, len(om.Records))
		dropped := 0
		for _, r := range om.Records {
			k := changeKey(r.Table(), r)
			h, ok := a.held[k]
			if !ok {
				h = heldRecord{rec: r, since: now}
			}
			if now.Sub(h.since) > HeldLookupTimeout {
				dropped++
				continue
			}
			next[k] = h
		}
		a.held = next
		if dropped > 0 {
			a.log.Warn("sync: property lookup rows dropped: their actor never arrived on the target (the source has lookup rows without an actor)", "rows", dropped)
		}
		return len(changes), nil
	}
	if err != nil {
		return 0, err
	}
	a.held = map[string]heldRecord{}
	return len(changes), nil
}
