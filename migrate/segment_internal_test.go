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

// TestPreLease: the first lease of a split segment also leases the segments after it in its
// scanner's run that have none, BatchSize items each (here more than window/16), within the
// window in all; segments of other runs, done ones and leased ones are left alone.
func TestPreLease(t *testing.T) {
	o := Options{BatchSize: 10, Concurrency: 2} // window 80
	for _, c := range []struct {
		name  string
		split int
		seg   int
		prep  func(map[int]*segTrack)
		want  map[int]int64 // leases after preLeaseLocked(seg), of every segment
	}{
		{"rest of the run", 4, 0, nil, map[int]int64{1: 10, 2: 10, 3: 10}},
		{"second scanner's run", 4, 5, nil, map[int]int64{6: 10, 7: 10}},
		{"last of its run", 4, 3, nil, map[int]int64{}},
		{"done and leased skipped", 4, 0, func(s map[int]*segTrack) { s[1].st.Done = true; s[2].st.Lease = 3 }, map[int]int64{2: 3, 3: 10}},
		{"within the window", 16, 0, nil, map[int]int64{1: 10, 2: 10, 3: 10, 4: 10, 5: 10, 6: 10, 7: 10, 8: 10}},
		{"no split", 1, 0, nil, map[int]int64{}},
	} {
		tr := &tableRun{e: &engine{o: o}, segs: map[int]*segTrack{}, split: c.split}
		for g := 0; g < 2*c.split; g++ {
			tr.segs[g] = &segTrack{st: &segmentState{}}
		}
		if c.prep != nil {
			c.prep(tr.segs)
		}
		tr.preLeaseLocked(c.seg)
		for g, tk := range tr.segs {
			if tk.st.Lease != c.want[g] {
				t.Errorf("%s: segment %d lease %d, want %d", c.name, g, tk.st.Lease, c.want[g])
			}
		}
	}
}
