package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/actingweb/actingweb-go/migrate"
)

// CutoverOptions are the options of `actingweb cutover`.
type CutoverOptions struct {
	From, To string
	// StateDir is the running sync's state directory; ReverseStateDir the one the reverse
	// sync (rollback) will use. Defaults as for sync.
	StateDir, ReverseStateDir string
	Timeout                   time.Duration
	Report                    string
}

func (a *App) newCutoverCmd() *cobra.Command {
	var o CutoverOptions
	cmd := &cobra.Command{
		Use:   "cutover --from SRC --to DST",
		Short: "Finish a live migration: wait until the sync has applied everything, check, prepare the way back",
		Long: `Run while 'actingweb sync --from SRC --to DST' runs and after the application has stopped
writing to SRC. cutover waits until every change made on SRC so far is applied to DST, compares
the two stores row by row (as 'actingweb validate'), and prepares the reverse direction: a change
capture on DST opened now, recorded in --reverse-state-dir, so that 'actingweb sync --from DST
--to SRC' keeps SRC up to date for a rollback without a second load. It ends with the steps to
take: stop and drop the sync, switch DATABASE_BACKEND, start the reverse sync.

Rollback is the same in the other direction: stop writes to DST, run 'actingweb cutover --from
DST --to SRC' with the reverse sync's state directory, switch back.

Exit codes: 0 the stores are equal and the application can switch now, 1 failed or timed out
(stay on SRC), 3 the stores differ (stay on SRC; the differences are printed), 2 usage.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.RunCutover(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.From, "from", "", "source store of the running sync (required)")
	f.StringVar(&o.To, "to", "", "target store of the running sync (required)")
	f.StringVar(&o.StateDir, "state-dir", "", "the running sync's state directory (default as for sync)")
	f.StringVar(&o.ReverseStateDir, "reverse-state-dir", "", "state directory for the reverse sync (default ./actingweb-state/<target>-to-<source>-sync)")
	f.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "how long to wait for the sync to apply every change")
	f.StringVar(&o.Report, "report", "", "write the JSON report to this file (mode 0600)")
	return cmd
}

// RunCutover runs `actingweb cutover`.
func (a *App) RunCutover(ctx context.Context, o CutoverOptions) error {
	if strings.TrimSpace(o.From) == "" || strings.TrimSpace(o.To) == "" {
		return usageErrorf("cutover: --from and --to are both required")
	}
	stateDir, err := a.syncStateDir(o.StateDir, o.From, o.To)
	if err != nil {
		return err
	}
	revDir, err := a.syncStateDir(o.ReverseStateDir, o.To, o.From)
	if err != nil {
		return err
	}
	if filepath.Clean(stateDir) == filepath.Clean(revDir) {
		return usageErrorf("cutover: --reverse-state-dir must differ from the sync's state directory")
	}
	src, dst, err := a.openPair(ctx, o.From, o.To)
	if err != nil {
		return failed(err)
	}
	defer src.Close()
	defer dst.Close()
	ss, ok1 := src.(migrate.SyncSource)
	ds, ok2 := dst.(migrate.SyncSink)
	if !ok1 || !ok2 {
		return failed(fmt.Errorf("cutover: %s to %s is not a sync this version can run", src.Describe(), dst.Describe()))
	}
	a.Logger.Info("cutover: waiting for the sync to apply every change", "state_dir", stateDir)
	rep, err := migrate.Cutover(ctx, ss, ds, migrate.CutoverOptions{StateDir: stateDir, ReverseStateDir: revDir,
		Timeout: o.Timeout, Logger: a.Logger, Validate: migrate.ValidateOptions{Consistent: true, Logger: a.Logger}})
	if rep != nil && rep.Validation != nil {
		if werr := rep.Validation.WriteText(a.Stdout); werr != nil {
			a.Logger.Warn("cannot print the comparison", "err", werr)
		}
	}
	if rep != nil && o.Report != "" {
		if werr := writeJSONFile(o.Report, rep); werr != nil {
			a.Logger.Error("cannot write the report", "file", o.Report, "err", werr)
		}
	}
	if errors.Is(err, migrate.ErrNotEqual) {
		return &ExitError{Code: ExitMismatch, Err: err}
	}
	if err != nil {
		return failed(err)
	}
	fromSpec, _ := a.ResolveStore(o.From)
	toSpec, _ := a.ResolveStore(o.To)
	w := a.Stdout
	fmt.Fprintf(w, "\nCut-over ready: every change made on the source is applied and the stores are EQUAL.\n")
	fmt.Fprintf(w, "Write pause so far: %s (cut-over started %s; caught up after %s).\n",
		rep.Pause.Round(time.Millisecond), rep.Started.UTC().Format(time.RFC3339), rep.CaughtUp.Sub(rep.Started).Round(time.Millisecond))
	fmt.Fprintf(w, "\nSwitch now:\n")
	fmt.Fprintf(w, "  1. Stop the running sync (Ctrl-C or SIGTERM), then drop its change capture on the source:\n")
	fmt.Fprintf(w, "       actingweb sync drop --from %s --to %s --state-dir %s\n", o.From, o.To, stateDir)
	fmt.Fprintf(w, "  2. Point the application at the target: %s\n", switchHint(toSpec))
	fmt.Fprintf(w, "  3. Keep the way back open (changes on the target applied to the source, no second load):\n")
	fmt.Fprintf(w, "       actingweb sync --from %s --to %s --state-dir %s\n", o.To, o.From, revDir)
	fmt.Fprintf(w, "Rollback: stop writes, then actingweb cutover --from %s --to %s --state-dir %s, and switch back (%s).\n",
		o.To, o.From, revDir, switchHint(fromSpec))
	return nil
}

// switchHint names the settings that point an ActingWeb application at the store s.
func switchHint(s StoreSpec) string {
	switch s.Backend {
	case BackendPostgres:
		c := s.Postgres
		return fmt.Sprintf("DATABASE_BACKEND=postgresql (PG_DB_HOST=%s PG_DB_PORT=%d PG_DB_NAME=%s, schema %s)", c.Host, c.Port, c.Database, c.Schema)
	default:
		c := s.DynamoDB
		return fmt.Sprintf("DATABASE_BACKEND=dynamodb (AWS_DB_PREFIX=%s AWS_DEFAULT_REGION=%s)", c.Prefix, c.Region)
	}
}

func (a *App) newSyncDropCmd() *cobra.Command {
	var from, to, dir string
	cmd := &cobra.Command{
		Use:   "drop --from SRC --to DST",
		Short: "Remove a stopped sync: its change capture on the source (replication slot, publication) and its state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return failed(a.runSyncDrop(cmd.Context(), from, to, dir))
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "source store of the sync (required)")
	f.StringVar(&to, "to", "", "target store of the sync")
	f.StringVar(&dir, "state-dir", "", "the sync's state directory (default as for sync)")
	return cmd
}

func (a *App) runSyncDrop(ctx context.Context, from, to, dir string) error {
	stateDir, err := a.syncStateDir(dir, from, to)
	if err != nil {
		return err
	}
	if strings.TrimSpace(from) == "" {
		return usageErrorf("sync drop: --from is required (the store holding the capture)")
	}
	src, _, err := a.OpenStore(ctx, from)
	if err != nil {
		return err
	}
	defer src.Close()
	cs, ok := src.(migrate.SyncSource)
	if !ok {
		return fmt.Errorf("sync drop: %s has no change capture", src.Describe())
	}
	if err := migrate.DropSync(ctx, cs, stateDir); err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "sync dropped: change capture removed from %s, state removed from %s\n", src.Describe(), stateDir)
	return nil
}
