package migrate

import (
	"strings"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

// TestCutBatch: batches end at BatchSize rows or before maxBatchBytes of records, whichever
// comes first, and always hold at least one item.
func TestCutBatch(t *testing.T) {
	prop := func(valueBytes int) actingweb.Record {
		return &actingweb.Property{ID: "a", Name: "n", Value: strings.Repeat("v", valueBytes)}
	}
	page := func(sizes ...int) bulk.Page {
		var p bulk.Page
		for _, s := range sizes {
			p.Records = append(p.Records, prop(s))
		}
		return p
	}
	big := maxBatchBytes/3 - 100 // three fit (with RecordSize's overhead), a fourth does not
	for _, tc := range []struct {
		name    string
		p       bulk.Page
		rejects int
		i, rows int
		want    int
	}{
		{"rows bound", page(10, 10, 10, 10, 10), 0, 0, 2, 2},
		{"rows bound from the middle", page(10, 10, 10, 10, 10), 0, 3, 2, 5},
		{"whole page", page(10, 10, 10), 0, 0, 500, 3},
		{"bytes bound", page(big, big, big, big, big), 0, 0, 500, 3},
		{"bytes bound from the middle", page(10, big, big, big, big), 0, 1, 500, 4},
		{"one huge row still goes", page(2*maxBatchBytes, 10), 0, 0, 500, 1},
		{"huge row after a small one waits", page(10, 2*maxBatchBytes), 0, 0, 500, 1},
		{"rejects count too", page(10), 3, 0, 500, 4},
		{"empty page", page(), 0, 0, 500, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			for k := 0; k < tc.rejects; k++ {
				p.Rejects = append(p.Rejects, bulk.Reject{Reason: "x"})
			}
			n := len(p.Records) + len(p.Rejects)
			if got := cutBatch(p, tc.i, n, tc.rows); got != tc.want {
				t.Fatalf("cutBatch(i=%d, rows=%d) = %d, want %d", tc.i, tc.rows, got, tc.want)
			}
		})
	}
}
