package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	actingweb "github.com/actingweb/actingweb-go"
)

// addDiffMaxAttempts bounds the optimistic retries of AddDiff under contention.
const addDiffMaxAttempts = 200

func diffKey(actorID, subID string, seqnr int64) item {
	return keyOf(&actingweb.SubscriptionDiff{ID: actorID, SubIDSeqnr: subID + ":" + seqnrText(seqnr)})
}

func diffOp(verb, actorID, subID string, seqnr int64) string {
	return fmt.Sprintf("%s diff %s/%s:%d", verb, actorID, subID, seqnr)
}

// AddDiff hands out the next sequence number of subscription peerID:subID and stores the
// diff under it, stamped with the current time (§6.8, §3.11 defect fixed). Each attempt
// reads the subscription's seqnr consistently and runs one TransactWriteItems: an Update of
// the subscription setting seqnr = old+1 conditioned on seqnr still being old (or absent when
// it was absent), and a Put of the diff conditioned on attribute_not_exists(id). A cancelled
// transaction (another writer won the number) is retried with jittered exponential backoff,
// at most addDiffMaxAttempts times and never past ctx. Concurrent writers therefore never
// share a number and leave no gaps. ErrNotFound if the subscription does not exist;
// ErrExists if a diff already occupies the next number while the subscription's seqnr is
// behind it (data written outside AddDiff).
func (s *Store) AddDiff(ctx context.Context, actorID, peerID, subID, diff string) (actingweb.SubscriptionDiff, error) {
	op := fmt.Sprintf("add diff to subscription %s/%s:%s", actorID, peerID, subID)
	if actorID == "" || peerID == "" || subID == "" {
		return actingweb.SubscriptionDiff{}, notFound(op)
	}
	key := subKey(actorID, peerID, subID)
	backoff := 5 * time.Millisecond
	for attempt := 1; ; attempt++ {
		it, err := s.getItem(ctx, actingweb.TableSubscriptions, key, "id", "seqnr")
		if err != nil {
			return actingweb.SubscriptionDiff{}, ddbErr(op, err)
		}
		if it == nil {
			return actingweb.SubscriptionDiff{}, notFound(op)
		}
		old, has, err := getN(it, "seqnr")
		if err != nil {
			return actingweb.SubscriptionDiff{}, ddbErr(op, err)
		}
		next := old + 1
		d := actingweb.SubscriptionDiff{
			ID: actorID, SubIDSeqnr: subID + ":" + seqnrText(next), SubID: subID,
			Timestamp: actingweb.NormalizeTime(time.Now()), Diff: diff, Seqnr: next,
		}
		dItem, err := encodeRecord(&d)
		if err != nil {
			return actingweb.SubscriptionDiff{}, ddbErr(op, err)
		}
		subCond := "attribute_exists(#id) AND #s = :old"
		subVals := map[string]types.AttributeValue{":new": avN(next), ":old": it["seqnr"]}
		if !has {
			subCond = "attribute_exists(#id) AND attribute_not_exists(#s)"
			delete(subVals, ":old")
		}
		_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
			TransactItems: []types.TransactWriteItem{
				{Update: &types.Update{
					TableName:                 aws.String(s.TableName(actingweb.TableSubscriptions)),
					Key:                       key,
					UpdateExpression:          aws.String("SET #s = :new"),
					ConditionExpression:       aws.String(subCond),
					ExpressionAttributeNames:  map[string]string{"#s": "seqnr", "#id": "id"},
					ExpressionAttributeValues: subVals,
				}},
				{Put: &types.Put{
					TableName:                aws.String(s.TableName(actingweb.TableSubscriptionDiffs)),
					Item:                     dItem,
					ConditionExpression:      aws.String("attribute_not_exists(#id)"),
					ExpressionAttributeNames: map[string]string{"#id": "id"},
				}},
			},
		})
		if err == nil {
			return d, nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return actingweb.SubscriptionDiff{}, ddbErr(op, err)
		}
		if r := tce.CancellationReasons; len(r) == 2 && code(r[0]) == "None" && code(r[1]) == "ConditionalCheckFailed" {
			return actingweb.SubscriptionDiff{}, fmt.Errorf("dynamodb: %s: diff %s already exists but the subscription's seqnr is %d: %w",
				op, d.SubIDSeqnr, old, actingweb.ErrExists)
		}
		if attempt >= addDiffMaxAttempts {
			return actingweb.SubscriptionDiff{}, ddbErr(fmt.Sprintf("%s: gave up after %d contended attempts", op, attempt), err)
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return actingweb.SubscriptionDiff{}, ddbErr(op, ctx.Err())
		case <-time.After(wait):
		}
		if backoff < 200*time.Millisecond {
			backoff *= 2
		}
	}
}

func code(r types.CancellationReason) string { return aws.ToString(r.Code) }

// CreateDiff writes one diff as given with PutItem conditioned on attribute_not_exists(id)
// (ErrExists if the key exists). SubIDSeqnr is built when empty, Timestamp is now when zero.
func (s *Store) CreateDiff(ctx context.Context, d actingweb.SubscriptionDiff) error {
	op := diffOp("create", d.ID, d.SubID, d.Seqnr)
	if d.ID == "" || d.SubID == "" {
		return invalid(op, "empty actor id or subscription id")
	}
	if d.SubIDSeqnr == "" {
		d.SubIDSeqnr = d.SubID + ":" + seqnrText(d.Seqnr)
	}
	if d.Timestamp.IsZero() {
		d.Timestamp = actingweb.NormalizeTime(time.Now())
	}
	return s.createNew(ctx, op, &d)
}

// GetDiff reads the diff subID:seqnr (consistent GetItem); ErrNotFound if absent.
func (s *Store) GetDiff(ctx context.Context, actorID, subID string, seqnr int64) (actingweb.SubscriptionDiff, error) {
	op := diffOp("get", actorID, subID, seqnr)
	if actorID == "" || subID == "" {
		return actingweb.SubscriptionDiff{}, notFound(op)
	}
	return getOne[actingweb.SubscriptionDiff](ctx, s, op, actingweb.TableSubscriptionDiffs, diffKey(actorID, subID, seqnr))
}

// subDiffs returns the actor's diffs, of one subscription when subID != "" (consistent Query
// begins_with(subid_seqnr, subID + ":") plus an exact subid check), ordered by subid, then
// numeric seqnr, then key.
func (s *Store) subDiffs(ctx context.Context, actorID, subID string) ([]actingweb.SubscriptionDiff, error) {
	cond, vals := "", map[string]types.AttributeValue(nil)
	if subID != "" {
		cond, vals = "begins_with(#rk, :p)", map[string]types.AttributeValue{":p": avS(subID + ":")}
	}
	items, err := s.queryPartition(ctx, actingweb.TableSubscriptionDiffs, actorID, cond, vals, false)
	if err != nil {
		return nil, err
	}
	recs, err := decodeAll[actingweb.SubscriptionDiff](actingweb.TableSubscriptionDiffs, items)
	if err != nil {
		return nil, err
	}
	out := make([]actingweb.SubscriptionDiff, 0, len(recs))
	for _, d := range recs {
		if subID == "" || d.SubID == subID {
			out = append(out, *d)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.SubID != b.SubID {
			return a.SubID < b.SubID
		}
		if a.Seqnr != b.Seqnr {
			return a.Seqnr < b.Seqnr
		}
		return a.SubIDSeqnr < b.SubIDSeqnr
	})
	return out, nil
}

// GetLowestDiff returns the subscription's diff with the lowest seqnr; ErrNotFound if none.
func (s *Store) GetLowestDiff(ctx context.Context, actorID, subID string) (actingweb.SubscriptionDiff, error) {
	op := fmt.Sprintf("get lowest diff %s/%s", actorID, subID)
	if actorID == "" || subID == "" {
		return actingweb.SubscriptionDiff{}, notFound(op)
	}
	ds, err := s.subDiffs(ctx, actorID, subID)
	if err != nil {
		return actingweb.SubscriptionDiff{}, ddbErr(op, err)
	}
	if len(ds) == 0 {
		return actingweb.SubscriptionDiff{}, notFound(op)
	}
	return ds[0], nil
}

// DeleteDiff deletes the diff subID:seqnr (idempotent).
func (s *Store) DeleteDiff(ctx context.Context, actorID, subID string, seqnr int64) error {
	if actorID == "" || subID == "" {
		return nil
	}
	return s.deleteItem(ctx, diffOp("delete", actorID, subID, seqnr), actingweb.TableSubscriptionDiffs, diffKey(actorID, subID, seqnr))
}

// ListDiffs returns the actor's diffs, of one subscription when subID != "" (exact match),
// ordered by subid then numeric seqnr (§8.1).
func (s *Store) ListDiffs(ctx context.Context, actorID, subID string) ([]actingweb.SubscriptionDiff, error) {
	if actorID == "" {
		return []actingweb.SubscriptionDiff{}, nil
	}
	ds, err := s.subDiffs(ctx, actorID, subID)
	if err != nil {
		return nil, ddbErr(fmt.Sprintf("list diffs %s/%s", actorID, subID), err)
	}
	return ds, nil
}

// DeleteDiffs deletes the diffs with seqnr <= upTo (inclusive) of one subscription, or of the
// whole actor when subID == ""; upTo <= 0 deletes all of them. Rows are deleted by their
// stored key (BatchWriteItem). Returns the number of rows deleted.
func (s *Store) DeleteDiffs(ctx context.Context, actorID, subID string, upTo int64) (int64, error) {
	op := fmt.Sprintf("delete diffs %s/%s up to %d", actorID, subID, upTo)
	if actorID == "" {
		return 0, nil
	}
	ds, err := s.subDiffs(ctx, actorID, subID)
	if err != nil {
		return 0, ddbErr(op, err)
	}
	keys := make([]item, 0, len(ds))
	for i := range ds {
		if upTo <= 0 || ds[i].Seqnr <= upTo {
			keys = append(keys, keyOf(&ds[i]))
		}
	}
	if err := s.deleteKeys(ctx, actingweb.TableSubscriptionDiffs, keys); err != nil {
		return 0, ddbErr(op, err)
	}
	return int64(len(keys)), nil
}
