// Package capture is change capture, the face a store offers to `actingweb sync`, which keeps a second store in
// step with this one while the application writes (docs/migration.md, "Live migration").
// PostgreSQL captures through logical replication (a publication on the nine tables and a
// replication slot, the built-in pgoutput plugin); DynamoDB through DynamoDB Streams.
package capture

import (
	"context"
	"errors"
	"fmt"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

// ErrHistoryLost reports that the changes a sync needs to continue are gone from the source:
// a PostgreSQL replication slot whose WAL was removed (wal_status "lost"), a DynamoDB stream
// position older than the stream's 24-hour retention (TrimmedDataAccessException) or a
// stream that was disabled and enabled again. The target cannot be brought in step from
// where it is: start over with a fresh load (`actingweb sync --restart`).
var ErrHistoryLost = errors.New("change history needed to continue is lost")

// Change is one row change captured from a source store, in canonical record form.
type Change struct {
	// Table is the record's table.
	Table actingweb.Table
	// Delete is true when the row was deleted; Record then carries at least its key fields.
	Delete bool
	// Record is the row after the change (Delete false) or the deleted row's key (Delete true).
	Record actingweb.Record
	// Fill, when not nil, completes Record from the row's state just before the change: a
	// PostgreSQL update that left a large (TOASTed) column unchanged does not send that
	// column's value (pgoutput's "u" marker), so the applier passes the row as it stands on
	// the target (or earlier in the same batch) and applies what Fill returns. prev is nil
	// when the row is not found; Fill then fails with an error wrapping ErrNotFound.
	Fill func(prev actingweb.Record) (actingweb.Record, error)
}

// ChangeBatch is a run of changes in source order that ends where the source can resume:
// after a committed transaction (PostgreSQL) or at a set of stream shard positions (DynamoDB).
type Batch struct {
	Changes []Change
	// Position is the source position after the batch (opaque JSON); a stream started from it
	// continues with the change after the batch's last one.
	Position string
	// SourceTime is when the last change of the batch was committed on the source (zero when
	// the source does not say), for the lag.
	SourceTime time.Time
	// CaughtUp is true when the source had nothing newer than this batch when it was read
	// (it may be empty: a heartbeat that moves the position or reports idleness).
	CaughtUp bool
}

// ChangeSource is a store whose changes can be captured. name identifies one sync (the
// replication slot and publication; letters, digits and '_' only).
type Source interface {
	// OpenCapture sets change capture up. fresh true starts a new capture and fails with
	// ErrExists if one of that name exists (the caller drops it first to start over); fresh
	// false attaches to an existing one and fails with ErrNotFound when there is none.
	OpenCapture(ctx context.Context, name string, fresh bool) (Capture, error)
	// DropCapture removes the capture's server-side state (slot, publication); idempotent.
	DropCapture(ctx context.Context, name string) error
}

// Capture is an open change capture.
type Capture interface {
	// LoadSource is what the initial load reads. For a fresh PostgreSQL capture it is a view of
	// the database at exactly the replication slot's start (the snapshot the slot exported),
	// valid until Stream is first called; otherwise it is the store as it is now, whose rows the
	// stream's replay from Start then brings in step.
	LoadSource() bulk.TableStore
	// Start is the position the stream of a fresh capture starts from ("" when attached).
	Start() string
	// Stream calls fn with batches in source order, starting after position from ("" = the
	// capture's start, or its last acknowledged position), until ctx ends (returns ctx's error)
	// or fn fails (returns that error). Batches are at most about maxChanges changes, except
	// that a PostgreSQL transaction is never split. Lost history fails with ErrHistoryLost.
	Stream(ctx context.Context, from string, maxChanges int, fn func(Batch) error) error
	// Ack says every change up to position pos is durably applied to the target, so the source
	// may release what it keeps for it (PostgreSQL: the slot's confirmed flush LSN).
	Ack(pos string)
	// Close releases connections; server-side state stays for the next attach.
	Close() error
}

// ChangeSink is a store changes can be applied to.
type Sink interface {
	// ApplyChanges writes the final state of a run of changes: upserts are whole rows that
	// replace any row with their key, deletes remove the row with the record's key (absent rows
	// are fine). PostgreSQL applies them in one transaction; DynamoDB in batches, each item
	// written once. A key appears at most once across both lists. Property lookup rows the
	// target cannot take yet are left out and returned in an *OwnerMissingError, the rest being
	// applied: on PostgreSQL, rows whose owner has no actor row (the foreign key) and rows given
	// without their value (a DynamoDB source keeps only the digest) whose owner's property does
	// not hold that value yet. The missing rows may still be on their way: DynamoDB Streams keep
	// no order between tables.
	ApplyChanges(ctx context.Context, upserts, deletes []actingweb.Record) error
	// GetRecord reads the row with key's table and key fields; ErrNotFound when absent.
	GetRecord(ctx context.Context, key actingweb.Record) (actingweb.Record, error)
}

// OwnerMissingError is returned by ChangeSink.ApplyChanges when it applied every change but the
// property lookup rows in Records, whose owner's actor or property row is not on the target yet.
type OwnerMissingError struct {
	Records []actingweb.Record
}

func (e *OwnerMissingError) Error() string {
	return fmt.Sprintf("%d property lookup rows held back: their actor row is not on the target", len(e.Records))
}
