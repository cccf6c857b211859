package bundle

import (
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/benchdata"
)

// benchDataLines returns the records and canonical lines of table t of the bench data set
// (internal/benchdata) at scale 0.01: the values `make bench` moves (property values of JSON
// text with non-ASCII letters), unlike the small fuzz seeds.
func benchDataLines(b *testing.B, t actingweb.Table) ([]actingweb.Record, [][]byte, int64) {
	var recs []actingweb.Record
	var lines [][]byte
	var n int64
	err := benchdata.Default(0.01).Table(t, func(r actingweb.Record) error {
		l, err := AppendRecordJSON(nil, r)
		recs, lines, n = append(recs, r), append(lines, l), n+int64(len(l))+1
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return recs, lines, n
}

// BenchmarkBenchData measures the canonical codec on the bench data set, per table:
// go test ./bundle -run '^$' -bench BenchData
func BenchmarkBenchData(b *testing.B) {
	for _, t := range actingweb.Tables {
		recs, lines, n := benchDataLines(b, t)
		b.Run("encode/"+string(t), func(b *testing.B) {
			b.SetBytes(n)
			var buf []byte
			for b.Loop() {
				for _, r := range recs {
					buf, _ = AppendRecordJSON(buf[:0], r)
				}
			}
		})
		b.Run("decode-reader/"+string(t), func(b *testing.B) {
			// with the state a bundle reader keeps across lines (arena chunks, record slabs)
			b.SetBytes(n)
			var d lineDecoder
			for b.Loop() {
				for _, l := range lines {
					if _, err := decodeRecord(t, l, &d); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run("decode/"+string(t), func(b *testing.B) {
			b.SetBytes(n)
			for b.Loop() {
				for _, l := range lines {
					if _, err := DecodeRecord(t, l); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
