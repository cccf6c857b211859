package migrate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/capture"
)

// HeadPositioner is implemented by change sources that can name a position at or after every
// change committed so far and compare positions (PostgreSQL: pg_current_wal_insert_lsn). A cut-over
// waits until the sync's applied position reaches the head it read after writes stopped;
// without it (DynamoDB) it waits for the sync to report that every stream shard was read to
// its end after the cut-over began, plus CutoverOptions.Settle.
type HeadPositioner interface {
	HeadPosition(ctx context.Context) (string, error)
	PositionReached(pos, head string) (bool, error)
}

// StreamEnabler is implemented by stores whose change capture must be switched on per table
// (DynamoDB Streams; dynamodb.Store.EnableStreams). Cutover switches it on on the target
// before it opens the reverse capture; it returns the tables it changed.
type StreamEnabler interface {
	EnableStreams(ctx context.Context) ([]string, error)
}

// CutoverOptions shape a Cutover.
type CutoverOptions struct {
	// StateDir is the running sync's state directory (src → dst). Required.
	StateDir string
	// ReverseStateDir receives the state of the reverse sync (dst → src) that rollback runs.
	// Required.
	ReverseStateDir string
	// Timeout bounds the wait for the sync to apply everything (default 5 minutes).
	Timeout time.Duration
	// Settle is how long after the cut-over began a DynamoDB source's stream must still be
	// found read to its end (stream records appear shortly after the write; default 2 s).
	Settle time.Duration
	// Validate shapes the final comparison.
	Validate ValidateOptions
	Logger   *slog.Logger
}

// CutoverReport is the outcome of a Cutover.
type CutoverReport struct {
	Started time.Time `json:"started_at"`
	// CaughtUp is when the sync had applied every change made on the source before Started.
	CaughtUp time.Time `json:"caught_up_at"`
	// Ready is when the stores were found equal and the reverse capture was prepared: the
	// moment to switch the application. Pause is Ready - Started (the writes stopped before
	// Started, so the whole write pause is a little longer).
	Ready      time.Time         `json:"ready_at"`
	Pause      time.Duration     `json:"pause_ns"`
	Applied    int64             `json:"applied"`
	Validation *ValidationReport `json:"validation"`
	Reverse    *SyncStatus       `json:"reverse,omitempty"`
	Forward    *SyncStatus       `json:"forward"`
}

// ErrNotEqual: the stores differ after the sync caught up; the cut-over did not happen.
var ErrNotEqual = errors.New("the stores are not equal")

// Cutover is run while Sync runs from src to dst and after the application stopped writing to
// src. It waits until every change made on src so far is applied to dst, compares the stores
// (Validate, every table and key), and prepares the reverse direction: a capture on dst opened
// at this instant, its position written to ReverseStateDir as a sync in the streaming phase, so
// the reverse sync (dst → src) that a rollback needs starts without a second load. It returns
// ErrNotEqual (and the report) when the stores differ; the application must then stay on src.
func Cutover(ctx context.Context, src SyncSource, dst SyncSink, o CutoverOptions) (*CutoverReport, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Settle <= 0 {
		o.Settle = 2 * time.Second
	}
	if o.StateDir == "" || o.ReverseStateDir == "" {
		return nil, fmt.Errorf("cutover: %w: the sync's state directory and the reverse state directory are required", actingweb.ErrInvalid)
	}
	rev, ok := dst.(SyncSource)
	if !ok {
		return nil, fmt.Errorf("cutover: %s cannot capture changes: there would be no way back", describe(dst))
	}
	if _, ok := src.(SyncSink); !ok {
		return nil, fmt.Errorf("cutover: changes cannot be applied to %s: there would be no way back", describe(src))
	}
	rep := &CutoverReport{Started: time.Now()}
	st, err := ReadSyncStatus(o.StateDir)
	if err != nil {
		return nil, fmt.Errorf("cutover: %w (is `actingweb sync` running with this --state-dir?)", err)
	}
	if st.Phase != PhaseStreaming {
		return nil, fmt.Errorf("cutover: the sync in %s is still in its initial load: wait until it streams changes", o.StateDir)
	}

	// 1. Every change made on src so far applied to dst.
	reached := func(s *SyncStatus) (bool, error) {
		return s.CaughtUp && s.UpdatedAt.After(rep.Started.Add(o.Settle)), nil
	}
	if hp, ok := src.(HeadPositioner); ok {
		head, err := hp.HeadPosition(ctx)
		if err != nil {
			return nil, fmt.Errorf("cutover: %w", err)
		}
		reached = func(s *SyncStatus) (bool, error) { return hp.PositionReached(s.Position, head) }
	}
	deadline := time.Now().Add(o.Timeout)
	for {
		st, err = ReadSyncStatus(o.StateDir)
		if err != nil {
			return nil, fmt.Errorf("cutover: %w", err)
		}
		ok, err := reached(st)
		if err != nil {
			return nil, fmt.Errorf("cutover: %w", err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("cutover: the sync in %s has not applied every change within %s (last update %s, applied %d): is it running, and have writes to the source stopped?",
				o.StateDir, o.Timeout, st.UpdatedAt.Format(time.RFC3339), st.Applied)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond): // sync.json is replaced by rename at every batch
		}
	}
	rep.CaughtUp, rep.Forward, rep.Applied = time.Now(), st, st.Applied
	log.Info("cutover: every change applied", "after", rep.CaughtUp.Sub(rep.Started).Round(time.Millisecond))

	// 2. The stores are equal.
	vo := o.Validate
	vo.Logger = log
	vrep, err := Validate(ctx, src, rev, vo)
	if err != nil {
		return rep, fmt.Errorf("cutover: validate: %w", err)
	}
	rep.Validation = vrep
	if !vrep.Equal {
		return rep, fmt.Errorf("cutover: %w: the application must stay on %s (the report lists the differences)", ErrNotEqual, describe(src))
	}

	// 3. The way back: a capture on dst from this instant, recorded as a streaming sync.
	srcID, err := identityOf(ctx, src)
	if err != nil {
		return rep, fmt.Errorf("cutover: %w", err)
	}
	dstID, err := identityOf(ctx, dst)
	if err != nil {
		return rep, fmt.Errorf("cutover: %w", err)
	}
	name := DefaultSyncName(srcID)
	if err := os.MkdirAll(o.ReverseStateDir, 0o700); err != nil {
		return rep, fmt.Errorf("cutover: create %s: %w", o.ReverseStateDir, err)
	}
	lock, err := lockDir(o.ReverseStateDir, stateLockFile, "cutover")
	if err != nil {
		return rep, fmt.Errorf("cutover: %w", err)
	}
	defer lock.Close()
	if se, ok := dst.(StreamEnabler); ok {
		changed, err := se.EnableStreams(ctx)
		if err != nil {
			return rep, fmt.Errorf("cutover: enable change capture on %s for the way back: %w", describe(dst), err)
		}
		if len(changed) > 0 {
			log.Info("cutover: streams enabled on the target for the way back", "tables", changed)
		}
	}
	if err := rev.DropCapture(ctx, name); err != nil {
		return rep, fmt.Errorf("cutover: %w", err)
	}
	capture, err := rev.OpenCapture(ctx, name, true)
	if err != nil {
		return rep, fmt.Errorf("cutover: prepare the reverse capture on %s: %w", describe(dst), err)
	}
	now := time.Now().UTC()
	rs := &SyncStatus{Version: syncStateVersion, Name: name, RunID: newRunID(), Phase: PhaseStreaming,
		Source: dstID, Target: srcID, Start: capture.Start(), Position: capture.Start(), LoadedAt: now, CaughtUp: true}
	capture.Close()
	os.RemoveAll(filepath.Join(o.ReverseStateDir, "load"))
	if err := writeSyncStatus(o.ReverseStateDir, rs); err != nil {
		return rep, fmt.Errorf("cutover: %w", err)
	}
	rep.Reverse = rs
	rep.Ready = time.Now()
	rep.Pause = rep.Ready.Sub(rep.Started)
	return rep, nil
}

// DropSync removes a stopped sync: its capture on the source (PostgreSQL: the replication slot
// and publication, which otherwise keep WAL on the server) and its state directory's files. It
// fails with actingweb.ErrLocked while the sync runs.
func DropSync(ctx context.Context, src capture.Source, stateDir string) error {
	lock, err := lockDir(stateDir, stateLockFile, "sync drop")
	if err != nil {
		return fmt.Errorf("sync drop: %w", err)
	}
	defer lock.Close()
	st, err := ReadSyncStatus(stateDir)
	if err != nil {
		return fmt.Errorf("sync drop: %w", err)
	}
	if err := src.DropCapture(ctx, st.Name); err != nil {
		return fmt.Errorf("sync drop: %w", err)
	}
	if err := os.RemoveAll(filepath.Join(stateDir, "load")); err != nil {
		return fmt.Errorf("sync drop: %w", err)
	}
	if err := os.Remove(filepath.Join(stateDir, syncStateFile)); err != nil {
		return fmt.Errorf("sync drop: %w", err)
	}
	return nil
}
