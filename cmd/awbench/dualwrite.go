package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/dualwrite"
	"github.com/actingweb/actingweb-go/dynamodb"
	"github.com/actingweb/actingweb-go/postgres"
)

// dwOps are the operations runDualWrite times, in table order.
var dwOps = []string{"GetProperty", "SetProperty", "CreateTrust", "AddDiff"}

// dwCell is one configuration measured: a store alone, or the dual-write store over both in
// one phase and direction.
type dwCell struct {
	name  string // pg, ddb, or <old>-<new>/<phase>, e.g. pg-ddb/write-both
	store actingweb.Store
	reg   *prometheus.Registry       // the dual-write store's metrics (nil for a store alone)
	dual  *dualwrite.Store           // nil for a store alone
	on    []actingweb.Store          // where the fixture rows go (both stores for a dual cell)
	lat   map[string][]time.Duration // per operation
	actor string
	calls int // calls of each operation made so far (warm-up included): the next trust's peer
}

// runDualWrite measures the per-call latency of four application operations (GetProperty,
// SetProperty of an unindexed name, CreateTrust of a new peer, AddDiff) on PostgreSQL alone, on
// DynamoDB alone, and through the dual-write store in each phase, both ways round (old
// PostgreSQL and new DynamoDB, then the reverse), read-new with 100 % shadow reads. Calls are
// sequential, one at a time (latency, not throughput). Every cell and operation gets --ops
// timed calls, made in --rounds rounds that visit the cells in a new random order each time,
// so that a slow spell of a service (DynamoDB Local's JVM) falls on every cell alike. It
// prints one line per cell and operation:
//
//	dw.<cell>.<op> rows=<calls> seconds=<total> p50_us=<p50> p99_us=<p99>
//
// and fails when a dual-write store counted a shadow mismatch, a shadow-read error or a
// secondary failure, or read-new made fewer shadow reads than GetProperty calls.
func runDualWrite(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dualwrite", flag.ContinueOnError)
	pgURL := fs.String("pg", "", "PostgreSQL URL (default $ACTINGWEB_TEST_PG_URL)")
	endpoint := fs.String("endpoint", "", "DynamoDB endpoint (default $ACTINGWEB_TEST_DYNAMODB_ENDPOINT)")
	schema := fs.String("schema", "", "PostgreSQL schema to create and use (required; dropped at the end)")
	prefix := fs.String("prefix", "", "DynamoDB table prefix to create and use (required; dropped at the end)")
	ops := fs.Int("ops", 1000, "timed calls per cell and operation")
	rounds := fs.Int("rounds", 5, "rounds the timed calls are made in (cells in a new random order each round)")
	warmup := fs.Int("warmup", 100, "untimed calls per cell and operation before the timed ones")
	keep := fs.Bool("keep", false, "keep the schema and the tables")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ops < 1 || *rounds < 1 || *ops < *rounds {
		return fmt.Errorf("--ops must be at least --rounds, both at least 1")
	}
	if err := checkSchema(*schema); err != nil {
		return err
	}
	if *schema == "public" {
		return fmt.Errorf("refusing to use schema public (it is dropped at the end)")
	}
	if *pgURL == "" {
		*pgURL = os.Getenv("ACTINGWEB_TEST_PG_URL")
	}
	if *pgURL == "" {
		return fmt.Errorf("--pg (or ACTINGWEB_TEST_PG_URL) is required")
	}
	pcfg, err := postgres.ConfigFromURL(*pgURL, func(string) string { return "" })
	if err != nil {
		return fmt.Errorf("--pg: %w", err)
	}
	pcfg.Schema, pcfg.Lookup = *schema, actingweb.DefaultLookupConfig()
	pg, err := postgres.Open(ctx, pcfg)
	if err != nil {
		return err
	}
	defer pg.Close()
	if *endpoint == "" {
		*endpoint = os.Getenv("ACTINGWEB_TEST_DYNAMODB_ENDPOINT")
	}
	if *endpoint == "" || *prefix == "" {
		return fmt.Errorf("--endpoint (or ACTINGWEB_TEST_DYNAMODB_ENDPOINT) and --prefix are required")
	}
	// Both stores with upstream's default lookup configuration (dualwrite.New wants them alike).
	ddb, err := dynamodb.Open(ctx, dynamodb.Config{Endpoint: *endpoint, Prefix: *prefix, Lookup: actingweb.DefaultLookupConfig()})
	if err != nil {
		return err
	}
	defer ddb.Close()
	if !*keep {
		defer func() {
			dctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := dropDDB(dctx, ddb); err != nil {
				fmt.Fprintf(os.Stderr, "awbench dualwrite: drop the tables of prefix %s: %v\n", *prefix, err)
			}
			if err := dropSchema(dctx, *pgURL, *schema); err != nil {
				fmt.Fprintf(os.Stderr, "awbench dualwrite: drop schema %s: %v\n", *schema, err)
			}
		}()
	}
	for _, s := range []actingweb.Store{pg, ddb} {
		if _, err := s.UpgradeSchema(ctx); err != nil {
			return fmt.Errorf("upgrade the schema of %s: %w", s.Describe(), err)
		}
	}

	cells := []*dwCell{
		{name: "pg", store: pg, on: []actingweb.Store{pg}},
		{name: "ddb", store: ddb, on: []actingweb.Store{ddb}},
	}
	type dir struct {
		name     string
		old, new dualwrite.Backend
	}
	// Phase changes are logged at Info: only warnings (mismatches, failures) are of interest.
	warnings := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	for _, d := range []dir{{"pg-ddb", pg, ddb}, {"ddb-pg", ddb, pg}} {
		for _, p := range dualwrite.Phases {
			// One control record per cell, so that every cell keeps its phase.
			key := "awbench/" + d.name + "/" + string(p)
			if err := stepTo(ctx, d.old.(actingweb.ControlStore), key, p); err != nil {
				return err
			}
			reg := prometheus.NewRegistry()
			s, err := dualwrite.New(ctx, d.old, d.new, dualwrite.Options{ControlKey: key, ShadowPercent: 100, Registerer: reg, Logger: warnings})
			if err != nil {
				return err
			}
			if got, _ := s.Phase(ctx); got != p {
				return fmt.Errorf("dual-write store %s: phase %s, want %s", key, got, p)
			}
			cells = append(cells, &dwCell{name: d.name + "/" + string(p), store: s, dual: s, reg: reg, on: []actingweb.Store{d.old, d.new}})
		}
	}
	for i, c := range cells {
		c.actor = fmt.Sprintf("awbench-dw-%02d", i)
		c.lat = map[string][]time.Duration{}
		if err := c.fixture(ctx); err != nil {
			return fmt.Errorf("%s: fixture: %w", c.name, err)
		}
	}

	fmt.Fprintf(os.Stderr, "awbench dualwrite: %d cells × %d operations, %d warm-up and %d timed calls each\n", len(cells), len(dwOps), *warmup, *ops)
	t0 := time.Now()
	for _, c := range cells {
		if err := c.run(ctx, *warmup, false); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "awbench dualwrite: warm-up %.1f s\n", time.Since(t0).Seconds())
	rng := rand.New(rand.NewPCG(1, 2))
	for r := 0; r < *rounds; r++ {
		n := *ops / *rounds
		if r < *ops%*rounds {
			n++
		}
		order := slices.Clone(cells)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, c := range order {
			if c.dual != nil { // the phase read of PhaseCacheTTL, due after the other cells' turns, untimed
				if err := c.dual.Refresh(ctx); err != nil {
					return err
				}
			}
			if err := c.run(ctx, n, true); err != nil {
				return err
			}
		}
		fmt.Fprintf(os.Stderr, "awbench dualwrite: round %d of %d done, %.1f s\n", r+1, *rounds, time.Since(t0).Seconds())
	}
	for _, c := range cells {
		for _, op := range dwOps {
			l := c.lat[op]
			slices.Sort(l)
			var sum time.Duration
			for _, d := range l {
				sum += d
			}
			fmt.Printf("dw.%s.%s rows=%d seconds=%.3f p50_us=%.0f p99_us=%.0f\n", c.name, op, len(l), sum.Seconds(),
				micros(quantile(l, 0.50)), micros(quantile(l, 0.99)))
		}
	}
	return checkDualMetrics(cells, *warmup+*ops)
}

// stepTo moves the phase under key one step at a time (as dualwrite.SetPhase moves) from the
// one recorded to p.
func stepTo(ctx context.Context, cs actingweb.ControlStore, key string, p dualwrite.Phase) error {
	want := slices.Index(dualwrite.Phases, p)
	for {
		cur, _, err := dualwrite.ReadPhase(ctx, cs, key)
		if err != nil {
			return err
		}
		i := slices.Index(dualwrite.Phases, cur)
		switch {
		case i == want:
			return nil
		case i < want:
			i++
		default:
			i--
		}
		if _, err := dualwrite.SetPhase(ctx, cs, key, dualwrite.Phases[i]); err != nil {
			return err
		}
	}
}

// fixture writes the cell's actor, the property GetProperty reads and the subscription AddDiff
// numbers on each store the cell uses, directly (the same values on both stores, so that shadow
// reads compare equal).
func (c *dwCell) fixture(ctx context.Context) error {
	for _, s := range c.on {
		if err := s.CreateActor(ctx, actingweb.Actor{ID: c.actor, Creator: c.actor + "@example.com", Passphrase: "bench"}); err != nil {
			return err
		}
		if err := s.SetProperty(ctx, c.actor, "displayname", "Bench Marker"); err != nil {
			return err
		}
		if err := s.CreateSubscription(ctx, actingweb.Subscription{ID: c.actor, PeerID: "peer", SubID: "sub", Callback: true}); err != nil {
			return err
		}
	}
	return nil
}

// run makes n calls of each operation on the cell, recording their latency when timed.
func (c *dwCell) run(ctx context.Context, n int, timed bool) error {
	now := time.Now().UTC()
	for _, op := range dwOps {
		for i := 0; i < n; i++ {
			k := c.calls + i
			t0 := time.Now()
			var err error
			switch op {
			case "GetProperty":
				var v string
				v, err = c.store.GetProperty(ctx, c.actor, "displayname")
				if err == nil && v != "Bench Marker" {
					err = fmt.Errorf("read %q", v)
				}
			case "SetProperty":
				err = c.store.SetProperty(ctx, c.actor, "note", fmt.Sprintf("value %d", k))
			case "CreateTrust":
				err = c.store.CreateTrust(ctx, actingweb.Trust{ID: c.actor, PeerID: fmt.Sprintf("peer%06d", k),
					BaseURI: "https://peer.example.com/" + fmt.Sprint(k), Type: "urn:actingweb:example", Relationship: "friend",
					Secret: fmt.Sprintf("secret-%06d", k), Approved: true, PeerApproved: true, Verified: true, CreatedAt: &now})
			case "AddDiff":
				_, err = c.store.AddDiff(ctx, c.actor, "peer", "sub", `{"property":{"note":"changed"}}`)
			}
			d := time.Since(t0)
			if err != nil {
				return fmt.Errorf("%s: %s call %d: %w", c.name, op, k, err)
			}
			if timed {
				c.lat[op] = append(c.lat[op], d)
			}
		}
	}
	c.calls += n
	return nil
}

// checkDualMetrics fails the run when a dual-write store counted a mismatch, a shadow-read
// error or a secondary failure, or when read-new did not shadow every GetProperty.
func checkDualMetrics(cells []*dwCell, getCalls int) error {
	var bad []string
	for _, c := range cells {
		if c.reg == nil {
			continue
		}
		m := gatherCounters(c.reg)
		for _, name := range []string{"actingweb_dualwrite_shadow_mismatches_total", "actingweb_dualwrite_shadow_errors_total",
			"actingweb_dualwrite_secondary_failures_total"} {
			if m[name] != 0 {
				bad = append(bad, fmt.Sprintf("%s: %s = %.0f", c.name, name, m[name]))
			}
		}
		if strings.HasSuffix(c.name, "/"+string(dualwrite.PhaseReadNew)) && m["actingweb_dualwrite_shadow_reads_total"] < float64(getCalls) {
			bad = append(bad, fmt.Sprintf("%s: %.0f shadow reads, want at least %d", c.name, m["actingweb_dualwrite_shadow_reads_total"], getCalls))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("dual-write stores misbehaved: %s", strings.Join(bad, "; "))
	}
	return nil
}

// gatherCounters sums every counter of reg by metric name (all label values together).
func gatherCounters(reg *prometheus.Registry) map[string]float64 {
	out := map[string]float64{}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if c := m.GetCounter(); c != nil {
				out[mf.GetName()] += c.GetValue()
			}
		}
	}
	return out
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(q*float64(len(sorted)-1))]
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// dwDirs are the two directions runDualWrite measures: key part and label.
var dwDirs = []struct{ key, label, short string }{
	{"pg-ddb", "old PostgreSQL, new DynamoDB Local", "PostgreSQL → DynamoDB Local"},
	{"ddb-pg", "old DynamoDB Local, new PostgreSQL", "DynamoDB Local → PostgreSQL"},
}

// dualwriteTable renders the dual-write step's tables (the dw.* lines of runDualWrite), when
// the run measured them: the latencies, then the goals of issue 15, per direction and
// operation: write-both p50 ≤ 1.2 × (the sum of the two stores' p50 alone) for the writes, and
// read-new with 100 % shadow reads p50 ≤ 1.2 × the slower store's p50 alone for the read.
func dualwriteTable(res map[string]measurement) {
	fmt.Println()
	get := func(cell, op string) (measurement, bool) {
		m, ok := res["dw."+cell+"."+op]
		return m, ok && m.rows > 0
	}
	if _, ok := get("pg", dwOps[0]); !ok {
		fmt.Println("Dual-write store (awbench dualwrite): NOT RUN")
		return
	}
	m, _ := get("pg", dwOps[0])
	fmt.Printf("Dual-write store (awbench dualwrite): latency of single calls, one at a time, p50 / p99 in µs over %d calls each "+
		"(SetProperty of an unindexed name, CreateTrust of a new peer; read-new with 100 %% shadow reads).\n\n", m.rows)
	fmt.Printf("| configuration | phase | %s |\n", strings.Join(dwOps, " | "))
	fmt.Printf("|---|---|%s\n", strings.Repeat("---:|", len(dwOps)))
	row := func(label, phase, cell string) {
		cells := make([]string, len(dwOps))
		for i, op := range dwOps {
			if m, ok := get(cell, op); ok {
				cells[i] = fmt.Sprintf("%.0f / %.0f", m.p50us, m.p99us)
			} else {
				cells[i] = "n/a"
			}
		}
		fmt.Printf("| %s | %s | %s |\n", label, phase, strings.Join(cells, " | "))
	}
	row("PostgreSQL alone", "", "pg")
	row("DynamoDB Local alone", "", "ddb")
	for _, d := range dwDirs {
		for i, p := range dualwrite.Phases {
			label := ""
			if i == 0 {
				label = "dual-write: " + d.label
			}
			row(label, string(p), d.key+"/"+string(p))
		}
	}
	fmt.Println()
	fmt.Println("| goal | old → new | operation | p50 | bound ÷ 1.2 | ratio | target | result |")
	fmt.Println("|---|---|---|---:|---|---:|---|---|")
	pg := func(op string) float64 { m, _ := get("pg", op); return m.p50us }
	ddb := func(op string) float64 { m, _ := get("ddb", op); return m.p50us }
	goal := func(what, dir, op string, phase dualwrite.Phase, base float64, baseText string, judge bool) {
		m, ok := get(dir+"/"+string(phase), op)
		label := dir
		for _, d := range dwDirs {
			if d.key == dir {
				label = d.short
			}
		}
		if !ok || base <= 0 {
			fmt.Printf("| %s | %s | %s | | %s | | ≤ 1.20 | NOT RUN |\n", what, label, op, baseText)
			return
		}
		r := m.p50us / base
		v, target := verdict(r <= 1.2), "≤ 1.20"
		if !judge {
			v, target = "—", "—"
		}
		fmt.Printf("| %s | %s | %s | %.0f µs | %s | %.2f | %s | %s |\n", what, label, op, m.p50us, baseText, r, target, v)
	}
	for _, d := range dwDirs {
		for _, op := range dwOps[1:] {
			goal("write-both: p50 ≤ 1.2 × (PostgreSQL + DynamoDB alone)", d.key, op, dualwrite.PhaseWriteBoth,
				pg(op)+ddb(op), fmt.Sprintf("%.0f + %.0f µs", pg(op), ddb(op)), true)
		}
	}
	for _, d := range dwDirs {
		op := dwOps[0]
		goal("read-new, 100 % shadow reads: p50 ≤ 1.2 × the slower store alone", d.key, op, dualwrite.PhaseReadNew,
			max(pg(op), ddb(op)), fmt.Sprintf("max(%.0f, %.0f) µs", pg(op), ddb(op)), true)
	}
	for _, d := range dwDirs {
		for _, op := range dwOps[1:] {
			goal("(reference) read-new writes, to both stores as in write-both", d.key, op, dualwrite.PhaseReadNew,
				pg(op)+ddb(op), fmt.Sprintf("%.0f + %.0f µs", pg(op), ddb(op)), false)
		}
	}
}
