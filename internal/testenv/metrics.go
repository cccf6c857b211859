package testenv

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// CounterSum sums the counter family name of reg over its labels (0 when reg has none).
func CounterSum(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("testenv: gather metrics: %v", err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}
