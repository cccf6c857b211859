package arena

import (
	"strings"
	"testing"
)

// TestStrings: values copied into shared chunks stay intact as more are added and when a
// returned slice is appended to (its capacity ends with it); large values and nil keep their
// own form.
func TestStrings(t *testing.T) {
	defer func(c, m int) { Chunk, MaxShared = c, m }(Chunk, MaxShared)
	Chunk, MaxShared = 16, 8
	var a Strings
	var strs []string
	var bufs [][]byte
	for i := range 40 {
		v := []byte(strings.Repeat(string(rune('a'+i%26)), i%11))
		strs = append(strs, a.String(v))
		b := a.Bytes(v)
		if len(v) <= MaxShared && cap(b) != len(b) {
			t.Fatalf("value %d: capacity %d beyond its length %d", i, cap(b), len(b))
		}
		bufs = append(bufs, append(b, '!')) // must not write into the chunk
		if len(v) > 0 {
			v[0] = 'X' // the source is pgx's buffer, reused
		}
	}
	for i := range 40 {
		want := strings.Repeat(string(rune('a'+i%26)), i%11)
		if strs[i] != want || string(bufs[i]) != want+"!" {
			t.Fatalf("value %d: %q / %q, want %q", i, strs[i], bufs[i], want)
		}
	}
	if a.Bytes(nil) != nil || a.String(nil) != "" || a.Bytes([]byte{}) == nil {
		t.Fatal("nil and empty values")
	}
}

// TestNext: records of one slab are distinct, zero, and a new slab follows a full one; a slot
// holding another type's slab gets a new one.
func TestNext(t *testing.T) {
	type rec struct{ a, b string }
	var slot any
	seen := map[*rec]bool{}
	for i := range 3*SlabSize + 1 {
		r := Next[rec](&slot)
		if seen[r] || *r != (rec{}) {
			t.Fatalf("record %d: reused or not zero", i)
		}
		seen[r] = true
		r.a = "x"
	}
	if p := Next[int](&slot); p == nil || *p != 0 {
		t.Fatal("a slab of another type")
	}
}

// TestRoomKeep: values written into a Room and kept stay intact while later rooms (written
// in full, kept in part or dropped) and copies fill the same and new chunks; Keep beyond the
// room panics.
func TestRoomKeep(t *testing.T) {
	defer func(c, m int) { Chunk, MaxShared = c, m }(Chunk, MaxShared)
	Chunk, MaxShared = 32, 24
	var a Strings
	var kept, want []string
	for i := range 200 {
		n := 1 + i%MaxShared
		r := a.Room(n)
		for j := range r {
			r[j] = byte('a' + (i+j)%26)
		}
		switch k := i % 3; k {
		case 0: // dropped: the next value overwrites it
		default:
			v := string(r[:n/k])
			kept, want = append(kept, a.Keep(n/k)), append(want, v)
		}
		if i%5 == 0 {
			v := strings.Repeat("z", i%7)
			kept, want = append(kept, a.String([]byte(v))), append(want, v)
		}
	}
	for i := range kept {
		if kept[i] != want[i] {
			t.Fatalf("value %d: %q, want %q", i, kept[i], want[i])
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Keep beyond the room did not panic")
		}
	}()
	a.Room(4)
	a.Keep(5)
}
