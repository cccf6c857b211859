// Package metrics publishes a running sync's state as Prometheus metrics
// (prometheus/client_golang), served on /metrics by `actingweb sync --metrics-addr`.
package metrics

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/actingweb/actingweb-go/migrate"
)

// Sync holds the metrics of one sync. Observe is called with every status the sync reports.
type Sync struct {
	reg      *prometheus.Registry
	applied  *prometheus.GaugeVec
	loaded   *prometheus.GaugeVec
	batches  prometheus.Gauge
	lag      prometheus.Gauge
	caughtUp prometheus.Gauge
	held     prometheus.Gauge
	last     prometheus.Gauge
	phase    *prometheus.GaugeVec
	behind   prometheus.Gauge
	errors   prometheus.Counter
	retries  prometheus.Counter
	// seenErrors and seenRetries are the status's counts already added to the counters.
	seenErrors, seenRetries int64
}

// Baseline gives the state the sync had when this process started (nil for a fresh sync): the
// error and retry counters count only what happens after it.
func (m *Sync) Baseline(st *migrate.SyncStatus) {
	if st != nil {
		m.seenErrors, m.seenRetries = st.Errors, st.Retries
	}
}

// NewSync registers the metrics (names actingweb_sync_*) on a registry of their own.
func NewSync() *Sync {
	m := &Sync{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	m.applied = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "actingweb_sync_applied_changes",
		Help: "Changes applied to the target since the capture started, per table (kept across restarts in sync.json)."}, []string{"table"})
	m.loaded = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "actingweb_sync_loaded_rows",
		Help: "Rows the initial load wrote, per table."}, []string{"table"})
	m.batches = prometheus.NewGauge(prometheus.GaugeOpts{Name: "actingweb_sync_applied_batches", Help: "Batches of changes applied."})
	m.lag = prometheus.NewGauge(prometheus.GaugeOpts{Name: "actingweb_sync_lag_seconds",
		Help: "How far behind the source the last applied batch was when it was applied (0 when caught up)."})
	m.caughtUp = prometheus.NewGauge(prometheus.GaugeOpts{Name: "actingweb_sync_caught_up", Help: "1 when the last batch left nothing newer on the source."})
	m.held = prometheus.NewGauge(prometheus.GaugeOpts{Name: "actingweb_sync_held_lookup_rows",
		Help: "Property lookup rows waiting for their actor or property row on the target."})
	m.last = prometheus.NewGauge(prometheus.GaugeOpts{Name: "actingweb_sync_last_source_change_timestamp_seconds",
		Help: "Source commit time of the last applied change (Unix seconds)."})
	m.phase = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "actingweb_sync_phase", Help: "1 for the current phase (loading, streaming)."}, []string{"phase"})
	m.behind = prometheus.NewGauge(prometheus.GaugeOpts{Name: "actingweb_sync_behind_bytes",
		Help: "Bytes of the source's change log written after the applied position (PostgreSQL WAL; measured at most once a second)."})
	m.errors = prometheus.NewCounter(prometheus.CounterOpts{Name: "actingweb_sync_errors_total",
		Help: "Failures of the streaming phase in this process (a lost connection, a refused write)."})
	m.retries = prometheus.NewCounter(prometheus.CounterOpts{Name: "actingweb_sync_retries_total",
		Help: "Failures of the streaming phase retried in this process (the capture opened again)."})
	for _, c := range []prometheus.Collector{m.applied, m.loaded, m.batches, m.lag, m.caughtUp, m.held, m.last, m.phase, m.behind, m.errors, m.retries} {
		f(c)
	}
	return m
}

// Observe records a status the sync reported.
func (m *Sync) Observe(st migrate.SyncStatus) {
	for t, ts := range st.Tables {
		m.applied.WithLabelValues(string(t)).Set(float64(ts.Applied))
		m.loaded.WithLabelValues(string(t)).Set(float64(ts.Loaded))
	}
	m.batches.Set(float64(st.Batches))
	m.lag.Set(st.LagSeconds)
	m.behind.Set(float64(st.BehindBytes))
	m.caughtUp.Set(b2f(st.CaughtUp))
	m.held.Set(float64(st.HeldLookupRows))
	if !st.LastSourceTime.IsZero() {
		m.last.Set(float64(st.LastSourceTime.UnixNano()) / 1e9)
	}
	// The status counts since the capture started (across restarts); the counters count what
	// this process saw since Baseline.
	if d := st.Errors - m.seenErrors; d > 0 {
		m.errors.Add(float64(d))
		m.seenErrors = st.Errors
	}
	if d := st.Retries - m.seenRetries; d > 0 {
		m.retries.Add(float64(d))
		m.seenRetries = st.Retries
	}
	m.phase.WithLabelValues(migrate.PhaseLoading).Set(b2f(st.Phase == migrate.PhaseLoading))
	m.phase.WithLabelValues(migrate.PhaseStreaming).Set(b2f(st.Phase == migrate.PhaseStreaming))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Serve listens on addr (host:port) and serves /metrics until ctx ends; it returns the address
// it listens on (a port of 0 picks a free one) or the listen error.
func (m *Sync) Serve(ctx context.Context, addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	go srv.Serve(ln) // ends with http.ErrServerClosed when ctx ends
	return ln.Addr(), nil
}
