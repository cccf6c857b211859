package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	actingweb "github.com/actingweb/actingweb-go"
)

// The binary COPY rows of tableSpec.row must be byte for byte what pgx's CopyFrom sends for
// tableSpec.values (the encoding used before row existed): encodeRef below is pgx's
// encodeCopyValue over the type map, with the column types of the schema at head
// (TestColumnOIDs checks them against the database).

var columnOIDs = map[actingweb.Table][]uint32{
	actingweb.TableActors:         {pgtype.VarcharOID, pgtype.VarcharOID, pgtype.TextOID, pgtype.TimestampOID},
	actingweb.TableProperties:     {pgtype.VarcharOID, pgtype.TextOID, pgtype.TextOID},
	actingweb.TablePropertyLookup: {pgtype.VarcharOID, pgtype.TextOID, pgtype.VarcharOID},
	actingweb.TableAttributes: {pgtype.VarcharOID, pgtype.VarcharOID, pgtype.VarcharOID, pgtype.VarcharOID,
		pgtype.JSONBOID, pgtype.TimestampOID, pgtype.Int8OID},
	actingweb.TableTrusts: {pgtype.VarcharOID, pgtype.VarcharOID, pgtype.TextOID, pgtype.VarcharOID,
		pgtype.VarcharOID, pgtype.VarcharOID, pgtype.TextOID, pgtype.BoolOID, pgtype.BoolOID, pgtype.BoolOID,
		pgtype.VarcharOID, pgtype.VarcharOID, pgtype.VarcharOID, pgtype.TimestampOID, pgtype.TimestampOID,
		pgtype.VarcharOID, pgtype.VarcharOID, pgtype.VarcharOID, pgtype.VarcharOID, pgtype.VarcharOID,
		pgtype.TextOID, pgtype.VarcharOID, pgtype.TimestamptzOID},
	actingweb.TablePeerTrustees: {pgtype.VarcharOID, pgtype.VarcharOID, pgtype.TextOID, pgtype.VarcharOID, pgtype.TextOID},
	actingweb.TableSubscriptions: {pgtype.VarcharOID, pgtype.VarcharOID, pgtype.VarcharOID, pgtype.VarcharOID,
		pgtype.VarcharOID, pgtype.VarcharOID, pgtype.VarcharOID, pgtype.VarcharOID, pgtype.Int4OID, pgtype.BoolOID},
	actingweb.TableSubscriptionDiffs:       {pgtype.VarcharOID, pgtype.VarcharOID, pgtype.VarcharOID, pgtype.TimestampOID, pgtype.TextOID, pgtype.Int4OID},
	actingweb.TableSubscriptionSuspensions: {pgtype.VarcharOID, pgtype.VarcharOID, pgtype.VarcharOID, pgtype.TimestamptzOID},
}

// encodeRef encodes one tuple the way pgx's CopyFrom does (copy_from.go buildCopyBuf and
// values.go encodeCopyValue of pgx v5).
func encodeRef(t testing.TB, m *pgtype.Map, sp *tableSpec, r actingweb.Record) []byte {
	t.Helper()
	oids := columnOIDs[sp.t]
	vals := sp.values(r, nil)
	if len(vals) != len(oids) || len(vals) != len(sp.cols) {
		t.Fatalf("%s: %d values, %d oids, %d columns", sp.t, len(vals), len(oids), len(sp.cols))
	}
	b := binary.BigEndian.AppendUint16(nil, uint16(len(vals)))
	for i, v := range vals {
		at := len(b)
		b = binary.BigEndian.AppendUint32(b, math.MaxUint32)
		out, err := m.Encode(oids[i], pgtype.BinaryFormatCode, v, b)
		if err != nil {
			t.Fatalf("%s.%s: pgx encode %T: %v", sp.t, sp.cols[i], v, err)
		}
		if out != nil {
			b = out
			binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
		}
	}
	return b
}

func checkRowEncoding(t testing.TB, m *pgtype.Map, r actingweb.Record) {
	t.Helper()
	sp, err := spec(r.Table())
	if err != nil {
		t.Fatal(err)
	}
	want := encodeRef(t, m, sp, r)
	got := sp.row(r, nil)
	if !bytes.Equal(got, want) {
		t.Fatalf("%s row %+v:\n got %x\nwant %x", sp.t, r, got, want)
	}
}

func strp(s string) *string { return &s }

// encodingRecords builds records of every table from the parts: NULLs (nil pointers) when
// flag bits say so, times in a non-UTC zone, sub-microsecond nanoseconds, extreme integers.
func encodingRecords(s1, s2 string, n int64, ns int64, flags uint8, data []byte) []actingweb.Record {
	zone := time.FixedZone("X", int(n%50000))
	ts := time.Unix(n%(1<<40)-(1<<39), ns%1e9).In(zone)
	tsp := &ts
	opt := strp(s2)
	if flags&1 != 0 {
		tsp, opt = nil, nil
	}
	var ttl *int64
	if flags&2 != 0 {
		ttl = &n
	}
	var raw json.RawMessage
	if flags&4 != 0 {
		raw = json.RawMessage(data)
	}
	b := flags&8 != 0
	lk := actingweb.NewPropertyLookup(s1, s2, s1+s2)
	return []actingweb.Record{
		&actingweb.Actor{ID: s1, Creator: s2, Passphrase: s1 + s2, CreatedAt: tsp},
		&actingweb.Property{ID: s1, Name: s2, Value: string(data)},
		&lk,
		&actingweb.Attribute{ID: s1, BucketName: s2, Bucket: s1, Name: s2, Data: raw, Timestamp: tsp, TTLTimestamp: ttl},
		&actingweb.Trust{ID: s1, PeerID: s2, BaseURI: s1, Type: s2, Relationship: s1, Secret: s2, Desc: opt,
			Approved: b, PeerApproved: !b, Verified: b, VerificationToken: opt, PeerIdentifier: opt, EstablishedVia: opt,
			CreatedAt: tsp, LastAccessed: tsp, LastConnectedVia: opt, ClientName: opt, ClientVersion: opt,
			ClientPlatform: opt, OAuthClientID: opt, AWSupported: opt, AWVersion: opt, CapabilitiesFetchedAt: tsp},
		&actingweb.PeerTrustee{ID: s1, PeerID: s2, BaseURI: s1, Type: s2, Passphrase: string(data)},
		&actingweb.Subscription{ID: s1, PeerSubID: s2, PeerID: s1, SubID: s2, Granularity: opt, Target: opt,
			Subtarget: opt, Resource: opt, Seqnr: int64(int32(n)), Callback: b},
		&actingweb.SubscriptionDiff{ID: s1, SubIDSeqnr: s2, SubID: s1, Timestamp: ts, Diff: string(data), Seqnr: int64(int32(n >> 3))},
		&actingweb.SubscriptionSuspension{ID: s1, Target: s2, Subtarget: s1, SuspendedAt: ts},
	}
}

func TestRowEncodingMatchesPgx(t *testing.T) {
	m := pgtype.NewMap()
	cases := []struct {
		s1, s2 string
		n, ns  int64
		flags  uint8
		data   string
	}{
		{"a1", "email", 1750000000, 123456789, 0, `{"a": [1, 2.5, null]}`},
		{"", "", 0, 0, 1, `null`},
		{"ä-ünïcødé", strings.Repeat("é", 300), -1, 999, 2 | 4 | 8, ` null `},
		{"x", "y", math.MaxInt64, 1, 15, `"\ud83d\ude00"`},
		{"x", "y", math.MinInt64, 1e9 - 1, 14, `0`},
		{"x", "y", 946684800, 500, 4, `[]`},
		{"x", "y", -62135596800, 1000, 6, "{}"},
	}
	for _, c := range cases {
		for _, r := range encodingRecords(c.s1, c.s2, c.n, c.ns, c.flags, []byte(c.data)) {
			checkRowEncoding(t, m, r)
		}
	}
	// Times at PostgreSQL's range limits and before 1970 with a fraction of a microsecond.
	for _, ts := range []time.Time{minPGTime, maxPGTime, time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1900, 1, 1, 0, 0, 0, 1, time.FixedZone("Y", -3600))} {
		ts := ts
		for _, r := range []actingweb.Record{
			&actingweb.Actor{ID: "a", CreatedAt: &ts},
			&actingweb.SubscriptionDiff{ID: "a", SubIDSeqnr: "s:1", Timestamp: ts},
			&actingweb.SubscriptionSuspension{ID: "a", Target: "t", SuspendedAt: ts},
			&actingweb.Trust{ID: "a", PeerID: "p", CapabilitiesFetchedAt: &ts, LastAccessed: &ts},
		} {
			checkRowEncoding(t, m, r)
		}
	}
}

// FuzzRowEncoding: go test -run '^$' -fuzz FuzzRowEncoding ./postgres/
func FuzzRowEncoding(f *testing.F) {
	f.Add("a1", "email", int64(1750000000), int64(123456789), uint8(0), []byte(`{"a": [1, 2.5, null]}`))
	f.Add("", "", int64(0), int64(0), uint8(1), []byte(`null`))
	f.Add("ä", "é\x00", int64(-1), int64(7), uint8(15), []byte("\xff\xfe"))
	m := pgtype.NewMap()
	f.Fuzz(func(t *testing.T, s1, s2 string, n, ns int64, flags uint8, data []byte) {
		if ns < 0 {
			ns = -ns
		}
		for _, r := range encodingRecords(s1, s2, n, ns, flags, data) {
			checkRowEncoding(t, m, r)
		}
	})
}

// TestColumnOIDs checks columnOIDs against the schema at head: the types pgx's CopyFrom
// would look up for sp.cols.
func TestColumnOIDs(t *testing.T) {
	s := newAppStore(t)
	ctx := context.Background()
	for tb, sp := range specs {
		sd, err := s.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		desc, err := sd.Conn().Prepare(ctx, "", "select "+quoteList(sp.cols)+" from "+pgx.Identifier{s.schema, string(tb)}.Sanitize())
		sd.Release()
		if err != nil {
			t.Fatal(err)
		}
		want := columnOIDs[tb]
		if len(desc.Fields) != len(want) {
			t.Fatalf("%s: %d fields, test has %d", tb, len(desc.Fields), len(want))
		}
		for i, fd := range desc.Fields {
			if fd.DataTypeOID != want[i] {
				t.Errorf("%s.%s: type oid %d, test has %d", tb, sp.cols[i], fd.DataTypeOID, want[i])
			}
		}
	}
}

// TestCopyRowsReads: the COPY data copyRows hands out is the header and the rows sp.row
// encodes, back to back, whatever sizes pgconn reads in (rows that fit a read, rows that
// spill over several, reads smaller than a row's length word).
func TestCopyRowsReads(t *testing.T) {
	for i, data := range []string{`{"a": 1}`, strings.Repeat("é", 3000), ""} {
		recs := encodingRecords(fmt.Sprintf("id%d", i), "name", 1750000000, 5, uint8(i)|4, []byte(data))
		for _, r := range recs {
			sp, err := spec(r.Table())
			if err != nil {
				t.Fatal(err)
			}
			batch := []actingweb.Record{r, r, r, r, r}
			want := append([]byte(nil), copyHeader...)
			for _, r := range batch {
				want = sp.row(r, want)
			}
			for _, size := range []int{1, 3, 7, 64, 1000, 65536} {
				c := &copyRows{sp: sp, recs: batch, pend: copyHeader}
				var got []byte
				buf := make([]byte, size)
				for {
					n, err := c.Read(buf)
					got = append(got, buf[:n]...)
					if err == io.EOF {
						break
					}
					if err != nil || n == 0 {
						t.Fatalf("%s, reads of %d: Read = %d, %v", r.Table(), size, n, err)
					}
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s, reads of %d: %d bytes, want %d", r.Table(), size, len(got), len(want))
				}
			}
		}
	}
}
