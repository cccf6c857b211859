package postgres

import (
	"context"
	"strconv"

	"github.com/jackc/pgx/v5"

	actingweb "github.com/actingweb/actingweb-go"
)

// Subscription diffs and sequence numbers (§6.8). Lists are ordered by subid then numeric
// seqnr (§8.1); "timestamp" is naive UTC. Whole rows are read and written through the table's
// description (specs.go).

var (
	diffSpec = specs[actingweb.TableSubscriptionDiffs]
	scanDiff = scanAs[actingweb.SubscriptionDiff](actingweb.TableSubscriptionDiffs)

	sqlAddDiff       = diffSpec.insert
	sqlCreateDiff    = diffSpec.insert + ` ON CONFLICT (` + quoteList(diffSpec.pk) + `) DO NOTHING`
	sqlGetDiff       = diffSpec.selectFrom + ` WHERE id = $1 AND subid_seqnr = $2`
	sqlGetLowestDiff = diffSpec.selectFrom + ` WHERE id = $1 AND subid = $2 ORDER BY seqnr LIMIT 1`
	sqlListDiffs     = diffSpec.selectFrom + ` WHERE id = $1 ORDER BY subid COLLATE "C", seqnr`
	sqlListSubDiffs  = diffSpec.selectFrom + ` WHERE id = $1 AND subid = $2 ORDER BY seqnr`
	sqlListDiffsPage = diffSpec.selectFrom + ` WHERE id = $1 AND subid = $2 AND seqnr > $3 ORDER BY seqnr LIMIT $4`
)

func diffKey(subID string, seqnr int64) string { return subID + ":" + strconv.FormatInt(seqnr, 10) }

// AddDiff increments the seqnr of subscription peerID:subID and stores the diff under the new
// number with the current time, in one transaction: the UPDATE locks the subscription row, so
// concurrent writers queue and never share a number. ErrNotFound if the subscription does not
// exist; a diff already stored under the new key (drifted data) gives ErrExists and nothing
// is changed.
func (s *Store) AddDiff(ctx context.Context, actorID, peerID, subID, diff string) (actingweb.SubscriptionDiff, error) {
	d := actingweb.SubscriptionDiff{ID: actorID, Diff: diff, Timestamp: now()}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, s.sql(`UPDATE {subscriptions} SET seqnr = seqnr + 1
			WHERE id = $1 AND peer_sub_id = $2 RETURNING seqnr, subid`), actorID, peerID+":"+subID).
			Scan(&d.Seqnr, &d.SubID)
		if err != nil {
			return err
		}
		d.SubIDSeqnr = diffKey(d.SubID, d.Seqnr)
		_, err = tx.Exec(ctx, s.sql(sqlAddDiff), diffSpec.values(&d, nil)...)
		return err
	})
	if err != nil {
		return actingweb.SubscriptionDiff{}, wrapErr(err, "add diff to subscription %s/%s:%s", actorID, peerID, subID)
	}
	return d, nil
}

// CreateDiff writes d as given (SubIDSeqnr built when empty, Timestamp now when zero);
// ErrExists if the key exists, ErrInvalid for an empty id or subscription id.
func (s *Store) CreateDiff(ctx context.Context, d actingweb.SubscriptionDiff) error {
	if d.ID == "" || d.SubID == "" {
		return invalid("create diff %q/%q: id and subscription id are required", d.ID, d.SubID)
	}
	if d.SubIDSeqnr == "" {
		d.SubIDSeqnr = diffKey(d.SubID, d.Seqnr)
	}
	if d.Timestamp.IsZero() {
		d.Timestamp = now()
	}
	diffSpec.normalizeTimes(&d)
	tag, err := s.pool.Exec(ctx, s.sql(sqlCreateDiff), diffSpec.values(&d, nil)...)
	return oneRow(tag, err, exists, "create diff %s/%s", d.ID, d.SubIDSeqnr)
}

// GetDiff reads the diff subID:seqnr; ErrNotFound if absent.
func (s *Store) GetDiff(ctx context.Context, actorID, subID string, seqnr int64) (actingweb.SubscriptionDiff, error) {
	key := diffKey(subID, seqnr)
	d, err := scanDiff(s.pool.QueryRow(ctx, s.sql(sqlGetDiff), actorID, key))
	if err != nil {
		return actingweb.SubscriptionDiff{}, wrapErr(err, "get diff %s/%s", actorID, key)
	}
	return d, nil
}

// GetLowestDiff returns the subscription's diff with the lowest seqnr; ErrNotFound if none.
func (s *Store) GetLowestDiff(ctx context.Context, actorID, subID string) (actingweb.SubscriptionDiff, error) {
	d, err := scanDiff(s.pool.QueryRow(ctx, s.sql(sqlGetLowestDiff), actorID, subID))
	if err != nil {
		return actingweb.SubscriptionDiff{}, wrapErr(err, "get lowest diff %s/%s", actorID, subID)
	}
	return d, nil
}

// DeleteDiff deletes the diff subID:seqnr. Idempotent.
func (s *Store) DeleteDiff(ctx context.Context, actorID, subID string, seqnr int64) error {
	key := diffKey(subID, seqnr)
	_, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {subscription_diffs} WHERE id = $1 AND subid_seqnr = $2`), actorID, key)
	return wrapErr(err, "delete diff %s/%s", actorID, key)
}

// ListDiffs returns the actor's diffs (of one subscription when subID != ""), ordered by
// subid (byte order) then numeric seqnr; empty when none.
func (s *Store) ListDiffs(ctx context.Context, actorID, subID string) ([]actingweb.SubscriptionDiff, error) {
	var rows pgx.Rows
	if subID == "" {
		rows, _ = s.pool.Query(ctx, s.sql(sqlListDiffs), actorID)
	} else {
		rows, _ = s.pool.Query(ctx, s.sql(sqlListSubDiffs), actorID, subID)
	}
	return collectList(rows, scanDiff, "list diffs %s/%s", actorID, subID)
}

// DeleteDiffs deletes the diffs with seqnr <= upTo of one subscription (all of the actor when
// subID == ""); upTo <= 0 deletes all of them. Returns the number of rows deleted.
func (s *Store) DeleteDiffs(ctx context.Context, actorID, subID string, upTo int64) (int64, error) {
	var bound *int64
	if upTo > 0 {
		bound = &upTo
	}
	tag, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {subscription_diffs} WHERE id = $1
		AND ($2 = '' OR subid = $2) AND ($3::bigint IS NULL OR seqnr <= $3)`), actorID, subID, bound)
	if err != nil {
		return 0, wrapErr(err, "delete diffs %s/%s", actorID, subID)
	}
	return tag.RowsAffected(), nil
}
