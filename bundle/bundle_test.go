package bundle

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

func sample(t actingweb.Table, i int) actingweb.Record {
	id := fmt.Sprintf("actor%03d", i)
	ts := time.Date(2025, 6, 1, 8, 0, i, 123456000, time.UTC)
	s := func(v string) *string { return &v }
	switch t {
	case actingweb.TableActors:
		return &actingweb.Actor{ID: id, Creator: "c@x.org", Passphrase: "pw"}
	case actingweb.TableProperties:
		return &actingweb.Property{ID: id, Name: "email", Value: fmt.Sprintf(`"u%d@x.org"`, i)}
	case actingweb.TablePropertyLookup:
		l := actingweb.NewPropertyLookup("email", fmt.Sprint(i), id)
		return &l
	case actingweb.TableAttributes:
		return &actingweb.Attribute{ID: id, BucketName: "b:n:1", Bucket: "b", Name: "n:1", Data: json.RawMessage(`{"a":0}`), Timestamp: &ts}
	case actingweb.TableTrusts:
		return &actingweb.Trust{ID: id, PeerID: "p", Secret: "s", Desc: s("d"), Approved: true, CreatedAt: &ts}
	case actingweb.TablePeerTrustees:
		return &actingweb.PeerTrustee{ID: id, PeerID: "p", Type: "t", Passphrase: "x"}
	case actingweb.TableSubscriptions:
		return &actingweb.Subscription{ID: id, PeerSubID: "p:s", PeerID: "p", SubID: "s", Target: s("props")}
	case actingweb.TableSubscriptionDiffs:
		return &actingweb.SubscriptionDiff{ID: id, SubIDSeqnr: "s:1", SubID: "s", Seqnr: 1, Timestamp: ts, Diff: "{}"}
	case actingweb.TableSubscriptionSuspensions:
		return &actingweb.SubscriptionSuspension{ID: id, Target: "props", SuspendedAt: ts}
	}
	return nil
}

func writeBundle(t *testing.T, dir string, gz bool, n int) {
	t.Helper()
	w, err := Create(dir, WriterOptions{Gzip: gz, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tb := range actingweb.Tables {
		var recs []actingweb.Record
		for i := 0; i < n; i++ {
			recs = append(recs, sample(tb, i))
		}
		res, err := w.WriteBatch(ctx, tb, recs, bulk.ConflictFail)
		if err != nil || res.Written != n {
			t.Fatalf("WriteBatch %s: %v %+v", tb, err, res)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func readAll(t *testing.T, r *Reader, tb actingweb.Table, cursor string) ([]actingweb.Record, []bulk.Reject, error) {
	t.Helper()
	var recs []actingweb.Record
	var rej []bulk.Reject
	err := r.Scan(context.Background(), tb, bulk.ScanOptions{Cursor: cursor, PageSize: 7}, func(p bulk.Page) error {
		recs = append(recs, p.Records...)
		rej = append(rej, p.Rejects...)
		return nil
	})
	return recs, rej, err
}

func TestRoundTrip(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%v", gz), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "b")
			writeBundle(t, dir, gz, 20)
			st, _ := os.Stat(dir)
			if st.Mode().Perm() != 0o700 {
				t.Errorf("dir mode %v", st.Mode().Perm())
			}
			r, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Tables()) != 9 {
				t.Fatalf("tables %v", r.Tables())
			}
			for _, tb := range actingweb.Tables {
				ts := r.files[tb]
				fi, _ := os.Stat(ts.path)
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("%s mode %v", ts.path, fi.Mode().Perm())
				}
				recs, rej, err := readAll(t, r, tb, "")
				if err != nil || len(rej) != 0 || len(recs) != 20 {
					t.Fatalf("%s: err %v rejects %v recs %d", tb, err, rej, len(recs))
				}
				for i, rec := range recs {
					if d := actingweb.CompareRecords(sample(tb, i), rec); len(d) != 0 {
						t.Fatalf("%s row %d differs: %v", tb, i, d)
					}
				}
				if n, _ := r.Count(context.Background(), tb); n != 20 {
					t.Errorf("count %d", n)
				}
			}
			if _, err := r.Verify(context.Background()); err != nil {
				t.Fatal(err)
			}
			if _, err := Create(dir, WriterOptions{}); !errors.Is(err, os.ErrExist) {
				t.Errorf("Create over an existing bundle: %v", err)
			}
		})
	}
}

func TestResumeCursor(t *testing.T) {
	for _, gz := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "b")
		writeBundle(t, dir, gz, 20)
		r, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		var cursor string
		var first []actingweb.Record
		stop := errors.New("stop")
		err = r.Scan(context.Background(), actingweb.TableActors, bulk.ScanOptions{PageSize: 7}, func(p bulk.Page) error {
			first = append(first, p.Records...)
			cursor = p.Cursor
			return stop
		})
		if !errors.Is(err, stop) || len(first) != 7 {
			t.Fatalf("gz=%v: %v %d", gz, err, len(first))
		}
		rest, _, err := readAll(t, r, actingweb.TableActors, cursor)
		if err != nil || len(rest) != 13 || rest[0].Key() != "actor007" {
			t.Fatalf("gz=%v resume: %v %d", gz, err, len(rest))
		}
	}
}

func TestWriterResumeTruncates(t *testing.T) {
	for _, gz := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "b")
		ctx := context.Background()
		w, err := Create(dir, WriterOptions{Gzip: gz})
		if err != nil {
			t.Fatal(err)
		}
		tb := actingweb.TableActors
		var recs []actingweb.Record
		for i := 0; i < 10; i++ {
			recs = append(recs, sample(tb, i))
		}
		w.WriteBatch(ctx, tb, recs[:5], 0)
		state, err := w.SinkState(tb)
		if err != nil {
			t.Fatal(err)
		}
		w.WriteBatch(ctx, tb, recs[5:8], 0) // written after the checkpoint: must be cut
		w.Abort()
		w2, err := Create(dir, WriterOptions{Gzip: gz, Resume: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := w2.ResumeSink(tb, state); err != nil {
			t.Fatal(err)
		}
		w2.WriteBatch(ctx, tb, recs[5:], 0)
		if err := w2.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		got, rej, err := readAll(t, r, tb, "")
		if err != nil || len(rej) > 0 || len(got) != 10 {
			t.Fatalf("gz=%v: %v %v %d", gz, err, rej, len(got))
		}
		for i := range got {
			if got[i].Key() != recs[i].Key() {
				t.Fatalf("gz=%v row %d = %s", gz, i, got[i].Key())
			}
		}
	}
}

// rewrite replaces a table file's content and fixes the manifest's rows and sha256 so only
// the line content is at fault.
func rewrite(t *testing.T, dir string, tb actingweb.Table, content string, fixManifest bool) {
	t.Helper()
	p := filepath.Join(dir, string(tb)+".jsonl")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if !fixManifest {
		return
	}
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	tf := m.Tables[string(tb)]
	tf.Rows = int64(strings.Count(content, "\n"))
	tf.Bytes = int64(len(content))
	tf.SHA256 = sha(content)
	m.Tables[string(tb)] = tf
	b, _ := json.Marshal(m)
	os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o600)
}

func sha(s string) string {
	h := newHash()
	h.Write([]byte(s))
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestMalformedLines(t *testing.T) {
	good := `{"id":"a1","creator":"c","passphrase":"p"}`
	cases := []struct {
		name, line, want string
	}{
		{"bad JSON", `{"id":"a2",`, "bad JSON"},
		{"wrong type", `{"id":7,"creator":"c","passphrase":"p"}`, `field "id"`},
		{"missing id", `{"creator":"c","passphrase":"p"}`, "required field(s) id"},
		{"unknown field", `{"id":"a3","creator":"c","passphrase":"p","x":1}`, "unknown field"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "b")
			writeBundle(t, dir, false, 1)
			rewrite(t, dir, actingweb.TableActors, good+"\n"+c.line+"\n"+good+"\n", true)
			r, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			recs, rej, err := readAll(t, r, actingweb.TableActors, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 2 || len(rej) != 1 {
				t.Fatalf("recs %d rejects %d", len(recs), len(rej))
			}
			if !strings.HasPrefix(rej[0].Reason, "actors.jsonl:2: ") || !strings.Contains(rej[0].Reason, c.want) {
				t.Errorf("reason %q", rej[0].Reason)
			}
			if rej[0].Raw == "" && rej[0].Record == nil {
				t.Error("reject lost the row")
			}
		})
	}
}

func TestBadBundles(t *testing.T) {
	ctx := context.Background()
	t.Run("sha mismatch", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "b")
		writeBundle(t, dir, false, 3)
		p := filepath.Join(dir, "actors.jsonl")
		b, _ := os.ReadFile(p)
		b = bytes.Replace(b, []byte("actor001"), []byte("actor00X"), 1)
		os.WriteFile(p, b, 0o600)
		r, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := readAll(t, r, actingweb.TableActors, ""); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "SHA-256") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("row count mismatch", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "b")
		writeBundle(t, dir, false, 3)
		p := filepath.Join(dir, "actors.jsonl")
		b, _ := os.ReadFile(p)
		os.WriteFile(p, b[:bytes.IndexByte(b, '\n')+1], 0o600)
		r, _ := Open(dir)
		if _, _, err := readAll(t, r, actingweb.TableActors, ""); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "lines") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("truncated gzip", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "b")
		writeBundle(t, dir, true, 50)
		p := filepath.Join(dir, "actors.jsonl.gz")
		b, _ := os.ReadFile(p)
		os.WriteFile(p, b[:len(b)-12], 0o600)
		r, _ := Open(dir)
		if _, _, err := readAll(t, r, actingweb.TableActors, ""); !errors.Is(err, ErrFormat) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unknown format_version", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "b")
		writeBundle(t, dir, false, 1)
		m, _ := ReadManifest(dir)
		m.FormatVersion = 2
		b, _ := json.Marshal(m)
		os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o600)
		if _, err := Open(dir); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "format_version 2") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unknown table in manifest", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "b")
		writeBundle(t, dir, false, 1)
		m, _ := ReadManifest(dir)
		m.Tables["widgets"] = TableFile{File: "widgets.jsonl"}
		b, _ := json.Marshal(m)
		os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o600)
		if _, err := Open(dir); !errors.Is(err, actingweb.ErrUnknownTable) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unknown upstream table file", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "actors.json"), []byte(`[]`), 0o600)
		os.WriteFile(filepath.Join(dir, "widgets.json"), []byte(`[]`), 0o600)
		if _, err := Open(dir); !errors.Is(err, actingweb.ErrUnknownTable) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("no manifest, jsonl files", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "actors.jsonl"), []byte("{}\n"), 0o600)
		if _, err := Open(dir); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "did not finish") {
			t.Fatalf("got %v", err)
		}
	})
	_ = ctx
	_ = gzip.BestSpeed
}

func TestUpstreamArrays(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) { os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600) }
	write("actors.json", `[{"id":"a1","creator":"c@x","passphrase":"p"},{"id":"a2","creator":"c","passphrase":"q"}]`)
	write("trusts.json", `[{"id":"a1","peerid":"p1","baseuri":"u","type":"t","relationship":"friend","secret":"s","desc_text":"hello","approved":true,"peer_approved":false,"verified":true,"created_at":"2025-06-01 08:00:00.123456+00:00"}, {"id":"a1","peerid":"p2","bogus":1}]`)
	write("peertrustees.json", `[{"id":"a1","peerid":"p","baseuri":"u","peer_type":"t","passphrase":"x"}]`)
	write("subscription_suspensions.json", `[{"id":"a1","target":"props","target_key":"props","subtarget":"","suspended_at":"2025-06-01T08:00:00.000000+0000"}]`)
	write("attributes.json", `[{"id":"a1","bucket_name":"b:n","bucket":"b","name":"n","data":"{\"x\": 1}"}]`)
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Upstream() || len(r.Tables()) != 5 {
		t.Fatalf("%v", r.Tables())
	}
	recs, rej, err := readAll(t, r, actingweb.TableTrusts, "")
	if err != nil || len(recs) != 1 || len(rej) != 1 {
		t.Fatalf("%v %d %d", err, len(recs), len(rej))
	}
	tr := recs[0].(*actingweb.Trust)
	if tr.Desc == nil || *tr.Desc != "hello" || tr.CreatedAt == nil || tr.CreatedAt.Nanosecond() != 123456000 {
		t.Errorf("trust %+v", tr)
	}
	if !strings.Contains(rej[0].Reason, "trusts.json:element 2") || !strings.Contains(rej[0].Reason, "bogus") {
		t.Errorf("reason %q", rej[0].Reason)
	}
	recs, _, _ = readAll(t, r, actingweb.TablePeerTrustees, "")
	if len(recs) != 1 || recs[0].(*actingweb.PeerTrustee).Type != "t" {
		t.Errorf("peer trustee %+v", recs)
	}
	recs, _, _ = readAll(t, r, actingweb.TableAttributes, "")
	if len(recs) != 1 || string(recs[0].(*actingweb.Attribute).Data) != `{"x":1}` {
		t.Errorf("attribute %+v", recs)
	}
	recs, rej, err = readAll(t, r, actingweb.TableSubscriptionSuspensions, "")
	if err != nil || len(recs) != 1 || len(rej) != 0 {
		t.Errorf("suspension %v %v", err, rej)
	}
	if n, err := r.Count(context.Background(), actingweb.TableActors); err != nil || n != 2 {
		t.Errorf("count %d %v", n, err)
	}
	// resume after one element
	recs, _, err = readAll(t, r, actingweb.TableActors, "1")
	if err != nil || len(recs) != 1 || recs[0].Key() != "a2" {
		t.Errorf("resume %v %v", err, recs)
	}
}

// TestWriterResumeRefusesChangedPrefix: checkpoints do not fsync the table file; they record
// the SHA-256 of the kept prefix instead, and a resume whose prefix is not those bytes (as after
// an operating-system crash that lost unsynced pages, simulated by zeroing one byte) refuses
// with ErrFormat instead of continuing a corrupt file.
func TestWriterResumeRefusesChangedPrefix(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt bool
	}{{"intact prefix resumes", false}, {"changed prefix refused", true}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "b")
			ctx := context.Background()
			w, err := Create(dir, WriterOptions{})
			if err != nil {
				t.Fatal(err)
			}
			tb := actingweb.TableActors
			var recs []actingweb.Record
			for i := 0; i < 6; i++ {
				recs = append(recs, sample(tb, i))
			}
			w.WriteBatch(ctx, tb, recs, 0)
			state, err := w.SinkState(tb)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(state), `"sha256":"`) {
				t.Fatalf("checkpoint state without the prefix hash: %s", state)
			}
			w.Abort()
			if tc.corrupt {
				p := filepath.Join(dir, string(tb)+".jsonl")
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				b[10] = 0
				if err := os.WriteFile(p, b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			w2, err := Create(dir, WriterOptions{Resume: true})
			if err != nil {
				t.Fatal(err)
			}
			defer w2.Abort()
			err = w2.ResumeSink(tb, state)
			if tc.corrupt != errors.Is(err, ErrFormat) || (!tc.corrupt && err != nil) {
				t.Fatalf("ResumeSink = %v, want ErrFormat: %v", err, tc.corrupt)
			}
			if tc.corrupt && !strings.Contains(err.Error(), "export again") {
				t.Errorf("error does not say what to do: %v", err)
			}
		})
	}
}

// TestPagesBoundedByBytes: pages of large rows end at about bulk.MaxPageBytes whatever
// PageSize asks, and the rows read back are all there (JSON Lines and upstream arrays).
func TestPagesBoundedByBytes(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir, WriterOptions{Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	const rows = 20
	value := strings.Repeat("v", 1<<20) // 1 MiB per row: 4 or 5 fit a page
	var recs []actingweb.Record
	for i := 0; i < rows; i++ {
		recs = append(recs, &actingweb.Property{ID: fmt.Sprintf("a%02d", i), Name: "n", Value: value})
	}
	if _, err := w.WriteBatch(context.Background(), actingweb.TableProperties, recs, bulk.ConflictFail); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// the same rows as an upstream array file in a second bundle directory
	arrDir := t.TempDir()
	arr, err := json.Marshal(recs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(arrDir, "properties.json"), arr, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, arrDir} {
		r, err := Open(d)
		if err != nil {
			t.Fatal(err)
		}
		total, pages := 0, 0
		err = r.Scan(context.Background(), actingweb.TableProperties, bulk.ScanOptions{PageSize: 1000}, func(p bulk.Page) error {
			pages++
			size := 0
			for _, rec := range p.Records {
				size += bulk.RecordSize(rec)
			}
			if len(p.Records) > 1 && size > bulk.MaxPageBytes+(2<<20) {
				t.Errorf("%s: page of %d rows holds %d bytes", d, len(p.Records), size)
			}
			total += len(p.Records) + len(p.Rejects)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if total != rows || pages < rows/5 {
			t.Fatalf("%s: %d rows in %d pages, want %d rows in at least %d pages", d, total, pages, rows, rows/5)
		}
	}
}
