package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadResultsRepeats: a step recorded several times reads as its fastest run, with the
// highest peak RSS of all runs and the number of runs.
func TestReadResultsRepeats(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.txt")
	lines := "# header\nmeta scale=1 rows=10\n" +
		"import_pg rows=10 seconds=9.5 rss_kb=100 exit=0\n" +
		"import_pg rows=10 seconds=7.25 rss_kb=90 exit=0\n" +
		"import_pg rows=10 seconds=8.0 rss_kb=120 exit=0\n" +
		"ceiling_pg_copyfrom rows=10 seconds=6.0 note=concurrency=4\n"
	if err := os.WriteFile(path, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	res, meta, err := readResults(path)
	if err != nil {
		t.Fatal(err)
	}
	if meta["scale"] != "1" {
		t.Errorf("meta scale = %q", meta["scale"])
	}
	for _, tc := range []struct {
		key     string
		seconds float64
		rssKB   int64
		runs    int
	}{
		{"import_pg", 7.25, 120, 3},
		{"ceiling_pg_copyfrom", 6.0, 0, 1},
	} {
		m, ok := res[tc.key]
		if !ok {
			t.Fatalf("%s missing", tc.key)
		}
		if m.seconds != tc.seconds || m.rssKB != tc.rssKB || m.runs != tc.runs || m.rows != 10 {
			t.Errorf("%s = %+v, want seconds %v, rss %d, runs %d, rows 10", tc.key, m, tc.seconds, tc.rssKB, tc.runs)
		}
	}
}

// TestReadResultsLatency: the dual-write step's lines carry p50_us and p99_us.
func TestReadResultsLatency(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.txt")
	lines := "dw.pg-ddb/write-both.SetProperty rows=600 seconds=0.9 p50_us=1474 p99_us=3789\n"
	if err := os.WriteFile(path, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	res, _, err := readResults(path)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := res["dw.pg-ddb/write-both.SetProperty"]
	if !ok || m.rows != 600 || m.p50us != 1474 || m.p99us != 3789 {
		t.Errorf("got %+v (found %t), want rows 600, p50 1474, p99 3789", m, ok)
	}
}

// TestBaselineTableSyncAndDualWrite: with a baseline, the sync's timed steps and the
// dual-write p50s get before/after rows judged against 1.05.
func TestBaselineTableSyncAndDualWrite(t *testing.T) {
	res := map[string]measurement{
		"sync_load": {rows: 100, seconds: 10}, "sync_load_base": {rows: 100, seconds: 10},
		"sync_apply": {rows: 50, seconds: 6}, "sync_apply_base": {rows: 50, seconds: 5},
		"dw.pg.GetProperty": {rows: 600, p50us: 52}, "dw.pg.GetProperty_base": {rows: 600, p50us: 50},
		"dw.ddb.GetProperty": {rows: 600, p50us: 600}, // no baseline line: no row
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	baselineTable(res, map[string]string{"baseline": "abc1234"})
	os.Stdout = stdout
	w.Close()
	out, _ := io.ReadAll(r)
	for _, want := range []string{
		"| sync load | 100 | 10.00 | 10.00 | 1.00 | | | ≤ 1.05 | PASS |",
		"| sync apply | 50 | 5.00 | 6.00 | 1.20 | | | ≤ 1.05 | FAIL |",
		"| pg.GetProperty | 600 | 50 | 52 | 1.04 | ≤ 1.05 | PASS |",
		"| geometric mean of the 1 cells | | | | 1.04 | ≤ 1.05 | PASS |",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "ddb.GetProperty") {
		t.Errorf("a cell without a baseline line got a row:\n%s", out)
	}
}
