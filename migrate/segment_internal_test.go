package migrate

import "testing"

// TestSegmentDoneAtLastPage: a segment is done once the batch that ends its last page
// completes, before its scan returns, so a checkpoint taken in between does not read the
// segment again from its start; and an earlier version's checkpoint of that moment
// (cursor "", nothing to skip, rows behind it) reads as done.
func TestSegmentDoneAtLastPage(t *testing.T) {
	tr := &tableRun{e: &engine{o: Options{DryRun: true}}, segs: map[int]*segTrack{}}
	tk := &segTrack{st: &segmentState{}, pending: map[int64]*batch{}, nextSeq: 2}
	tr.segs[0] = tk
	if err := tr.complete(&batch{seg: 0, seq: 1, endCursor: "", endOrd: 9, last: true}); err != nil {
		t.Fatal(err)
	}
	if tk.st.Done {
		t.Fatal("done before the batch ahead of the last one completed")
	}
	if err := tr.complete(&batch{seg: 0, seq: 0, endCursor: "c1", endOrd: 5}); err != nil {
		t.Fatal(err)
	}
	if !tk.st.Done || tk.scanDone || tk.st.Rows != 9 || tk.st.Cursor != "" {
		t.Errorf("after the last page's batch: %+v (scan done %v), want done with 9 rows", *tk.st, tk.scanDone)
	}

	for _, c := range []struct {
		st   segmentState
		want bool
	}{
		{segmentState{Cursor: "", Rows: 9}, true},
		{segmentState{}, false},                             // not started
		{segmentState{Cursor: "", Skip: 3, Rows: 3}, false}, // inside the first page
		{segmentState{Cursor: "c", Rows: 9}, false},         // after a page that was not the last
	} {
		if got := c.st.lastPageDone(); got != c.want {
			t.Errorf("%+v: lastPageDone %v, want %v", c.st, got, c.want)
		}
	}
}
