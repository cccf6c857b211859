package postgres

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
)

// Per-operation latency of the application face on the test PostgreSQL (loopback):
//
//	. .run/env && go test -run '^$' -bench . -benchtime 3000x ./postgres/
//
// Each benchmark reports ns/op plus the p50 and p99 latency of single calls in µs.

// benchLatency runs op once per iteration, timing each call, and reports p50/p99.
func benchLatency(b *testing.B, op func(i int) error) {
	b.Helper()
	for i := 0; i < 20; i++ { // warm the pool and pgx's statement cache
		if err := op(i); err != nil {
			b.Fatal(err)
		}
	}
	durs := make([]time.Duration, 0, 4096)
	i := 0
	for b.Loop() {
		t0 := time.Now()
		if err := op(i); err != nil {
			b.Fatal(err)
		}
		durs = append(durs, time.Since(t0))
		i++
	}
	slices.Sort(durs)
	pct := func(p float64) float64 {
		return float64(durs[int(p*float64(len(durs)-1))]) / float64(time.Microsecond)
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

func benchStore(b *testing.B) (*Store, context.Context) {
	b.Helper()
	s, ctx := newAppStore(b), context.Background()
	mustNil(b, s.CreateActor(ctx, actingweb.Actor{ID: "bench", Creator: "bench@example.com", Passphrase: "pw"}))
	return s, ctx
}

func BenchmarkGetActor(b *testing.B) {
	s, ctx := benchStore(b)
	benchLatency(b, func(int) error {
		_, err := s.GetActor(ctx, "bench")
		return err
	})
}

func BenchmarkGetProperty(b *testing.B) {
	s, ctx := benchStore(b)
	mustNil(b, s.SetProperty(ctx, "bench", "displayname", "Bench Marker"))
	benchLatency(b, func(int) error {
		_, err := s.GetProperty(ctx, "bench", "displayname")
		return err
	})
}

func BenchmarkListTrusts(b *testing.B) {
	s, ctx := benchStore(b)
	now := time.Now()
	for i := 0; i < 10; i++ {
		mustNil(b, s.CreateTrust(ctx, actingweb.Trust{ID: "bench", PeerID: fmt.Sprintf("peer%02d", i),
			BaseURI: "https://peer.example.com/" + fmt.Sprint(i), Type: "urn:actingweb:example", Relationship: "friend",
			Secret: fmt.Sprintf("secret-%02d", i), Approved: true, PeerApproved: true, Verified: true,
			EstablishedVia: ptr("trust"), CreatedAt: &now, ClientName: ptr("bench")}))
	}
	benchLatency(b, func(int) error {
		list, err := s.ListTrusts(ctx, "bench")
		if err == nil && len(list) != 10 {
			err = fmt.Errorf("%d trusts", len(list))
		}
		return err
	})
}

func BenchmarkSetProperty(b *testing.B) {
	s, ctx := benchStore(b)
	benchLatency(b, func(i int) error {
		return s.SetProperty(ctx, "bench", "displayname", fmt.Sprintf("value %d", i))
	})
}

// BenchmarkSetPropertyIndexed sets an indexed name: one transaction with the lookup savepoint.
func BenchmarkSetPropertyIndexed(b *testing.B) {
	s, ctx := benchStore(b)
	benchLatency(b, func(i int) error {
		return s.SetProperty(ctx, "bench", "email", fmt.Sprintf("user%d@example.com", i))
	})
}
