package metrics

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/migrate"
)

// TestSyncMetrics serves the metrics of a sync that had 2 errors before this process started
// and sees one more and a retry: the counters show this process's 1 and 1, the gauges the
// status.
func TestSyncMetrics(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := NewSync()
	m.Baseline(&migrate.SyncStatus{Errors: 2, Retries: 2})
	m.Observe(migrate.SyncStatus{Phase: migrate.PhaseStreaming, Errors: 3, Retries: 3, LagSeconds: 1.5, BehindBytes: 4096,
		Tables: map[actingweb.Table]*migrate.SyncTableStatus{actingweb.TableProperties: {Loaded: 7, Applied: 5}}})
	addr, err := m.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"actingweb_sync_errors_total 1\n", "actingweb_sync_retries_total 1\n", "actingweb_sync_lag_seconds 1.5\n", "actingweb_sync_behind_bytes 4096\n",
		`actingweb_sync_applied_changes{table="properties"} 5` + "\n", `actingweb_sync_loaded_rows{table="properties"} 7` + "\n",
		`actingweb_sync_phase{phase="streaming"} 1` + "\n",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("no %q in\n%s", want, b)
		}
	}
}
