package migrate

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/bundle"
)

// checkpointVersion is the version of the checkpoint file layout: 2 adds Split, whose segment
// numbers version 1 readers would take for whole segments. Version 1 files read as split 1.
const checkpointVersion = 2

// checkpoint is <table>.checkpoint.json: per scan segment, the position up to which every row
// has been durably handled by the sink (written, skipped or rejected).
type checkpoint struct {
	Version       int             `json:"version"`
	Op            string          `json:"op"`
	Table         actingweb.Table `json:"table"`
	Segments      int             `json:"segments"`       // local parallel segments
	TotalSegments int             `json:"total_segments"` // global segments (machines × Segments)
	// Split is the source's ScanSplit when the table started (0 in older checkpoints: 1); the
	// scan segments, and Segs's keys, number TotalSegments × Split.
	Split     int                   `json:"split,omitempty"`
	PageSize  int                   `json:"page_size"` // must be reused on resume (positions count items of a page)
	Done      bool                  `json:"done"`
	Segs      map[int]*segmentState `json:"segs"` // by global segment number
	SinkState json.RawMessage       `json:"sink_state,omitempty"`
	// Fresh: the sink table was empty when the table started under ConflictFail, so batches
	// after the replay window skip the existence check (FreshTableWriter). Kept on resume.
	Fresh bool `json:"fresh,omitempty"`
}

// segmentState is the resume position of one scan segment. Rows of the page that starts after
// Cursor are counted in Skip (records first, then the page's source rejects).
type segmentState struct {
	Cursor string `json:"cursor"`
	Skip   int    `json:"skip"`
	Rows   int64  `json:"rows"`  // items handled from the start of the segment (ordinal)
	Lease  int64  `json:"lease"` // items possibly sent to the sink (ordinal high-water mark)
	Done   bool   `json:"done"`
}

// lastPageDone says whether st is past its segment's last page, as an earlier version's
// checkpoint may be without being marked done: only the last page ends in a "" cursor, and a
// position at the start of the first page has no rows behind it.
func (st *segmentState) lastPageDone() bool {
	return st.Cursor == "" && st.Skip == 0 && st.Rows > 0
}

func checkpointPath(dir string, t actingweb.Table) string {
	return filepath.Join(dir, string(t)+".checkpoint.json")
}

func rejectsPath(dir string, t actingweb.Table) string {
	return filepath.Join(dir, string(t)+".rejects.jsonl")
}

func readCheckpoint(dir string, t actingweb.Table) (*checkpoint, error) {
	b, err := os.ReadFile(checkpointPath(dir, t))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint of %s: %w", t, err)
	}
	var c checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("checkpoint %s is damaged (%v): remove the state directory's checkpoint files and start again", checkpointPath(dir, t), err)
	}
	if c.Version == 1 && c.Split == 0 {
		c.Version = checkpointVersion // the same layout with split 1
	}
	if c.Version != checkpointVersion || c.Table != t {
		return nil, fmt.Errorf("checkpoint %s has version %d for table %q; it was not written by this tool version", checkpointPath(dir, t), c.Version, c.Table)
	}
	return &c, nil
}

// existingCheckpoints lists the tables with checkpoint files in dir.
func existingCheckpoints(dir string) []actingweb.Table {
	var out []actingweb.Table
	for _, t := range actingweb.Tables {
		if _, err := os.Stat(checkpointPath(dir, t)); err == nil {
			out = append(out, t)
		}
	}
	return out
}

func writeCheckpoint(dir string, c *checkpoint) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := bundle.WriteFileAtomic(checkpointPath(dir, c.Table), b); err != nil {
		return fmt.Errorf("write checkpoint of %s: %w", c.Table, err)
	}
	return nil
}

// rejectEntry is one line of <table>.rejects.jsonl. It may hold secrets (the file is 0600).
type rejectEntry struct {
	Table    actingweb.Table  `json:"table"`
	Position string           `json:"position"`
	Key      string           `json:"key,omitempty"`
	Reason   string           `json:"reason"`
	Record   actingweb.Record `json:"record,omitempty"`
	Raw      string           `json:"raw,omitempty"`
}

// rejectLog appends rejects to per-table files in a state directory (nil dir: count only).
type rejectLog struct {
	dir    string
	resume bool
	mu     sync.Mutex
	files  map[actingweb.Table]*os.File
}

func (l *rejectLog) add(t actingweb.Table, rs []bulk.Reject, position func(i int) string) error {
	if l.dir == "" || len(rs) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.files[t]
	if f == nil {
		flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
		if !l.resume {
			flags |= os.O_TRUNC
		}
		var err error
		if f, err = os.OpenFile(rejectsPath(l.dir, t), flags, 0o600); err != nil {
			return fmt.Errorf("open rejects file: %w", err)
		}
		f.Chmod(0o600)
		l.files[t] = f
	}
	w := bufio.NewWriter(f)
	for i, r := range rs {
		e := rejectEntry{Table: t, Position: position(i), Key: actingweb.KeyString(r.Key), Reason: r.Reason, Record: r.Record, Raw: r.Raw}
		b, err := json.Marshal(e)
		if err != nil {
			e.Record, e.Raw = nil, fmt.Sprintf("<record not encodable: %v>", err)
			b, _ = json.Marshal(e)
		}
		w.Write(b)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write rejects file of %s: %w", t, err)
	}
	return f.Sync()
}

// reset empties table t's rejects file (the table is moved again from its start).
func (l *rejectLog) reset(t actingweb.Table) error {
	if l.dir == "" {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if f := l.files[t]; f != nil {
		f.Close()
		delete(l.files, t)
	}
	if err := os.Truncate(rejectsPath(l.dir, t), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("empty rejects file: %w", err)
	}
	return nil
}

func (l *rejectLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.files {
		f.Close()
	}
	l.files = map[actingweb.Table]*os.File{}
}

func tableNames(ts []actingweb.Table) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}
