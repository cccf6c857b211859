package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/dualwrite"
)

// PhaseOptions are the options of `actingweb phase get` and `actingweb phase set`.
type PhaseOptions struct {
	Old, New string
	// Key is the control record holding the phase (dualwrite.DefaultControlKey).
	Key string
}

func (a *App) newPhaseCmd() *cobra.Command {
	var o PhaseOptions
	cmd := &cobra.Command{
		Use:   "phase",
		Short: "Show or move the dual-write phase of applications using package dualwrite",
		Long: `Applications built on github.com/actingweb/actingweb-go/dualwrite use an old and a new store
in one of four phases: old -> write-both -> read-new -> new. The phase is kept in a control
record in the OLD store (table actingweb_go_control, created on first use); every running
instance reads it again within its cache time (at most 5 s), so a move needs no restart.

A move goes one step forward or back; a larger move is refused (exit 2). See docs/dualwrite.md.`,
	}
	get := &cobra.Command{
		Use:   "get --old SRC --new DST",
		Short: "Print the phase and what the application does in it",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return a.RunPhaseGet(cmd.Context(), o) },
	}
	set := &cobra.Command{
		Use:   "set PHASE --old SRC --new DST",
		Short: "Move the phase one step (old, write-both, read-new, new)",
		Args:  cobra.ExactArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return a.RunPhaseSet(cmd.Context(), args[0], o) },
	}
	for _, c := range []*cobra.Command{get, set} {
		f := c.Flags()
		f.StringVar(&o.Old, "old", "", "the old store, which holds the control record (required)")
		f.StringVar(&o.New, "new", "", "the new store (required)")
		f.StringVar(&o.Key, "key", dualwrite.DefaultControlKey, "control record of the phase (as the application's dualwrite.Options.ControlKey)")
	}
	cmd.AddCommand(get, set)
	return cmd
}

// openControl opens both stores (the new one to check it is reachable and distinct) and
// returns the old one's control records.
func (a *App) openControl(ctx context.Context, op string, o PhaseOptions) (actingweb.ControlStore, Store, Store, error) {
	if strings.TrimSpace(o.Old) == "" || strings.TrimSpace(o.New) == "" {
		return nil, nil, nil, usageErrorf("phase %s: --old and --new are both required", op)
	}
	if strings.TrimSpace(o.Key) == "" {
		return nil, nil, nil, usageErrorf("phase %s: --key must not be empty", op)
	}
	oldS, newS, err := a.openPair(ctx, o.Old, o.New)
	if err != nil {
		return nil, nil, nil, err
	}
	cs, ok := oldS.(actingweb.ControlStore)
	if !ok {
		oldS.Close()
		newS.Close()
		return nil, nil, nil, fmt.Errorf("phase %s: the old store %s keeps no control records", op, oldS.Describe())
	}
	return cs, oldS, newS, nil
}

// RunPhaseGet runs `actingweb phase get`.
func (a *App) RunPhaseGet(ctx context.Context, o PhaseOptions) error {
	cs, oldS, newS, err := a.openControl(ctx, "get", o)
	if err != nil {
		return failed(err)
	}
	defer oldS.Close()
	defer newS.Close()
	p, version, err := dualwrite.ReadPhase(ctx, cs, o.Key)
	if err != nil {
		return failed(err)
	}
	rec := fmt.Sprintf("version %d", version)
	if version == 0 {
		rec = "no record yet: old is the default"
	}
	fmt.Fprintf(a.Stdout, "phase: %s (%s)\nold:   %s\nnew:   %s\n", p, rec, oldS.Describe(), newS.Describe())
	a.explainPhase(p)
	return nil
}

// RunPhaseSet runs `actingweb phase set`.
func (a *App) RunPhaseSet(ctx context.Context, phase string, o PhaseOptions) error {
	to, err := dualwrite.ParsePhase(phase)
	if err != nil {
		return usageErrorf("phase set: %v", err)
	}
	cs, oldS, newS, err := a.openControl(ctx, "set", o)
	if err != nil {
		return failed(err)
	}
	defer oldS.Close()
	defer newS.Close()
	if to.WritesBoth() || to.NewIsPrimary() {
		if err := newS.CheckSchema(ctx); err != nil {
			return failed(fmt.Errorf("phase set %s: the new store is not ready: %w", to, err))
		}
	}
	if err := a.checkJournal(ctx, cs, o, to, oldS, newS); err != nil {
		return failed(err)
	}
	from, err := dualwrite.SetPhase(ctx, cs, o.Key, to)
	if errors.Is(err, dualwrite.ErrStep) {
		return usageErrorf("phase set: %v", err)
	}
	if err != nil {
		return failed(err)
	}
	if from == to {
		fmt.Fprintf(a.Stdout, "phase: %s (unchanged)\n", to)
	} else {
		fmt.Fprintf(a.Stdout, "phase: %s -> %s\nold:   %s\nnew:   %s\n", from, to, oldS.Describe(), newS.Describe())
	}
	a.explainPhase(to)
	fmt.Fprintf(a.Stdout, "Running instances take the phase up within their cache time (dualwrite.Options.PhaseCacheTTL, at most %s).\n", dualwrite.MaxPhaseCacheTTL)
	return nil
}

// checkJournal refuses a move across the primary switch (write-both <-> read-new) while the
// dual-write repair journal holds entries: they are repaired from the phase's primary, which
// the move changes, so they would be repaired from the store that missed the writes.
func (a *App) checkJournal(ctx context.Context, cs actingweb.ControlStore, o PhaseOptions, to dualwrite.Phase, oldS, newS Store) error {
	cur, _, err := dualwrite.ReadPhase(ctx, cs, o.Key)
	if err != nil || cur.NewIsPrimary() == to.NewIsPrimary() {
		return err
	}
	ob, ok1 := oldS.(dualwrite.Backend)
	nb, ok2 := newS.(dualwrite.Backend)
	if !ok1 || !ok2 {
		return nil
	}
	entries, err := dualwrite.ListJournal(ctx, ob, nb)
	if err != nil {
		return fmt.Errorf("phase set %s: %w", to, err)
	}
	if len(entries) > 0 {
		truth, other := o.Old, o.New
		if cur.NewIsPrimary() {
			truth, other = o.New, o.Old
		}
		return fmt.Errorf("phase set %s: %d dual-write repair journal entries are pending (the oldest from %s, %s); moving the primary now would repair them from the store that missed the writes: wait until the applications' repair has emptied the journal (metric actingweb_dualwrite_repairs_pending 0), or run actingweb reconcile --from %s --to %s --apply, then move again",
			to, len(entries), entries[0].At.Format(time.RFC3339), entries[0].Op, redactURL(truth), redactURL(other))
	}
	return nil
}

func (a *App) explainPhase(p dualwrite.Phase) {
	fmt.Fprintln(a.Stdout, "The application now:")
	for _, l := range p.Explain() {
		fmt.Fprintf(a.Stdout, "  - %s\n", l)
	}
}
