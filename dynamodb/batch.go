package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"
)

// Batch limits of DynamoDB (§9.1).
const (
	maxBatchWrite = 25  // items per BatchWriteItem request
	maxBatchGet   = 100 // keys per BatchGetItem request
)

// Backoff of the unprocessed-item retries: exponential from backoffBase, capped at backoffMax,
// full jitter.
const (
	backoffBase = 50 * time.Millisecond
	backoffMax  = 5 * time.Second
)

// backoff sleeps a full-jitter exponential delay for retry number attempt (0-based), or returns
// the context's error when it ends first.
func backoff(ctx context.Context, attempt int) error {
	d := backoffBase << min(attempt, 16)
	if d > backoffMax || d <= 0 {
		d = backoffMax
	}
	d = time.Duration(rand.Int64N(int64(d) + 1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// batchWriteParallel is the number of BatchWriteItem requests batchWrite keeps in flight.
const batchWriteParallel = 4

// batchWrite sends reqs (puts and/or deletes) to the physical table in BatchWriteItem
// requests of at most 25 (up to 4 in flight), retrying UnprocessedItems with exponential
// backoff and full jitter until every request is done or ctx ends. Nothing is dropped
// silently: on a context end or an API error it returns an error saying how many of the
// requests remain unwritten (some of the others may have been written: puts and deletes are
// idempotent, so the caller may retry the whole set). The caller must not put two requests for
// the same key into reqs (DynamoDB refuses such a request outright).
func (s *Store) batchWrite(ctx context.Context, table string, reqs []types.WriteRequest) error {
	if len(reqs) == 0 {
		return nil
	}
	var remaining atomic.Int64
	remaining.Store(int64(len(reqs)))
	fail := func(err error) error {
		return fmt.Errorf("batch write to %s: %d of %d items remain unwritten: %w",
			table, remaining.Load(), len(reqs), err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(batchWriteParallel)
	for start := 0; start < len(reqs); start += maxBatchWrite {
		pending := reqs[start:min(start+maxBatchWrite, len(reqs))]
		g.Go(func() error {
			for attempt := 0; len(pending) > 0; attempt++ {
				if attempt > 0 {
					if err := backoff(gctx, attempt-1); err != nil {
						return fail(err)
					}
				}
				out, err := s.client.BatchWriteItem(gctx, &dynamodb.BatchWriteItemInput{
					RequestItems: map[string][]types.WriteRequest{table: pending},
				})
				if err != nil {
					return fail(err)
				}
				next := out.UnprocessedItems[table]
				remaining.Add(-int64(len(pending) - len(next)))
				pending = next
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return &batchWriteError{Written: len(reqs) - int(remaining.Load()), err: err}
	}
	return nil
}

// batchWriteError is batchWrite's failure: Written of its requests were acknowledged by
// DynamoDB (written), the others may or may not have been.
type batchWriteError struct {
	Written int
	err     error
}

func (e *batchWriteError) Error() string { return e.err.Error() }
func (e *batchWriteError) Unwrap() error { return e.err }

// writtenBefore returns how many requests of a failed batchWrite DynamoDB acknowledged.
func writtenBefore(err error) int {
	var bw *batchWriteError
	if errors.As(err, &bw) {
		return bw.Written
	}
	return 0
}

// batchGet reads the items with the given keys from the physical table in BatchGetItem
// requests of at most 100 keys, retrying UnprocessedKeys with backoff. projection, when not
// empty, limits the attributes returned (names are passed through ExpressionAttributeNames).
// Missing keys are simply absent from the result; order is not preserved.
func (s *Store) batchGet(ctx context.Context, table string, keys []map[string]types.AttributeValue, consistent bool, projection ...string) ([]map[string]types.AttributeValue, error) {
	var out []map[string]types.AttributeValue
	var projExpr *string
	var names map[string]string
	if len(projection) > 0 {
		names = map[string]string{}
		expr := ""
		for i, p := range projection {
			ph := fmt.Sprintf("#p%d", i)
			names[ph] = p
			if i > 0 {
				expr += ", "
			}
			expr += ph
		}
		projExpr = aws.String(expr)
	}
	for start := 0; start < len(keys); start += maxBatchGet {
		end := min(start+maxBatchGet, len(keys))
		ka := &types.KeysAndAttributes{Keys: keys[start:end], ConsistentRead: aws.Bool(consistent),
			ProjectionExpression: projExpr, ExpressionAttributeNames: names}
		for attempt := 0; ka != nil && len(ka.Keys) > 0; attempt++ {
			if attempt > 0 {
				if err := backoff(ctx, attempt-1); err != nil {
					return nil, fmt.Errorf("batch get from %s: %d keys unread: %w", table, len(ka.Keys)+len(keys)-end, err)
				}
			}
			res, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
				RequestItems: map[string]types.KeysAndAttributes{table: *ka},
			})
			if err != nil {
				return nil, fmt.Errorf("batch get from %s: %d keys unread: %w", table, len(ka.Keys)+len(keys)-end, err)
			}
			out = append(out, res.Responses[table]...)
			next, ok := res.UnprocessedKeys[table]
			if !ok {
				break
			}
			ka = &next
		}
	}
	return out, nil
}

// isConditionFailed reports whether err is a failed condition expression.
func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// isResourceNotFound reports whether err is ResourceNotFoundException (a missing table).
func isResourceNotFound(err error) bool {
	var rnf *types.ResourceNotFoundException
	return errors.As(err, &rnf)
}
