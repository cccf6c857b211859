package dynamodb

// stream.go: change capture through DynamoDB Streams (capture.Source), the source
// side of `actingweb sync`: enabling the streams, opening a capture, the position format.
// streamread.go reads the shards.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/capture"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// StreamViewType is the view type EnableStreams gives the streams it enables:
// NEW_AND_OLD_IMAGES. NEW_IMAGE would suffice to apply changes (every INSERT and MODIFY record
// carries the whole new item), but the old image makes a REMOVE record carry the whole deleted
// item rather than its key alone, so a deleted row decodes to a complete record (a suspension's
// key target_key cannot be split back into target and subtarget unambiguously), and a verifier
// can tell which keys changed and from what. The cost is stream record size only (up to twice
// the item); reads of a stream are billed per request, not per byte. OpenCapture also accepts
// streams created as NEW_IMAGE by an operator.
const StreamViewType = types.StreamViewTypeNewAndOldImages

// Capture timing and limits.
const (
	// CaptureSkipMargin is subtracted from the time a fresh capture is opened to get the time
	// before which stream records are skipped (position field skip_before): changes that old
	// were made before the initial load began reading, so the load sees their effect. The
	// margin covers clock skew and the rounding of ApproximateCreationDateTime (down to the
	// second on AWS, to the minute on DynamoDB Local 3.3). Replaying more is harmless: every
	// change carries the whole new item.
	CaptureSkipMargin = 5 * time.Minute
	// StreamRetention is how long DynamoDB keeps stream records (24 hours); a position older
	// than that may have lost records (capture.ErrHistoryLost).
	StreamRetention = 24 * time.Hour
	// StreamPollInterval is the wait before a shard whose last read returned nothing is read
	// again.
	StreamPollInterval = 500 * time.Millisecond
	// StreamHeartbeatInterval is the least time between two batches without changes.
	StreamHeartbeatInterval = time.Second
	// iteratorRenewAge is the age at which a shard iterator is fetched again before use:
	// DynamoDB Streams iterators expire 15 minutes after they are issued.
	iteratorRenewAge = 14 * time.Minute
	// describeInterval is how often each stream's shard list is read again even when no shard
	// closed (a closed shard triggers a read at once, to find its children).
	describeInterval = 30 * time.Second
	// maxGetRecords is GetRecords' largest Limit.
	maxGetRecords = 1000
	// defaultMaxChanges is Stream's batch size when maxChanges <= 0.
	defaultMaxChanges = 1000
	// positionVersion is the version of the position JSON.
	positionVersion = 1
)

// captureName is what a capture name may hold (capture.Source).
var captureName = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// EnableStreams enables a DynamoDB stream of view type StreamViewType on each of the nine
// tables under the prefix that has none, waits until each table is ACTIVE again, and returns
// the physical names of the tables whose stream it enabled (empty when every stream was
// already on: it is idempotent). A table whose stream is already enabled with view type
// NEW_IMAGE is left as it is (sufficient for capture). A missing table fails with
// an error wrapping actingweb.ErrSchema (run `actingweb schema upgrade` first); a stream of
// view type KEYS_ONLY or OLD_IMAGE fails with an error saying to disable it first (changing a
// stream ends it: its consumers lose their position).
func (s *Store) EnableStreams(ctx context.Context) (changed []string, err error) {
	for _, t := range actingweb.Tables {
		name := s.TableName(t)
		d, err := s.describe(ctx, t)
		if err != nil {
			return changed, err
		}
		if d == nil {
			return changed, fmt.Errorf("dynamodb: enable stream on %s: %w: table does not exist; run `actingweb schema upgrade --to %s` first",
				name, actingweb.ErrSchema, s.upgradeURL())
		}
		if ok, why := streamUsable(d); why != "" {
			return changed, unusableStream(name, why)
		} else if ok {
			continue
		}
		if err := s.waitActive(ctx, name); err != nil {
			return changed, err
		}
		_, err = s.client.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(name),
			StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: StreamViewType}})
		if err != nil {
			// A concurrent run may have enabled it ("Table already has an enabled stream").
			if d2, derr := s.describe(ctx, t); derr == nil && d2 != nil {
				if ok, why := streamUsable(d2); why != "" {
					return changed, unusableStream(name, why)
				} else if ok {
					continue
				}
			}
			return changed, fmt.Errorf("dynamodb: enable stream (%s) on %s: %w; check the dynamodb:UpdateTable permission", StreamViewType, name, err)
		}
		if err := s.waitActive(ctx, name); err != nil {
			return changed, err
		}
		changed = append(changed, name)
	}
	return changed, nil
}

// streamUsable reports whether table description d has an enabled stream change capture can
// read (view type NEW_IMAGE or NEW_AND_OLD_IMAGES); why says what is wrong with an enabled
// stream of another view type ("" when there is no stream).
func streamUsable(d *types.TableDescription) (ok bool, why string) {
	sp := d.StreamSpecification
	if sp == nil || !aws.ToBool(sp.StreamEnabled) || aws.ToString(d.LatestStreamArn) == "" {
		return false, ""
	}
	switch sp.StreamViewType {
	case types.StreamViewTypeNewAndOldImages, types.StreamViewTypeNewImage:
		return true, ""
	}
	return false, fmt.Sprintf("the table's stream has view type %s, which does not carry the new item", sp.StreamViewType)
}

// unusableStream is the error for a table whose stream has the wrong view type (why), nil
// when why is "".
func unusableStream(name, why string) error {
	if why == "" {
		return nil
	}
	return fmt.Errorf("dynamodb: %s: %w: %s; disable that stream (its consumers lose their position), "+
		"then run `actingweb schema upgrade --to dynamodb --streams` to enable one of view type %s", name, actingweb.ErrSchema, why, StreamViewType)
}

// waitActive waits until the physical table name is ACTIVE (after UpdateTable it is UPDATING).
func (s *Store) waitActive(ctx context.Context, name string) error {
	w := dynamodb.NewTableExistsWaiter(s.client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 200 * time.Millisecond
		o.MaxDelay = 5 * time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, tableWaitTimeout); err != nil {
		return fmt.Errorf("dynamodb: wait for table %s to become ACTIVE: %w", name, err)
	}
	return nil
}

// position is the JSON of a capture position (ChangeBatch.Position, Capture.Start, Stream's
// from):
//
//	{"v":1,"prefix":"demo_actingweb","capture":"sync1",
//	 "opened":"2026-12-07T17:10:02.1Z","skip_before":"2026-12-07T17:05:02.1Z",
//	 "tables":{"actors":{"stream_arn":"arn:aws:dynamodb:…/stream/2026-…",
//	   "shards":{"shardId-0001…":{"seq":"000000000000000000042"},"shardId-0000…":{"done":true}}}, …}}
//
// tables is keyed by the logical table name (actingweb.Table); every one of the nine is
// present. Per shard, seq is the sequence number of the last record delivered ("" = none yet:
// the shard is read from its beginning) and done says the shard is closed and every record
// of it was delivered. A shard of the stream that is not listed was created after the position
// and is read from its beginning. opened is when the capture was opened (UTC); records whose
// ApproximateCreationDateTime is before skip_before (opened − CaptureSkipMargin) are skipped,
// by every Stream of the capture, whatever the margin of the running version.
type position struct {
	V          int                  `json:"v"`
	Prefix     string               `json:"prefix"`
	Capture    string               `json:"capture"`
	Opened     time.Time            `json:"opened"`
	SkipBefore time.Time            `json:"skip_before"`
	Tables     map[string]*tablePos `json:"tables"`
}

// tablePos is a table's part of a position.
type tablePos struct {
	StreamARN string               `json:"stream_arn"`
	Shards    map[string]*shardPos `json:"shards"`
}

// shardPos is a shard's part of a position.
type shardPos struct {
	Seq  string `json:"seq,omitempty"`
	Done bool   `json:"done,omitempty"`
}

// parsePosition reads position JSON of a capture of prefix: an error wrapping
// actingweb.ErrInvalid when it is not one.
func parsePosition(raw, prefix string) (*position, error) {
	var p position
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return nil, fmt.Errorf("dynamodb: %w: capture position is not DynamoDB stream position JSON: %v", actingweb.ErrInvalid, err)
	}
	if p.V != positionVersion {
		return nil, fmt.Errorf("dynamodb: %w: capture position version %d, want %d", actingweb.ErrInvalid, p.V, positionVersion)
	}
	if p.Prefix != prefix {
		return nil, fmt.Errorf("dynamodb: %w: capture position is of prefix %q, the store's is %q", actingweb.ErrInvalid, p.Prefix, prefix)
	}
	for _, t := range actingweb.Tables {
		tp := p.Tables[string(t)]
		if tp == nil || tp.StreamARN == "" {
			return nil, fmt.Errorf("dynamodb: %w: capture position has no stream for table %s", actingweb.ErrInvalid, t)
		}
		if tp.Shards == nil {
			tp.Shards = map[string]*shardPos{}
		}
	}
	return &p, nil
}

// encode renders p as JSON (map keys sorted: the same state gives the same text).
func (p *position) encode() string {
	b, err := json.Marshal(p)
	if err != nil { // plain strings, times and bools only
		panic(fmt.Sprintf("dynamodb: encode capture position: %v", err))
	}
	return string(b)
}

// streamCapture is an open DynamoDB change capture (capture.Capture). It holds no server-side
// state: everything a Stream needs is in the position it is given.
type streamCapture struct {
	s     *Store
	name  string
	start string // the fresh capture's start position; "" when attached
}

// OpenCapture opens change capture through the DynamoDB Streams of the nine tables
// (capture.Source). Every table must have an enabled stream of view type NEW_IMAGE or
// NEW_AND_OLD_IMAGES; a table without one fails with an error wrapping actingweb.ErrSchema
// that names it and says to run `actingweb schema upgrade --to dynamodb --streams`. name
// (letters, digits, '_') is recorded in positions only: a capture keeps no state on DynamoDB,
// so fresh true never fails with ErrExists and fresh false never with ErrNotFound.
//
// fresh true: Start is a position covering every change from now on, for the initial load
// that reads LoadSource (the store itself) after OpenCapture returns: every shard open now is
// read from its beginning (TRIM_HORIZON), shards already closed are marked done (their changes
// all precede the load), and records older than now − CaptureSkipMargin are skipped (the load
// sees their effect). fresh false: attach; Start is "" and Stream needs the position to
// continue after.
func (s *Store) OpenCapture(ctx context.Context, name string, fresh bool) (capture.Capture, error) {
	if !captureName.MatchString(name) {
		return nil, fmt.Errorf("dynamodb: %w: capture name %q: use letters, digits and '_' only", actingweb.ErrInvalid, name)
	}
	arns := map[actingweb.Table]string{}
	for _, t := range actingweb.Tables {
		arn, err := s.streamARN(ctx, t)
		if err != nil {
			return nil, err
		}
		arns[t] = arn
	}
	c := &streamCapture{s: s, name: name}
	if !fresh {
		return c, nil
	}
	opened := time.Now().UTC()
	p := &position{V: positionVersion, Prefix: s.prefix, Capture: name, Opened: opened,
		SkipBefore: opened.Add(-CaptureSkipMargin), Tables: map[string]*tablePos{}}
	for _, t := range actingweb.Tables {
		desc, err := s.describeStream(ctx, t, arns[t])
		if err != nil {
			return nil, err
		}
		tp := &tablePos{StreamARN: arns[t], Shards: map[string]*shardPos{}}
		for _, sh := range desc.shards {
			tp.Shards[sh.id] = &shardPos{Done: sh.closed}
		}
		p.Tables[string(t)] = tp
	}
	c.start = p.encode()
	return c, nil
}

// streamARN returns the ARN of table t's enabled stream, or an error naming the table and
// saying to enable streams.
func (s *Store) streamARN(ctx context.Context, t actingweb.Table) (string, error) {
	name := s.TableName(t)
	d, err := s.describe(ctx, t)
	if err != nil {
		return "", err
	}
	if d == nil {
		return "", fmt.Errorf("dynamodb: capture changes of %s: %w: table does not exist; run `actingweb schema upgrade --to %s --streams`",
			name, actingweb.ErrSchema, s.upgradeURL())
	}
	ok, why := streamUsable(d)
	if why != "" {
		return "", unusableStream(name, why)
	}
	if !ok {
		return "", fmt.Errorf("dynamodb: capture changes of %s: %w: the table has no DynamoDB stream; run `actingweb schema upgrade --to dynamodb --streams` (here: --to %s) to enable one",
			name, actingweb.ErrSchema, s.upgradeURL())
	}
	return aws.ToString(d.LatestStreamArn), nil
}

// DropCapture does nothing but check name (capture.Source): a DynamoDB capture keeps
// no server-side state, and the streams stay enabled (other consumers may read them; disabling
// one ends it for good). Disable a stream with UpdateTable when no longer wanted.
func (s *Store) DropCapture(ctx context.Context, name string) error {
	if !captureName.MatchString(name) {
		return fmt.Errorf("dynamodb: %w: capture name %q: use letters, digits and '_' only", actingweb.ErrInvalid, name)
	}
	return nil
}

// LoadSource is the store itself: the stream's replay from Start brings what the load reads
// in step.
func (c *streamCapture) LoadSource() bulk.TableStore { return c.s }

// Start is the fresh capture's start position ("" when attached).
func (c *streamCapture) Start() string { return c.start }

// Ack does nothing: a DynamoDB stream keeps its records 24 hours whatever is acknowledged,
// and the position is kept by the caller.
func (c *streamCapture) Ack(string) {}

// Close does nothing: the capture shares the store's clients.
func (c *streamCapture) Close() error { return nil }

// Stream reads the nine tables' streams from position from (the capture's Start when "" and
// fresh; an attached capture needs a position: one wrapping actingweb.ErrInvalid otherwise)
// and calls fn with batches of at most maxChanges changes (default 1000 when <= 0) until ctx
// ends (ctx's error) or fn fails (its error). Changes of one shard come in stream order; a
// batch may hold several shards' changes, a child shard's only after its parent's. Every
// shard's records are read (parents before children), INSERT and MODIFY as upserts of the new
// item, REMOVE as deletes (the old item, or the key alone on a NEW_IMAGE stream); a record
// that cannot be decoded fails the stream with an error naming table and key. Batches without
// changes come at most once every StreamHeartbeatInterval, when idle or when skipped records
// moved the position. A stream that was disabled or replaced, or records trimmed away (older
// than 24 hours) before they were read, fail with an error wrapping capture.ErrHistoryLost
// that names the table.
func (c *streamCapture) Stream(ctx context.Context, from string, maxChanges int, fn func(capture.Batch) error) error {
	if from == "" {
		if c.start == "" {
			return fmt.Errorf("dynamodb: stream capture %s: %w: a DynamoDB capture keeps no position on the server; "+
				"pass the Position of the last applied batch", c.name, actingweb.ErrInvalid)
		}
		from = c.start
	}
	p, err := parsePosition(from, c.s.prefix)
	if err != nil {
		return err
	}
	if maxChanges <= 0 {
		maxChanges = defaultMaxChanges
	}
	r, err := newStreamReader(ctx, c.s, p, maxChanges)
	if err != nil {
		return err
	}
	return r.run(ctx, fn)
}

// historyLost is the error of a stream that cannot continue from where it is.
func (s *Store) historyLost(t actingweb.Table, why string) error {
	return fmt.Errorf("dynamodb: stream of table %s: %w: %s; start over with a fresh load (`actingweb sync --restart`)",
		s.TableName(t), capture.ErrHistoryLost, why)
}

// errorsAs is errors.As with a typed result, for the stream error checks.
func errorsAs[E error](err error) bool {
	var e E
	return errors.As(err, &e)
}
