package dynamodb

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
)

// Benchmarks of the application face against DynamoDB Local (one prefix per benchmark,
// tables dropped at cleanup). Besides ns/op they report the p50 and p99 latency of the
// individual calls in microseconds:
//
//	. .run/env && go test -run '^$' -bench . -benchtime 2000x ./dynamodb/

// latencies collects per-call durations and reports p50/p99.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	q := func(p float64) float64 {
		i := int(p * float64(len(l)-1))
		return float64(l[i].Microseconds())
	}
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}

func benchLoop(b *testing.B, call func(i int) error) {
	b.Helper()
	lat := make(latencies, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := call(i); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	lat.report(b)
}

func BenchmarkGetActor(b *testing.B) {
	s := appStore(b)
	ctx := context.Background()
	if err := s.CreateActor(ctx, actingweb.Actor{ID: "bench", Creator: "bench@example.com", Passphrase: "pw"}); err != nil {
		b.Fatal(err)
	}
	benchLoop(b, func(int) error { _, err := s.GetActor(ctx, "bench"); return err })
}

func BenchmarkGetProperty(b *testing.B) {
	s := appStore(b)
	ctx := context.Background()
	if err := s.SetProperty(ctx, "bench", "nick", "value"); err != nil {
		b.Fatal(err)
	}
	benchLoop(b, func(int) error { _, err := s.GetProperty(ctx, "bench", "nick"); return err })
}

func BenchmarkListTrusts(b *testing.B) {
	s := appStore(b)
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		if err := s.CreateTrust(ctx, actingweb.Trust{ID: "bench", PeerID: fmt.Sprintf("peer%02d", i),
			BaseURI: "https://peer.example/" + fmt.Sprint(i), Type: "urn:app", Relationship: "friend",
			Secret: fmt.Sprintf("secret-%02d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	benchLoop(b, func(int) error {
		ts, err := s.ListTrusts(ctx, "bench")
		if err == nil && len(ts) != 10 {
			err = fmt.Errorf("%d trusts", len(ts))
		}
		return err
	})
}

// BenchmarkSetProperty writes an indexed property with a new value each time: consistent
// read of the old value, PutItem, conditional lookup delete and conditional lookup create.
func BenchmarkSetProperty(b *testing.B) {
	s := appStore(b)
	ctx := context.Background()
	benchLoop(b, func(i int) error { return s.SetProperty(ctx, "bench", "email", fmt.Sprintf("u%d@example.com", i)) })
}

// BenchmarkSetPropertyPlain writes a non-indexed property (one PutItem).
func BenchmarkSetPropertyPlain(b *testing.B) {
	s := appStore(b)
	ctx := context.Background()
	benchLoop(b, func(i int) error { return s.SetProperty(ctx, "bench", "nick", fmt.Sprintf("v%d", i)) })
}
