package dualwrite

// repair.go: the repair journal. With Options.Journal, every write the secondary missed is
// recorded, before the call returns, as one entry in the bookkeeping table of the store that
// decided it (the phase's primary; actingweb.ControlStore under JournalPrefix), and a
// background pass (Repair, every RepairInterval) reads each entry's keys again from the
// primary and applies them, or their absence, to the secondary, then deletes the entry.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/prometheus/client_golang/prometheus"
)

// JournalPrefix starts the control keys of repair journal entries (one per failed write):
// JournalPrefix + a UTC time stamp + a random suffix, so that they list oldest first.
const JournalPrefix = "dualwrite/repair/"

// DefaultRepairInterval is how often the background repair runs (Options.RepairInterval).
const DefaultRepairInterval = 10 * time.Second

// ErrNotRecorded is wrapped (with ErrSecondary) by the error of a write the secondary missed
// and whose repair journal entry could not be recorded either: the call fails under both
// policies, so that no write is lost without a trace. The write did take effect on the
// primary; compare the stores (actingweb reconcile).
var ErrNotRecorded = errors.New("the repair journal entry could not be recorded")

// JournalEntry is one recorded failure: which write, in which phase, and the keys that may
// differ. It holds keys only (table and key fields, a lookup row's property name and value
// being its key), never other fields of a row.
type JournalEntry struct {
	// ControlKey and Version identify the entry in its store's bookkeeping table.
	ControlKey string `json:"-"`
	Version    int64  `json:"-"`
	// Store is the Describe() of the store whose bookkeeping table holds the entry.
	Store string `json:"-"`

	Op    string    `json:"op"`
	Phase Phase     `json:"phase"`
	At    time.Time `json:"at"`
	// Owner is the actor whose lock the write held ("" when it held none).
	Owner string       `json:"owner,omitempty"`
	Keys  []JournalKey `json:"keys,omitempty"`
	// Table, when set, is a table to repair whole (the keys could not be listed).
	Table actingweb.Table `json:"table,omitempty"`
}

// JournalKey is one key of a JournalEntry: the table and a record with the key fields only.
type JournalKey struct {
	Table actingweb.Table `json:"t"`
	Key   json.RawMessage `json:"k"`
}

// Record returns the key record.
func (k JournalKey) Record() (actingweb.Record, error) {
	r := actingweb.NewRecord(k.Table)
	if r == nil {
		return nil, fmt.Errorf("dualwrite: %w: journal key of unknown table %q", actingweb.ErrInvalid, k.Table)
	}
	if err := json.Unmarshal(k.Key, r); err != nil {
		return nil, fmt.Errorf("dualwrite: %w: journal key of %s: %v", actingweb.ErrInvalid, k.Table, err)
	}
	return r, nil
}

// keyOnly returns a record of r's table with r's key fields only (and a lookup row's owner,
// an actor id, for the lock).
func keyOnly(r actingweb.Record) actingweb.Record {
	switch x := r.(type) {
	case *actingweb.Actor:
		return actorKey(x.ID)
	case *actingweb.Property:
		return propKey(x.ID, x.Name)
	case *actingweb.PropertyLookup:
		return &actingweb.PropertyLookup{PropertyName: x.PropertyName, Value: x.Value, LookupKey: x.LookupKey, ActorID: x.ActorID}
	case *actingweb.Attribute:
		return &actingweb.Attribute{ID: x.ID, BucketName: x.BucketName, Bucket: x.Bucket, Name: x.Name}
	case *actingweb.Trust:
		return trustKey(x.ID, x.PeerID)
	case *actingweb.PeerTrustee:
		return peerTrusteeKey(x.ID, x.PeerID)
	case *actingweb.Subscription:
		return &actingweb.Subscription{ID: x.ID, PeerSubID: x.PeerSubID, PeerID: x.PeerID, SubID: x.SubID}
	case *actingweb.SubscriptionDiff:
		return &actingweb.SubscriptionDiff{ID: x.ID, SubIDSeqnr: x.SubIDSeqnr, SubID: x.SubID, Seqnr: x.Seqnr}
	case *actingweb.SubscriptionSuspension:
		return suspensionKey(x.ID, x.Target, x.Subtarget)
	}
	return r
}

// journal is what a store needs to hold the journal.
type journal interface {
	actingweb.ControlStore
	actingweb.ControlLister
}

func asJournal(b Backend) (journal, error) {
	j, ok := b.(journal)
	if !ok {
		return nil, fmt.Errorf("dualwrite: %w: the store %s keeps no listable control records (actingweb.ControlStore, actingweb.ControlLister) for the repair journal",
			actingweb.ErrInvalid, b.Describe())
	}
	return j, nil
}

// record appends the journal entry of a failure to the primary's bookkeeping table.
func (s *Store) record(ctx context.Context, v view, f Failure) error {
	e := JournalEntry{Op: f.Op, Phase: f.Phase, At: time.Now().UTC(), Owner: f.Owner, Table: f.Global}
	for _, k := range f.Keys {
		b, err := json.Marshal(keyOnly(k))
		if err != nil {
			return fmt.Errorf("encode a key of %s: %w", k.Table(), err)
		}
		e.Keys = append(e.Keys, JournalKey{Table: k.Table(), Key: b})
	}
	value, err := json.Marshal(e)
	if err != nil {
		return err
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	key := JournalPrefix + e.At.Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(rnd[:])
	j, err := asJournal(v.primary)
	if err != nil {
		return err
	}
	// The caller's context may be near its end; the entry is what keeps the write from being
	// lost, so it gets a little time of its own.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := j.WriteControl(wctx, key, string(value), 0); err != nil {
		return err
	}
	s.m.repairPending.Inc()
	return nil
}

// ListJournal returns the pending repair journal entries of the given stores (each store's
// bookkeeping table; for a dual-write pair, both: an entry lives in the store that was primary
// when it was recorded), oldest first within each store.
func ListJournal(ctx context.Context, stores ...Backend) ([]JournalEntry, error) {
	var out []JournalEntry
	for _, b := range stores {
		j, err := asJournal(b)
		if err != nil {
			return nil, err
		}
		ces, err := j.ListControl(ctx, JournalPrefix, 0)
		if err != nil {
			return nil, fmt.Errorf("dualwrite: list the repair journal of %s: %w", b.Describe(), err)
		}
		for _, ce := range ces {
			var e JournalEntry
			if err := json.Unmarshal([]byte(ce.Value), &e); err != nil {
				return nil, fmt.Errorf("dualwrite: repair journal entry %q in %s is not an entry (%v); delete it after comparing the stores (actingweb reconcile)",
					ce.Key, b.Describe(), err)
			}
			e.ControlKey, e.Version, e.Store = ce.Key, ce.Version, b.Describe()
			out = append(out, e)
		}
	}
	return out, nil
}

// DeleteJournal removes entries listed by ListJournal from store b (the store they came from).
// An entry changed since it was listed is kept (ErrConflict).
func DeleteJournal(ctx context.Context, b Backend, entries []JournalEntry) error {
	j, err := asJournal(b)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := j.DeleteControl(ctx, e.ControlKey, e.Version); err != nil {
			return fmt.Errorf("dualwrite: delete repair journal entry %q: %w", e.ControlKey, err)
		}
	}
	return nil
}

// RepairResult counts one repair pass.
type RepairResult struct {
	// Repaired entries were applied to the secondary and deleted.
	Repaired int
	// Failed entries could not be repaired this time (they stay pending).
	Failed int
	// Waiting entries were left for later: the phase writes one store only (old, new), or the
	// entry was recorded while the other store was primary (the phase crossed write-both <->
	// read-new with entries pending); compare the stores (actingweb reconcile) for those.
	Waiting int
}

// Pending is the number of entries left.
func (r RepairResult) Pending() int { return r.Failed + r.Waiting }

// Repair runs one pass over the repair journal (Options.Journal; the background loop calls it
// every RepairInterval): for each entry recorded by the phase's primary, it reads every key
// again from the primary and applies the row found, or the key's absence, to the secondary,
// holding the lock of the key's owner that the writes hold, so that no write of this instance
// runs between the read and the apply and no older state is applied over a newer one; then it
// deletes the entry. An entry that fails stays for the next pass; newer entries sharing one of
// its keys are skipped too. A whole-table entry (DeleteExpiredAttributes,
// RebuildPropertyLookup) scans the table on both stores. In phases old and new only the
// store in use is listed, and its entries wait.
func (s *Store) Repair(ctx context.Context) (RepairResult, error) {
	var res RepairResult
	v := s.view(ctx)
	stores := []Backend{s.old, s.new}
	if v.secondary == nil {
		stores = []Backend{v.primary} // the store not in use is not touched
	}
	entries, err := ListJournal(ctx, stores...)
	if err != nil {
		s.m.repairFailures.Inc()
		return res, err
	}
	defer func() { s.m.repairPending.Set(float64(res.Pending())) }()
	blocked := map[string]bool{}
	for _, e := range entries {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if v.secondary == nil || e.Phase.NewIsPrimary() != v.phase.NewIsPrimary() {
			res.Waiting++
			continue
		}
		ids, err := s.repairEntry(ctx, v, e, blocked)
		if err == nil {
			err = DeleteJournal(ctx, v.primary, []JournalEntry{e})
		}
		if err != nil {
			res.Failed++
			s.m.repairFailures.Inc()
			for _, id := range ids {
				blocked[id] = true
			}
			s.log.Warn("dualwrite: repair failed; the entry stays for the next pass", "entry", e.ControlKey, "op", e.Op,
				"keys", len(e.Keys), "table", string(e.Table), "primary", v.primary.Describe(), "secondary", v.secondary.Describe(), "error", err)
			continue
		}
		res.Repaired++
		s.m.repairs.Inc()
	}
	if res.Waiting > 0 {
		s.log.Warn("dualwrite: repair journal entries wait", "entries", res.Waiting, "phase", string(v.phase),
			"why", "the phase writes one store only, or they were recorded while the other store was primary (run actingweb reconcile)")
	}
	return res, nil
}

var errBlocked = errors.New("an older repair of one of its keys failed in this pass")

// repairEntry repairs the keys of e; it returns the keys' ids (for blocking on failure).
func (s *Store) repairEntry(ctx context.Context, v view, e JournalEntry, blocked map[string]bool) ([]string, error) {
	if e.Table != "" {
		id := "table:" + string(e.Table)
		if blocked[id] {
			return []string{id}, errBlocked
		}
		return []string{id}, s.repairTable(ctx, v, e.Table)
	}
	groups := map[string][]actingweb.Record{}
	var ids []string
	var berr error
	for _, jk := range e.Keys {
		k, err := jk.Record()
		if err != nil {
			return ids, err
		}
		id := string(k.Table()) + actingweb.KeySep + k.Key()
		ids = append(ids, id)
		if blocked[id] || blocked["table:"+string(k.Table())] {
			berr = errBlocked
		}
		owner := e.Owner
		if owner == "" {
			owner = k.Owner()
		}
		groups[owner] = append(groups[owner], k)
	}
	if berr != nil {
		return ids, berr
	}
	owners := make([]string, 0, len(groups))
	for o := range groups {
		owners = append(owners, o)
	}
	sort.Strings(owners)
	for _, o := range owners {
		if err := s.repairKeys(ctx, v, o, groups[o]); err != nil {
			return ids, err
		}
	}
	return ids, nil
}

// repairKeys copies keys from the primary to the secondary under owner's lock.
func (s *Store) repairKeys(ctx context.Context, v view, owner string, keys []actingweb.Record) error {
	l := s.stripe(owner)
	l.Lock()
	defer l.Unlock()
	return s.copyKeys(ctx, v, keys)
}

// repairTable brings table t of the secondary in step with the primary: every primary row is
// read again and copied, every row only the secondary holds is deleted, each under its owner's
// lock (a lookup row the primary cannot read by the secondary's key, a digest-only row on a
// PostgreSQL primary, is deleted when the primary's scan did not hold it).
func (s *Store) repairTable(ctx context.Context, v view, t actingweb.Table) error {
	onPrimary := map[string]bool{}
	byOwner := map[string][]actingweb.Record{}
	opts := bulk.ScanOptions{Consistent: true, PageSize: 500, Retain: true}
	err := v.primary.Scan(ctx, t, opts, func(p bulk.Page) error {
		for _, r := range p.Records {
			onPrimary[r.Key()] = true
			byOwner[r.Owner()] = append(byOwner[r.Owner()], keyOnly(r))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan %s on %s: %w", t, v.primary.Describe(), err)
	}
	err = v.secondary.Scan(ctx, t, opts, func(p bulk.Page) error {
		for _, r := range p.Records {
			if !onPrimary[r.Key()] {
				byOwner[r.Owner()] = append(byOwner[r.Owner()], keyOnly(r))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan %s on %s: %w", t, v.secondary.Describe(), err)
	}
	for owner, keys := range byOwner {
		var readable, gone []actingweb.Record
		for _, k := range keys {
			if l, ok := k.(*actingweb.PropertyLookup); ok && l.Value == nil && !onPrimary[k.Key()] {
				gone = append(gone, k)
			} else {
				readable = append(readable, k)
			}
		}
		l := s.stripe(owner)
		l.Lock()
		err := s.copyKeys(ctx, v, readable)
		if err == nil && len(gone) > 0 {
			err = s.apply(ctx, v, nil, gone)
		}
		l.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// runRepairs runs Repair every interval until stop is closed.
func (s *Store) runRepairs(interval time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-stop
		cancel()
	}()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if _, err := s.Repair(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("dualwrite: repair pass failed", "error", err)
		}
	}
}

type repairMetrics struct {
	repairs        prometheus.Counter
	repairFailures prometheus.Counter
	repairPending  prometheus.Gauge
}

func newRepairMetrics() repairMetrics {
	return repairMetrics{
		repairs: prometheus.NewCounter(prometheus.CounterOpts{Name: "actingweb_dualwrite_repairs_total",
			Help: "Repair journal entries applied to the secondary store and deleted."}),
		repairFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "actingweb_dualwrite_repair_failures_total",
			Help: "Repair attempts that failed (the entry stays pending), and failed journal reads."}),
		repairPending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "actingweb_dualwrite_repairs_pending",
			Help: "Repair journal entries pending after the last repair pass, plus those recorded since."}),
	}
}

// firstKey renders the first key of keys for a log line ("" for none).
func firstKey(keys []actingweb.Record) string {
	if len(keys) == 0 {
		return ""
	}
	return string(keys[0].Table()) + " " + actingweb.KeyString(keys[0].Key())
}
