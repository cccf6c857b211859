package dualwrite

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	actingweb "github.com/actingweb/actingweb-go"
)

// metrics are the Store's Prometheus collectors.
type metrics struct {
	shadowReads       *prometheus.CounterVec
	shadowMismatches  *prometheus.CounterVec
	shadowIgnored     *prometheus.CounterVec
	shadowErrors      *prometheus.CounterVec
	secondaryFailures *prometheus.CounterVec
	controlErrors     prometheus.Counter
	orphans           prometheus.Counter
	awaitingBackfill  prometheus.Counter
	phase             *prometheus.GaugeVec
	repairMetrics
}

func newMetrics(reg prometheus.Registerer) (metrics, error) {
	op := []string{"op"}
	m := metrics{
		shadowReads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "actingweb_dualwrite_shadow_reads_total",
			Help: "Reads run on the old store too in phase read-new and compared, per Store method."}, op),
		shadowMismatches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "actingweb_dualwrite_shadow_mismatches_total",
			Help: "Shadow reads whose old-store answer differed from the new store's, per Store method."}, op),
		shadowIgnored: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "actingweb_dualwrite_shadow_ignored_total",
			Help: "Shadow mismatches the Ignore hook declared known, per Store method."}, op),
		shadowErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "actingweb_dualwrite_shadow_errors_total",
			Help: "Shadow reads that failed on the old store (not compared), per Store method."}, op),
		secondaryFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "actingweb_dualwrite_secondary_failures_total",
			Help: "Writes that reached the primary store but not the secondary, per Store method."}, op),
		controlErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "actingweb_dualwrite_control_read_errors_total",
			Help: "Failed reads of the phase's control record (the cached phase stayed in force)."}),
		orphans: prometheus.NewCounter(prometheus.CounterOpts{Name: "actingweb_dualwrite_orphans_total",
			Help: "Lookup rows not copied because their owner has no actor row on either store (the secondary cannot hold them)."}),
		awaitingBackfill: prometheus.NewCounter(prometheus.CounterOpts{Name: "actingweb_dualwrite_awaiting_backfill_total",
			Help: "Lookup rows not copied because their owner's actor row is on the primary but not yet on the secondary (the backfill brings both)."}),
		phase: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "actingweb_dualwrite_phase",
			Help: "1 for the phase in force, 0 for the others."}, []string{"phase"}),
		repairMetrics: newRepairMetrics(),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.shadowReads, m.shadowMismatches, m.shadowIgnored, m.shadowErrors,
			m.secondaryFailures, m.controlErrors, m.orphans, m.awaitingBackfill, m.phase, m.repairs, m.repairFailures, m.repairPending} {
			if err := reg.Register(c); err != nil {
				return m, fmt.Errorf("dualwrite: register metrics: %w", err)
			}
		}
	}
	return m, nil
}

func (m metrics) setPhase(p Phase) {
	for _, q := range Phases {
		v := 0.0
		if q == p {
			v = 1
		}
		m.phase.WithLabelValues(string(q)).Set(v)
	}
}

// read runs a read on the phase's read store and, when the read is shadowed, on the old store
// too (at the same time) under the owner's stripe, comparing the answers with eq. key describes the read for the
// log (never a secret or a property value). The primary's answer is returned.
func read[T any](s *Store, ctx context.Context, op, owner, key string, run func(b actingweb.Store) (T, error), eq func(a, b T) (bool, string)) (T, error) {
	v := s.view(ctx)
	if !s.shadowed(v) {
		return run(v.primary)
	}
	l := s.stripe(owner)
	l.RLock()
	// The old store is read at the same time as the primary, so a shadowed read takes as long
	// as the slower of the two, not their sum.
	type answer struct {
		v   T
		err error
	}
	shadow := make(chan answer, 1)
	go func() {
		o, oerr := run(s.old)
		shadow <- answer{o, oerr}
	}()
	got, err := run(v.primary)
	sa := <-shadow
	l.RUnlock()
	if err != nil && !expected(err) {
		return got, err
	}
	old, oerr := sa.v, sa.err
	s.m.shadowReads.WithLabelValues(op).Inc()
	if oerr != nil && !expected(oerr) {
		s.m.shadowErrors.WithLabelValues(op).Inc()
		s.log.Warn("dualwrite: shadow read failed on the old store", "op", op, "key", key, "error", oerr)
		return got, err
	}
	same, what := false, ""
	switch {
	case err != nil || oerr != nil:
		same = sameErr(err, oerr)
		what = fmt.Sprintf("new: %s, old: %s", errKind(err), errKind(oerr))
	default:
		same, what = eq(got, old)
	}
	if !same {
		var pa, sa any = got, old
		if err != nil {
			pa = err
		}
		if oerr != nil {
			sa = oerr
		}
		if s.o.Ignore != nil && s.o.Ignore(op, pa, sa) {
			s.m.shadowIgnored.WithLabelValues(op).Inc()
		} else {
			s.m.shadowMismatches.WithLabelValues(op).Inc()
			s.logMismatch(op, key, what)
		}
	}
	return got, err
}

func (s *Store) logMismatch(op, key, what string) {
	s.logged.Lock()
	n := s.nLog
	s.nLog++
	s.logged.Unlock()
	if n < s.o.MaxLoggedMismatches {
		s.log.Warn("dualwrite: shadow read differs", "op", op, "key", actingweb.Printable(key), "difference", actingweb.Printable(what))
	}
}

// expected reports whether a read error is an answer (absent, ambiguous) rather than a failure.
func expected(err error) bool {
	return errors.Is(err, actingweb.ErrNotFound) || errors.Is(err, actingweb.ErrAmbiguous)
}

func errKind(err error) string {
	switch {
	case err == nil:
		return "found"
	case errors.Is(err, actingweb.ErrNotFound):
		return "not found"
	case errors.Is(err, actingweb.ErrAmbiguous):
		return "ambiguous"
	}
	return "error"
}

func sameErr(a, b error) bool { return errKind(a) == errKind(b) }

// ---- comparisons: (equal, what differs without values) ----

func eqValue[T comparable](a, b T) (bool, string) {
	if a == b {
		return true, ""
	}
	return false, "value differs"
}

// eqRecord compares two records in canonical form (actingweb.CompareRecords) and names the
// fields that differ.
func eqRecord[R any, P interface {
	*R
	actingweb.Record
}](a, b R) (bool, string) {
	d := actingweb.CompareRecords(P(&a), P(&b))
	if len(d) == 0 {
		return true, ""
	}
	f := make([]string, len(d))
	for i, x := range d {
		f[i] = x.Field
	}
	return false, "fields " + strings.Join(f, ", ")
}

// eqRecords compares two lists as sets of records by key.
func eqRecords[R any, P interface {
	*R
	actingweb.Record
}](a, b []R) (bool, string) {
	ma := make(map[string]actingweb.Record, len(a))
	for i := range a {
		ma[P(&a[i]).Key()] = P(&a[i])
	}
	var diff []string
	seen := 0
	for i := range b {
		r := P(&b[i])
		x, ok := ma[r.Key()]
		if !ok {
			diff = append(diff, "only old: "+actingweb.KeyString(r.Key()))
			continue
		}
		seen++
		if d := actingweb.CompareRecords(x, r); len(d) > 0 {
			diff = append(diff, "differs: "+actingweb.KeyString(r.Key()))
		}
	}
	if seen < len(ma) {
		diff = append(diff, fmt.Sprintf("%d only new", len(ma)-seen))
	}
	return summary(diff)
}

func eqAttrs(a, b map[string]actingweb.Attribute) (bool, string) {
	var diff []string
	for k, x := range a {
		y, ok := b[k]
		if !ok {
			diff = append(diff, "only new: "+k)
		} else if d := actingweb.CompareRecords(&x, &y); len(d) > 0 {
			diff = append(diff, "differs: "+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			diff = append(diff, "only old: "+k)
		}
	}
	return summary(diff)
}

func eqBuckets(a, b map[string]map[string]actingweb.Attribute) (bool, string) {
	var diff []string
	for k, x := range a {
		if ok, _ := eqAttrs(x, b[k]); !ok {
			diff = append(diff, "bucket "+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			diff = append(diff, "only old: bucket "+k)
		}
	}
	return summary(diff)
}

// eqNames compares property maps by names and values, naming only the names that differ.
func eqNames(a, b map[string]string) (bool, string) {
	var diff []string
	for k, x := range a {
		if y, ok := b[k]; !ok || x != y {
			diff = append(diff, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			diff = append(diff, k)
		}
	}
	if len(diff) == 0 {
		return true, ""
	}
	sort.Strings(diff)
	ok, s := summary(diff)
	return ok, "names " + s
}

func eqTimes(a, b map[string]time.Time) (bool, string) {
	if len(a) != len(b) {
		return false, "bucket sets differ"
	}
	for k, x := range a {
		if y, ok := b[k]; !ok || !actingweb.NormalizeTime(x).Equal(actingweb.NormalizeTime(y)) {
			return false, "bucket " + k
		}
	}
	return true, ""
}

func eqDeep[T any](a, b T) (bool, string) {
	if reflect.DeepEqual(a, b) {
		return true, ""
	}
	return false, "value differs"
}

func summary(diff []string) (bool, string) {
	if len(diff) == 0 {
		return true, ""
	}
	sort.Strings(diff)
	if len(diff) > 5 {
		return false, strings.Join(diff[:5], "; ") + fmt.Sprintf("; and %d more", len(diff)-5)
	}
	return false, strings.Join(diff, "; ")
}
