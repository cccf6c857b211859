package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/capture"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/postgres"
)

// captureName is a replication slot name unique to the test's schema, dropped at cleanup.
func captureName(t *testing.T, s *postgres.Store, schema string) string {
	name := "test_" + schema
	t.Cleanup(func() { s.DropCapture(context.Background(), name) })
	return name
}

// collect streams until want changes arrived (or the deadline) and returns them.
func collect(t *testing.T, c capture.Capture, from string, want int) ([]capture.Change, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var got []capture.Change
	var pos string
	errDone := errors.New("done")
	err := c.Stream(ctx, from, 100, func(b capture.Batch) error {
		got = append(got, b.Changes...)
		pos = b.Position
		if len(got) >= want {
			return errDone
		}
		return nil
	})
	if !errors.Is(err, errDone) {
		t.Fatalf("stream: %v (got %d of %d changes)", err, len(got), want)
	}
	return got, pos
}

// TestCaptureMeetsLoad: rows written before the slot are in the load's snapshot and not in the
// stream; rows written after are in the stream and not in the snapshot; an update that leaves
// a TOASTed payload unchanged arrives with Fill, which restores the payload from the previous
// state; a second capture attached from the first one's position continues after it.
func TestCaptureMeetsLoad(t *testing.T) {
	t.Parallel()
	s, schema := coreHead(t)
	ctx := coreCtx(t)
	name := captureName(t, s, schema)
	if err := s.CreateActor(ctx, actingweb.Actor{ID: "before", Creator: "c", Passphrase: "p"}); err != nil {
		t.Fatal(err)
	}
	c, err := s.OpenCapture(ctx, name, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenCapture(ctx, name, true); !errors.Is(err, actingweb.ErrExists) {
		t.Fatalf("second fresh capture: %v, want ErrExists", err)
	}
	b := make([]byte, 4000)
	rand.Read(b)
	big := json.RawMessage(`{"blob":"` + hex.EncodeToString(b) + `"}`)
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, step := range []func() error{
		func() error { return s.CreateActor(ctx, actingweb.Actor{ID: "after", Creator: "c", Passphrase: "p"}) },
		func() error { return s.SetAttribute(ctx, "after", "b", "n", big, nil, 0) },
		func() error {
			// An update that does not set the payload (Python's upstream and any SQL client may
			// write one): pgoutput sends the TOASTed payload as unchanged.
			_, err := s.Pool().Exec(ctx, `UPDATE `+schema+`.attributes SET timestamp = $1 WHERE id = 'after'`, ts)
			return err
		},
		func() error { return s.DeleteActor(ctx, "before") },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	var loaded []string
	err = c.LoadSource().Scan(ctx, actingweb.TableActors, bulk.ScanOptions{}, func(p bulk.Page) error {
		for _, r := range p.Records {
			loaded = append(loaded, r.Key())
		}
		return nil
	})
	if err != nil || len(loaded) != 1 || loaded[0] != "before" {
		t.Fatalf("load in the slot's snapshot read %v (%v), want [before]", loaded, err)
	}

	got, pos := collect(t, c, "", 3)
	if len(got) < 4 {
		more, p := collect(t, c, pos, 4-len(got))
		got, pos = append(got, more...), p
	}
	if len(got) != 4 {
		t.Fatalf("got %d changes, want 4", len(got))
	}
	if a, ok := got[0].Record.(*actingweb.Actor); !ok || a.ID != "after" || got[0].Delete {
		t.Fatalf("change 0: %+v", got[0])
	}
	if got[1].Fill != nil {
		t.Fatal("the insert of the attribute has Fill; want the whole row")
	}
	up := got[2]
	if up.Fill == nil {
		t.Fatal("the update that kept the payload arrived without Fill: the payload was not TOASTed, or the marker was ignored")
	}
	full, err := up.Fill(got[1].Record)
	if err != nil {
		t.Fatal(err)
	}
	attr := full.(*actingweb.Attribute)
	if string(attr.Data) != string(got[1].Record.(*actingweb.Attribute).Data) || attr.Timestamp == nil || !attr.Timestamp.Equal(ts) {
		t.Fatalf("filled update: timestamp %v, payload of %d bytes", attr.Timestamp, len(attr.Data))
	}
	if _, err := up.Fill(nil); !errors.Is(err, actingweb.ErrNotFound) {
		t.Fatalf("Fill(nil) = %v, want ErrNotFound", err)
	}
	if d := got[3]; !d.Delete || d.Record.Key() != "before" {
		t.Fatalf("change 3: %+v", d)
	}
	c.Ack(pos)
	c.Close()

	// Attach again and continue after pos: the next change is the next write.
	if err := s.CreateActor(ctx, actingweb.Actor{ID: "later", Creator: "c", Passphrase: "p"}); err != nil {
		t.Fatal(err)
	}
	c2, err := s.OpenCapture(ctx, name, false)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	next, _ := collect(t, c2, pos, 1)
	if next[0].Record.Key() != "later" {
		t.Fatalf("after a re-attach the first change is %s, want later", next[0].Record.Key())
	}
}

// TestCaptureRefusals: a capture that does not exist cannot be attached to; a bad name is refused.
func TestCaptureRefusals(t *testing.T) {
	t.Parallel()
	s, schema := coreHead(t)
	ctx := coreCtx(t)
	name := captureName(t, s, schema)
	if _, err := s.OpenCapture(ctx, name, false); !errors.Is(err, actingweb.ErrNotFound) {
		t.Fatalf("attach without a slot: %v, want ErrNotFound", err)
	}
	if _, err := s.OpenCapture(ctx, "Bad-Name", true); !errors.Is(err, actingweb.ErrInvalid) {
		t.Fatalf("bad name: %v, want ErrInvalid", err)
	}
	if err := s.DropCapture(ctx, name); err != nil {
		t.Fatalf("dropping what does not exist: %v", err)
	}
}

// TestApplicationName: every connection names itself "actingweb" in pg_stat_activity, unless
// the URL says otherwise.
func TestApplicationName(t *testing.T) {
	t.Parallel()
	s, _ := coreOpen(t)
	var name string
	if err := s.Pool().QueryRow(coreCtx(t), `SELECT current_setting('application_name')`).Scan(&name); err != nil || name != "actingweb" {
		t.Fatalf("application_name %q (%v), want actingweb", name, err)
	}
	u, _ := testenv.FreshPostgresSchema(t)
	cfg, err := postgres.ConfigFromURL(u+"&application_name=mine", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	s2, err := postgres.Open(coreCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.Pool().QueryRow(coreCtx(t), `SELECT current_setting('application_name')`).Scan(&name); err != nil || name != "mine" {
		t.Fatalf("application_name %q (%v), want the URL's mine", name, err)
	}
}

// TestBehind: the WAL a position lies behind the server's head grows with writes after it,
// and is 0 for a position at or after the head.
func TestBehind(t *testing.T) {
	t.Parallel()
	s, _ := coreHead(t)
	ctx := coreCtx(t)
	head, err := s.HeadPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := s.CreateActor(ctx, actingweb.Actor{ID: fmt.Sprintf("b%03d", i), Creator: "c", Passphrase: "p"}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.Behind(ctx, head)
	if err != nil || n < 50*50 { // each insert writes well over 50 bytes of WAL
		t.Fatalf("Behind(head before 50 inserts) = %d, %v; want the inserts' WAL", n, err)
	}
	if n, err := s.Behind(ctx, `{"lsn":"FFFF/FFFFFFFF"}`); err != nil || n != 0 {
		t.Fatalf("Behind(a position past the head) = %d, %v; want 0", n, err)
	}
}
