package postgres

import (
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
)

// Benchmarks of the row codecs, per table, without a database:
//
//	go test -run '^$' -bench 'Codec' -benchmem ./postgres/

// benchRecords is one typical record per table: optional values set, a payload, a TTL.
func benchRecords() []actingweb.Record {
	return encodingRecords("7d3e1f6a9b2c4d5e8f0a1b2c3d4e5f60", "https://peer.example.com/actors/42",
		1750000000+1<<39, 123456789, 2|4|8, []byte(`{"chain_id": "c-42", "n": [1, 2, 3], "ok": true}`))
}

func BenchmarkCodecValues(b *testing.B) {
	for _, r := range benchRecords() {
		sp := specs[r.Table()]
		b.Run(string(r.Table()), func(b *testing.B) {
			dst := make([]any, 0, 32)
			b.ReportAllocs()
			for b.Loop() {
				dst = sp.values(r, dst[:0])
			}
		})
	}
}

func BenchmarkCodecKeyOf(b *testing.B) {
	for _, r := range benchRecords() {
		sp := specs[r.Table()]
		b.Run(string(r.Table()), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = sp.keyOf(r)
			}
		})
	}
}

func BenchmarkCodecCheck(b *testing.B) {
	for _, quick := range []bool{false, true} {
		name := "full"
		if quick {
			name = "quick"
		}
		for _, r := range benchRecords() {
			sp := specs[r.Table()]
			b.Run(name+"/"+string(r.Table()), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if reason := sp.checkRecord(r, quick); reason != "" {
						b.Fatal(reason)
					}
				}
			})
		}
	}
}
