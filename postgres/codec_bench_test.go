package postgres

import (
	"encoding/binary"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

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

// rawRowOf turns the binary COPY tuple of r into the raw values and field descriptions a
// query returns with pgx's default formats (text for text, varchar and jsonb, binary for the
// rest), for tableSpec.decode.
func rawRowOf(tb testing.TB, sp *tableSpec, r actingweb.Record) ([]pgconn.FieldDescription, [][]byte) {
	tb.Helper()
	b := sp.row(r, nil)
	oids := columnOIDs[sp.t]
	n := int(binary.BigEndian.Uint16(b))
	if n != len(oids) {
		tb.Fatalf("%s: %d columns, %d oids", sp.t, n, len(oids))
	}
	b = b[2:]
	fds := make([]pgconn.FieldDescription, n)
	vals := make([][]byte, n)
	for i := range n {
		l := int32(binary.BigEndian.Uint32(b))
		b = b[4:]
		fds[i] = pgconn.FieldDescription{DataTypeOID: oids[i], Format: pgx.BinaryFormatCode}
		if l >= 0 {
			vals[i], b = b[:l:l], b[l:]
		}
		switch oids[i] {
		case pgtype.TextOID, pgtype.VarcharOID:
			fds[i].Format = pgx.TextFormatCode
		case pgtype.JSONBOID:
			fds[i].Format = pgx.TextFormatCode
			if vals[i] != nil {
				vals[i] = vals[i][1:] // the version byte of the binary format
			}
		}
	}
	return fds, vals
}

func BenchmarkCodecRow(b *testing.B) {
	for _, r := range benchRecords() {
		sp := specs[r.Table()]
		b.Run(string(r.Table()), func(b *testing.B) {
			buf := make([]byte, 0, 4096)
			b.ReportAllocs()
			for b.Loop() {
				buf = sp.row(r, buf[:0])
			}
		})
	}
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

func BenchmarkCodecDecode(b *testing.B) {
	for _, r := range benchRecords() {
		sp := specs[r.Table()]
		b.Run(string(r.Table()), func(b *testing.B) {
			fds, vals := rawRowOf(b, sp, r)
			d := rawRow{fds: fds}
			b.ReportAllocs()
			for b.Loop() {
				d.load(vals)
				if _, ok := sp.decode(&d); !ok {
					b.Fatal("not decoded")
				}
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
