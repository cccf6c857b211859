// Package dualwrite is an actingweb.Store over two stores, an old and a new one, for moving a
// running application from one backend to the other without stopping it: write to both, then
// read from the new one while comparing with the old, then use the new one only, with a way
// back at every step (docs/dualwrite.md).
//
// The phase (Phase) lives in a control record in the old store (actingweb.ControlStore) and is
// read again by every instance at most PhaseCacheTTL after it changed, so `actingweb phase set`
// moves every running instance without a restart.
//
// One store decides, the other copies: in each phase one store is the primary (old in old and
// write-both, new in read-new and new). A write runs on the primary only, which takes every
// decision (create-if-absent, compare-and-set, the next diff sequence number, timestamps it
// sets); then the rows the write may have changed are read back from the primary
// (capture.Sink.GetRecord) and applied to the secondary as they are
// (ChangeSink.ApplyChanges: a row found is upserted whole, a row gone is deleted). The
// secondary never runs the operation itself, so both stores hold identical rows.
package dualwrite

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/capture"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
)

// Backend is what each of the two stores must offer: the whole Store and the change-sink face
// (read a row by key, apply whole rows) that postgres.Store and dynamodb.Store implement.
type Backend interface {
	bulk.Backend
	capture.Sink
}

// SecondaryPolicy says what a write does when the primary took it but the secondary could not
// be brought in step (the rows could not be read back from the primary or applied to the
// secondary).
type SecondaryPolicy int

const (
	// FailCall returns an error wrapping ErrSecondary: the caller learns that the write took
	// effect on the primary only (it is not undone) and the stores differ for its keys.
	FailCall SecondaryPolicy = iota
	// ReportAndSucceed returns the primary's result; the failure is logged, counted
	// (actingweb_dualwrite_secondary_failures_total) and given to the Repairer.
	ReportAndSucceed
)

// String returns fail-call or report-and-succeed.
func (p SecondaryPolicy) String() string {
	if p == ReportAndSucceed {
		return "report-and-succeed"
	}
	return "fail-call"
}

// ErrSecondary is wrapped by the error of a write the primary took and the secondary did not
// (policy FailCall).
var ErrSecondary = errors.New("written to the primary store but not to the secondary")

// Failure is a write that reached the primary but not the secondary.
type Failure struct {
	Op    string // the Store method, e.g. "SetProperty"
	Phase Phase
	// Primary and Secondary are the stores' Describe().
	Primary, Secondary string
	// Keys are key records (table and key fields) of the rows that may differ now; a repair
	// reads each from the primary and writes it, or its absence, to the secondary. They may
	// hold secrets in non-key fields: never log them whole (actingweb.KeyString of Key() is
	// safe to show).
	Keys []actingweb.Record
	// Owner is the actor whose lock the write held ("" for none: WriteBatch, table-wide
	// writes).
	Owner string
	// Global is set when the keys cannot be listed (DeleteExpiredAttributes,
	// RebuildPropertyLookup): the repair must compare the named table as a whole.
	Global actingweb.Table
	Err    error
}

// Repairer receives every write that reached the primary but not the secondary, under either
// policy, before the write returns (after the entry of Options.Journal is recorded, when that
// is on). It is a hook for the application's own alerting or bookkeeping; it must not block
// for long and must not call the dual-write Store.
type Repairer interface {
	Repair(ctx context.Context, f Failure)
}

// Options configure a Store. The zero value is usable.
type Options struct {
	// ControlKey is the control record holding the phase (default DefaultControlKey).
	ControlKey string
	// Control is where the phase is kept (default: the old store, which must then implement
	// actingweb.ControlStore).
	Control actingweb.ControlStore
	// PhaseCacheTTL is how long a phase read from the control record is used before it is read
	// again (default and maximum 5 s; negative: read before every operation).
	PhaseCacheTTL time.Duration
	// ShadowPercent is the share of reads (0-100) that, in read-new, also run on the old store
	// and are compared with the new store's answer.
	ShadowPercent float64
	// Ignore, when set, is asked about every shadow mismatch; true counts it as ignored
	// (a known difference) instead of a mismatch. primary and shadow are the two results (the
	// method's return values, an error as error).
	Ignore func(op string, primary, shadow any) bool
	// MaxLoggedMismatches is how many shadow mismatches are logged (keys and field names only;
	// default 20); counting goes on.
	MaxLoggedMismatches int
	// Secondary is the policy for writes the secondary missed (default FailCall).
	Secondary SecondaryPolicy
	// Repairer, when set, receives every such write.
	Repairer Repairer
	// Journal records every such write, before the call returns, as an entry in the
	// bookkeeping table of the phase's primary (the repair journal, JournalPrefix; both stores
	// must implement actingweb.ControlStore and actingweb.ControlLister), and repairs the
	// entries in the background (Repair). A write whose entry cannot be recorded fails under
	// either policy (ErrNotRecorded).
	Journal bool
	// RepairInterval is how often the background repair runs with Journal (default
	// DefaultRepairInterval; negative: never, the application calls Repair itself).
	RepairInterval time.Duration
	// Registerer, when set, gets the metrics (actingweb_dualwrite_*).
	Registerer prometheus.Registerer
	// Logger receives phase changes, secondary failures and mismatches (default slog.Default()).
	Logger *slog.Logger
	// Lookup is the reverse-lookup configuration of the stores, to know which property writes
	// change lookup rows. Default: the stores' own (LookupConfig()), which must agree.
	Lookup *actingweb.LookupConfig
}

// MaxPhaseCacheTTL is the longest PhaseCacheTTL.
const MaxPhaseCacheTTL = 5 * time.Second

// Store is the dual-write store. Safe for concurrent use.
type Store struct {
	old, new Backend
	ctl      actingweb.ControlStore
	key      string
	o        Options
	log      *slog.Logger
	lookup   actingweb.LookupConfig
	m        metrics

	mu     sync.Mutex
	phase  Phase
	readAt time.Time

	logged sync.Mutex
	nLog   int

	// locks serialise, within this instance, the writes and shadow reads of one owner: a write
	// holds its owner's stripe from the primary write until the secondary is in step, so two
	// writers of one row copy its states in the order the primary took them, and a shadow read
	// never sees a write half copied.
	locks [256]sync.RWMutex

	stopRepairs chan struct{} // closed by Close; nil without a background repair
	repairsDone chan struct{}
	closeOnce   sync.Once
}

var _ actingweb.Store = (*Store)(nil)

// New returns a dual-write store over old and new and reads the phase. The stores stay owned by
// the caller's Close of the returned Store (Close closes both).
func New(ctx context.Context, old, new Backend, o Options) (*Store, error) {
	s := &Store{old: old, new: new, o: o, key: o.ControlKey, ctl: o.Control, log: o.Logger}
	if s.key == "" {
		s.key = DefaultControlKey
	}
	if s.ctl == nil {
		cs, ok := old.(actingweb.ControlStore)
		if !ok {
			return nil, fmt.Errorf("dualwrite: the old store %s keeps no control records (actingweb.ControlStore); give Options.Control", old.Describe())
		}
		s.ctl = cs
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.o.PhaseCacheTTL == 0 || s.o.PhaseCacheTTL > MaxPhaseCacheTTL {
		s.o.PhaseCacheTTL = MaxPhaseCacheTTL
	}
	if s.o.ShadowPercent < 0 || s.o.ShadowPercent > 100 {
		return nil, fmt.Errorf("dualwrite: %w: ShadowPercent %v is not within 0-100", actingweb.ErrInvalid, s.o.ShadowPercent)
	}
	if s.o.MaxLoggedMismatches == 0 {
		s.o.MaxLoggedMismatches = 20
	}
	lc, err := lookupConfig(old, new, o.Lookup)
	if err != nil {
		return nil, err
	}
	s.lookup = lc
	if s.m, err = newMetrics(o.Registerer); err != nil {
		return nil, err
	}
	if err := s.Refresh(ctx); err != nil {
		return nil, err
	}
	if o.Journal {
		for _, b := range []Backend{old, new} {
			if _, err := asJournal(b); err != nil {
				return nil, err
			}
		}
		if s.o.RepairInterval == 0 {
			s.o.RepairInterval = DefaultRepairInterval
		}
		if s.o.RepairInterval > 0 {
			s.stopRepairs, s.repairsDone = make(chan struct{}), make(chan struct{})
			go s.runRepairs(s.o.RepairInterval, s.stopRepairs, s.repairsDone)
		}
	}
	return s, nil
}

type lookupConfigurer interface {
	LookupConfig() actingweb.LookupConfig
}

func lookupConfig(old, new Backend, given *actingweb.LookupConfig) (actingweb.LookupConfig, error) {
	if given != nil {
		return *given, nil
	}
	a, ok1 := old.(lookupConfigurer)
	b, ok2 := new.(lookupConfigurer)
	if !ok1 || !ok2 {
		return actingweb.LookupConfig{}, fmt.Errorf("dualwrite: %w: the stores do not tell their lookup configuration; give Options.Lookup", actingweb.ErrInvalid)
	}
	la, lb := a.LookupConfig(), b.LookupConfig()
	if la.UseLookupTable != lb.UseLookupTable || fmt.Sprint(la.IndexedProperties) != fmt.Sprint(lb.IndexedProperties) {
		return actingweb.LookupConfig{}, fmt.Errorf("dualwrite: %w: the stores' lookup configurations differ (USE_PROPERTY_LOOKUP_TABLE, INDEXED_PROPERTIES): old %s %v, new %s %v; configure both alike",
			actingweb.ErrInvalid, old.Describe(), la, new.Describe(), lb)
	}
	return la, nil
}

// Refresh reads the phase from the control record now.
func (s *Store) Refresh(ctx context.Context) error {
	p, _, err := ReadPhase(ctx, s.ctl, s.key)
	if err != nil {
		return err
	}
	s.mu.Lock()
	prev := s.phase
	s.phase, s.readAt = p, time.Now()
	s.mu.Unlock()
	if prev != p {
		s.log.Info("dualwrite: phase", "from", string(prev), "to", string(p), "old", s.old.Describe(), "new", s.new.Describe())
		s.m.setPhase(p)
	}
	return nil
}

// Phase returns the phase in force, read again from the control record when the cached one is
// older than PhaseCacheTTL. When that read fails the cached phase stays in force until the
// next attempt (one per PhaseCacheTTL); the failure is logged and counted.
func (s *Store) Phase(ctx context.Context) (Phase, error) {
	s.mu.Lock()
	p, fresh := s.phase, time.Since(s.readAt) < s.o.PhaseCacheTTL
	if !fresh {
		s.readAt = time.Now() // one reader refreshes; the others use the cached phase meanwhile
	}
	s.mu.Unlock()
	if fresh || p == "" {
		return p, nil
	}
	if err := s.Refresh(ctx); err != nil {
		s.m.controlErrors.Inc()
		s.log.Warn("dualwrite: cannot read the phase; the cached one stays in force", "phase", string(p), "error", err)
		return p, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.phase, nil
}

// Old and New return the two stores.
func (s *Store) Old() Backend { return s.old }
func (s *Store) New() Backend { return s.new }

// view is the phase of one operation and the roles of the stores in it.
type view struct {
	phase              Phase
	primary, secondary Backend // secondary nil in old and new
	shadow             Backend // the old store in read-new when this read is shadowed
}

func (s *Store) view(ctx context.Context) view {
	p, _ := s.Phase(ctx)
	v := view{phase: p}
	switch p {
	case PhaseWriteBoth:
		v.primary, v.secondary = s.old, s.new
	case PhaseReadNew:
		v.primary, v.secondary = s.new, s.old
	case PhaseNew:
		v.primary = s.new
	default:
		v.primary = s.old
	}
	return v
}

func (s *Store) stripe(owner string) *sync.RWMutex {
	h := fnv.New32a()
	h.Write([]byte(owner))
	return &s.locks[h.Sum32()%uint32(len(s.locks))]
}

// noChange reports whether a primary error says the write changed nothing (the key existed,
// was missing, or the arguments were refused).
func noChange(err error) bool {
	return errors.Is(err, actingweb.ErrExists) || errors.Is(err, actingweb.ErrNotFound) || errors.Is(err, actingweb.ErrInvalid)
}

// write runs one write: pre lists, before the write, keys that only the stores can tell (rows
// a delete-all removes; it reads both stores, so rows only the secondary has are removed there
// too); do runs the write on the primary and returns whether it may have changed anything and
// the keys it affected. The union is read back from the primary and applied to the secondary.
// A primary error is returned as is (after copying what it may have changed, unless it says
// nothing changed).
func (s *Store) write(ctx context.Context, op, owner string,
	pre func(v view) ([]actingweb.Record, error),
	do func(p Backend) (changed bool, keys []actingweb.Record, err error)) error {
	v := s.view(ctx)
	if v.secondary == nil {
		_, _, err := do(v.primary)
		return err
	}
	l := s.stripe(owner)
	l.Lock()
	defer l.Unlock()
	var keys []actingweb.Record
	if pre != nil {
		k, err := pre(v)
		if err != nil {
			return err
		}
		keys = k
	}
	changed, more, err := do(v.primary)
	if err != nil && noChange(err) || err == nil && !changed {
		return err
	}
	keys = append(keys, more...)
	if serr := s.copyKeys(ctx, v, keys); serr != nil {
		if ferr := s.secondaryFailed(ctx, v, op, owner, keys, "", serr); ferr != nil && err == nil {
			return ferr
		}
	}
	return err
}

// copyKeys reads keys back from the primary and applies the rows found (upserts) and the keys
// not found (deletes) to the secondary in one ApplyChanges.
func (s *Store) copyKeys(ctx context.Context, v view, keys []actingweb.Record) error {
	seen := make(map[string]bool, len(keys))
	uniq := keys[:0:0]
	for _, k := range keys {
		id := string(k.Table()) + actingweb.KeySep + k.Key()
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, k)
		}
	}
	// The keys are read back at the same time (a write affects a handful: a property and the
	// lookup rows of its old and new values).
	found := make([]actingweb.Record, len(uniq))
	var g errgroup.Group
	g.SetLimit(8)
	for i, k := range uniq {
		g.Go(func() error {
			r, err := v.primary.GetRecord(ctx, k)
			switch {
			case errors.Is(err, actingweb.ErrNotFound):
			case err != nil:
				return fmt.Errorf("read %s key %s back from %s: %w", k.Table(), actingweb.KeyString(k.Key()), v.primary.Describe(), err)
			default:
				found[i] = withValue(r, k)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	var ups, dels []actingweb.Record
	for i, k := range uniq {
		if found[i] != nil {
			ups = append(ups, found[i])
		} else {
			dels = append(dels, k)
		}
	}
	if len(ups) == 0 && len(dels) == 0 {
		return nil
	}
	return s.apply(ctx, v, ups, dels)
}

// apply applies rows to the secondary. Lookup rows it holds back because their owner has no
// actor row (PostgreSQL's foreign key) are accepted when the owner has no actor row on the
// primary either: an orphan the secondary's model cannot hold, as a migration counts it
// (LookupRebuild.Orphans); they are logged and counted (actingweb_dualwrite_orphans_total).
// They are accepted too when the owner is on the primary but not yet on the secondary (an
// actor written before write-both, which the backfill brings with its lookup rows; counted
// in actingweb_dualwrite_awaiting_backfill_total).
func (s *Store) apply(ctx context.Context, v view, ups, dels []actingweb.Record) error {
	err := v.secondary.ApplyChanges(ctx, ups, dels)
	// Held-back lookup rows whose owner reached the secondary meanwhile (a backfill writing
	// it) are applied again, a few times at most; the rest is judged by orphans.
	for try := 0; try < 3; try++ {
		var om *capture.OwnerMissingError
		if !errors.As(err, &om) {
			break
		}
		if err = s.orphans(ctx, v, om); !errors.Is(err, errOwnerArrived) {
			break
		}
		err = v.secondary.ApplyChanges(ctx, om.Records, nil)
	}
	if err != nil {
		return fmt.Errorf("apply %d rows and %d deletes to %s: %w", len(ups), len(dels), v.secondary.Describe(), err)
	}
	return nil
}

// errOwnerArrived marks held-back lookup rows whose owner is on the secondary by now.
var errOwnerArrived = errors.New("the owner's actor row has reached the secondary")

func (s *Store) orphans(ctx context.Context, v view, om *capture.OwnerMissingError) error {
	var orphan, awaiting int
	for _, r := range om.Records {
		_, err := v.primary.GetRecord(ctx, actorKey(r.Owner()))
		switch {
		case errors.Is(err, actingweb.ErrNotFound):
			orphan++
			continue
		case err != nil:
			return fmt.Errorf("%w (and the owners could not be read on the primary: %w)", om, err)
		}
		// The owner is on the primary. Not on the secondary either: an actor written before
		// write-both, which the backfill (copy, then reconcile) has not brought yet; it brings
		// the actor and its lookup rows together.
		_, err = v.secondary.GetRecord(ctx, actorKey(r.Owner()))
		switch {
		case err == nil:
			return fmt.Errorf("%w: %w", errOwnerArrived, om) // apply them again
		case !errors.Is(err, actingweb.ErrNotFound):
			return fmt.Errorf("%w (and the owners could not be read on the secondary: %w)", om, err)
		}
		awaiting++
	}
	if orphan > 0 {
		s.m.orphans.Add(float64(orphan))
		s.log.Warn("dualwrite: lookup rows without actor row on the primary are not copied (the secondary cannot hold them)",
			"rows", orphan, "secondary", v.secondary.Describe())
	}
	if awaiting > 0 {
		s.m.awaitingBackfill.Add(float64(awaiting))
		s.log.Debug("dualwrite: lookup rows of actors not yet on the secondary are left to the backfill",
			"rows", awaiting, "first_owner", om.Records[0].Owner(), "secondary", v.secondary.Describe())
	}
	return nil
}

// withValue gives a lookup row read from DynamoDB (digest only, §3.5) the clear value the
// write's key record carries, so that PostgreSQL can store it without looking for it.
func withValue(r, key actingweb.Record) actingweb.Record {
	l, ok := r.(*actingweb.PropertyLookup)
	k, ok2 := key.(*actingweb.PropertyLookup)
	if ok && ok2 && l.Value == nil && k.Value != nil && k.LookupKey == l.LookupKey {
		c := *l
		v := *k.Value
		c.Value = &v
		return &c
	}
	return r
}

// secondaryFailed reports a write the secondary missed and returns the error the call returns
// under the policy (nil under ReportAndSucceed).
func (s *Store) secondaryFailed(ctx context.Context, v view, op, owner string, keys []actingweb.Record, global actingweb.Table, err error) error {
	s.m.secondaryFailures.WithLabelValues(op).Inc()
	s.log.Error("dualwrite: write reached the primary but not the secondary; the stores differ until repaired",
		"op", op, "phase", string(v.phase), "primary", v.primary.Describe(), "secondary", v.secondary.Describe(),
		"keys", len(keys), "first_key", firstKey(keys), "table", string(global), "error", err)
	f := Failure{Op: op, Phase: v.phase, Primary: v.primary.Describe(), Secondary: v.secondary.Describe(),
		Owner: owner, Keys: keys, Global: global, Err: err}
	if s.o.Journal {
		if jerr := s.record(ctx, v, f); jerr != nil {
			s.m.repairFailures.Inc()
			s.log.Error("dualwrite: cannot record the repair journal entry; the call fails", "op", op, "primary", v.primary.Describe(),
				"keys", len(keys), "first_key", firstKey(keys), "error", jerr)
			return fmt.Errorf("dualwrite: %s: %w (%s; secondary %s: %w) and %w in %s: %w; the stores differ for %d keys: compare them (actingweb reconcile)",
				op, ErrSecondary, v.phase, v.secondary.Describe(), err, ErrNotRecorded, v.primary.Describe(), jerr, len(keys))
		}
	}
	if s.o.Repairer != nil {
		s.o.Repairer.Repair(ctx, f)
	}
	if s.o.Secondary == ReportAndSucceed {
		return nil
	}
	return fmt.Errorf("dualwrite: %s: %w (%s; secondary %s): %w; the stores differ for %d keys until repaired (actingweb validate)",
		op, ErrSecondary, v.phase, v.secondary.Describe(), err, len(keys))
}

// shadowed reports whether this read in phase v also runs on the old store.
func (s *Store) shadowed(v view) bool {
	if v.phase != PhaseReadNew || s.o.ShadowPercent <= 0 {
		return false
	}
	return s.o.ShadowPercent >= 100 || rand.Float64()*100 < s.o.ShadowPercent
}

// Describe names both stores and the phase.
func (s *Store) Describe() string {
	s.mu.Lock()
	p := s.phase
	s.mu.Unlock()
	return fmt.Sprintf("dual-write (%s) old %s, new %s", p, s.old.Describe(), s.new.Describe())
}

// Close stops the background repair (waiting for a pass under way) and closes both stores.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.stopRepairs != nil {
			close(s.stopRepairs)
			<-s.repairsDone
		}
	})
	return errors.Join(s.old.Close(), s.new.Close())
}
