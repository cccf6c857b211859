package dynamodb

// streamread.go: reading the shards of the nine tables' streams for capture.Stream.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/capture"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"golang.org/x/sync/errgroup"
)

// fetchParallel bounds the GetRecords calls of one read round.
const fetchParallel = 8

// minShardReadInterval is the least time between two reads of one shard: DynamoDB Streams
// allows 5 GetRecords calls per second per shard.
const minShardReadInterval = 200 * time.Millisecond

// shardDesc is one shard of a DescribeStream answer.
type shardDesc struct {
	id, parent, startSeq string
	closed               bool // EndingSequenceNumber set: no record will be added
}

// streamDesc is a DescribeStream answer, all pages.
type streamDesc struct {
	status stypes.StreamStatus
	shards []shardDesc
}

// describeStream lists every shard of stream arn of table t (DescribeStream, all pages).
// A stream that is gone fails with an error wrapping capture.ErrHistoryLost.
func (s *Store) describeStream(ctx context.Context, t actingweb.Table, arn string) (streamDesc, error) {
	var d streamDesc
	in := &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn), Limit: aws.Int32(100)}
	for {
		out, err := s.streams.DescribeStream(ctx, in)
		if errorsAs[*stypes.ResourceNotFoundException](err) {
			return d, s.historyLost(t, "stream "+arn+" no longer exists")
		}
		if err != nil {
			return d, fmt.Errorf("dynamodb: describe stream of %s: %w", s.TableName(t), err)
		}
		sd := out.StreamDescription
		if sd == nil {
			return d, fmt.Errorf("dynamodb: describe stream of %s: empty answer", s.TableName(t))
		}
		d.status = sd.StreamStatus
		for _, sh := range sd.Shards {
			x := shardDesc{id: aws.ToString(sh.ShardId), parent: aws.ToString(sh.ParentShardId)}
			if r := sh.SequenceNumberRange; r != nil {
				x.startSeq = aws.ToString(r.StartingSequenceNumber)
				x.closed = aws.ToString(r.EndingSequenceNumber) != ""
			}
			d.shards = append(d.shards, x)
		}
		if aws.ToString(sd.LastEvaluatedShardId) == "" {
			return d, nil
		}
		in.ExclusiveStartShardId = sd.LastEvaluatedShardId
	}
}

// shardState is the reader's state of one shard.
type shardState struct {
	id, parent, startSeq string
	seq                  string // last sequence number delivered (taken into a batch)
	fetched              string // last sequence number read into buf
	done                 bool   // closed and every record delivered
	exhausted            bool   // GetRecords gave no next iterator: closed, every record in buf or delivered
	listed               bool   // in the last DescribeStream answer
	idle                 bool   // the last GetRecords returned no record
	iter                 *string
	iterAt               time.Time
	nextPoll             time.Time
	buf                  []stypes.Record
}

// tableState is the reader's state of one table's stream.
type tableState struct {
	t          actingweb.Table
	arn        string
	shards     map[string]*shardState
	order      []*shardState // by shard id
	described  time.Time
	redescribe bool // a shard closed: look for its children
}

// streamReader reads the nine streams from a position (capture.Stream).
type streamReader struct {
	s        *Store
	p        *position // prefix, capture, opened, skip_before (the shards live in tables)
	tables   []*tableState
	max      int
	rr       int // first shard of the next batch (round-robin, so no shard starves)
	lastEmit time.Time
}

// newStreamReader checks that every table's stream is the position's and still enabled, and
// reads the shard lists.
func newStreamReader(ctx context.Context, s *Store, p *position, max int) (*streamReader, error) {
	r := &streamReader{s: s, p: p, max: max}
	for _, t := range actingweb.Tables {
		tp := p.Tables[string(t)]
		d, err := s.describe(ctx, t)
		if err != nil {
			return nil, err
		}
		if d == nil {
			return nil, fmt.Errorf("dynamodb: stream changes of %s: %w: table does not exist", s.TableName(t), actingweb.ErrSchema)
		}
		now := aws.ToString(d.LatestStreamArn)
		if now != tp.StreamARN {
			return nil, s.historyLost(t, fmt.Sprintf("the table's stream is %s, the position's %s (the stream was disabled and enabled again)",
				orNone(now), tp.StreamARN))
		}
		if sp := d.StreamSpecification; sp == nil || !aws.ToBool(sp.StreamEnabled) {
			return nil, s.historyLost(t, "the table's stream was disabled: later changes were not captured")
		}
		ts := &tableState{t: t, arn: tp.StreamARN, shards: map[string]*shardState{}}
		for id, sp := range tp.Shards {
			ts.shards[id] = &shardState{id: id, seq: sp.Seq, done: sp.Done}
		}
		if err := r.describe(ctx, ts); err != nil {
			return nil, err
		}
		r.tables = append(r.tables, ts)
	}
	return r, nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// describe reads ts's shard list: new shards are added (read from their beginning), shards
// the position knows but the stream no longer lists (trimmed after 24 hours) are dropped when
// done or when nothing after skip_before can have been in them, else the history is lost.
func (r *streamReader) describe(ctx context.Context, ts *tableState) error {
	d, err := r.s.describeStream(ctx, ts.t, ts.arn)
	if err != nil {
		return err
	}
	switch d.status {
	case stypes.StreamStatusDisabled, stypes.StreamStatusDisabling:
		return r.s.historyLost(ts.t, "the table's stream was disabled: later changes were not captured")
	}
	for _, sh := range ts.shards {
		sh.listed = false
	}
	for _, x := range d.shards {
		sh := ts.shards[x.id]
		if sh == nil {
			sh = &shardState{id: x.id}
			ts.shards[x.id] = sh
		}
		sh.parent, sh.startSeq, sh.listed = x.parent, x.startSeq, true
	}
	for id, sh := range ts.shards {
		if sh.listed {
			continue
		}
		switch {
		case sh.done:
		case sh.seq == "" && sh.fetched == "" && r.trimHarmless():
		default:
			return r.s.historyLost(ts.t, "shard "+id+" was trimmed (older than 24 hours) before all its records were read")
		}
		delete(ts.shards, id) // pruned from the position too
	}
	ts.order = ts.order[:0]
	for _, sh := range ts.shards {
		ts.order = append(ts.order, sh)
	}
	slices.SortFunc(ts.order, func(a, b *shardState) int { return strings.Compare(a.id, b.id) })
	ts.described, ts.redescribe = time.Now(), false
	return nil
}

// trimHarmless reports whether records DynamoDB has trimmed (older than StreamRetention) are
// all older than skip_before, so none of them was needed.
func (r *streamReader) trimHarmless() bool {
	return !time.Now().Add(-StreamRetention).After(r.p.SkipBefore)
}

// readable reports whether sh of ts may be read: its parent is done or gone.
func (ts *tableState) readable(sh *shardState) bool {
	if sh.parent == "" {
		return true
	}
	p := ts.shards[sh.parent]
	return p == nil || p.done
}

// run is capture.Stream's loop.
func (r *streamReader) run(ctx context.Context, fn func(capture.Batch) error) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	unsent := false // the position moved since the last batch fn got
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, ts := range r.tables {
			if ts.redescribe || time.Since(ts.described) >= describeInterval {
				if err := r.describe(ctx, ts); err != nil {
					return err
				}
			}
		}
		got, err := r.fetch(ctx)
		if err != nil {
			return err
		}
		b, moved, err := r.take()
		if err != nil {
			return err
		}
		unsent = unsent || moved
		if len(b.Changes) > 0 || ((b.CaughtUp || unsent) && time.Since(r.lastEmit) >= StreamHeartbeatInterval) {
			if err := fn(b); err != nil {
				return err
			}
			r.lastEmit, unsent = time.Now(), false
		}
		if r.buffered() {
			continue
		}
		timer.Reset(r.nextWake(got))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// nextWake is how long to wait before the next read round: until the first shard is due,
// at most StreamPollInterval (0 after a round that read records, when one is due already).
func (r *streamReader) nextWake(got bool) time.Duration {
	wait := StreamPollInterval
	now := time.Now()
	for _, ts := range r.tables {
		for _, sh := range ts.order {
			if !sh.done && !sh.exhausted && len(sh.buf) == 0 && ts.readable(sh) {
				wait = min(wait, max(sh.nextPoll.Sub(now), 0))
			}
		}
	}
	if !got {
		wait = max(wait, 10*time.Millisecond) // nothing came: do not spin
	}
	return wait
}

// buffered reports whether records were read but not yet delivered.
func (r *streamReader) buffered() bool {
	for _, ts := range r.tables {
		for _, sh := range ts.order {
			if len(sh.buf) > 0 {
				return true
			}
		}
	}
	return false
}

// fetch reads one page (GetRecords) of every shard that is readable, not done, has nothing
// buffered and is due, at most fetchParallel at once; got reports whether any record came.
func (r *streamReader) fetch(ctx context.Context) (got bool, err error) {
	type job struct {
		ts *tableState
		sh *shardState
	}
	var jobs []job
	now := time.Now()
	for _, ts := range r.tables {
		for _, sh := range ts.order {
			if !sh.done && !sh.exhausted && len(sh.buf) == 0 && !now.Before(sh.nextPoll) && ts.readable(sh) {
				jobs = append(jobs, job{ts, sh})
			}
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(fetchParallel)
	for _, j := range jobs {
		g.Go(func() error { return r.fetchShard(gctx, j.ts, j.sh) })
	}
	if err := g.Wait(); err != nil {
		return false, err
	}
	for _, j := range jobs {
		if len(j.sh.buf) > 0 {
			got = true
		}
		if j.sh.exhausted {
			j.ts.redescribe = true // its children may be listed now
		}
	}
	return got, nil
}

// fetchShard reads one page of sh into its buffer, renewing an iterator that expired or is
// about to.
func (r *streamReader) fetchShard(ctx context.Context, ts *tableState, sh *shardState) error {
	limit := int32(min(r.max, maxGetRecords))
	trims := 0
	for attempt := 0; ; attempt++ {
		if sh.iter == nil || time.Since(sh.iterAt) >= iteratorRenewAge {
			err := r.iterator(ctx, ts, sh)
			if errorsAs[*stypes.TrimmedDataAccessException](err) && r.trimHarmless() && trims < maxTrimRetries {
				trims++
				continue
			}
			if err != nil {
				return err
			}
		}
		out, err := r.s.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: sh.iter, Limit: aws.Int32(limit)})
		switch {
		case errorsAs[*stypes.ExpiredIteratorException](err) && attempt == 0:
			sh.iter = nil // fetch a new one after the last record read
			continue
		case errorsAs[*stypes.TrimmedDataAccessException](err) && r.trimHarmless() && trims < maxTrimRetries:
			// Nothing the capture needs can be trimmed yet (it opened less than the retention
			// ago), so the refusal is the service's, not lost history: DynamoDB Local 3.3 now
			// and then refuses a recent position this way. Read again with a new iterator.
			r.s.log.WarnContext(ctx, "dynamodb: stream read refused as trimmed although the capture is recent; reading again",
				"table", r.s.TableName(ts.t), "shard", sh.id, "attempt", trims+1)
			trims++
			sh.iter = nil
			continue
		case errorsAs[*stypes.TrimmedDataAccessException](err):
			return r.s.historyLost(ts.t, "records of shard "+sh.id+" after the position were trimmed (older than 24 hours)")
		case errorsAs[*stypes.ResourceNotFoundException](err):
			return r.s.historyLost(ts.t, "shard "+sh.id+" no longer exists")
		case err != nil:
			return fmt.Errorf("dynamodb: read stream of %s, shard %s: %w", r.s.TableName(ts.t), sh.id, err)
		}
		now := time.Now()
		sh.buf = out.Records
		sh.iter, sh.iterAt = out.NextShardIterator, now
		sh.exhausted = out.NextShardIterator == nil
		sh.idle = len(out.Records) == 0
		if n := len(out.Records); n > 0 {
			sh.fetched = seqOf(out.Records[n-1])
			sh.nextPoll = now.Add(minShardReadInterval)
		} else {
			sh.nextPoll = now.Add(StreamPollInterval)
		}
		return nil
	}
}

// iterator gets a shard iterator for sh: after the last record read or delivered, else from
// the shard's beginning (TRIM_HORIZON; when records after skip_before may have been trimmed,
// AT_SEQUENCE_NUMBER of the shard's first record, which fails when it was trimmed).
func (r *streamReader) iterator(ctx context.Context, ts *tableState, sh *shardState) error {
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(ts.arn), ShardId: aws.String(sh.id)}
	switch after := cmpOr(sh.fetched, sh.seq); {
	case after != "":
		in.ShardIteratorType, in.SequenceNumber = stypes.ShardIteratorTypeAfterSequenceNumber, aws.String(after)
	case r.trimHarmless() || sh.startSeq == "":
		in.ShardIteratorType = stypes.ShardIteratorTypeTrimHorizon
	default:
		in.ShardIteratorType, in.SequenceNumber = stypes.ShardIteratorTypeAtSequenceNumber, aws.String(sh.startSeq)
	}
	out, err := r.s.streams.GetShardIterator(ctx, in)
	switch {
	case errorsAs[*stypes.TrimmedDataAccessException](err) && r.trimHarmless():
		return err // fetchShard reads again (see there)
	case errorsAs[*stypes.TrimmedDataAccessException](err):
		return r.s.historyLost(ts.t, "records of shard "+sh.id+" after the position were trimmed (older than 24 hours)")
	case errorsAs[*stypes.ResourceNotFoundException](err):
		return r.s.historyLost(ts.t, "shard "+sh.id+" no longer exists")
	case err != nil:
		return fmt.Errorf("dynamodb: get iterator of stream of %s, shard %s: %w", r.s.TableName(ts.t), sh.id, err)
	}
	sh.iter, sh.iterAt = out.ShardIterator, time.Now()
	return nil
}

// maxTrimRetries bounds how often one fetch reads again after a TrimmedDataAccessException
// that cannot be real (trimHarmless).
const maxTrimRetries = 5

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func seqOf(rec stypes.Record) string {
	if rec.Dynamodb == nil {
		return ""
	}
	return aws.ToString(rec.Dynamodb.SequenceNumber)
}

// take moves up to max buffered records into a batch, shard after shard starting at the
// round-robin point, skipping records older than skip_before; moved reports whether the
// position changed. CaughtUp is set when nothing is buffered and every shard's last read
// returned nothing.
func (r *streamReader) take() (capture.Batch, bool, error) {
	var b capture.Batch
	moved := false
	var flat []*shardState
	var owner []*tableState
	for _, ts := range r.tables {
		for _, sh := range ts.order {
			flat = append(flat, sh)
			owner = append(owner, ts)
		}
	}
	for i := range flat {
		k := (r.rr + i) % len(flat)
		sh, ts := flat[k], owner[k]
		for len(sh.buf) > 0 && len(b.Changes) < r.max {
			rec := sh.buf[0]
			sh.buf = sh.buf[1:]
			sh.seq, moved = seqOf(rec), true
			var at time.Time
			if rec.Dynamodb != nil && rec.Dynamodb.ApproximateCreationDateTime != nil {
				at = rec.Dynamodb.ApproximateCreationDateTime.UTC()
				if at.Before(r.p.SkipBefore) {
					continue // made before the load began reading: the load has it
				}
			}
			ch, err := r.s.streamChange(ts.t, rec)
			if err != nil {
				return b, moved, err
			}
			b.Changes = append(b.Changes, ch)
			if at.After(b.SourceTime) {
				b.SourceTime = at
			}
		}
		if sh.exhausted && len(sh.buf) == 0 && !sh.done {
			sh.done, moved = true, true
		}
	}
	if len(flat) > 0 {
		r.rr = (r.rr + 1) % len(flat)
	}
	b.CaughtUp = r.caughtUp()
	b.Position = r.position()
	return b, moved, nil
}

// caughtUp reports whether nothing is buffered and every shard not done was read to its end
// (its last read returned nothing).
func (r *streamReader) caughtUp() bool {
	for _, ts := range r.tables {
		if ts.redescribe {
			return false
		}
		for _, sh := range ts.order {
			if !sh.done && (len(sh.buf) > 0 || !sh.idle || !ts.readable(sh)) {
				return false
			}
		}
	}
	return true
}

// position renders the reader's state as position JSON.
func (r *streamReader) position() string {
	p := *r.p
	p.Tables = make(map[string]*tablePos, len(r.tables))
	for _, ts := range r.tables {
		tp := &tablePos{StreamARN: ts.arn, Shards: make(map[string]*shardPos, len(ts.shards))}
		for id, sh := range ts.shards {
			if sh.done {
				tp.Shards[id] = &shardPos{Done: true}
			} else {
				tp.Shards[id] = &shardPos{Seq: sh.seq}
			}
		}
		p.Tables[string(ts.t)] = tp
	}
	return p.encode()
}

// streamChange turns a stream record of table t into a change: INSERT and MODIFY an upsert of
// the new item, REMOVE a delete of the old item (or of the key alone). A record that cannot
// be decoded is an error naming table, key and sequence number.
func (s *Store) streamChange(t actingweb.Table, rec stypes.Record) (capture.Change, error) {
	name := s.TableName(t)
	sr := rec.Dynamodb
	if sr == nil {
		return capture.Change{}, fmt.Errorf("dynamodb: stream of %s: %s record %s carries no data", name, rec.EventName, aws.ToString(rec.EventID))
	}
	seq := aws.ToString(sr.SequenceNumber)
	keys, err := fromStreamItem(sr.Keys)
	if err != nil {
		return capture.Change{}, fmt.Errorf("dynamodb: stream of %s: record %s: key: %w", name, seq, err)
	}
	pk := actingweb.KeyString(physicalKey(t, keys))
	fail := func(err error) (capture.Change, error) {
		return capture.Change{}, fmt.Errorf("dynamodb: stream of %s: %s of key %s (sequence number %s) cannot be decoded: %w; "+
			"fix the item on the source, then start over (`actingweb sync --restart`)", name, rec.EventName, pk, seq, err)
	}
	switch rec.EventName {
	case stypes.OperationTypeInsert, stypes.OperationTypeModify:
		if sr.NewImage == nil {
			return fail(fmt.Errorf("the record has no new image (stream view type %s); enable a stream of view type %s", sr.StreamViewType, StreamViewType))
		}
		img, err := fromStreamItem(sr.NewImage)
		if err != nil {
			return fail(err)
		}
		r, err := decodeRecord(t, img)
		if err != nil {
			return fail(err)
		}
		return capture.Change{Table: t, Record: r}, nil
	case stypes.OperationTypeRemove:
		if sr.OldImage != nil {
			if img, err := fromStreamItem(sr.OldImage); err == nil {
				if r, err := decodeRecord(t, img); err == nil {
					return capture.Change{Table: t, Delete: true, Record: r}, nil
				}
			}
			// An old item that does not decode is still deleted by its key.
		}
		r, err := keyRecord(t, keys)
		if err != nil {
			return fail(err)
		}
		return capture.Change{Table: t, Delete: true, Record: r}, nil
	}
	return fail(fmt.Errorf("unknown event %q", rec.EventName))
}

// fromStreamItem converts an item of the DynamoDB Streams API to the DynamoDB API's types,
// so the item codec reads it.
func fromStreamItem(m map[string]stypes.AttributeValue) (map[string]types.AttributeValue, error) {
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		x, err := fromStreamValue(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		out[k] = x
	}
	return out, nil
}

// fromStreamValue converts one attribute value (fromStreamItem).
func fromStreamValue(v stypes.AttributeValue) (types.AttributeValue, error) {
	switch x := v.(type) {
	case *stypes.AttributeValueMemberS:
		return &types.AttributeValueMemberS{Value: x.Value}, nil
	case *stypes.AttributeValueMemberN:
		return &types.AttributeValueMemberN{Value: x.Value}, nil
	case *stypes.AttributeValueMemberB:
		return &types.AttributeValueMemberB{Value: x.Value}, nil
	case *stypes.AttributeValueMemberBOOL:
		return &types.AttributeValueMemberBOOL{Value: x.Value}, nil
	case *stypes.AttributeValueMemberNULL:
		return &types.AttributeValueMemberNULL{Value: x.Value}, nil
	case *stypes.AttributeValueMemberSS:
		return &types.AttributeValueMemberSS{Value: x.Value}, nil
	case *stypes.AttributeValueMemberNS:
		return &types.AttributeValueMemberNS{Value: x.Value}, nil
	case *stypes.AttributeValueMemberBS:
		return &types.AttributeValueMemberBS{Value: x.Value}, nil
	case *stypes.AttributeValueMemberM:
		m, err := fromStreamItem(x.Value)
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	case *stypes.AttributeValueMemberL:
		l := make([]types.AttributeValue, len(x.Value))
		for i, e := range x.Value {
			y, err := fromStreamValue(e)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			l[i] = y
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	}
	return nil, fmt.Errorf("%w: unknown attribute value type %T", actingweb.ErrInvalid, v)
}
