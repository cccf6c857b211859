package migrate

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

// memSource is a Source of in-memory tables; the cursor is the index of the next row.
type memSource map[actingweb.Table][]actingweb.Record

func (m memSource) Scan(ctx context.Context, t actingweb.Table, opts bulk.ScanOptions, fn func(bulk.Page) error) error {
	rows := m[t]
	i := 0
	if opts.Cursor != "" {
		i, _ = strconv.Atoi(opts.Cursor)
	}
	for {
		end := min(i+opts.PageSize, len(rows))
		p := bulk.Page{Records: rows[i:end], Cursor: strconv.Itoa(end), Last: end == len(rows)}
		if err := fn(p); err != nil || p.Last {
			return err
		}
		i = end
	}
}

// busySink counts rows and, per table, the most WriteBatch calls in progress at once, and
// from when on a table wrote alone (the others done).
func (memSource) Capabilities(context.Context) bulk.Capabilities { return bulk.Capabilities{} }

type busySink struct {
	delay time.Duration
	mu    sync.Mutex
	now   map[actingweb.Table]int
	peak  map[actingweb.Table]int
	rows  map[actingweb.Table]int
}

func (s *busySink) WriteBatch(ctx context.Context, t actingweb.Table, recs []actingweb.Record, _ bulk.ConflictPolicy) (bulk.WriteResult, error) {
	s.mu.Lock()
	s.now[t]++
	s.peak[t] = max(s.peak[t], s.now[t])
	s.mu.Unlock()
	time.Sleep(s.delay)
	s.mu.Lock()
	s.now[t]--
	s.rows[t] += len(recs)
	s.mu.Unlock()
	return bulk.WriteResult{Written: len(recs)}, nil
}

func (s *busySink) Count(context.Context, actingweb.Table) (int64, error) { return 0, nil }

func (s *busySink) Capabilities(context.Context) bulk.Capabilities { return bulk.Capabilities{} }

// decliningSink is a busySink that declines the handover (Capabilities.NoWriterHandover).
type decliningSink struct{ *busySink }

func (decliningSink) Capabilities(context.Context) bulk.Capabilities {
	return bulk.Capabilities{NoWriterHandover: true}
}

// TestWriterHandover: when the other tables are done, the table still running gets their
// writers (twice Concurrency at once), and every row is written once.
func TestWriterHandover(t *testing.T) {
	src := memSource{}
	for i := 0; i < 400; i++ {
		src[actingweb.TableProperties] = append(src[actingweb.TableProperties], &actingweb.Property{ID: fmt.Sprint(i), Name: "n", Value: "v"})
	}
	for i := 0; i < 10; i++ {
		src[actingweb.TableTrusts] = append(src[actingweb.TableTrusts], &actingweb.Trust{ID: fmt.Sprint(i), PeerID: "p"})
	}
	for _, tc := range []struct {
		name     string
		tables   []actingweb.Table
		declines bool
		wantPeak int
	}{
		{"handed over", []actingweb.Table{actingweb.TableProperties, actingweb.TableTrusts}, false, 6},
		{"a single table gets the free slot's writers", []actingweb.Table{actingweb.TableProperties}, false, 6},
		{"the sink declines", []actingweb.Table{actingweb.TableProperties, actingweb.TableTrusts}, true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &busySink{delay: 5 * time.Millisecond, now: map[actingweb.Table]int{}, peak: map[actingweb.Table]int{}, rows: map[actingweb.Table]int{}}
			var dst bulk.Sink = sink
			if tc.declines {
				dst = decliningSink{sink}
			}
			o := Options{Tables: tc.tables, Concurrency: 3, BatchSize: 5, PageSize: 50, Segments: 1}
			if _, err := Copy(context.Background(), src, dst, o); err != nil {
				t.Fatal(err)
			}
			for _, tb := range tc.tables {
				if sink.rows[tb] != len(src[tb]) {
					t.Errorf("%s: %d rows written, want %d", tb, sink.rows[tb], len(src[tb]))
				}
			}
			if got := sink.peak[actingweb.TableProperties]; got != tc.wantPeak {
				t.Errorf("properties: at most %d writes at once, want %d (3 writers, + 3 handed over unless the sink declines)", got, tc.wantPeak)
			}
		})
	}
}
