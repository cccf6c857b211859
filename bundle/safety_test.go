package bundle

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

// editManifest rewrites dir's manifest entry of table tb with edit.
func editManifest(t *testing.T, dir string, tb actingweb.Table, edit func(*TableFile)) {
	t.Helper()
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	tf := m.Tables[string(tb)]
	edit(&tf)
	m.Tables[string(tb)] = tf
	b, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name string
		gz   bool
		edit func(t *testing.T, dir string)
		want []string // in the error; none: Verify passes
	}{
		{name: "intact"},
		{name: "intact gzip", gz: true},
		{name: "tampered byte", edit: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "properties.jsonl")
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 0x01
			os.WriteFile(p, b, 0o600)
		}, want: []string{"properties.jsonl has SHA-256", "the manifest says", "changed or damaged since the export; export again"}},
		{name: "wrong row count", edit: func(t *testing.T, dir string) {
			editManifest(t, dir, actingweb.TableTrusts, func(tf *TableFile) { tf.Rows++ })
		}, want: []string{"trusts.jsonl has 40 lines, the manifest says 41", "export again"}},
		{name: "line removed", edit: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "actors.jsonl")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[bytes.IndexByte(b, '\n')+1:], 0o600)
		}, want: []string{"actors.jsonl has 39 lines, the manifest says 40"}},
		{name: "size differs", edit: func(t *testing.T, dir string) {
			editManifest(t, dir, actingweb.TableActors, func(tf *TableFile) { tf.Bytes++ })
		}, want: []string{"actors.jsonl has", "bytes, the manifest says"}},
		{name: "truncated gzip", gz: true, edit: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "subscriptions.jsonl.gz")
			b, _ := os.ReadFile(p)
			b = b[:len(b)-12]
			os.WriteFile(p, b, 0o600)
			// the manifest matches the cut file: only the gzip stream itself tells
			editManifest(t, dir, actingweb.TableSubscriptions, func(tf *TableFile) {
				sum := sha256.Sum256(b)
				tf.SHA256, tf.Bytes = hex.EncodeToString(sum[:]), int64(len(b))
			})
		}, want: []string{"subscriptions.jsonl.gz", "gzip stream ends early", "export again"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "b")
			writeBundle(t, dir, c.gz, 40)
			if c.edit != nil {
				c.edit(t, dir)
			}
			r, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			n, err := r.Verify(ctx)
			if len(c.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				var size int64
				for _, tf := range r.Manifest().Tables {
					size += tf.Bytes
				}
				if n != size {
					t.Errorf("Verify read %d bytes, the files hold %d", n, size)
				}
				return
			}
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("Verify: %v, want ErrFormat", err)
			}
			t.Log(err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestDigest(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "b")
	writeBundle(t, dir, false, 2)
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	if sum := sha256.Sum256(mb); r.Digest() != hex.EncodeToString(sum[:]) {
		t.Errorf("Digest %s is not the manifest's SHA-256", r.Digest())
	}

	up := t.TempDir()
	os.WriteFile(filepath.Join(up, "actors.json"), []byte(`[{"id":"a"}]`), 0o600)
	os.WriteFile(filepath.Join(up, "properties.json"), []byte(`[]`), 0o600)
	r1, err := Open(up)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Digest() == "" {
		t.Fatal("no digest for upstream files")
	}
	os.WriteFile(filepath.Join(up, "actors.json"), []byte(`[{"id":"b"}]`), 0o600)
	r2, _ := Open(up)
	if r2.Digest() == r1.Digest() {
		t.Error("upstream digest did not change with a file's content")
	}
}

func TestOpenRefusesUnsafeFiles(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		file    string // replaced by make
		make    func(t *testing.T, p string)
		want    string
		allowed bool // accepted with AllowWorldWritable
		keep    bool // make changes the existing file instead of replacing it
	}{
		{name: "symlink to /dev/zero", file: "properties.jsonl", make: func(t *testing.T, p string) { symlink(t, "/dev/zero", p) }, want: "properties.jsonl is a symbolic link"},
		{name: "symlink to /etc/passwd", file: "actors.jsonl", make: func(t *testing.T, p string) { symlink(t, "/etc/passwd", p) }, want: "actors.jsonl is a symbolic link"},
		{name: "symlink in the bundle", file: "trusts.jsonl", make: func(t *testing.T, p string) {
			os.Rename(p, p+".real")
			symlink(t, filepath.Base(p)+".real", p)
		}, want: "trusts.jsonl is a symbolic link", keep: true},
		{name: "manifest symlink", file: ManifestFile, make: func(t *testing.T, p string) {
			os.Rename(p, p+".real")
			symlink(t, p+".real", p)
		}, want: "manifest.json is a symbolic link", keep: true},
		{name: "FIFO", file: "attributes.jsonl", make: mkfifo, want: "attributes.jsonl is a FIFO"},
		{name: "directory", file: "peertrustees.jsonl", make: func(t *testing.T, p string) { os.Mkdir(p, 0o700) }, want: "peertrustees.jsonl is a directory"},
		{name: "world-writable file", file: "properties.jsonl", make: func(t *testing.T, p string) {
			if err := os.Chmod(p, 0o606); err != nil {
				t.Fatal(err)
			}
		}, want: "properties.jsonl is writable by others (mode 0606)", allowed: true, keep: true},
		{name: "world-writable manifest", file: ManifestFile, make: func(t *testing.T, p string) { os.Chmod(p, 0o666) }, want: "manifest.json is writable by others", allowed: true, keep: true},
		{name: "world-writable directory", make: func(t *testing.T, p string) { os.Chmod(p, 0o777) }, want: "directory", allowed: true, keep: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "b")
			writeBundle(t, dir, false, 3)
			p := filepath.Join(dir, c.file)
			if !c.keep {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
			}
			c.make(t, p)
			_, err := Open(dir)
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open: %v, want ErrFormat with %q", err, c.want)
			}
			t.Log(err)
			r, err := OpenWith(dir, ReaderOptions{AllowWorldWritable: true})
			if c.allowed != (err == nil) {
				t.Fatalf("with AllowWorldWritable: %v", err)
			}
			if c.allowed {
				if _, err := r.Verify(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	t.Run("upstream symlink", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		symlink(t, "/etc/passwd", filepath.Join(dir, "actors.json"))
		if _, err := Open(dir); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "actors.json is a symbolic link") {
			t.Fatalf("Open: %v", err)
		}
	})
	t.Run("replaced after Open", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "b")
		writeBundle(t, dir, false, 3)
		r, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "actors.jsonl")
		os.Remove(p)
		symlink(t, "/dev/zero", p)
		if _, _, err := readAll(t, r, actingweb.TableActors, ""); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "symbolic link") {
			t.Fatalf("Scan: %v", err)
		}
		if _, err := r.Verify(context.Background()); !errors.Is(err, ErrFormat) {
			t.Fatalf("Verify: %v", err)
		}
	})
}

func symlink(t *testing.T, target, p string) {
	t.Helper()
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// TestLongLineBounded reads a properties line of 80 MiB with a limit of 1 MiB: the line is a
// reject at its position, the next line is read, and the heap never holds the line. Not
// parallel: it measures the process's allocations.
func TestLongLineBounded(t *testing.T) {
	const lineLen = 80 << 20
	dir := filepath.Join(t.TempDir(), "b")
	writeBundle(t, dir, false, 1)
	p := filepath.Join(dir, "properties.jsonl")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	w := bufio.NewWriter(f)
	out := func(s string) { w.WriteString(s); h.Write([]byte(s)) }
	out(`{"id":"a","name":"n1","value":"v"}` + "\n")
	out(`{"id":"a","name":"big","value":"`)
	chunk := strings.Repeat("x", 1<<20)
	head := len(`{"id":"a","name":"big","value":"`) + len(`"}`)
	for range (lineLen - head) / len(chunk) {
		out(chunk)
	}
	out(strings.Repeat("x", (lineLen-head)%len(chunk)))
	out(`"}` + "\n")
	out(`{"id":"a","name":"n3","value":"v"}` + "\n")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	f.Close()
	chunk = ""
	editManifest(t, dir, actingweb.TableProperties, func(tf *TableFile) {
		tf.Rows, tf.Bytes, tf.SHA256 = 3, st.Size(), hex.EncodeToString(h.Sum(nil))
	})
	// only the properties table, so the measure is of its reads (each file read costs about
	// 4 MiB of read-ahead buffers)
	m, _ := ReadManifest(dir)
	m.Tables = map[string]TableFile{string(actingweb.TableProperties): m.Tables[string(actingweb.TableProperties)]}
	mb, _ := json.Marshal(m)
	os.WriteFile(filepath.Join(dir, ManifestFile), mb, 0o600)

	r, err := OpenWith(dir, ReaderOptions{MaxLineBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := r.Verify(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs, rej, err := readAll(t, r, actingweb.TableProperties, "")
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || len(rej) != 1 {
		t.Fatalf("records %d, rejects %d", len(recs), len(rej))
	}
	if want := fmt.Sprintf("properties.jsonl:2: invalid record: the line is %d bytes, longer than the limit of %d", lineLen, 1<<20); !strings.HasPrefix(rej[0].Reason, want) {
		t.Errorf("reason %q, want prefix %q", rej[0].Reason, want)
	}
	if len(rej[0].Raw) != rejectRawPrefix || !strings.HasPrefix(rej[0].Raw, `{"id":"a","name":"big"`) {
		t.Errorf("reject raw: %d bytes %.40q", len(rej[0].Raw), rej[0].Raw)
	}
	if recs[1].(*actingweb.Property).Name != "n3" {
		t.Errorf("line after the long one: %+v", recs[1])
	}
	t.Logf("Verify and Scan of an %d MiB line: %d MiB allocated, heap in use %d -> %d MiB",
		lineLen>>20, (after.TotalAlloc-before.TotalAlloc)>>20, before.HeapInuse>>20, after.HeapInuse>>20)
	// Verify and Scan together: about 9 MiB of read buffers and the 1 MiB line prefix
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("reading an %d MiB line allocated %d MiB", lineLen>>20, alloc>>20)
	}
	if after.HeapInuse > before.HeapInuse+16<<20 {
		t.Errorf("heap in use grew from %d to %d MiB", before.HeapInuse>>20, after.HeapInuse>>20)
	}
}

func TestLongLineLimits(t *testing.T) {
	t.Parallel()
	t.Run("at the limit", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "b")
		writeBundle(t, dir, true, 1) // gzip: the limit applies to the decompressed line
		b, _ := AppendRecordJSON(nil, sample(actingweb.TableActors, 0))
		line := string(b)
		for _, limit := range []int{len(line), len(line) - 1} {
			r, err := OpenWith(dir, ReaderOptions{MaxLineBytes: limit})
			if err != nil {
				t.Fatal(err)
			}
			recs, rej, err := readAll(t, r, actingweb.TableActors, "")
			if err != nil {
				t.Fatal(err)
			}
			if limit == len(line) && (len(recs) != 1 || len(rej) != 0) || limit < len(line) && (len(recs) != 0 || len(rej) != 1) {
				t.Errorf("limit %d: %d records, %d rejects", limit, len(recs), len(rej))
			}
		}
	})
	t.Run("upstream element", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		big := `{"id":"b","creator":"` + strings.Repeat("x", 300<<10) + `"}`
		os.WriteFile(filepath.Join(dir, "actors.json"), []byte(`[{"id":"a"},`+big+`,{"id":"c"}]`), 0o600)
		r, err := OpenWith(dir, ReaderOptions{MaxLineBytes: 100 << 10})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = readAll(t, r, actingweb.TableActors, "")
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "actors.json element 2 is longer than the limit of 102400 bytes") {
			t.Fatalf("got %v", err)
		}
		r, _ = OpenWith(dir, ReaderOptions{MaxLineBytes: 1 << 20})
		if recs, _, err := readAll(t, r, actingweb.TableActors, ""); err != nil || len(recs) != 3 {
			t.Fatalf("with a larger limit: %d records, %v", len(recs), err)
		}
	})
}

func TestInvalidUTF8(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, line string
		off        int
	}{
		{"value", `{"id":"a","name":"n","value":"ab` + "\xff" + `c"}`, 32},
		{"name", `{"id":"a","name":"n` + "\xc3" + `","value":"v"}`, 19},
		{"key", `{"id":"a","name":"n","val` + "\xe2\x82" + `":"v"}`, 25},
		{"surrogate", `{"id":"a","name":"n","value":"` + "\xed\xa0\x80" + `"}`, 30},
		{"escaped value", `{"id":"a","name":"n","value":"\"` + "\xff" + `"}`, 32},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "b")
			writeBundle(t, dir, false, 1)
			good := `{"id":"a","name":"ok","value":"é"}`
			rewrite(t, dir, actingweb.TableProperties, good+"\n"+c.line+"\n", true)
			r, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Verify(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, retain := range []bool{false, true} { // with the arena and without
				var recs []actingweb.Record
				var rej []bulk.Reject
				err := r.Scan(context.Background(), actingweb.TableProperties, bulk.ScanOptions{Retain: retain}, func(p bulk.Page) error {
					recs, rej = append(recs, p.Records...), append(rej, p.Rejects...)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) != 1 || len(rej) != 1 {
					t.Fatalf("records %d, rejects %d", len(recs), len(rej))
				}
				want := fmt.Sprintf("properties.jsonl:2: invalid record: invalid UTF-8 at byte offset %d of the line", c.off)
				if !strings.HasPrefix(rej[0].Reason, want) || rej[0].Raw != c.line {
					t.Errorf("reject %q (raw %q), want %q", rej[0].Reason, rej[0].Raw, want)
				}
			}
			if _, err := DecodeRecord(actingweb.TableProperties, []byte(c.line)); !errors.Is(err, actingweb.ErrInvalid) {
				t.Errorf("DecodeRecord: %v", err)
			}
		})
	}
	t.Run("upstream", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "properties.json"), []byte(`[{"id":"a","name":"n","value":"v"},{"id":"a","name":"n`+"\xff"+`","value":"v"}]`), 0o600)
		r, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		recs, rej, err := readAll(t, r, actingweb.TableProperties, "")
		if err != nil || len(recs) != 1 || len(rej) != 1 || !strings.HasPrefix(rej[0].Reason, "properties.json:element 2: invalid record: invalid UTF-8 at byte offset 19") {
			t.Fatalf("records %d, rejects %+v, %v", len(recs), rej, err)
		}
	})
}
