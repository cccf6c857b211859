package migrate

import (
	"testing"

	"github.com/actingweb/actingweb-go/bulk"
)

// TestWriterDefaults: --concurrency wins; without it the sink's declared Writers, else the
// engine's 4; a sequential sink (a bundle) always gets one writer.
func TestWriterDefaults(t *testing.T) {
	for _, tc := range []struct {
		name       string
		dst        bulk.Capabilities
		sequential bool
		set        int
		want       int
	}{
		{"engine default", bulk.Capabilities{}, false, 0, defaultConcurrency},
		{"sink preference", bulk.Capabilities{Writers: 2}, false, 0, 2},
		{"flag wins over preference", bulk.Capabilities{Writers: 2}, false, 6, 6},
		{"sequential sink", bulk.Capabilities{Writers: 3}, true, 0, 1},
		{"sequential sink ignores flag", bulk.Capabilities{Writers: 3}, true, 5, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Concurrency: tc.set}
			o.defaults(bulk.Capabilities{}, tc.dst, tc.sequential)
			if o.Concurrency != tc.want {
				t.Fatalf("Concurrency = %d, want %d", o.Concurrency, tc.want)
			}
		})
	}
}

// TestPageSizeDefaults: a page per batch, larger pages when the source declares a PageSize;
// --page-size wins.
func TestPageSizeDefaults(t *testing.T) {
	big := bulk.Capabilities{PageSize: 5000}
	for _, tc := range []struct {
		name      string
		src       bulk.Capabilities
		batch     int
		pageSize  int
		wantPages int
	}{
		{"engine default", bulk.Capabilities{}, 0, 0, 500},
		{"batch size", bulk.Capabilities{}, 3000, 0, 3000},
		{"source preference", big, 0, 0, 5000},
		{"batch larger than the preference", big, 8000, 0, 8000},
		{"set explicitly", big, 0, 200, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{BatchSize: tc.batch, PageSize: tc.pageSize}
			o.defaults(tc.src, bulk.Capabilities{}, false)
			if o.PageSize != tc.wantPages {
				t.Fatalf("PageSize = %d, want %d", o.PageSize, tc.wantPages)
			}
		})
	}
}

// TestBatchAndSegmentDefaults: the sink's declared BatchSize replaces the engine's 500 unless
// --batch-size is given; a source's MaxSegments caps the scan segments, even given ones.
func TestBatchAndSegmentDefaults(t *testing.T) {
	o := Options{}
	o.defaults(bulk.Capabilities{MaxSegments: 1}, bulk.Capabilities{BatchSize: 1000}, false)
	if o.BatchSize != 1000 || o.Segments != 1 {
		t.Fatalf("BatchSize %d, Segments %d; want 1000, 1", o.BatchSize, o.Segments)
	}
	o = Options{BatchSize: 70, Segments: 8}
	o.defaults(bulk.Capabilities{MaxSegments: 3}, bulk.Capabilities{BatchSize: 1000}, false)
	if o.BatchSize != 70 || o.Segments != 3 {
		t.Fatalf("BatchSize %d, Segments %d; want 70, 3", o.BatchSize, o.Segments)
	}
	o = Options{}
	o.defaults(bulk.Capabilities{}, bulk.Capabilities{}, false)
	if o.BatchSize != defaultBatchSize || o.Segments != defaultSegments {
		t.Fatalf("BatchSize %d, Segments %d; want the engine's %d, %d", o.BatchSize, o.Segments, defaultBatchSize, defaultSegments)
	}
}
