package dynamodb

import (
	"context"
	"errors"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

// TestWriteBatchFresh: IsEmpty tells an empty table from one with an item; WriteBatchFresh
// writes without reading the keys (an existing key is overwritten, not refused) and still
// refuses a key that occurs twice in one batch, writing nothing.
func TestWriteBatchFresh(t *testing.T) {
	s := openTestStore(t, true)
	ctx := context.Background()
	tb := actingweb.TableProperties
	empty, err := s.IsEmpty(ctx, tb)
	if err != nil || !empty {
		t.Fatalf("IsEmpty on a new table = %v, %v; want true", empty, err)
	}
	p := func(id, name, v string) actingweb.Record { return &actingweb.Property{ID: id, Name: name, Value: v} }
	res, err := s.WriteBatchFresh(ctx, tb, []actingweb.Record{p("a1", "x", "1"), p("a1", "y", "2")})
	if err != nil || res.Written != 2 {
		t.Fatalf("WriteBatchFresh = %+v, %v", res, err)
	}
	if empty, err := s.IsEmpty(ctx, tb); err != nil || empty {
		t.Fatalf("IsEmpty after a write = %v, %v; want false", empty, err)
	}
	// the same key twice in one batch: refused, nothing written
	_, err = s.WriteBatchFresh(ctx, tb, []actingweb.Record{p("a2", "x", "1"), p("a2", "x", "2")})
	if !errors.Is(err, actingweb.ErrConflict) {
		t.Fatalf("duplicate key in one batch: %v; want ErrConflict", err)
	}
	if n, err := s.Count(ctx, tb); err != nil || n != 2 {
		t.Fatalf("count = %d, %v; want 2", n, err)
	}
	// an existing key: WriteBatch under fail refuses it, WriteBatchFresh overwrites it
	if _, err := s.WriteBatch(ctx, tb, []actingweb.Record{p("a1", "x", "new")}, bulk.ConflictFail); !errors.Is(err, actingweb.ErrConflict) {
		t.Fatalf("WriteBatch fail on an existing key: %v; want ErrConflict", err)
	}
	if res, err := s.WriteBatchFresh(ctx, tb, []actingweb.Record{p("a1", "x", "new")}); err != nil || res.Written != 1 {
		t.Fatalf("WriteBatchFresh on an existing key = %+v, %v", res, err)
	}
	if _, err := s.IsEmpty(ctx, actingweb.Table("nope")); err == nil {
		t.Error("IsEmpty of an unknown table: no error")
	}
}
