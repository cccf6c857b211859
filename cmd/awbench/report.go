package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"regexp"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/actingweb/actingweb-go/internal/cli"
	"github.com/actingweb/actingweb-go/migrate"
)

// runReportRows prints "rows=N" for an actingweb --report JSON file: rows written (export,
// import, copy; the rebuilt lookup rows included) or rows compared on side A (validate), plus
// "equal=true|false" for validate and "rejected=N" for the others.
func runReportRows(_ context.Context, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: awbench report-rows FILE")
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	if _, ok := probe["operation"]; ok {
		var r migrate.Report
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %w", args[0], err)
		}
		tot := r.Totals()
		rows := tot.Written
		if r.Lookup != nil {
			rows += r.Lookup.Result.Written
		}
		fmt.Printf("rows=%d read=%d rejected=%d\n", rows, tot.Read, tot.Rejected)
		return nil
	}
	var v migrate.ValidationReport
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	var rows int64
	for _, t := range v.Tables {
		rows += t.CountA
	}
	fmt.Printf("rows=%d equal=%t\n", rows, v.Equal)
	return nil
}

// runCLI runs the actingweb command in this process, optionally under the CPU profiler, and
// exits with its exit code: awbench cli --cpuprofile cpu.out -- import --to ... (the actingweb
// binary has no profiling flag).
func runCLI(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cli", flag.ContinueOnError)
	prof := fs.String("cpuprofile", "", "write a CPU profile (go tool pprof) to this file")
	heap := fs.String("heapprofile", "", "write a heap profile (live objects) to this file, --heap-after into the run")
	heapAfter := fs.Duration("heap-after", 3*time.Second, "when to write --heapprofile")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *heap != "" {
		t := time.AfterFunc(*heapAfter, func() {
			runtime.GC()
			if f, err := os.Create(*heap); err == nil {
				pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
		})
		defer t.Stop()
	}
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cli.RuntimeDefaults() // the actingweb binary's collector settings
	app := cli.NewApp(os.Stdout, os.Stderr, os.Getenv)
	app.Terminal = term.IsTerminal(int(os.Stderr.Fd()))
	if code := app.Execute(ctx, fs.Args()); code != 0 {
		pprof.StopCPUProfile()
		return exitCode(code)
	}
	return nil
}

// measurement is one line of a results file: "<key> rows=N seconds=S [rss_kb=K] [note=...]
// [p50_us=X p99_us=Y]". A key on several lines (a step repeated, BENCH_PG_REPEAT) reads as its
// fastest line, with the highest peak RSS of all of them and runs counting the lines.
type measurement struct {
	rows         int64
	seconds      float64
	rssKB        int64
	note         string
	runs         int
	p50us, p99us float64 // per-call latency (awbench dualwrite), µs
}

func (m measurement) rate() float64 {
	if m.seconds <= 0 {
		return 0
	}
	return float64(m.rows) / m.seconds
}

func readResults(path string) (map[string]measurement, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	out, meta := map[string]measurement{}, map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		m := measurement{}
		for _, kv := range fields[1:] {
			k, v, _ := strings.Cut(kv, "=")
			if fields[0] == "meta" {
				meta[k] = v
				continue
			}
			switch k {
			case "rows":
				m.rows, _ = strconv.ParseInt(v, 10, 64)
			case "seconds":
				m.seconds, _ = strconv.ParseFloat(v, 64)
			case "rss_kb":
				m.rssKB, _ = strconv.ParseInt(v, 10, 64)
			case "note":
				m.note = v
			case "p50_us":
				m.p50us, _ = strconv.ParseFloat(v, 64)
			case "p99_us":
				m.p99us, _ = strconv.ParseFloat(v, 64)
			}
		}
		if fields[0] == "meta" {
			continue
		}
		m.runs = 1
		if old, ok := out[fields[0]]; ok {
			m.runs += old.runs
			m.rssKB = max(m.rssKB, old.rssKB)
			if old.seconds <= m.seconds {
				old.runs, old.rssKB = m.runs, m.rssKB
				m = old
			}
		}
		out[fields[0]] = m
	}
	return out, meta, sc.Err()
}

func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// runTable renders the whole-run table of scripts/bench.sh from its results file; it exits 0
// whatever the verdicts (the table says PASS/FAIL).
func runTable(_ context.Context, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: awbench table RESULTS")
	}
	res, meta, err := readResults(args[0])
	if err != nil {
		return err
	}
	var keys []string
	for k := range meta {
		if k != "baseline" { // the before/after section names it
			keys = append(keys, k+"="+meta[k])
		}
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		fmt.Print("Data set: none generated (no pg, ddb or sync step)\n\n")
	} else {
		fmt.Printf("Data set: %s\n\n", strings.Join(keys, " "))
	}
	type cmp struct {
		label, run, ceil, ceilLabel string
	}
	rows := []cmp{
		{"import → PostgreSQL", "import_pg", "ceiling_pg_copyfrom", "pgx CopyFrom"},
		{"export ← PostgreSQL", "export_pg", "ceiling_pg_copyto", "COPY TO STDOUT into files"},
		{"import → DynamoDB Local", "import_ddb", "ceiling_ddb_write", "BatchWriteItem×25"},
		{"export ← DynamoDB Local", "export_ddb", "ceiling_ddb_scan", "parallel Scan"},
	}
	fmt.Println("| measure | actingweb rows | s | rows/s | ceiling | rows | s | rows/s | ratio | target | result |")
	fmt.Println("|---|---:|---:|---:|---|---:|---:|---:|---:|---|---|")
	for _, c := range rows {
		a, okA := res[c.run]
		b, okB := res[c.ceil]
		if !okA || !okB {
			fmt.Printf("| %s | %s | | | %s | | | | | ≥ 0.80 | NOT RUN |\n", c.label, missing(okA), c.ceilLabel)
			continue
		}
		ratio := 0.0
		if b.rate() > 0 {
			ratio = a.rate() / b.rate()
		}
		if a.runs > 1 || b.runs > 1 {
			c.label += fmt.Sprintf(" (best of %d and %d runs)", a.runs, b.runs)
		}
		fmt.Printf("| %s | %s | %.1f | %s | %s | %s | %.1f | %s | %.2f | ≥ 0.80 | %s |\n", c.label, group(a.rows), a.seconds,
			group(int64(a.rate())), c.ceilLabel, group(b.rows), b.seconds, group(int64(b.rate())), ratio, verdict(ratio >= 0.8))
	}
	if a, okA := res["export_pg"]; okA {
		for _, ref := range []struct{ key, label string }{
			{"ref_pg_copyto_pagecache", "COPY TO STDOUT into files through the page cache"},
			{"ref_pg_copyto_discard", "binary COPY into io.Discard, no files"},
		} {
			if b, okB := res[ref.key]; okB && b.rate() > 0 {
				ratio := a.rate() / b.rate()
				fmt.Printf("| (reference) export ← PostgreSQL | %s | %.1f | %s | %s | %s | %.1f | %s | %.2f | — | — |\n",
					group(a.rows), a.seconds, group(int64(a.rate())), ref.label, group(b.rows), b.seconds, group(int64(b.rate())), ratio)
			}
		}
	}
	if a, okA := res["import_ddb"]; okA {
		if b, okB := res["ref_ddb_write_bundle"]; okB && b.rate() > 0 {
			fmt.Printf("| (reference) import → DynamoDB Local | %s | %.1f | %s | BatchWriteItem×25 in the bundle's order | %s | %.1f | %s | %.2f | — | — |\n",
				group(a.rows), a.seconds, group(int64(a.rate())), group(b.rows), b.seconds, group(int64(b.rate())), a.rate()/b.rate())
		}
	}
	if v, okV := res["validate_ddb_pg"]; okV {
		if c, okC := res["copy_ddb_pg"]; okC && c.seconds > 0 {
			ratio := v.seconds / c.seconds
			fmt.Printf("| validate DynamoDB ↔ PostgreSQL | %s | %.1f | %s | copy DynamoDB → PostgreSQL | %s | %.1f | %s | %.2f | ≤ 1.00 (time) | %s |\n",
				group(v.rows), v.seconds, group(int64(v.rate())), group(c.rows), c.seconds, group(int64(c.rate())), ratio, verdict(ratio <= 1))
		}
	}
	syncTable(res)
	fmt.Println()
	fmt.Println("| actingweb run | peak RSS (MB) | target | result |")
	fmt.Println("|---|---:|---|---|")
	for _, k := range []string{"import_pg", "export_pg", "import_ddb", "export_ddb", "copy_ddb_pg", "validate_ddb_pg"} {
		m, ok := res[k]
		if !ok || m.rssKB == 0 {
			continue
		}
		mb := float64(m.rssKB) / 1024
		fmt.Printf("| %s | %.0f | ≤ 150 | %s |\n", strings.ReplaceAll(k, "_", " "), mb, verdict(mb <= 150))
	}
	baselineTable(res, meta)
	dualwriteTable(res)
	return nil
}

// baselineTable prints the before/after section of a run with BENCH_BASELINE: each actingweb
// step's time with this tree's build against the baseline's (the fastest run of each), on
// the same data in the same run. The target is no step more than 5 % slower.
func baselineTable(res map[string]measurement, meta map[string]string) {
	rev, ok := meta["baseline"]
	if !ok {
		return
	}
	fmt.Printf("\nBefore/after: this build against %s (BENCH_BASELINE), same data, same run.\n\n", rev)
	fmt.Println("| step | rows | before s | after s | after ÷ before (time) | before RSS MB | after RSS MB | target | result |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---|---|")
	for _, k := range []string{"import_pg", "export_pg", "import_ddb", "export_ddb", "copy_ddb_pg", "validate_ddb_pg"} {
		a, okA := res[k]
		b, okB := res[k+"_base"]
		if !okA || !okB || b.seconds <= 0 {
			continue
		}
		ratio := a.seconds / b.seconds
		label := strings.ReplaceAll(k, "_", " ")
		if a.runs > 1 || b.runs > 1 {
			label += fmt.Sprintf(" (best of %d and %d runs)", b.runs, a.runs)
		}
		fmt.Printf("| %s | %s | %.1f | %.1f | %.2f | %.0f | %.0f | ≤ 1.05 | %s |\n", label, group(a.rows), b.seconds, a.seconds,
			ratio, float64(b.rssKB)/1024, float64(a.rssKB)/1024, verdict(ratio <= 1.05))
	}
	// The live migration with the baseline's binary: load, backlog apply and cut-over are
	// timed steps; the lag's p99 is polled every 10 ms, so it is judged by its own target.
	for _, k := range []string{"sync_load", "sync_apply", "sync_cutover"} {
		a, okA := res[k]
		b, okB := res[k+"_base"]
		if !okA || !okB || b.seconds <= 0 {
			continue
		}
		ratio := a.seconds / b.seconds
		fmt.Printf("| %s | %s | %.2f | %.2f | %.2f | | | ≤ 1.05 | %s |\n", strings.ReplaceAll(k, "_", " "), group(a.rows),
			b.seconds, a.seconds, ratio, verdict(ratio <= 1.05))
	}
	if a, okA := res["sync_lag"]; okA {
		if b, okB := res["sync_lag_base"]; okB {
			fmt.Printf("| sync lag, p99 | %s | %.3f | %.3f | | | | p99 ≤ 2 s | %s |\n", group(a.rows), b.seconds, a.seconds,
				verdict(a.seconds <= 2))
		}
	}
	if rss, ok := res["sync_rss"]; ok {
		if b, okB := res["sync_rss_base"]; okB {
			fmt.Printf("| sync peak RSS | | | | | %.0f | %.0f | | |\n", float64(b.rssKB)/1024, float64(rss.rssKB)/1024)
		}
	}
	dualwriteBaseline(res)
}

// dualwriteBaseline prints the dual-write step's p50 latencies with awbench built at the
// baseline against this tree's, per configuration and operation (each side's fastest run of
// the calls, by their total time).
func dualwriteBaseline(res map[string]measurement) {
	var keys []string
	for k := range res {
		if strings.HasPrefix(k, "dw.") && !strings.HasSuffix(k, "_base") {
			if b, ok := res[k+"_base"]; ok && b.p50us > 0 {
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 {
		return
	}
	sort.Strings(keys)
	fmt.Println("\n| dual-write: configuration . operation | calls | before p50 µs | after p50 µs | after ÷ before | target | result |")
	fmt.Println("|---|---:|---:|---:|---:|---|---|")
	logSum := 0.0
	for _, k := range keys {
		a, b := res[k], res[k+"_base"]
		ratio := a.p50us / b.p50us
		logSum += math.Log(ratio)
		fmt.Printf("| %s | %d | %.0f | %.0f | %.2f | ≤ 1.05 | %s |\n", strings.TrimPrefix(k, "dw."), a.rows, b.p50us, a.p50us,
			ratio, verdict(ratio <= 1.05))
	}
	// One cell's p50 swings by up to ±20 % between runs on DynamoDB Local; the geometric mean
	// of all cells is the figure that says whether the code got slower.
	gm := math.Exp(logSum / float64(len(keys)))
	fmt.Printf("| geometric mean of the %d cells | | | | %.2f | ≤ 1.05 | %s |\n", len(keys), gm, verdict(gm <= 1.05))
}

func missing(ok bool) string {
	if ok {
		return ""
	}
	return "(missing)"
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

var (
	benchLine = regexp.MustCompile(`^Benchmark(\w+?)(-\d+)?\s+\d+\s+.*?([\d.]+) p50-µs\s+([\d.]+) p99-µs`)
	pkgLine   = regexp.MustCompile(`^pkg: \S+/(postgres|dynamodb)$`)
	pgbenchRe = regexp.MustCompile(`latency average = ([\d.]+) ms`)
	modeRe    = regexp.MustCompile(`^query mode: (\w+)`)
	sdkWarn   = regexp.MustCompile(`SDK \d{4}/\d\d/\d\d \d\d:\d\d:\d\d WARN [^\n]*\n`)
)

// runLatencyTable renders scripts/bench-store.sh's table from `go test -bench` output (the
// p50-µs/p99-µs metrics of postgres/ and dynamodb/) and pgbench -S output.
func runLatencyTable(_ context.Context, args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: awbench latency-table GOBENCH-OUTPUT PGBENCH-OUTPUT")
	}
	gb, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	pb, err := os.ReadFile(args[1])
	if err != nil {
		return err
	}
	type lat struct{ p50, p99 float64 }
	runs := map[string]map[string][]lat{"postgres": {}, "dynamodb": {}}
	var order []string
	seen := map[string]bool{}
	backend := ""
	// The AWS SDK may log a warning into the middle of a benchmark line: cut it out.
	text := sdkWarn.ReplaceAllString(string(gb), "")
	for _, line := range strings.Split(text, "\n") {
		if m := pkgLine.FindStringSubmatch(line); m != nil {
			backend = m[1]
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil || backend == "" {
			continue
		}
		p50, _ := strconv.ParseFloat(m[3], 64)
		p99, _ := strconv.ParseFloat(m[4], 64)
		runs[backend][m[1]] = append(runs[backend][m[1]], lat{p50, p99})
		if !seen[m[1]] {
			seen[m[1]] = true
			order = append(order, m[1])
		}
	}
	// With -count > 1 each figure is the median over the runs.
	median := func(xs []float64) float64 {
		sort.Float64s(xs)
		return xs[len(xs)/2]
	}
	got := map[string]map[string]lat{"postgres": {}, "dynamodb": {}}
	count := 0
	for b, ops := range runs {
		for op, ls := range ops {
			var p50s, p99s []float64
			for _, l := range ls {
				p50s, p99s = append(p50s, l.p50), append(p99s, l.p99)
			}
			got[b][op] = lat{median(p50s), median(p99s)}
			count = max(count, len(ls))
		}
	}
	if count > 1 {
		fmt.Printf("Figures are medians of %d runs of each benchmark.\n\n", count)
	}
	// pgbench prints "query mode: <mode>" before each run's "latency average = <ms> ms".
	pgAvg := map[string]float64{} // mode -> µs
	var modes []string
	mode := "simple"
	for _, line := range strings.Split(string(pb), "\n") {
		if m := modeRe.FindStringSubmatch(line); m != nil {
			mode = m[1]
		}
		if m := pgbenchRe.FindStringSubmatch(line); m != nil {
			ms, _ := strconv.ParseFloat(m[1], 64)
			if _, ok := pgAvg[mode]; !ok {
				modes = append(modes, mode)
			}
			pgAvg[mode] = ms * 1000
		}
	}
	if len(modes) == 0 {
		return fmt.Errorf("%s: no \"latency average\" line (did pgbench run?)", args[1])
	}
	cell := func(b, op string) (string, string) {
		l, ok := got[b][op]
		if !ok {
			return "n/a", "n/a"
		}
		return fmt.Sprintf("%.0f µs", l.p50), fmt.Sprintf("%.0f µs", l.p99)
	}
	fmt.Println("| operation | PostgreSQL p50 | PostgreSQL p99 | DynamoDB Local p50 | DynamoDB Local p99 |")
	fmt.Println("|---|---:|---:|---:|---:|")
	for _, op := range order {
		a, b := cell("postgres", op)
		c, d := cell("dynamodb", op)
		fmt.Printf("| %s | %s | %s | %s | %s |\n", op, a, b, c, d)
	}
	fmt.Println()
	for _, m := range modes {
		fmt.Printf("pgbench -S -M %s (1 client, 1 thread): average latency %.0f µs\n", m, pgAvg[m])
	}
	fmt.Println()
	fmt.Println("| single-row read | PostgreSQL p50 | pgbench -S mode | pgbench avg | ratio | target | result |")
	fmt.Println("|---|---:|---|---:|---:|---|---|")
	for _, op := range []string{"GetActor", "GetProperty"} {
		for _, m := range modes {
			l, ok := got["postgres"][op]
			if !ok {
				fmt.Printf("| %s | n/a | %s | %.0f µs | | ≤ 2.00 | NOT RUN |\n", op, m, pgAvg[m])
				continue
			}
			r := l.p50 / pgAvg[m]
			fmt.Printf("| %s | %.0f µs | %s | %.0f µs | %.2f | ≤ 2.00 | %s |\n", op, l.p50, m, pgAvg[m], r, verdict(r <= 2))
		}
	}
	return nil
}

// syncTable renders the live migration's rows (awbench sync), when the run measured them.
func syncTable(res map[string]measurement) {
	load, okL := res["sync_load"]
	cp, okC := res["sync_copy"]
	if !okL || !okC {
		fmt.Println("| live migration (sync) | | | | | | | | | | NOT RUN |")
		return
	}
	// The load moves the eight data tables and builds the lookup rows; copy's report counts the
	// lookup rows too: compare time for the same data set.
	ratio := cp.seconds / load.seconds
	fmt.Printf("| sync: initial load (PostgreSQL → PostgreSQL) | %s | %.1f | %s | actingweb copy | %s | %.1f | %s | %.2f | ≥ 0.90 | %s |\n",
		group(load.rows), load.seconds, group(int64(load.rate())), group(cp.rows), cp.seconds, group(int64(cp.rate())), ratio, verdict(ratio >= 0.9))
	if a, ok := res["sync_apply"]; ok {
		if c, okc := res["ceiling_sync_apply"]; okc && c.rate() > 0 {
			r := a.rate() / c.rate()
			fmt.Printf("| sync: apply a backlog of changes | %s | %.1f | %s | pgx CopyFrom of the same rows | %s | %.2f | %s | %.2f | ≥ 0.80 | %s |\n",
				group(a.rows), a.seconds, group(int64(a.rate())), group(c.rows), c.seconds, group(int64(c.rate())), r, verdict(r >= 0.8))
			// A change stream cannot be applied faster than the source server decodes it: the
			// pipeline's ceiling is its slower raw stage.
			if d, okd := res["ceiling_sync_decode"]; okd && d.rate() > 0 {
				slow, what := c, "CopyFrom"
				if d.rate() < c.rate() {
					slow, what = d, "the source's decoding"
				}
				r := a.rate() / slow.rate()
				fmt.Printf("| sync: apply a backlog of changes | %s | %.1f | %s | slower of pgoutput decoding (%.2f s) and CopyFrom: %s | %s | %.2f | %s | %.2f | ≥ 0.80 | %s |\n",
					group(a.rows), a.seconds, group(int64(a.rate())), d.seconds, what, group(slow.rows), slow.seconds, group(int64(slow.rate())), r, verdict(r >= 0.8))
			}
		}
	}
	if l, ok := res["sync_lag"]; ok {
		fmt.Printf("| sync: lag under steady writes (%s) | %s | | | | | | | p99 %.2f s | p99 ≤ 2 s | %s |\n",
			strings.ReplaceAll(l.note, ",", ", "), group(l.rows), l.seconds, verdict(l.seconds <= 2))
	}
	if c, ok := res["sync_cutover"]; ok {
		fmt.Printf("| sync: write pause at cut-over (last write → cutover's answer) | | %.1f | | | | | | %.1f s | ≤ 10 s | %s |\n",
			c.seconds, c.seconds, verdict(c.seconds <= 10))
	}
	if r, ok := res["sync_rss"]; ok && r.rssKB > 0 {
		mb := float64(r.rssKB) / 1024
		fmt.Printf("| sync: peak RSS | | | | | | | | %.0f MB | ≤ 200 MB | %s |\n", mb, verdict(mb <= 200))
	}
}
