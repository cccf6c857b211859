package dynamodb

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"
)

// DynamoDB limits checked before writing (§9.1).
const (
	// MaxItemSize is the largest item DynamoDB stores: 400 KB, counted as the sum of UTF-8
	// attribute-name and value sizes (itemSize).
	MaxItemSize = 400 * 1024
	// MaxHashKeyBytes caps a partition-key value (table or GSI).
	MaxHashKeyBytes = 2048
	// MaxRangeKeyBytes caps a sort-key value.
	MaxRangeKeyBytes = 1024
)

// defaultPageSize is the scan page size when ScanOptions.PageSize is 0.
const defaultPageSize = 1000

// countSegments is the parallelism of Count's counting scan.
const countSegments = 4

// tableName validates t and returns its physical name.
func (s *Store) tableName(t actingweb.Table) (string, error) {
	if h, _ := keySchema(t); h == "" {
		return "", fmt.Errorf("%w: %q", actingweb.ErrUnknownTable, t)
	}
	return s.TableName(t), nil
}

// tableErr wraps a missing table as ErrSchema.
func (s *Store) tableErr(op, table string, err error) error {
	if isResourceNotFound(err) {
		return fmt.Errorf("dynamodb: %s %s: %w: table does not exist; run `actingweb schema upgrade --to %s` (%v)",
			op, table, actingweb.ErrSchema, s.upgradeURL(), err)
	}
	return fmt.Errorf("dynamodb: %s %s: %w", op, table, err)
}

// physicalKey renders the key attributes of item (hash, then range, joined by KeySep), as a
// Record.Key of the physical key; "" parts when absent.
func physicalKey(t actingweb.Table, item map[string]types.AttributeValue) string {
	hash, rng := keySchema(t)
	h, _, _ := getS(item, hash)
	if rng == "" {
		return h
	}
	r, _, _ := getS(item, rng)
	return h + actingweb.KeySep + r
}

// PreferredPageSize is the scan page size, in items per Scan request (Limit), that the store
// declares to the migrate engine and validate (bulk.Capabilities.PageSize); each page is still
// at most DynamoDB's 1 MB. Against DynamoDB Local, 5000 read a table about twice as fast as
// 1000 and about five times as fast as 1 MB pages (docs/benchmarks.md, "Tuning values the ends
// declare"); on DynamoDB itself a larger Limit means fewer requests for the same read capacity.
const PreferredPageSize = 5000

// Capabilities declares the store as an end of a move (bulk.Capabilities): scan pages of
// PreferredPageSize items. It declares no batch size on purpose: WriteBatch cuts a batch into
// 25-item requests sent 4 at a time, and the engine's 500 rows per batch measured faster than
// 100, 50 or 25 (docs/benchmarks.md, "Tuning values the ends declare").
func (s *Store) Capabilities(context.Context) bulk.Capabilities {
	return bulk.Capabilities{PageSize: PreferredPageSize}
}

// ScanSplit is how many scan segments each of scanners scanners of table t reads one after
// another (bulk.ScanSplitter): Config.ScanSplit when set; otherwise, when sized, enough
// segments for ScanSplitItems items each by the table's ItemCount (DescribeTable; DynamoDB
// updates it about every six hours, DynamoDB Local at once), else 1. At most 256, and at
// most DynamoDB's 1,000,000 segments in all (scanners × split). When DescribeTable fails
// (missing table, no dynamodb:DescribeTable permission, a network error) the split is 1,
// silently: the scan reports a missing table, and a scan without a split is only slower.
func (s *Store) ScanSplit(ctx context.Context, t actingweb.Table, scanners int, sized bool) int {
	limit := max(1, min(MaxScanSplit, maxScanSegments/max(scanners, 1)))
	if s.cfg.ScanSplit > 0 {
		return min(s.cfg.ScanSplit, limit)
	}
	if !sized {
		return 1
	}
	out, err := s.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.TableName(t))})
	if err != nil || out.Table == nil || out.Table.ItemCount == nil {
		return 1
	}
	per := int64(max(scanners, 1)) * ScanSplitItems
	return int(min(max((*out.Table.ItemCount+per-1)/per, 1), int64(limit)))
}

// MaxScanSplit is the largest ScanSplit (and URL scan-split): every segment costs at least
// one request.
const MaxScanSplit = 256

// maxScanSegments is DynamoDB's largest TotalSegments.
const maxScanSegments = 1_000_000

// ScanSplitItems is the segment size ScanSplit aims at. DynamoDB Local's Scan slows down
// with the size of the segment it reads (a page costs more the more of the segment follows
// it). Its export of the bench data set (1,520,200 items, 1,000,000 of them properties; 4
// scanners per table, 2 tables at once, 5,000-item pages) took 76 s with 4 segments per table,
// 43 s with 16, 24 s with 64, 18.1-18.6 s with 256 and 18.0-21.0 s with 1,024; sized by this
// constant, 17.7-19.2 s at 1,000 items, 18.2-19.6 s at 2,000 and 21.4-22.2 s at 4,000. A
// segment of 2,000 items is about one 1 MB page on DynamoDB itself, where segments are ranges
// of partitions and more of them cost only requests, at least one each.
const ScanSplitItems = 2000

// Scan streams table t page by page (a paginated DynamoDB Scan, parallel-segment when
// opts.TotalSegments > 1, strongly consistent with opts.Consistent). Page.Cursor is the wire
// JSON of LastEvaluatedKey (MarshalWireItem), resumable through opts.Cursor; "" on the last
// page. Items that fail to decode are returned as Page.Rejects with the item's wire JSON in
// Raw. Lookup-table pages hold digest-only records (Value nil).
func (s *Store) Scan(ctx context.Context, t actingweb.Table, opts bulk.ScanOptions, fn func(bulk.Page) error) error {
	name, err := s.tableName(t)
	if err != nil {
		return err
	}
	in := &dynamodb.ScanInput{TableName: aws.String(name), ConsistentRead: aws.Bool(opts.Consistent)}
	size := opts.PageSize
	if size <= 0 {
		size = defaultPageSize
	}
	in.Limit = aws.Int32(int32(min(size, 1<<30)))
	if opts.TotalSegments > 1 {
		if opts.Segment < 0 || opts.Segment >= opts.TotalSegments {
			return fmt.Errorf("%w: scan segment %d of %d", actingweb.ErrInvalid, opts.Segment, opts.TotalSegments)
		}
		in.Segment, in.TotalSegments = aws.Int32(int32(opts.Segment)), aws.Int32(int32(opts.TotalSegments))
	}
	if opts.Cursor != "" {
		start, err := ParseWireItem([]byte(opts.Cursor))
		if err != nil {
			return fmt.Errorf("dynamodb: scan %s: bad cursor: %w", name, err)
		}
		in.ExclusiveStartKey = start
	}
	for {
		out, err := s.client.Scan(ctx, in)
		if err != nil {
			return s.tableErr("scan", name, err)
		}
		page := bulk.Page{Records: make([]actingweb.Record, 0, len(out.Items))}
		for _, item := range out.Items {
			rec, err := decodeRecord(t, item)
			if err != nil {
				raw, _ := MarshalWireItem(item)
				page.Rejects = append(page.Rejects, bulk.Reject{Table: t, Key: physicalKey(t, item),
					Reason: err.Error(), Raw: string(raw)})
				continue
			}
			page.Records = append(page.Records, rec)
		}
		if len(out.LastEvaluatedKey) == 0 {
			page.Last = true
		} else {
			c, err := MarshalWireItem(out.LastEvaluatedKey)
			if err != nil {
				return fmt.Errorf("dynamodb: scan %s: cursor: %w", name, err)
			}
			page.Cursor = string(c)
		}
		if err := fn(page); err != nil {
			return err
		}
		if page.Last {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// RecordCursor returns a scan cursor that resumes right after r, a record a Scan of t returned
// (bulk.RecordCursorer): the wire JSON of its item's primary key (keyOf), which DynamoDB
// takes as ExclusiveStartKey whether or not the item still exists. Scan decodes keys as
// stored (a suspension whose target_key disagrees with its parts is a reject), so keyOf gives
// back the item's own key.
func (s *Store) RecordCursor(t actingweb.Table, r actingweb.Record) (string, error) {
	k := keyOf(r)
	if r == nil || r.Table() != t || k == nil {
		return "", fmt.Errorf("dynamodb: cursor of %T in table %s: %w", r, t, actingweb.ErrInvalid)
	}
	b, err := MarshalWireItem(k)
	return string(b), err
}

// Count returns the exact number of items of t: a Select=COUNT scan over all pages, strongly
// consistent, countSegments requests at once over countSegments × ScanSplit segments (the
// bench's 1,000,000 properties on DynamoDB Local: 7.1 s, against 6 min 8 s over 4 segments).
// Progress bars count every table first (--estimate, on by default on a terminal).
func (s *Store) Count(ctx context.Context, t actingweb.Table) (int64, error) {
	name, err := s.tableName(t)
	if err != nil {
		return 0, err
	}
	n := countSegments * s.ScanSplit(ctx, t, countSegments, true)
	var total atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(countSegments)
	for seg := 0; seg < n && gctx.Err() == nil; seg++ {
		g.Go(func() error {
			p := dynamodb.NewScanPaginator(s.client, &dynamodb.ScanInput{TableName: aws.String(name),
				Select: types.SelectCount, ConsistentRead: aws.Bool(true),
				Segment: aws.Int32(int32(seg)), TotalSegments: aws.Int32(int32(n))})
			for p.HasMorePages() {
				out, err := p.NextPage(gctx)
				if err != nil {
					return s.tableErr("count", name, err)
				}
				total.Add(int64(out.Count))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	return total.Load(), nil
}

// attrValueSize is the size DynamoDB charges for one attribute value (§9.1; AWS "Item sizes
// and formats"): strings their UTF-8 bytes, numbers one byte per two significant digits plus
// one, booleans and nulls one byte, binaries their length, documents 3 bytes plus their
// elements (one byte per element overhead).
func attrValueSize(v types.AttributeValue) int {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return len(x.Value)
	case *types.AttributeValueMemberN:
		return numberSize(x.Value)
	case *types.AttributeValueMemberB:
		return len(x.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range x.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range x.Value {
			n += numberSize(s)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range x.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range x.Value {
			n += len(k) + attrValueSize(e) + 1
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range x.Value {
			n += attrValueSize(e) + 1
		}
		return n
	}
	return 0
}

func numberSize(s string) int {
	digits := strings.TrimLeft(s, "+-")
	if i := strings.IndexAny(digits, "eE"); i >= 0 {
		digits = digits[:i]
	}
	digits = strings.Replace(digits, ".", "", 1)
	digits = strings.Trim(digits, "0")
	return (len(digits)+1)/2 + 1
}

// itemSize is the DynamoDB size of an item: attribute names plus values (§9.1).
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k) + attrValueSize(v)
	}
	return n
}

// validateItem checks item of table t against DynamoDB's limits (§9.1, §5.2): size at most
// 400 KB, non-empty keys of at most 2048 (hash) / 1024 (range) bytes, non-empty GSI keys
// (actors.creator, trusts.secret) of at most 2048 bytes, valid UTF-8 in every string (DynamoDB
// refuses anything else). It returns the reason or "".
func validateItem(t actingweb.Table, item map[string]types.AttributeValue) string {
	hash, rng := keySchema(t)
	idx, gkey := gsiOf(t)
	check := func(attr, what string, max int) string {
		v, _, _ := getS(item, attr)
		if v == "" {
			return fmt.Sprintf("%s %s is empty: DynamoDB refuses empty key values", what, attr)
		}
		if len(v) > max {
			return fmt.Sprintf("%s %s is %d bytes, DynamoDB allows at most %d", what, attr, len(v), max)
		}
		return ""
	}
	if r := check(hash, "hash key", MaxHashKeyBytes); r != "" {
		return r
	}
	if rng != "" {
		if r := check(rng, "range key", MaxRangeKeyBytes); r != "" {
			return r
		}
	}
	if idx != "" {
		if r := check(gkey, "GSI "+idx+" key", MaxHashKeyBytes); r != "" {
			return r
		}
	}
	for k, v := range item {
		if s, ok := v.(*types.AttributeValueMemberS); ok && !utf8.ValidString(s.Value) {
			return fmt.Sprintf("attribute %s is not valid UTF-8", k)
		}
	}
	if n := itemSize(item); n > MaxItemSize {
		return fmt.Sprintf("item is %d bytes, DynamoDB allows at most %d (400 KB)", n, MaxItemSize)
	}
	return ""
}

// WriteBatch writes recs (all of table t) under policy (§5.6). Each record is encoded as
// PynamoDB writes it and checked against DynamoDB's limits (validateItem); records that fail
// are returned as rejects. Records sharing a physical key are written once: the last one under
// overwrite, the first under skip (the others count as skipped), and under fail the batch is
// refused with ErrConflict. Under skip and fail the keys are first read (BatchGetItem,
// consistent): fail refuses the batch with an error wrapping ErrConflict naming the first
// existing key and writes nothing; skip writes the absent ones each with a PutItem conditioned
// on the key still being absent (putIfAbsent), so a row another writer puts meanwhile (a dual
// write racing a backfill) is kept, never overwritten. Fail and overwrite write through the
// batch writer (25 per request, unprocessed items retried). Lookup records are written as
// digest items; one without LookupKey and Value is rejected.
func (s *Store) WriteBatch(ctx context.Context, t actingweb.Table, recs []actingweb.Record, policy bulk.ConflictPolicy) (bulk.WriteResult, error) {
	return s.writeBatch(ctx, t, recs, policy, policy != bulk.ConflictOverwrite)
}

// WriteBatchFresh writes recs like WriteBatch under ConflictFail (a key twice in recs is
// refused with ErrConflict, nothing written) but without reading the keys first: for a table
// that was empty when the migration started it (bulk.FreshTableWriter). A key that exists
// on the table is overwritten, not refused. Measured (import of a scale-0.05 bundle into
// DynamoDB Local): the existence check was about half of the write time.
func (s *Store) WriteBatchFresh(ctx context.Context, t actingweb.Table, recs []actingweb.Record) (bulk.WriteResult, error) {
	return s.writeBatch(ctx, t, recs, bulk.ConflictFail, false)
}

// IsEmpty reports whether table t holds no item: a consistent Scan with Limit 1
// (bulk.FreshTableWriter).
func (s *Store) IsEmpty(ctx context.Context, t actingweb.Table) (bool, error) {
	name, err := s.tableName(t)
	if err != nil {
		return false, err
	}
	out, err := s.client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(name), Limit: aws.Int32(1), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return false, s.tableErr("scan", name, err)
	}
	return len(out.Items) == 0 && len(out.LastEvaluatedKey) == 0, nil
}

// writeBatch is WriteBatch; check reads the keys first (skip and fail).
func (s *Store) writeBatch(ctx context.Context, t actingweb.Table, recs []actingweb.Record, policy bulk.ConflictPolicy, check bool) (bulk.WriteResult, error) {
	name, err := s.tableName(t)
	if err != nil {
		return bulk.WriteResult{}, err
	}
	rows, res, err := prepareItems(t, name, recs, policy)
	if err != nil {
		return bulk.WriteResult{}, err
	}
	if check && len(rows) > 0 {
		keys := make([]map[string]types.AttributeValue, len(rows))
		for i, r := range rows {
			keys[i] = keyOfItem(t, r.item)
		}
		hash, rng := keySchema(t)
		proj := []string{hash}
		if rng != "" {
			proj = append(proj, rng)
		}
		found, err := s.batchGet(ctx, name, keys, true, proj...)
		if err != nil {
			return bulk.WriteResult{}, s.tableErr("check existing keys of", name, err)
		}
		if len(found) > 0 {
			exists := make(map[string]bool, len(found))
			for _, it := range found {
				exists[physicalKey(t, it)] = true
			}
			if policy == bulk.ConflictFail {
				for _, r := range rows { // first in batch order
					if exists[r.key] {
						return bulk.WriteResult{}, fmt.Errorf("%w: %s key %s (policy fail; nothing of this batch was written; "+
							"use skip or overwrite)", actingweb.ErrConflict, name, actingweb.KeyString(r.key))
					}
				}
			}
			kept := rows[:0]
			for _, r := range rows {
				if exists[r.key] {
					res.Skipped++
					continue
				}
				kept = append(kept, r)
			}
			rows = kept
		}
	}
	if policy == bulk.ConflictSkip && len(rows) > 0 {
		// BatchWriteItem takes no condition: a row written by someone else between the check
		// above and the batch would be overwritten with this (older) one. Each absent row is
		// put on the condition that its key is still absent instead.
		written, skipped, err := s.putIfAbsent(ctx, t, name, rows)
		res.Written, res.Skipped = written, res.Skipped+skipped
		if err != nil {
			return res, s.tableErr("write batch to", name, err)
		}
		return res, nil
	}
	reqs := make([]types.WriteRequest, len(rows))
	for i, r := range rows {
		reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: r.item}}
	}
	if err := s.batchWrite(ctx, name, reqs); err != nil {
		// what landed before the failure is reported with it (migrate counts it)
		res.Written = writtenBefore(err)
		return res, s.tableErr("write batch to", name, err)
	}
	res.Written = len(reqs)
	return res, nil
}

// putIfAbsent puts each of rows with PutItem conditioned on attribute_not_exists of the
// table's partition key (the skip policy made atomic: a row written meanwhile by another
// writer is kept), 16 at a time. It returns the rows written and those found present.
func (s *Store) putIfAbsent(ctx context.Context, t actingweb.Table, name string, rows []preparedItem) (written, skipped int, err error) {
	hash, _ := keySchema(t)
	cond := aws.String("attribute_not_exists(#k)")
	names := map[string]string{"#k": hash}
	var nw, ns atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, r := range rows {
		g.Go(func() error {
			_, err := s.client.PutItem(gctx, &dynamodb.PutItemInput{TableName: aws.String(name), Item: r.item,
				ConditionExpression: cond, ExpressionAttributeNames: names})
			switch {
			case err == nil:
				nw.Add(1)
			case isConditionFailed(err):
				ns.Add(1)
			default:
				return fmt.Errorf("put %s key %s if absent: %w", name, actingweb.KeyString(r.key), err)
			}
			return nil
		})
	}
	err = g.Wait()
	return int(nw.Load()), int(ns.Load()), err
}

// preparedItem is a record encoded for writing: its item and its physical key (physicalKey).
type preparedItem struct {
	key  string
	item map[string]types.AttributeValue
}

// prepareItems encodes recs (all of table t, physical name name) as PynamoDB writes them and
// checks each against DynamoDB's limits (validateItem). Records that fail are returned as
// res.Rejects. Records sharing a physical key are kept once: the last one under overwrite, the
// first under skip (the others counted in res.Skipped); under fail a repeated key is an error
// wrapping ErrConflict. Lookup records are digest items; one without LookupKey and Value is
// rejected.
func prepareItems(t actingweb.Table, name string, recs []actingweb.Record, policy bulk.ConflictPolicy) ([]preparedItem, bulk.WriteResult, error) {
	var res bulk.WriteResult
	rows := make([]preparedItem, 0, len(recs))
	pos := map[string]int{} // physical key -> index in rows
	for _, rec := range recs {
		reject := func(reason string) {
			res.Rejects = append(res.Rejects, bulk.Reject{Table: t, Key: rec.Key(), Reason: reason, Record: rec})
		}
		if rec.Table() != t {
			reject(fmt.Sprintf("a %s record in a %s batch", rec.Table(), t))
			continue
		}
		if l, ok := rec.(*actingweb.PropertyLookup); ok && l.LookupKey == "" && l.Value == nil {
			reject("lookup record has neither lookup_key nor value")
			continue
		}
		item, err := encodeRecord(rec)
		if err != nil {
			reject(err.Error())
			continue
		}
		if reason := validateItem(t, item); reason != "" {
			reject(reason)
			continue
		}
		k := physicalKey(t, item)
		if i, dup := pos[k]; dup {
			switch policy {
			case bulk.ConflictOverwrite:
				rows[i].item = item // last wins
			case bulk.ConflictSkip:
				res.Skipped++ // first wins
			default:
				return nil, bulk.WriteResult{}, fmt.Errorf("%w: %s key %s occurs twice in one batch (policy fail)",
					actingweb.ErrConflict, name, actingweb.KeyString(k))
			}
			continue
		}
		pos[k] = len(rows)
		rows = append(rows, preparedItem{key: k, item: item})
	}
	return rows, res, nil
}

// keyOfItem extracts the key attributes of a full item of t.
func keyOfItem(t actingweb.Table, item map[string]types.AttributeValue) map[string]types.AttributeValue {
	hash, rng := keySchema(t)
	k := map[string]types.AttributeValue{hash: item[hash]}
	if rng != "" {
		k[rng] = item[rng]
	}
	return k
}
