package dualwrite

import (
	"context"

	actingweb "github.com/actingweb/actingweb-go"
)

// page is one page of a paged list and the cursor of the next, as compared by shadow reads.
type page[R any] struct {
	items []R
	next  any
}

// eqPage compares two pages: the same cursor and the same records (eqRecords).
func eqPage[R any, P interface {
	*R
	actingweb.Record
}](a, b page[R]) (bool, string) {
	if ok, what := eqRecords[R, P](a.items, b.items); !ok {
		return false, what
	}
	if a.next != b.next {
		return false, "next cursor differs"
	}
	return true, ""
}

// ListActorsPage reads a page from the phase's read store. It is never shadow-read: the two
// backends list actors in different orders (PostgreSQL by id, DynamoDB by scan order), so
// their pages are not comparable. A walk that spans a phase change between write-both and
// read-new continues on the other store from the same cursor (an actor id) and may then miss
// or repeat actors; walk again after the change.
func (s *Store) ListActorsPage(ctx context.Context, after string, limit int) ([]actingweb.Actor, string, error) {
	return s.view(ctx).primary.ListActorsPage(ctx, after, limit)
}

// ListDiffsPage reads a page from the phase's read store; in read-new it is shadow-read like
// ListDiffs (both backends order a subscription's diffs by seqnr).
func (s *Store) ListDiffsPage(ctx context.Context, actorID, subID string, after int64, limit int) ([]actingweb.SubscriptionDiff, int64, error) {
	p, err := read(s, ctx, "ListDiffsPage", actorID, "diffs of "+actorID+" / "+subID, func(b actingweb.Store) (page[actingweb.SubscriptionDiff], error) {
		ds, next, err := b.ListDiffsPage(ctx, actorID, subID, after, limit)
		return page[actingweb.SubscriptionDiff]{items: ds, next: next}, err
	}, eqPage[actingweb.SubscriptionDiff])
	next, _ := p.next.(int64)
	return p.items, next, err
}

// GetBucketPage reads a page from the phase's read store; in read-new it is shadow-read like
// GetBucket (both backends order a bucket's attributes by name in byte order).
func (s *Store) GetBucketPage(ctx context.Context, ownerID, bucket, after string, limit int) ([]actingweb.Attribute, string, error) {
	p, err := read(s, ctx, "GetBucketPage", ownerID, "bucket "+ownerID+" / "+bucket, func(b actingweb.Store) (page[actingweb.Attribute], error) {
		as, next, err := b.GetBucketPage(ctx, ownerID, bucket, after, limit)
		return page[actingweb.Attribute]{items: as, next: next}, err
	}, eqPage[actingweb.Attribute])
	next, _ := p.next.(string)
	return p.items, next, err
}
