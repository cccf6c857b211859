package migrate

import (
	"context"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

type plainSink struct{}

func (plainSink) WriteBatch(context.Context, actingweb.Table, []actingweb.Record, bulk.ConflictPolicy) (bulk.WriteResult, error) {
	return bulk.WriteResult{}, nil
}
func (plainSink) Count(context.Context, actingweb.Table) (int64, error) { return 0, nil }

type twoWriterSink struct{ plainSink }

func (twoWriterSink) PreferredWriters() int { return 2 }

type seqSink struct{ plainSink }

func (seqSink) SinkState(actingweb.Table) ([]byte, error) { return nil, nil }
func (seqSink) ResumeSink(actingweb.Table, []byte) error  { return nil }
func (seqSink) FinishTable(actingweb.Table) error         { return nil }
func (seqSink) PreferredWriters() int                     { return 3 }

// TestWriterDefaults: --concurrency wins; without it the sink's preference (WriterCounter),
// else the engine's 4; a sequential sink (a bundle) always gets one writer.
func TestWriterDefaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		dst  Sink
		set  int
		want int
	}{
		{"engine default", plainSink{}, 0, defaultConcurrency},
		{"sink preference", twoWriterSink{}, 0, 2},
		{"flag wins over preference", twoWriterSink{}, 6, 6},
		{"sequential sink", seqSink{}, 0, 1},
		{"sequential sink ignores flag", seqSink{}, 5, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Concurrency: tc.set}
			o.defaults(nil, tc.dst)
			if o.Concurrency != tc.want {
				t.Fatalf("Concurrency = %d, want %d", o.Concurrency, tc.want)
			}
		})
	}
}

type bigPageSource struct{}

func (bigPageSource) Scan(context.Context, actingweb.Table, bulk.ScanOptions, func(bulk.Page) error) error {
	return nil
}
func (bigPageSource) PreferredPageSize() int { return 5000 }

// TestPageSizeDefaults: a page per batch, larger pages when the source asks (PageSizer);
// --page-size wins.
func TestPageSizeDefaults(t *testing.T) {
	for _, tc := range []struct {
		name      string
		src       Source
		batch     int
		pageSize  int
		wantPages int
	}{
		{"engine default", nil, 0, 0, 500},
		{"batch size", nil, 3000, 0, 3000},
		{"source preference", bigPageSource{}, 0, 0, 5000},
		{"batch larger than the preference", bigPageSource{}, 8000, 0, 8000},
		{"set explicitly", bigPageSource{}, 0, 200, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{BatchSize: tc.batch, PageSize: tc.pageSize}
			o.defaults(tc.src, plainSink{})
			if o.PageSize != tc.wantPages {
				t.Fatalf("PageSize = %d, want %d", o.PageSize, tc.wantPages)
			}
		})
	}
}
