// Package arena cuts the allocations of the row decoders (PostgreSQL scans, bundle lines):
// the strings and payloads of many rows share chunks, and records come from slabs. A scan of
// a large table spent about a third of its client CPU in the allocator and the collector with
// one allocation per string and per record.
//
// Memory: a chunk or slab lives as long as any value in it is referenced; the engine keeps
// records for one batch, so this bounds the extra memory by a chunk or slab per batch.
package arena

import (
	"bytes"
	"unsafe"
)

// Sizes of Strings: chunks of Chunk bytes; values over MaxShared bytes get their own
// allocation, so one large value neither wastes the rest of a chunk nor pins it. Variables for
// the tests, which make chunks small to cross their boundaries.
var (
	Chunk     = 128 << 10
	MaxShared = 8 << 10
)

// Strings copies values into shared chunks. The zero value is ready to use; not safe for
// concurrent use.
type Strings struct {
	buf  []byte
	room int // bytes of the last Room (Keep's bound)
}

// Bytes returns a copy of v (nil for nil, empty for empty) that may share a chunk with other
// values; its capacity ends with it, so appending to it copies. Chunk bytes are never written
// again once handed out.
func (a *Strings) Bytes(v []byte) []byte {
	if v == nil {
		return nil
	}
	if len(v) == 0 {
		return []byte{}
	}
	if len(v) > MaxShared {
		return bytes.Clone(v)
	}
	if cap(a.buf)-len(a.buf) < len(v) {
		a.buf = make([]byte, 0, Chunk)
	}
	n := len(a.buf)
	a.buf = append(a.buf, v...)
	return a.buf[n : n+len(v) : n+len(v)]
}

// String returns v as a string that may share a chunk with other values (immutable: its
// bytes are never written again).
func (a *Strings) String(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	b := a.Bytes(v)
	return unsafe.String(&b[0], len(b))
}

// Room returns n bytes of free room in the current chunk (a new chunk when the current one
// has less; n must not exceed MaxShared) for the caller to write a value into; Keep then
// keeps the first bytes of it. Call Keep, or drop the room, before any other method: the
// room is the space the next value goes to.
func (a *Strings) Room(n int) []byte {
	if n > MaxShared {
		panic("arena: Room larger than MaxShared")
	}
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, max(Chunk, n))
	}
	a.room = n
	return a.buf[len(a.buf) : len(a.buf)+n]
}

// Keep returns the first k bytes of the room last returned by Room as a string sharing the
// chunk (immutable from then on: the bytes after it are handed out again). It panics when k
// exceeds the room.
func (a *Strings) Keep(k int) string {
	if k > a.room {
		panic("arena: Keep beyond the room")
	}
	a.room = 0
	if k == 0 {
		return ""
	}
	n := len(a.buf)
	a.buf = a.buf[:n+k]
	return unsafe.String(&a.buf[n], k)
}

// SlabSize is the number of records per slab of Next.
const SlabSize = 128

// Next returns a zero T from the slab kept in *slot (created on first use, or when *slot holds
// a slab of another type): one allocation per SlabSize records instead of one each.
func Next[T any](slot *any) *T {
	s, _ := (*slot).(*[]T)
	if s == nil {
		s = new([]T)
		*slot = s
	}
	if len(*s) == 0 {
		*s = make([]T, SlabSize)
	}
	r := &(*s)[0]
	*s = (*s)[1:]
	return r
}

// Used reports whether a has copied any value into a chunk.
func (a *Strings) Used() bool { return a.buf != nil }
