// Command awbench is the benchmark helper of scripts/bench.sh and scripts/bench-store.sh: it
// generates the synthetic data set as a bundle and measures the raw ceilings the actingweb
// command is compared with — pgx CopyFrom and COPY TO STDOUT on PostgreSQL, 25-item
// BatchWriteItem requests and segmented Scans on DynamoDB — on the same rows, and renders the
// result tables.
//
// Every measuring subcommand prints one parseable line on stdout:
//
//	RESULT name=<subcommand> rows=<n> seconds=<s> rows_per_sec=<r> [key=value ...]
//
// Loading rows into memory (the ceilings write pre-decoded rows) and creating schemas are not
// timed. Subcommands:
//
//	gen              --scale F --out DIR         write the data set as a bundle (bundle.Writer)
//	raw-pg-copyfrom  --pg URL --src S --dst D    CopyFrom every row of schema S into schema D
//	raw-pg-copyto    --pg URL --schema S         COPY every table TO STDOUT (discarded)
//	raw-ddb-write    --endpoint E --src P --dst Q   BatchWriteItem every item of prefix P into Q
//	raw-ddb-scan     --endpoint E --prefix P     segmented Scan of every table (discarded)
//	pg-drop          --pg URL --schema S         DROP SCHEMA S CASCADE
//	pg-vacuum        --pg URL [--schema S]       VACUUM (ANALYZE) every table of S, CHECKPOINT
//	ddb-drop         --endpoint E --prefix P     delete the nine tables of prefix P
//	report-rows      FILE                        rows moved according to an actingweb --report JSON
//	cli              [--cpuprofile F] -- ARGS    run the actingweb command in-process (profiling)
//	sync             --pg URL --src S --work DIR  measure actingweb sync, apply, lag and cut-over (runSync)
//	dualwrite        --schema S --prefix P [--ops N]  per-call latency through the dual-write store (runDualWrite)
//	table            RESULTS                     render the whole-run table (PASS/FAIL)
//	latency-table    GOBENCH PGBENCH             render the per-operation latency table
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func usage() {
	fmt.Fprintln(os.Stderr, `usage: awbench <subcommand> [flags]
subcommands: gen, raw-pg-copyfrom, raw-pg-copyto, raw-ddb-write, raw-ddb-scan, pg-drop, pg-vacuum, ddb-drop,
             report-rows, cli, sync, dualwrite, table, latency-table   (awbench <subcommand> -h for flags)`)
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmds := map[string]func(context.Context, []string) error{
		"gen":             runGen,
		"raw-pg-copyfrom": runPGCopyFrom,
		"raw-pg-copyto":   runPGCopyTo,
		"raw-ddb-write":   runDDBWrite,
		"raw-ddb-scan":    runDDBScan,
		"pg-drop":         runPGDrop,
		"pg-vacuum":       runPGVacuum,
		"ddb-drop":        runDDBDrop,
		"report-rows":     runReportRows,
		"cli":             runCLI,
		"sync":            runSync,
		"table":           runTable,
		"latency-table":   runLatencyTable,
		"dualwrite":       runDualWrite,
	}
	fn := cmds[os.Args[1]]
	if fn == nil {
		usage()
		os.Exit(2)
	}
	if err := fn(ctx, os.Args[2:]); err != nil {
		var ec exitCode
		if asExit(err, &ec) {
			os.Exit(int(ec))
		}
		fmt.Fprintf(os.Stderr, "awbench %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// exitCode is returned by subcommands that pass an exit code through (cli).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func asExit(err error, ec *exitCode) bool {
	e, ok := err.(exitCode)
	if ok {
		*ec = e
	}
	return ok
}

// result prints the RESULT line of a measurement.
func result(name string, rows int64, d time.Duration, extra ...string) {
	s := d.Seconds()
	rps := 0.0
	if s > 0 {
		rps = float64(rows) / s
	}
	line := fmt.Sprintf("RESULT name=%s rows=%d seconds=%.3f rows_per_sec=%.0f", name, rows, s, rps)
	for _, e := range extra {
		line += " " + e
	}
	fmt.Println(line)
}
