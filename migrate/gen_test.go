package migrate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/bundle"
	"github.com/actingweb/actingweb-go/migrate"
)

// genData returns a deterministic data set of n actors with rows in every table, including
// reserved owners, composite-key drift and falsy attribute payloads.
func genData(n int) map[actingweb.Table][]actingweb.Record {
	out := map[actingweb.Table][]actingweb.Record{}
	add := func(r actingweb.Record) { out[r.Table()] = append(out[r.Table()], r) }
	s := func(v string) *string { return &v }
	base := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("a%05d", i)
		ts := base.Add(time.Duration(i) * 1234567 * time.Microsecond)
		add(&actingweb.Actor{ID: id, Creator: fmt.Sprintf("user%d@example.org", i), Passphrase: "pw-" + id})
		email := fmt.Sprintf("user%d@example.org", i)
		add(&actingweb.Property{ID: id, Name: "email", Value: email})
		add(&actingweb.Property{ID: id, Name: "list:notes-#0001", Value: `{"n":1}`})
		l := actingweb.NewPropertyLookup("email", email, id)
		add(&l)
		payloads := []string{`{"k": "v", "n": 1.0}`, `0`, `false`, `""`, `[]`, `{}`}
		ttl := int64(1900000000 + i)
		add(&actingweb.Attribute{ID: id, BucketName: "oauth:tok:" + id, Bucket: "oauth", Name: "tok:" + id,
			Data: json.RawMessage(payloads[i%len(payloads)]), Timestamp: &ts, TTLTimestamp: &ttl})
		add(&actingweb.Trust{ID: id, PeerID: "peer" + id, BaseURI: "https://p/" + id, Type: "urn:x", Relationship: "friend",
			Secret: "secret-" + id, Desc: s("d"), Approved: i%2 == 0, Verified: true, VerificationToken: s(""),
			CreatedAt: &ts, LastAccessed: &ts, EstablishedVia: s("trust")})
		add(&actingweb.PeerTrustee{ID: id, PeerID: "pt" + id, BaseURI: "https://pt", Type: "t", Passphrase: "pp-" + id})
		key := "peer:sub" + id
		if i%7 == 3 {
			key = "peer:old" // drift: the key disagrees with its parts
		}
		add(&actingweb.Subscription{ID: id, PeerSubID: key, PeerID: "peer", SubID: "sub" + id, Target: s("properties"), Seqnr: 2, Callback: i%3 == 0})
		add(&actingweb.SubscriptionDiff{ID: id, SubIDSeqnr: "sub" + id + ":1", SubID: "sub" + id, Seqnr: 1, Timestamp: ts, Diff: `{"x":1}`})
		add(&actingweb.SubscriptionSuspension{ID: id, Target: "properties", Subtarget: "", SuspendedAt: ts})
	}
	add(&actingweb.Attribute{ID: "_actingweb_system", BucketName: "b:n", Bucket: "b", Name: "n", Data: json.RawMessage(`{"sys":true}`)})
	return out
}

// writeBundle writes data as a bundle directory.
func writeBundle(t testing.TB, dir string, data map[actingweb.Table][]actingweb.Record) {
	t.Helper()
	w, err := bundle.Create(dir, bundle.WriterOptions{Source: "generated"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range actingweb.Tables {
		recs := data[tb]
		for len(recs) > 0 {
			n := min(len(recs), 1000)
			if _, err := w.WriteBatch(context.Background(), tb, recs[:n], 0); err != nil {
				t.Fatal(err)
			}
			recs = recs[n:]
		}
		if err := w.FinishTable(tb); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// readBundle reads every table of a bundle into key -> record maps.
func readBundle(t testing.TB, dir string) map[actingweb.Table]map[string]actingweb.Record {
	t.Helper()
	r, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[actingweb.Table]map[string]actingweb.Record{}
	for _, tb := range r.Tables() {
		m := map[string]actingweb.Record{}
		err := r.Scan(context.Background(), tb, bulk.ScanOptions{}, func(p bulk.Page) error {
			if len(p.Rejects) > 0 {
				t.Fatalf("%s: rejects %v", tb, p.Rejects)
			}
			for _, rec := range p.Records {
				if _, dup := m[rec.Key()]; dup {
					t.Fatalf("%s: duplicate key %q", tb, rec.Key())
				}
				m[rec.Key()] = rec
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		out[tb] = m
	}
	return out
}

func sameData(t testing.TB, want map[actingweb.Table][]actingweb.Record, got map[actingweb.Table]map[string]actingweb.Record, tables []actingweb.Table) {
	t.Helper()
	for _, tb := range tables {
		if len(got[tb]) != len(want[tb]) {
			t.Errorf("%s: %d rows, want %d", tb, len(got[tb]), len(want[tb]))
			continue
		}
		for _, r := range want[tb] {
			g, ok := got[tb][r.Key()]
			if !ok {
				t.Errorf("%s: missing %s", tb, actingweb.KeyString(r.Key()))
				continue
			}
			if d := actingweb.CompareRecords(r, g); len(d) > 0 {
				t.Errorf("%s %s differs: %v", tb, actingweb.KeyString(r.Key()), d)
			}
		}
	}
}

// cancelAfter is a Progress that cancels a context after n Rows callbacks.
type cancelAfter struct {
	n      int64
	calls  atomic.Int64
	cancel context.CancelFunc
	mu     sync.Mutex
	done   []actingweb.Table
}

func (c *cancelAfter) TableStarted(actingweb.Table, int64) {}
func (c *cancelAfter) Rows(actingweb.Table, int) {
	if c.calls.Add(1) == c.n {
		c.cancel()
	}
}
func (c *cancelAfter) TableDone(t actingweb.Table, s migrate.TableSummary) {
	c.mu.Lock()
	c.done = append(c.done, t)
	c.mu.Unlock()
}

var _ = filepath.Join
