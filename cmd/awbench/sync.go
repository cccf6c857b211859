package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/time/rate"

	"github.com/actingweb/actingweb-go/migrate"
	"github.com/actingweb/actingweb-go/postgres"
)

// runSync measures `actingweb sync` between two PostgreSQL schemas with the real binary, and
// prints the bench's result lines (the RESULTS file's format, not RESULT lines):
//
//	sync_copy    rows seconds        actingweb copy of the source (the load's yardstick)
//	sync_load    rows seconds        the sync's initial load, from its start to phase streaming
//	sync_apply   rows seconds        a backlog of --changes new property rows (100 transactions)
//	                                 applied by a restarted sync, from its start to caught up
//	ceiling_sync_apply rows seconds  pgx CopyFrom of the same rows into an empty table
//	ceiling_sync_decode rows seconds the source server decoding the same backlog through a
//	                                 second slot (pg_logical_slot_get_binary_changes, pgoutput)
//	sync_lag     rows seconds=p99    writes at --rate per second for --lag-seconds, lag of each
//	                                 from its commit to its row being visible on the target
//	                                 (polled every 10 ms), note=p50,p99,achieved rate
//	sync_cutover seconds             from the last write to cutover's exit
//	sync_rss     rss_kb              peak RSS of the sync process (VmHWM)
//
// The source schema (--src) holds the bench data set already (the import's target).
func runSync(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	bin := fs.String("bin", "bin/actingweb", "the actingweb binary")
	base := fs.String("pg", os.Getenv("ACTINGWEB_TEST_PG_URL"), "PostgreSQL URL (without schema) of the source")
	dstBase := fs.String("dst-pg", "", "PostgreSQL URL (without schema) of the target server (default: the source's; a server of its own keeps the source's replication slot from holding the target's WAL)")
	src := fs.String("src", "", "source schema holding the data set (required)")
	work := fs.String("work", "", "work directory for state (required)")
	changes := fs.Int("changes", 100000, "rows of the apply backlog")
	writes := fs.Float64("rate", 500, "writes per second during the lag measurement")
	lagFor := fs.Duration("lag-seconds", 20*time.Second, "length of the lag measurement")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *src == "" || *work == "" || *base == "" {
		return fmt.Errorf("sync: --src, --work and --pg are required")
	}
	if *dstBase == "" {
		*dstBase = *base
	}
	withSchema := func(base, schema string) string {
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		return base + sep + "schema=" + schema
	}
	url := func(schema string) string { return withSchema(*base, schema) }
	dstURL := func(schema string) string { return withSchema(*dstBase, schema) }
	copyS, syncS, ceilS := *src+"_sc", *src+"_ss", *src+"_sa"
	for _, s := range []string{copyS, syncS, ceilS} {
		if err := runPGDrop(ctx, []string{"--pg", *dstBase, "--schema", s}); err != nil {
			return err
		}
		if out, err := exec.CommandContext(ctx, *bin, "schema", "upgrade", "--to", dstURL(s)).CombinedOutput(); err != nil {
			return fmt.Errorf("schema upgrade %s: %v\n%s", s, err, out)
		}
	}
	defer func() {
		for _, s := range []string{copyS, syncS, ceilS} {
			runPGDrop(context.WithoutCancel(ctx), []string{"--pg", *dstBase, "--schema", s})
		}
	}()
	cfg, err := postgres.ConfigFromURL(url(*src), os.Getenv)
	if err != nil {
		return err
	}
	srcStore, err := postgres.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer srcStore.Close()
	// The rows this measurement adds to the source go again at its end (and from an earlier
	// run that stopped half-way, now).
	clean := func(ctx context.Context) error {
		_, err := srcStore.Pool().Exec(ctx, `DELETE FROM `+pgx.Identifier{*src, "properties"}.Sanitize()+` WHERE id IN ('applybench', 'lagprobe')`)
		return err
	}
	if err := clean(ctx); err != nil {
		return err
	}
	defer clean(context.WithoutCancel(ctx))
	dcfg, err := postgres.ConfigFromURL(dstURL(syncS), os.Getenv)
	if err != nil {
		return err
	}
	dstStore, err := postgres.Open(ctx, dcfg)
	if err != nil {
		return err
	}
	defer dstStore.Close()

	// 1. copy, the yardstick of the load.
	report := filepath.Join(*work, "sync_copy.report.json")
	t0 := time.Now()
	if out, err := exec.CommandContext(ctx, *bin, "copy", "--from", url(*src), "--to", dstURL(copyS), "--quiet",
		"--state-dir", filepath.Join(*work, "st_sc"), "--report", report).CombinedOutput(); err != nil {
		return fmt.Errorf("copy: %v\n%s", err, out)
	}
	copySecs := time.Since(t0).Seconds()
	rep, err := readCopyReport(report)
	if err != nil {
		return err
	}
	fmt.Printf("sync_copy rows=%d seconds=%.3f\n", rep, copySecs)

	// 2. the sync's initial load, after the copy's writes are on disk (as bench.sh's settle
	// before every step: otherwise the load pays for the copy's checkpoint).
	settle := func() error {
		syscall.Sync()
		err := runPGVacuum(ctx, []string{"--pg", *base, "--schema", *src})
		syscall.Sync()
		return err
	}
	if err := settle(); err != nil {
		return err
	}
	state := filepath.Join(*work, "st_ss")
	syncArgs := []string{"sync", "--from", url(*src), "--to", dstURL(syncS), "--state-dir", state, "--quiet"}
	proc, err := startSync(*bin, syncArgs, filepath.Join(*work, "sync.log"))
	if err != nil {
		return err
	}
	defer func() {
		proc.Process.Signal(syscall.SIGTERM)
		proc.Wait()
		exec.Command(*bin, "sync", "drop", "--from", url(*src), "--to", dstURL(syncS), "--state-dir", state).Run()
		exec.Command(*bin, "sync", "drop", "--from", dstURL(syncS), "--to", url(*src), "--state-dir", filepath.Join(*work, "st_back")).Run()
	}()
	st, err := waitState(ctx, state, time.Hour, func(s *migrate.SyncStatus) bool { return s.Phase == migrate.PhaseStreaming })
	if err != nil {
		return err
	}
	var loaded int64
	for _, ts := range st.Tables {
		loaded += ts.Loaded
	}
	fmt.Printf("sync_load rows=%d seconds=%.3f\n", loaded, st.LoadedAt.Sub(proc.start).Seconds())
	rss := vmHWM(proc.Process.Pid)

	// 3. a backlog applied by a restarted sync, and its ceiling. The sync first reads past the
	// WAL of its own load (source and target share a server here, so the slot decodes the
	// load's writes too; on two servers it would not).
	head, err := srcStore.HeadPosition(ctx)
	if err != nil {
		return err
	}
	if _, err := waitState(ctx, state, time.Hour, func(s *migrate.SyncStatus) bool {
		ok, _ := srcStore.PositionReached(s.Position, head)
		return ok
	}); err != nil {
		return err
	}
	// A restarted walsender decodes again from the slot's restart point, which moves only past
	// a running-transactions record (logged by checkpoints, and every 15 s) that the sync has
	// confirmed: wait for it, or the backlog's time would include decoding the load's WAL again.
	if err := waitRestartLSN(ctx, srcStore, st.Name, head); err != nil {
		return err
	}
	stopSync(proc)
	rss = max(rss, procRSS(proc))
	// A second slot of the same plugin and publication, created now, decodes the same backlog
	// with nothing else: the source server's raw change output, the other ceiling of an apply.
	const twin = "awbench_decode_ceiling"
	dropTwin := func(ctx context.Context) {
		srcStore.Pool().Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, twin)
	}
	dropTwin(ctx)
	if _, err := srcStore.Pool().Exec(ctx, `SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, twin); err != nil {
		return fmt.Errorf("create the decode ceiling's slot: %w", err)
	}
	defer dropTwin(context.WithoutCancel(ctx))
	per := max(*changes/100, 1)
	for k := 0; k < *changes; k += per {
		_, err := srcStore.Pool().Exec(ctx, `INSERT INTO `+pgx.Identifier{*src, "properties"}.Sanitize()+
			` (id, name, value) SELECT 'applybench', 'p' || lpad(g::text, 9, '0'), md5(g::text) FROM generate_series($1::int, $2::int) g`, k, min(k+per, *changes)-1)
		if err != nil {
			return err
		}
	}
	if head, err = srcStore.HeadPosition(ctx); err != nil {
		return err
	}
	if proc, err = startSync(*bin, syncArgs, filepath.Join(*work, "sync.log")); err != nil {
		return err
	}
	t1 := time.Now()
	if _, err := waitState(ctx, state, time.Hour, func(s *migrate.SyncStatus) bool {
		ok, _ := srcStore.PositionReached(s.Position, head)
		return ok
	}); err != nil {
		return err
	}
	fmt.Printf("sync_apply rows=%d seconds=%.3f\n", *changes, time.Since(t1).Seconds())
	if err := copyCeiling(ctx, srcStore, dstStore, *src, ceilS); err != nil {
		return err
	}
	t3 := time.Now()
	var msgs int64
	if err := srcStore.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_logical_slot_get_binary_changes($1, NULL, NULL,
		'proto_version', '1', 'publication_names', $2)`, twin, st.Name).Scan(&msgs); err != nil {
		return fmt.Errorf("decode ceiling: %w", err)
	}
	fmt.Printf("ceiling_sync_decode rows=%d seconds=%.3f note=messages=%d\n", *changes, time.Since(t3).Seconds(), msgs)
	dropTwin(ctx)

	// 4. lag under a steady write rate.
	p50, p99, achieved, n, err := measureLag(ctx, srcStore, dstStore, syncS, *writes, *lagFor)
	if err != nil {
		return err
	}
	fmt.Printf("sync_lag rows=%d seconds=%.3f note=p50=%.3fs,p99=%.3fs,rate=%.0f/s\n", n, p99, p50, p99, achieved)

	// 5. cut-over: from the last write to cutover's answer.
	t2 := time.Now()
	if out, err := exec.CommandContext(ctx, *bin, "cutover", "--from", url(*src), "--to", dstURL(syncS), "--state-dir", state,
		"--reverse-state-dir", filepath.Join(*work, "st_back")).CombinedOutput(); err != nil {
		return fmt.Errorf("cutover: %v\n%s", err, out)
	}
	fmt.Printf("sync_cutover rows=0 seconds=%.3f\n", time.Since(t2).Seconds())
	rss = max(rss, vmHWM(proc.Process.Pid))
	fmt.Printf("sync_rss rows=0 seconds=0 rss_kb=%d\n", rss)
	return nil
}

// readCopyReport returns the rows a copy wrote, lookup rows included.
func readCopyReport(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var r migrate.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return 0, err
	}
	n := r.Totals().Written
	if r.Lookup != nil {
		n += r.Lookup.Result.Written
	}
	return n, nil
}

// syncProc is a running `actingweb sync` and when it started.
type syncProc struct {
	*exec.Cmd
	start time.Time
}

func startSync(bin string, args []string, logPath string) (*syncProc, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &syncProc{Cmd: cmd, start: time.Now()}, nil
}

// stopSync stops a sync with SIGTERM and waits for it.
func stopSync(cmd *syncProc) {
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
}

// procRSS is the peak RSS of an exited child (rusage), in kB.
func procRSS(cmd *syncProc) int64 {
	if cmd.ProcessState == nil {
		return 0
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss
	}
	return 0
}

// vmHWM reads the peak RSS (kB) of a running process.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// waitState polls sync.json (replaced by rename at every batch) until ok.
func waitState(ctx context.Context, dir string, limit time.Duration, ok func(*migrate.SyncStatus) bool) (*migrate.SyncStatus, error) {
	deadline := time.Now().Add(limit)
	for {
		st, err := migrate.ReadSyncStatus(dir)
		if err == nil && ok(st) {
			return st, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("sync state in %s: condition not reached in %s (last: %v)", dir, limit, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// copyCeiling writes the backlog's rows (read from schema src of s) with one pgx CopyFrom into
// the empty properties table of schema ceil on the target server (d's) and prints the ceiling
// line.
func copyCeiling(ctx context.Context, s, d *postgres.Store, src, ceil string) error {
	rows, err := s.Pool().Query(ctx, `SELECT id, name, value FROM `+pgx.Identifier{src, "properties"}.Sanitize()+` WHERE id = 'applybench'`)
	if err != nil {
		return err
	}
	data, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]any, error) {
		var a, b, c string
		err := r.Scan(&a, &b, &c)
		return []any{a, b, c}, err
	})
	if err != nil {
		return err
	}
	t0 := time.Now()
	n, err := d.Pool().CopyFrom(ctx, pgx.Identifier{ceil, "properties"}, []string{"id", "name", "value"}, pgx.CopyFromRows(data))
	if err != nil {
		return err
	}
	fmt.Printf("ceiling_sync_apply rows=%d seconds=%.3f\n", n, time.Since(t0).Seconds())
	return nil
}

// measureLag writes property rows of actor "lagprobe" on the source at rate per second for d
// and polls the target every 10 ms for the greatest one there; each write's lag is the time
// from its commit to the poll that first saw it.
func measureLag(ctx context.Context, src, dst *postgres.Store, dstSchema string, perSec float64, d time.Duration) (p50, p99, achieved float64, n int, err error) {
	total := int(perSec * d.Seconds())
	committed := make([]time.Time, total)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		lim := rate.NewLimiter(rate.Limit(perSec), 1)
		for i := range total {
			if err := lim.Wait(ctx); err != nil {
				done <- err
				return
			}
			if err := src.SetProperty(ctx, "lagprobe", fmt.Sprintf("p%09d", i), "x"); err != nil {
				done <- err
				return
			}
			committed[i] = time.Now()
		}
		done <- nil
	}()
	lags := make([]float64, 0, total)
	seen := -1
	q := `SELECT coalesce(max(name), '') FROM ` + pgx.Identifier{dstSchema, "properties"}.Sanitize() + ` WHERE id = 'lagprobe'`
	var writerErr error
	writerDone := false
	deadline := time.Now().Add(d + 2*time.Minute)
	for seen < total-1 && time.Now().Before(deadline) {
		select {
		case writerErr = <-done:
			writerDone = true
			if writerErr != nil {
				return 0, 0, 0, 0, writerErr
			}
			achieved = float64(total) / time.Since(start).Seconds()
		case <-time.After(10 * time.Millisecond):
		}
		var top string
		if err := dst.Pool().QueryRow(ctx, q).Scan(&top); err != nil {
			return 0, 0, 0, 0, err
		}
		if top == "" {
			continue
		}
		m, _ := strconv.Atoi(strings.TrimPrefix(top, "p"))
		now := time.Now()
		for j := seen + 1; j <= m && j < total; j++ {
			if !committed[j].IsZero() {
				lags = append(lags, now.Sub(committed[j]).Seconds())
			}
		}
		seen = max(seen, m)
	}
	if !writerDone {
		<-done
	}
	if len(lags) == 0 {
		return 0, 0, 0, 0, fmt.Errorf("lag: no write reached the target")
	}
	slices.Sort(lags)
	return lags[len(lags)/2], lags[len(lags)*99/100], achieved, len(lags), nil
}

// waitRestartLSN waits until the replication slot's restart_lsn has reached position head
// (CHECKPOINT logs the running-transactions record that lets it move), at most a minute.
func waitRestartLSN(ctx context.Context, s *postgres.Store, slot, head string) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if _, err := s.Pool().Exec(ctx, `CHECKPOINT`); err != nil {
			return err
		}
		var restart string
		if err := s.Pool().QueryRow(ctx, `SELECT coalesce(restart_lsn::text, '') FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&restart); err != nil {
			return err
		}
		if ok, _ := s.PositionReached(`{"lsn":"`+restart+`"}`, head); ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return nil // measured anyway; the log says the restart point did not move
}
