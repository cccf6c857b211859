package dynamodb

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	actingweb "github.com/actingweb/actingweb-go"
)

// Benchmarks of the item codec (no DynamoDB needed): every item of the upstream fixture of a
// table decoded (decodeRecord) or its record encoded (encodeRecord), one op = one item.
//
//	go test -run '^$' -bench 'Codec' -benchmem ./dynamodb/

// benchFixture returns the parsed fixture items of table and their decoded records.
func benchFixture(b *testing.B, table actingweb.Table) ([]map[string]types.AttributeValue, []actingweb.Record) {
	b.Helper()
	lines := fixtureItems(b, table)
	if len(lines) == 0 {
		b.Fatalf("fixture of %s is empty", table)
	}
	items := make([]map[string]types.AttributeValue, len(lines))
	recs := make([]actingweb.Record, len(lines))
	for i, line := range lines {
		item, err := ParseWireItem(line)
		if err != nil {
			b.Fatal(err)
		}
		r, err := decodeRecord(table, item)
		if err != nil {
			b.Fatal(err)
		}
		items[i], recs[i] = item, r
	}
	return items, recs
}

func BenchmarkCodecDecode(b *testing.B) {
	for _, table := range actingweb.Tables {
		b.Run(string(table), func(b *testing.B) {
			items, _ := benchFixture(b, table)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := decodeRecord(table, items[i%len(items)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCodecEncode(b *testing.B) {
	for _, table := range actingweb.Tables {
		b.Run(string(table), func(b *testing.B) {
			_, recs := benchFixture(b, table)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := encodeRecord(recs[i%len(recs)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
