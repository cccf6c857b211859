// Package bulk is the contract between the ends of a data move and the engine that moves it
// (package migrate): whole-table scans in pages, batch writes under a conflict policy, counts,
// the property lookup rebuild, run locks, and the capabilities each end declares. Stores
// (postgres, dynamodb, dualwrite) and bundle directories (bundle) implement it; the root
// package keeps only what an application needs (records, the application face, errors).
// Rules quoted as "§N" refer to docs/storage-model.md.
package bulk

import (
	"context"

	actingweb "github.com/actingweb/actingweb-go"
)

// ConflictPolicy decides what a batch write does with a row whose primary key exists on the
// target.
type ConflictPolicy int

const (
	// ConflictFail refuses the batch with ErrConflict, naming the first existing key.
	ConflictFail ConflictPolicy = iota
	// ConflictSkip keeps the existing row and counts the new one as skipped.
	ConflictSkip
	// ConflictOverwrite replaces the existing row.
	ConflictOverwrite
)

// String returns fail, skip or overwrite.
func (p ConflictPolicy) String() string {
	switch p {
	case ConflictSkip:
		return "skip"
	case ConflictOverwrite:
		return "overwrite"
	}
	return "fail"
}

// ScanOptions shape a table scan.
type ScanOptions struct {
	// Segment and TotalSegments split the table into TotalSegments disjoint parts (a DynamoDB
	// parallel scan; PostgreSQL hashes the owner id). TotalSegments <= 1 scans everything.
	Segment, TotalSegments int
	// Cursor resumes after the position a previous Page.Cursor returned; "" starts at the top.
	Cursor string
	// PageSize is the number of rows per page (a hint; default 1000). Sources also end a page
	// once its rows hold about MaxPageBytes.
	PageSize int
	// Consistent asks DynamoDB for strongly consistent reads (§5.5 item 11).
	Consistent bool
	// AnyOrder says the caller takes the rows in any order, and can start the table again
	// from its top when a Cursor is refused with ErrStaleCursor. PostgreSQL then reads the
	// table in physical order (a sequential scan, as pg_dump does; 35-65 % less server CPU
	// than walking the primary-key index; docs/migration.md) and refuses every resumption of
	// such a scan with ErrStaleCursor: rows written since may lie on either side of a physical
	// position (postgres.Store.Scan). A caller must resume at page boundaries: a count of rows
	// to skip inside a page would pass over other rows once some were deleted. A key-order
	// Cursor resumes in key order, whatever AnyOrder says. DynamoDB scans are unordered anyway,
	// resume from any of their cursors and ignore it.
	AnyOrder bool
	// Retain says the caller keeps some records after it is done with their page (validate's
	// drill-down keeps the rows of the partitions that differ). Sources that share memory
	// between the records of a page (string chunks, record slabs: internal/arena) then give
	// each record its own, so a kept record does not keep its neighbours' memory alive.
	Retain bool
}

// MaxPageBytes is about the most a page of a scan holds (row bytes as stored or as read), so
// that PageSize rows of DynamoDB's 400 KB maximum do not hold gigabytes (DynamoDB ends its own
// pages at 1 MB). A page holds at least one row.
const MaxPageBytes = 4 << 20

// Page is one page of a table scan.
type Page struct {
	Records []actingweb.Record
	// Rejects are rows read from the table that cannot be turned into canonical records
	// (e.g. a timestamp not in PynamoDB form, attribute data that is not JSON). They are
	// reported, never dropped silently.
	Rejects []Reject
	// Cursor is the resume position after this page (opaque, JSON-safe). Only the last page
	// may have an empty Cursor (the migrate engine reads an empty cursor with rows behind it
	// as the end of the segment).
	Cursor string
	// Last is true on the final page of the segment.
	Last bool
}

// Reject is a row that could not be read or written, with the reason.
type Reject struct {
	Table  actingweb.Table
	Key    string // Record.Key when known
	Reason string
	Record actingweb.Record // the canonical row when it could be built, else nil
	Raw    string           // the physical row as text when Record is nil (secrets included: 0600 files only)
}

// WriteResult reports a batch write.
type WriteResult struct {
	Written int      // rows inserted or replaced
	Skipped int      // rows that existed (ConflictSkip)
	Rejects []Reject // rows the target cannot store (too long, too large, NUL, bad JSON, empty key)
}

// TableStore is the table face used to move data (architecture.md): stream every row, write
// batches with a conflict policy, count rows. Rows cross it in canonical form.
type TableStore interface {
	// Scan streams table t page by page to fn, in an order stable across resumptions (with
	// ScanOptions.AnyOrder, a resumption may instead fail with ErrStaleCursor). An error from
	// fn stops the scan and is returned.
	Scan(ctx context.Context, t actingweb.Table, opts ScanOptions, fn func(Page) error) error
	// WriteBatch writes recs (all of table t) under policy. Rows the target cannot store are
	// returned as rejects, not as errors; the others are written. The batch is written
	// completely or, on error, the caller may retry it whole (writes are idempotent under skip
	// and overwrite). For the lookup table, recs without Value cannot be written to PostgreSQL
	// (rejected); use RebuildPropertyLookup.
	WriteBatch(ctx context.Context, t actingweb.Table, recs []actingweb.Record, policy ConflictPolicy) (WriteResult, error)
	// Count returns the number of rows in t (DynamoDB: a counting scan, exact).
	Count(ctx context.Context, t actingweb.Table) (int64, error)
	// Capabilities declares what the store is as an end of a move (see Capabilities).
	Capabilities(ctx context.Context) Capabilities
}

// MaxLookupContests caps LookupRebuild.Contested (about 200 bytes each, so at most ~20 MB);
// keys beyond it are counted in Collisions but not listed, and ContestedTruncated is set.
const MaxLookupContests = 100000

// LookupRebuild reports a RebuildPropertyLookup run.
type LookupRebuild struct {
	Scanned    int64    // property rows considered (indexed names only)
	Written    int64    // lookup rows created
	Existing   int64    // rows already present for the same actor
	Collisions int64    // rows owned by another actor (first kept)
	Orphans    int64    // owners without an actor row, skipped
	Samples    []string // first few collisions/orphans, "name / actor" (values never shown)
	// Contested lists the lookup keys that more than one actor contends for after the rebuild:
	// the row's owner (Kept) and every other actor whose property row holds the same value
	// (Others). It holds property values, which may be e-mail addresses: it is for the
	// migration engine only, never marshalled (json:"-"), printed or logged. At most
	// MaxLookupContests entries, ordered by property name and lookup key.
	Contested []LookupContest `json:"-"`
	// ContestedTruncated is true when more keys were contested than Contested lists.
	ContestedTruncated bool
}

// LookupFeed builds property lookup rows from property rows while they are being written, so a
// migration need not rescan the properties table afterwards (DynamoDB has no index on the
// property name: the rescan reads every property item). The rows it is given must be exactly
// the rows that were written to the properties table (a table that was empty when the feed
// started); its result is the LookupRebuild that RebuildPropertyLookup would report for the
// same rows. Add may be called from several goroutines and blocks while the feed's bounded
// queues are full; Close is called once, after the last Add, and waits for every lookup row to
// be written. After an error from Add, Close returns that error too.
type LookupFeed interface {
	// Add derives the lookup rows of the properties of indexed names (list: names ignored).
	Add(ctx context.Context, props []*actingweb.Property) error
	// Close finishes the feed: every lookup row written, the counts final.
	Close() (LookupRebuild, error)
}

// LookupContest is one lookup key (property name, value) claimed by several actors (§5.4): Kept
// owns the lookup row now, Others hold the same value in their property rows (sorted, Kept
// excluded). Value is the property value in clear text: internal, never shown.
type LookupContest struct {
	PropertyName string
	Value        string
	LookupKey    string // LookupKey(PropertyName, Value)
	Kept         string
	Others       []string
}

// LookupRebuilder is implemented by stores that derive the property lookup table from their
// properties (§5.4).
type LookupRebuilder interface {
	// RebuildPropertyLookup derives lookup rows from the properties table for the given names
	// (list: rows excluded): on a key already owned by another actor the first row is kept and a
	// collision counted; rows whose owner has no actor row are skipped on PostgreSQL (the
	// foreign key) and counted as orphans. Keys held by more than one actor are listed in
	// LookupRebuild.Contested, so a migration can give them the source's owner (upstream keeps
	// the first writer, which the properties table cannot tell). Idempotent.
	RebuildPropertyLookup(ctx context.Context, names []string) (LookupRebuild, error)
}

// Locker is implemented by stores that can hold a named lock for the length of a run, so that
// two migrations never write into the same store at once (PostgreSQL: a session advisory
// lock on a connection of its own; DynamoDB: a lease item in the bookkeeping table,
// renewed while the lock is held). name says what is locked ("migrate", or "migrate share K
// of N" for a scan shared between machines); holder describes the run for the refusal another
// run gets (host, pid, operation, start time; never a secret); runID names the run, so a
// resume of a run killed with SIGKILL takes over a lease the dead process still appears to
// hold instead of waiting for it to expire. A lock held by another run fails with an error
// wrapping ErrLocked that names its holder.
type Locker interface {
	Lock(ctx context.Context, name, holder, runID string) (Lock, error)
}

// Lock is a lock a Locker granted.
type Lock interface {
	// Lost is closed when the lock was lost while held (connection gone, lease taken over
	// after it expired); Err then says why.
	Lost() <-chan struct{}
	Err() error
	// Release gives the lock up; later calls do nothing.
	Release(ctx context.Context) error
}

// Backend is a complete store backend as the tools see it: the application face
// (actingweb.Store), the table face (TableStore) and the property lookup rebuild
// (LookupRebuilder). postgres.Store and dynamodb.Store implement it; storetest's contract suite
// and the dual-write store take it.
type Backend interface {
	actingweb.Store
	TableStore
	LookupRebuilder
}
