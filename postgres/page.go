package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	actingweb "github.com/actingweb/actingweb-go"
)

// Paged lists (store.go: ListActorsPage, ListDiffsPage, GetBucketPage): keyset pagination,
// one statement per page reading limit+1 rows so that next is "" (0) exactly at the end.

// ListActorsPage returns at most limit actors with id > after in the order of the primary
// key's index (the column's collation), without passphrases, and the next cursor.
func (s *Store) ListActorsPage(ctx context.Context, after string, limit int) ([]actingweb.Actor, string, error) {
	if limit < 1 {
		return nil, "", invalid("list actors: page limit %d: want 1 or more", limit)
	}
	rows, _ := s.pool.Query(ctx, s.sql(`SELECT id, creator FROM {actors} WHERE id > $1 ORDER BY id LIMIT $2`), after, limit+1)
	out, err := collectList(rows, func(r pgx.Row) (actingweb.Actor, error) {
		var a actingweb.Actor
		err := r.Scan(&a.ID, &a.Creator)
		return a, err
	}, "list actors after %q", after)
	if err != nil {
		return nil, "", err
	}
	if len(out) > limit {
		return out[:limit], out[limit-1].ID, nil
	}
	return out, "", nil
}

// ListDiffsPage returns at most limit diffs of subscription subID with seqnr > after, by
// seqnr, and the next cursor.
func (s *Store) ListDiffsPage(ctx context.Context, actorID, subID string, after int64, limit int) ([]actingweb.SubscriptionDiff, int64, error) {
	if limit < 1 {
		return nil, 0, invalid("list diffs %s/%s: page limit %d: want 1 or more", actorID, subID, limit)
	}
	rows, _ := s.pool.Query(ctx, s.sql(sqlListDiffsPage), actorID, subID, max(after, -1), limit+1)
	out, err := collectList(rows, scanDiff, "list diffs %s/%s after %d", actorID, subID, after)
	if err != nil {
		return nil, 0, err
	}
	if len(out) > limit {
		return out[:limit], out[limit-1].Seqnr, nil
	}
	return out, 0, nil
}

// GetBucketPage returns at most limit attributes of the bucket with name > after in byte
// order, and the next cursor.
func (s *Store) GetBucketPage(ctx context.Context, ownerID, bucket, after string, limit int) ([]actingweb.Attribute, string, error) {
	if limit < 1 {
		return nil, "", invalid("get bucket %s/%s: page limit %d: want 1 or more", ownerID, bucket, limit)
	}
	rows, _ := s.pool.Query(ctx, s.sql(sqlGetBucketPage), ownerID, bucket, after, limit+1)
	out, err := collectList(rows, scanAttribute, "get bucket %s/%s after %q", ownerID, bucket, after)
	if err != nil {
		return nil, "", err
	}
	if len(out) > limit {
		return out[:limit], out[limit-1].Name, nil
	}
	return out, "", nil
}
