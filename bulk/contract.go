package bulk

import (
	"context"

	actingweb "github.com/actingweb/actingweb-go"
)

// The engine contract: what package migrate needs of the two ends of a move. Every end
// implements Source or Sink (or both) and declares its Capabilities; the optional operations
// below are used when an end has them.

// Source is anything whose tables can be streamed: an store (its TableStore face) or
// a *bundle.Reader. Scan has the contract of TableStore.Scan: pages in an order that
// is stable across resumptions, Page.Cursor resumes after the page.
type Source interface {
	Scan(ctx context.Context, t actingweb.Table, opts ScanOptions, fn func(Page) error) error
	// Capabilities declares what the source is (see Capabilities); the engine asks once per run.
	Capabilities(ctx context.Context) Capabilities
}

// Sink is anything batches of canonical records can be written to: a store or a
// *bundle.Writer. WriteBatch and Count have the contract of TableStore.
type Sink interface {
	WriteBatch(ctx context.Context, t actingweb.Table, recs []actingweb.Record, policy ConflictPolicy) (WriteResult, error)
	Count(ctx context.Context, t actingweb.Table) (int64, error)
	// Capabilities declares what the sink is (see Capabilities); the engine asks once per run.
	Capabilities(ctx context.Context) Capabilities
}

// Optional operations of a Source or Sink, which the engine uses when an end has them (the
// engine asserts each where it needs it).
type (
	// SchemaChecker is implemented by sinks whose schema can be checked before writing
	// (actingweb.SchemaManager). A sink whose CheckSchema fails is refused before any write.
	SchemaChecker interface {
		CheckSchema(ctx context.Context) error
	}
	// Analyzer is implemented by sinks whose query planner keeps statistics that a bulk load
	// leaves stale until a background job catches up (PostgreSQL: ANALYZE; autovacuum may
	// come hours later). At the end of a run that is not a dry run, the engine calls it once
	// with the tables the run wrote rows to (the property lookup when it was rebuilt).
	Analyzer interface {
		Analyze(ctx context.Context, tables []actingweb.Table) error
	}
	// LookupOwnerWriter is implemented by sinks whose lookup rows can be written one by one
	// (actingweb.PropertyLookupStore). After the rebuild, the engine uses it to give each
	// contested key (LookupRebuild.Contested) the owner the source's lookup table
	// names, with overwrite true.
	LookupOwnerWriter interface {
		CreatePropertyLookup(ctx context.Context, name, value, actorID string, overwrite bool) (bool, error)
	}
	// TableLister is implemented by sources that may lack a table (a bundle, notably an
	// upstream export without property_lookup.json); Has reports whether t is there.
	TableLister interface {
		Has(t actingweb.Table) bool
	}
	// TableProber is implemented by stores that may lack a table (dynamodb.Store: a deployment
	// that ran upstream's legacy mode, USE_PROPERTY_LOOKUP_TABLE=false, has no property lookup
	// table, §2.4); TableExists reports whether t is there.
	TableProber interface {
		TableExists(ctx context.Context, t actingweb.Table) (bool, error)
	}
	// ScanSplitter is implemented by sources whose scans go faster in more, smaller segments
	// read one after another than in fewer, larger ones at the same concurrency (DynamoDB
	// Local, see dynamodb.Store.ScanSplit). Each of the scanners of a table (Options.Segments,
	// validate's Segments) then reads ScanSplit consecutive segments of scanners × ScanSplit
	// in turn (of TotalSegments × Segments × ScanSplit when machines share the scan); their
	// union is the whole table whatever the source's segment function. sized says the answer
	// may follow the table's current size; it is false when machines share a scan
	// (Options.TotalSegments), which must agree on the segments without talking to each
	// other. A checkpoint keeps the split its table started with. Values are clamped to
	// [1, 256]; errors count as 1.
	ScanSplitter interface {
		ScanSplit(ctx context.Context, t actingweb.Table, scanners int, sized bool) int
	}
	// RecordCursorer is implemented by sources whose scan can resume right after any record
	// it returned (DynamoDB: the item's key as ExclusiveStartKey). A batch that ends inside a
	// page (pages larger than batches: Capabilities.PageSize) then checkpoints that record's cursor, not
	// the page's cursor and a count of items to skip, which items deleted from the source
	// before a resumption would shift (the skip would pass over as many unhandled items).
	RecordCursorer interface {
		RecordCursor(t actingweb.Table, r actingweb.Record) (string, error)
	}
	// FreshTableWriter is implemented by sinks whose ConflictFail write first reads every key
	// of a batch to find existing rows (DynamoDB: one BatchGetItem per 100 keys). The engine
	// asks IsEmpty once per table when it starts the table under ConflictFail (not on resume:
	// the answer is kept in the checkpoint); when the table was empty, its batches go through
	// WriteBatchFresh, which writes without that check but still refuses a key occurring twice
	// in one batch. A key repeated across batches of the source is then written twice (the
	// later row wins) instead of failing the run; validation finds it (row counts differ).
	// The batches of a resume's replay window still use WriteBatch with ConflictSkip.
	FreshTableWriter interface {
		IsEmpty(ctx context.Context, t actingweb.Table) (bool, error)
		WriteBatchFresh(ctx context.Context, t actingweb.Table, recs []actingweb.Record) (WriteResult, error)
	}
	// LookupFeeder is implemented by sinks that can build the property lookup from the
	// property rows as they are written (LookupFeed; DynamoDB, where the rebuild's
	// rescan of properties is a full table scan). The engine uses a feed instead of
	// RebuildPropertyLookup only when every property row of the run goes through it: the
	// properties table was empty when this run started it (FreshTableWriter, ConflictFail),
	// the run is not a resume of that table and the scan is not shared between machines.
	// Otherwise, and when the properties table fails, the lookup is rebuilt by a rescan.
	LookupFeeder interface {
		NewLookupFeed(ctx context.Context, names []string) LookupFeed
	}
	// Counter is implemented by sources that can count a table cheaply enough for a progress
	// estimate (stores and bundle readers do; Count on DynamoDB is a scan, so it is only used
	// when Options.Estimate is true).
	Counter interface {
		Count(ctx context.Context, t actingweb.Table) (int64, error)
	}
	// Describer names an end for people, never with a password (Store.Describe).
	Describer interface {
		Describe() string
	}
	// SequentialSink is implemented by sinks that append (a bundle file): the engine writes to
	// them with one worker per table, in queue order, and saves the sink's own position in
	// each checkpoint (SinkState) so a resumed run can cut the sink back to it (ResumeSink).
	SequentialSink interface {
		Sink
		// SinkState flushes table t and returns its durable position (opaque JSON).
		SinkState(t actingweb.Table) ([]byte, error)
		// ResumeSink cuts table t back to a position SinkState returned (nil: start empty).
		ResumeSink(t actingweb.Table, state []byte) error
		// FinishTable marks table t complete (it gets its manifest entry).
		FinishTable(t actingweb.Table) error
	}
)

// Capabilities is what an end of a move declares about itself, in one value: tuning the engine
// uses instead of its defaults, and facts about its data. The zero value declares nothing, and
// the engine then uses its defaults (migrate.Options). Explicit options of a run win over it.
type Capabilities struct {
	// BatchSize is the number of rows per WriteBatch the sink prefers (PostgreSQL: 5000, see
	// postgres.PreferredBatchSize; bundle writers: 1000); 0 leaves the engine's 500. DynamoDB
	// declares none on purpose: it cuts batches into 25-item requests itself, and 500 measured
	// faster than 25 or 100 (dynamodb.Store.WriteBatch).
	BatchSize int
	// PageSize is the least scan page, in rows, the source prefers (DynamoDB: 5000, see
	// dynamodb.PreferredPageSize); export, import, copy and validate scan it with pages of at
	// least that many rows. 0 leaves the engine's page (the batch size).
	PageSize int
	// Writers is the number of writer workers per table the sink prefers when
	// migrate.Options.Concurrency is not set (PostgreSQL: 2, see postgres.PreferredWriters);
	// 0 leaves the engine's 4.
	Writers int
	// NoWriterHandover says the sink's tables are not written faster when they get the
	// writers of finished tables (the engine's handover, migrate.Options.Concurrency).
	// PostgreSQL declares it: its COPYs are bound by the server's CPU, and more of them into
	// one table contend. DynamoDB's writers wait on round trips and take the handover.
	NoWriterHandover bool
	// MaxSegments is the most scan segments the source splits a table into (PostgreSQL: 1,
	// since each local segment is a full scan filtered by a hash; a bundle file: 1); 0 means
	// no limit. Sharing a scan between machines (TotalSegments) is not limited by it.
	MaxSegments int
	// Validated says every string of every record the source scans is valid UTF-8 and every
	// payload valid JSON (a PostgreSQL database whose server and client encodings are UTF8 and
	// whose attributes.data is json or jsonb refuses anything else on input). An export from
	// such a source lets the bundle encoder skip those checks (bundle.WriterOptions.Validated);
	// the bundle's bytes are the same.
	Validated bool
}
