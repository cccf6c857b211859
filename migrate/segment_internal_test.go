package migrate

import (
	"os"
	"testing"
)

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

// TestCheckpointVersions: a version 1 checkpoint (before Split) reads as split 1; a version
// this tool does not know is refused.
func TestCheckpointVersions(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		body  string
		ok    bool
		split int // max(Split, 1) as the engine reads it
	}{
		{`{"version":1,"op":"copy","table":"actors","segments":4,"total_segments":4,"segs":{"0":{"cursor":"c","rows":3}}}`, true, 1},
		{`{"version":2,"op":"copy","table":"actors","segments":4,"total_segments":4,"split":3,"segs":{}}`, true, 3},
		{`{"version":1,"op":"copy","table":"actors","segments":4,"total_segments":4,"split":3,"segs":{}}`, false, 0},
		{`{"version":3,"op":"copy","table":"actors","segments":4,"total_segments":4,"segs":{}}`, false, 0},
	} {
		if err := os.WriteFile(checkpointPath(dir, "actors"), []byte(c.body), 0o600); err != nil {
			t.Fatal(err)
		}
		cp, err := readCheckpoint(dir, "actors")
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v, want ok %v", c.body, err, c.ok)
			continue
		}
		if err == nil && (cp.Version != checkpointVersion || max(cp.Split, 1) != c.split) {
			t.Errorf("%s: read as %+v", c.body, cp)
		}
	}
}
