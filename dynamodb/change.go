package dynamodb

// change.go: the store as a target of `actingweb sync` (capture.Sink): whole-item
// upserts and deletes by key, and consistent reads of single records.

import (
	"context"
	"fmt"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/capture"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"
)

// Compile-time checks of the change-capture faces.
var (
	_ capture.Sink   = (*Store)(nil)
	_ capture.Source = (*Store)(nil)
)

// applyParallel is how many tables ApplyChanges writes at once (each with up to
// batchWriteParallel requests in flight).
const applyParallel = 3

// ApplyChanges writes the final state of a run of changes (capture.Sink). upserts are
// whole canonical records that replace the item with their key, encoded and checked exactly as
// WriteBatch under ConflictOverwrite does (PynamoDB's items, §3.2; DynamoDB's limits, §9.1);
// deletes carry at least the key fields and remove the item with that key (an absent item is
// fine). Records of several tables may be mixed; they are grouped per table and written
// through the batch writer (BatchWriteItem, 25 per request, unprocessed items retried), each
// item once. Lookup records follow WriteBatch's key rule: LookupKey, or the digest of
// PropertyName and Value when LookupKey is empty.
//
// Nothing is written when a record cannot be stored: a reject (item too large, empty or
// too-long key, data that is not JSON) fails with an error wrapping actingweb.ErrInvalid that
// names the table and key, and a key given twice (two upserts, two deletes, or both) with one
// wrapping actingweb.ErrConflict. A failed write may have landed in part; puts and deletes are
// idempotent, so the caller retries the whole run.
func (s *Store) ApplyChanges(ctx context.Context, upserts, deletes []actingweb.Record) error {
	type tableWrites struct {
		name string
		reqs []types.WriteRequest
		seen map[string]bool // physical keys
	}
	byTable := map[actingweb.Table]*tableWrites{}
	get := func(t actingweb.Table) (*tableWrites, error) {
		if w := byTable[t]; w != nil {
			return w, nil
		}
		name, err := s.tableName(t)
		if err != nil {
			return nil, fmt.Errorf("dynamodb: apply changes: %w", err)
		}
		w := &tableWrites{name: name, seen: map[string]bool{}}
		byTable[t] = w
		return w, nil
	}
	grouped := map[actingweb.Table][]actingweb.Record{}
	for _, r := range upserts {
		if r == nil {
			return fmt.Errorf("dynamodb: apply changes: %w: nil upsert record", actingweb.ErrInvalid)
		}
		grouped[r.Table()] = append(grouped[r.Table()], r)
	}
	for t, recs := range grouped {
		w, err := get(t)
		if err != nil {
			return err
		}
		rows, res, err := prepareItems(t, w.name, recs, bulk.ConflictFail)
		if err != nil {
			return fmt.Errorf("dynamodb: apply changes: %w", err)
		}
		if n := len(res.Rejects); n > 0 {
			rj := res.Rejects[0]
			more := ""
			if n > 1 {
				more = fmt.Sprintf(" (and %d more records)", n-1)
			}
			return fmt.Errorf("dynamodb: apply changes: %w: %s key %s cannot be stored: %s%s; nothing was written; fix the row on the source",
				actingweb.ErrInvalid, w.name, actingweb.KeyString(rj.Key), rj.Reason, more)
		}
		for _, r := range rows {
			w.seen[r.key] = true
			w.reqs = append(w.reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: r.item}})
		}
	}
	for _, r := range deletes {
		if r == nil {
			return fmt.Errorf("dynamodb: apply changes: %w: nil delete record", actingweb.ErrInvalid)
		}
		t := r.Table()
		w, err := get(t)
		if err != nil {
			return err
		}
		key, pk, err := recordKey(r)
		if err != nil {
			return fmt.Errorf("dynamodb: apply changes: delete from %s: %w", w.name, err)
		}
		if w.seen[pk] {
			return fmt.Errorf("dynamodb: apply changes: %w: %s key %s occurs twice in one run of changes; nothing was written",
				actingweb.ErrConflict, w.name, actingweb.KeyString(pk))
		}
		w.seen[pk] = true
		w.reqs = append(w.reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key}})
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(applyParallel)
	for _, t := range actingweb.Tables { // a fixed order: the first error is reproducible
		w := byTable[t]
		if w == nil || len(w.reqs) == 0 {
			continue
		}
		g.Go(func() error {
			if err := s.batchWrite(gctx, w.name, w.reqs); err != nil {
				return s.tableErr("apply changes to", w.name, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// recordKey returns the primary key item of r (keyOf) and its physical key (physicalKey),
// or an error wrapping actingweb.ErrInvalid naming the key when a key value is empty
// (DynamoDB refuses empty key values) or r is of no known table.
func recordKey(r actingweb.Record) (map[string]types.AttributeValue, string, error) {
	key := keyOf(r)
	if key == nil {
		return nil, "", fmt.Errorf("%w: record type %T", actingweb.ErrUnknownTable, r)
	}
	t := r.Table()
	pk := physicalKey(t, key)
	hash, rng := keySchema(t)
	for _, a := range []string{hash, rng} {
		if a == "" {
			continue
		}
		if v, _, _ := getS(key, a); v == "" {
			return nil, "", fmt.Errorf("%w: key %s: key attribute %s is empty", actingweb.ErrInvalid, actingweb.KeyString(pk), a)
		}
	}
	return key, pk, nil
}

// GetRecord reads the item with key's table and key fields (a strongly consistent GetItem)
// and returns it decoded as Scan decodes it (capture.Sink): lookup records carry
// LookupKey and no Value. A lookup key record may give LookupKey or PropertyName and Value
// (WriteBatch's key rule). An absent item fails with an error wrapping actingweb.ErrNotFound,
// an item that cannot be decoded with one wrapping actingweb.ErrInvalid, an empty key value
// with one wrapping actingweb.ErrInvalid; each names the table and key.
func (s *Store) GetRecord(ctx context.Context, key actingweb.Record) (actingweb.Record, error) {
	if key == nil {
		return nil, fmt.Errorf("dynamodb: get record: %w: nil key record", actingweb.ErrInvalid)
	}
	t := key.Table()
	name, err := s.tableName(t)
	if err != nil {
		return nil, fmt.Errorf("dynamodb: get record: %w", err)
	}
	k, pk, err := recordKey(key)
	if err != nil {
		return nil, fmt.Errorf("dynamodb: get record from %s: %w", name, err)
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(name), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, s.tableErr("get record "+actingweb.KeyString(pk)+" from", name, err)
	}
	if len(out.Item) == 0 {
		return nil, fmt.Errorf("dynamodb: %s key %s: %w", name, actingweb.KeyString(pk), actingweb.ErrNotFound)
	}
	rec, err := decodeRecord(t, out.Item)
	if err != nil {
		return nil, fmt.Errorf("dynamodb: get record from %s: %w", name, err)
	}
	return rec, nil
}
