package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/internal/metrics"
	"github.com/actingweb/actingweb-go/migrate"
	"github.com/spf13/cobra"
)

// SyncOptions are the options of `actingweb sync`.
type SyncOptions struct {
	From, To string
	// Restart drops the capture and the state and starts over with a fresh load.
	Restart bool
	// Name is the capture's name on the source (default: derived from the target).
	Name string
	// BatchChanges is about how many changes one apply holds (0 = 5000).
	BatchChanges int
	// MetricsAddr, when set, is the host:port /metrics is served on (Prometheus).
	MetricsAddr string
	// MaxRetries is how many failures in a row of the streaming phase are retried in the
	// process (migrate.SyncOptions.MaxRetries: 0 = the default, 10; -1 = none).
	MaxRetries int
	Move       MoveFlags
}

// SyncStatusOptions are the options of `actingweb sync status`.
type SyncStatusOptions struct {
	From, To string
	StateDir string
	JSON     bool
}

const syncLong = `Keep the target in step with the source while the application writes to the source: an
initial load (as 'actingweb copy') and then, without a gap, every change made on the source,
applied to the target, until SIGINT or SIGTERM. Run the same command again to continue from
where it stopped (the position is kept in --state-dir, sync.json).

PostgreSQL source: logical replication (wal_level = logical; a role with REPLICATION that owns
the tables). A publication and a replication slot named after the target are created before
the load, and the load reads inside the slot's snapshot, so load and changes meet exactly. The
slot keeps WAL until the sync confirms it: do not leave a stopped sync's slot behind (run with
--restart, or drop it with SELECT pg_drop_replication_slot('<name>')).

DynamoDB source: DynamoDB Streams on the nine tables ('actingweb schema upgrade --to dynamodb
--streams' enables them); stream records are kept 24 hours, so a sync stopped for longer
must start over (--restart).

The target needs its schema at head; start with an empty target. Exit codes: 0 stopped by a
signal after the last applied change was recorded, 1 failed, 2 usage.`

func (a *App) newSyncCmd() *cobra.Command {
	var o SyncOptions
	cmd := &cobra.Command{
		Use:   "sync --from SRC --to DST",
		Short: "Keep a second store in step with a live one (initial load, then change capture)",
		Long:  syncLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return failed(a.RunSync(cmd.Context(), o)) },
	}
	f := cmd.Flags()
	f.StringVar(&o.From, "from", "", "source store: postgresql, dynamodb or a URL (required)")
	f.StringVar(&o.To, "to", "", "target store: postgresql, dynamodb or a URL (required)")
	f.BoolVar(&o.Restart, "restart", false, "drop the capture and the state and start over with a fresh load (after lost change history)")
	f.StringVar(&o.Name, "name", "", "name of the capture on the source (replication slot and publication; default actingweb_sync_<target hash>)")
	f.IntVar(&o.BatchChanges, "batch-changes", 0, "changes applied to the target at once (default 5000)")
	f.IntVar(&o.MaxRetries, "max-retries", 0, "failures in a row while streaming (a lost connection, a server restart) retried in the process before the sync exits 1, with pauses of 1 s doubling to 30 s (default 10; -1 = exit at the first)")
	f.StringVar(&o.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics (lag, applied changes per table, held rows) on this host:port at /metrics")
	f.StringVar(&o.Move.StateDir, "state-dir", "", "sync state and load checkpoints (default ./actingweb-state/<source>-to-<target>-sync)")
	f.IntVar(&o.Move.Segments, "segments", 0, "parallel scan segments per table of the initial load (default 4)")
	f.IntVar(&o.Move.Concurrency, "concurrency", 0, "writers per table of the initial load")
	f.IntVar(&o.Move.BatchSize, "batch-size", 0, "rows per write batch of the initial load")
	f.Float64Var(&o.Move.Rate, "rate", 0, "limit the initial load to this many rows per second (0 = unlimited)")
	f.DurationVar(&o.Move.BatchTimeout, "batch-timeout", 5*time.Minute, "stop when one batch write gets no answer for this long; 0 = wait forever")
	f.BoolVar(&o.Move.ConsistentRead, "consistent-read", true, "strongly consistent DynamoDB scans")
	f.BoolVar(&o.Move.Quiet, "quiet", false, "no progress output")
	f.DurationVar(&o.Move.ProgressInterval, "progress-interval", 0, "period of progress log lines (default 5s)")
	f.StringVar(&o.Move.Actors, "actors", "", "file of actor ids, one per line: load and follow only their rows (a pilot)")

	var so SyncStatusOptions
	status := &cobra.Command{
		Use:   "status --from SRC --to DST",
		Short: "Show a sync's phase, applied changes and lag (from its state directory)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return failed(a.RunSyncStatus(cmd.Context(), so)) },
	}
	sf := status.Flags()
	sf.StringVar(&so.From, "from", "", "source store of the sync (names the default state directory)")
	sf.StringVar(&so.To, "to", "", "target store of the sync")
	sf.StringVar(&so.StateDir, "state-dir", "", "the sync's state directory (default as for sync)")
	sf.BoolVar(&so.JSON, "json", false, "print the state as JSON")
	cmd.AddCommand(status, a.newSyncDropCmd())
	return cmd
}

// syncStateDir is the state directory of a sync between from and to (given or the default).
func (a *App) syncStateDir(given, from, to string) (string, error) {
	if given != "" {
		return given, nil
	}
	if strings.TrimSpace(from) == "" || strings.TrimSpace(to) == "" {
		return "", usageErrorf("sync: --from and --to are both required (or --state-dir)")
	}
	fs, err := a.ResolveStore(from)
	if err != nil {
		return "", err
	}
	ts, err := a.ResolveStore(to)
	if err != nil {
		return "", err
	}
	return filepath.Join("actingweb-state", fs.Slug()+"-to-"+ts.Slug()+"-sync"), nil
}

// RunSync runs `actingweb sync` until ctx ends.
func (a *App) RunSync(ctx context.Context, o SyncOptions) error {
	if strings.TrimSpace(o.From) == "" || strings.TrimSpace(o.To) == "" {
		return usageErrorf("sync: --from and --to are both required")
	}
	if o.BatchChanges < 0 {
		return usageErrorf("sync: --batch-changes must not be negative")
	}
	load, err := a.options(o.Move, bulk.ConflictFail)
	if err != nil {
		return err
	}
	_, toSpec, err := a.resolvePair("sync", o.From, o.To)
	if err != nil {
		return err
	}
	stateDir, err := a.syncStateDir(o.Move.StateDir, o.From, o.To)
	if err != nil {
		return err
	}
	src, dst, err := a.openPair(ctx, o.From, o.To)
	if err != nil {
		return err
	}
	defer src.Close()
	defer dst.Close()
	ss, ok := src.(migrate.SyncSource)
	if !ok {
		return fmt.Errorf("sync: %s cannot capture changes", src.Describe())
	}
	ds, ok := dst.(migrate.SyncSink)
	if !ok {
		return fmt.Errorf("sync: changes cannot be applied to %s", dst.Describe())
	}
	if err := dst.CheckSchema(ctx); err != nil {
		return fmt.Errorf("sync: %w (run 'actingweb schema upgrade --to %s' first)", err, toSpec.Arg)
	}
	prog := a.newProgress(o.Move.Quiet, o.Move.ProgressInterval)
	load.Progress = prog
	stopProgress := sync.OnceFunc(prog.Stop) // the load's bars end when changes are applied
	interval := o.Move.ProgressInterval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	var mu sync.Mutex
	var lastLog time.Time
	var m *metrics.Sync
	if o.MetricsAddr != "" {
		m = metrics.NewSync()
		if !o.Restart {
			if st, err := migrate.ReadSyncStatus(stateDir); err == nil {
				m.Baseline(st)
			}
		}
		addr, err := m.Serve(ctx, o.MetricsAddr)
		if err != nil {
			return err
		}
		a.Logger.Info("sync: metrics served", "url", "http://"+addr.String()+"/metrics")
	}
	a.Logger.Info("sync", "from", src.Describe(), "to", dst.Describe(), "state_dir", stateDir, "restart", o.Restart)
	err = migrate.Sync(ctx, ss, ds, migrate.SyncOptions{
		Name: o.Name, StateDir: stateDir, Restart: o.Restart, Load: load, BatchChanges: o.BatchChanges, MaxRetries: o.MaxRetries, Logger: a.Logger,
		Applied: func(st migrate.SyncStatus) {
			stopProgress()
			if m != nil {
				m.Observe(st)
			}
			mu.Lock()
			defer mu.Unlock()
			if o.Move.Quiet || time.Since(lastLog) < interval {
				return
			}
			lastLog = time.Now()
			a.Logger.Info("sync: streaming", "applied", st.Applied, "lag_s", fmt.Sprintf("%.1f", st.LagSeconds), "caught_up", st.CaughtUp)
		},
	})
	stopProgress()
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		st, rerr := migrate.ReadSyncStatus(stateDir)
		if rerr == nil {
			a.Logger.Info("sync stopped; run the same command to continue", "phase", st.Phase, "applied", st.Applied, "state_dir", stateDir)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w (state in %s)", err, stateDir)
	}
	return nil
}

// RunSyncStatus prints a sync's state.
func (a *App) RunSyncStatus(_ context.Context, o SyncStatusOptions) error {
	dir, err := a.syncStateDir(o.StateDir, o.From, o.To)
	if err != nil {
		return err
	}
	st, err := migrate.ReadSyncStatus(dir)
	if err != nil {
		if errors.Is(err, migrate.ErrNoState) {
			return fmt.Errorf("sync status: no sync state in %s (no sync started there; give --state-dir)", dir)
		}
		return err
	}
	if o.JSON {
		enc := json.NewEncoder(a.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	fmt.Fprintf(a.Stdout, "capture:    %s\nphase:      %s\napplied:    %d changes in %d batches\n", st.Name, st.Phase, st.Applied, st.Batches)
	if !st.LastSourceTime.IsZero() {
		fmt.Fprintf(a.Stdout, "last change: %s\n", st.LastSourceTime.UTC().Format(time.RFC3339Nano))
	}
	fmt.Fprintf(a.Stdout, "lag:        %.1f s (caught up: %v)\nupdated:    %s (%s ago)\n", st.LagSeconds, st.CaughtUp,
		st.UpdatedAt.Format(time.RFC3339), time.Since(st.UpdatedAt).Round(time.Second))
	if st.BehindBytes > 0 {
		fmt.Fprintf(a.Stdout, "behind:     %d bytes of the source's WAL not applied yet\n", st.BehindBytes)
	}
	if len(st.Tables) > 0 {
		fmt.Fprintf(a.Stdout, "\n%26s %12s %12s\n", "table", "loaded", "applied")
		for _, t := range actingweb.Tables {
			if ts := st.Tables[t]; ts != nil {
				fmt.Fprintf(a.Stdout, "%26s %12d %12d\n", t, ts.Loaded, ts.Applied)
			}
		}
	}
	if st.Errors > 0 {
		fmt.Fprintf(a.Stdout, "errors:     %d (%d retried in the process); last at %s: %s\n", st.Errors, st.Retries,
			st.LastErrorAt.UTC().Format(time.RFC3339), actingweb.Printable(st.LastError))
	}
	if st.HeldLookupRows > 0 {
		fmt.Fprintf(a.Stdout, "held:       %d property lookup rows wait for their actor or property row\n", st.HeldLookupRows)
	}
	if _, err := os.Stat(filepath.Join(dir, "load")); err == nil && st.Phase == migrate.PhaseLoading {
		fmt.Fprintf(a.Stdout, "load checkpoints: %s\n", filepath.Join(dir, "load"))
	}
	return nil
}
