package dualwrite

import (
	"context"
	"errors"
	"fmt"
	"strings"

	actingweb "github.com/actingweb/actingweb-go"
)

// Phase is where a dual-write Store sends writes and reads. The phases are ordered; a move goes
// one step forward or back (SetPhase).
type Phase string

const (
	// PhaseOld uses the old store only.
	PhaseOld Phase = "old"
	// PhaseWriteBoth writes to the old store (the primary: it decides) and copies the decided
	// rows to the new one; reads come from the old store.
	PhaseWriteBoth Phase = "write-both"
	// PhaseReadNew writes to the new store (now the primary) and copies the decided rows to the
	// old one; reads come from the new store, a share of them also from the old one and
	// compared (shadow reads).
	PhaseReadNew Phase = "read-new"
	// PhaseNew uses the new store only; the old store is no longer touched (except for the
	// control record, which stays in the old store so that the phase can be moved back).
	PhaseNew Phase = "new"
)

// Phases lists the phases in order.
var Phases = []Phase{PhaseOld, PhaseWriteBoth, PhaseReadNew, PhaseNew}

// DefaultControlKey is the control record (actingweb.ControlStore key) holding the phase.
const DefaultControlKey = "dualwrite/phase"

// ErrStep is returned by SetPhase for a move of more than one step.
var ErrStep = errors.New("the phase moves one step at a time")

// ParsePhase reads a phase name (old, write-both, read-new, new; case-insensitive).
func ParsePhase(s string) (Phase, error) {
	p := Phase(strings.ToLower(strings.TrimSpace(s)))
	if p.index() < 0 {
		return "", fmt.Errorf("dualwrite: %w: unknown phase %q (use old, write-both, read-new or new)", actingweb.ErrInvalid, s)
	}
	return p, nil
}

func (p Phase) index() int {
	for i, q := range Phases {
		if p == q {
			return i
		}
	}
	return -1
}

// NewIsPrimary reports whether the new store decides writes and answers reads (read-new, new).
func (p Phase) NewIsPrimary() bool { return p == PhaseReadNew || p == PhaseNew }

// WritesBoth reports whether writes reach both stores (write-both, read-new).
func (p Phase) WritesBoth() bool { return p == PhaseWriteBoth || p == PhaseReadNew }

// Explain says in one line per item what an application does in phase p.
func (p Phase) Explain() []string {
	switch p {
	case PhaseOld:
		return []string{"writes: old store only", "reads: old store", "new store: not touched"}
	case PhaseWriteBoth:
		return []string{"writes: old store decides, the resulting rows are copied to the new store",
			"reads: old store", "rows written before this phase are not copied: backfill them (actingweb copy/sync) before read-new"}
	case PhaseReadNew:
		return []string{"writes: new store decides, the resulting rows are copied to the old store",
			"reads: new store; the configured share of reads also runs on the old store and is compared (shadow reads)"}
	case PhaseNew:
		return []string{"writes: new store only", "reads: new store",
			"old store: not touched (only its control record); moving back to read-new copies new writes to it again, rows written meanwhile are missing there"}
	}
	return nil
}

// ReadPhase returns the phase recorded under key in cs and the record's version; an absent
// record is PhaseOld at version 0.
func ReadPhase(ctx context.Context, cs actingweb.ControlStore, key string) (Phase, int64, error) {
	v, version, err := cs.ReadControl(ctx, key)
	if err != nil {
		return "", 0, fmt.Errorf("dualwrite: read the phase (control key %q): %w", key, err)
	}
	if version == 0 {
		return PhaseOld, 0, nil
	}
	p, err := ParsePhase(v)
	if err != nil {
		return "", 0, fmt.Errorf("dualwrite: control key %q holds %q, not a phase: %w", key, v, err)
	}
	return p, version, nil
}

// SetPhase moves the phase recorded under key in cs to to, compare-and-set on the record's
// version, and returns the phase it had. A move of more than one step fails with an error
// wrapping ErrStep (nothing written); setting the current phase again writes nothing. A
// concurrent change of the record fails with an error wrapping actingweb.ErrConflict.
func SetPhase(ctx context.Context, cs actingweb.ControlStore, key string, to Phase) (Phase, error) {
	if to.index() < 0 {
		return "", fmt.Errorf("dualwrite: %w: unknown phase %q", actingweb.ErrInvalid, to)
	}
	from, version, err := ReadPhase(ctx, cs, key)
	if err != nil {
		return "", err
	}
	if from == to {
		return from, nil
	}
	if d := to.index() - from.index(); d > 1 || d < -1 {
		return from, fmt.Errorf("dualwrite: %w: the phase is %s, %s is %d steps away; go through %s first",
			ErrStep, from, to, abs(d), Phases[from.index()+sign(d)])
	}
	if err := cs.WriteControl(ctx, key, string(to), version); err != nil {
		return from, fmt.Errorf("dualwrite: set the phase %s -> %s: %w", from, to, err)
	}
	return from, nil
}

func abs(d int) int {
	if d < 0 {
		return -d
	}
	return d
}

func sign(d int) int {
	if d < 0 {
		return -1
	}
	return 1
}
