package postgres

import (
	"context"

	actingweb "github.com/actingweb/actingweb-go"
)

// Subscriptions (§6.7). The key peer_sub_id is carried as stored, never rebuilt on modify.
// Whole rows are read and written through the table's description (specs.go).

var (
	subscriptionSpec = specs[actingweb.TableSubscriptions]
	scanSubscription = scanAs[actingweb.Subscription](actingweb.TableSubscriptions)

	sqlGetSubscription    = subscriptionSpec.selectFrom + ` WHERE id = $1 AND peer_sub_id = $2`
	sqlListSubscriptions  = subscriptionSpec.selectFrom + ` WHERE id = $1 ORDER BY peer_sub_id COLLATE "C"`
	sqlCreateSubscription = subscriptionSpec.insert + ` ON CONFLICT (` + quoteList(subscriptionSpec.pk) + `) DO NOTHING`
)

// GetSubscription reads the row keyed peerID:subID; ErrNotFound if absent.
func (s *Store) GetSubscription(ctx context.Context, actorID, peerID, subID string) (actingweb.Subscription, error) {
	x, err := scanSubscription(s.pool.QueryRow(ctx, s.sql(sqlGetSubscription), actorID, peerID+":"+subID))
	if err != nil {
		return actingweb.Subscription{}, wrapErr(err, "get subscription %s/%s:%s", actorID, peerID, subID)
	}
	return x, nil
}

// CreateSubscription inserts x (PeerSubID built from PeerID:SubID when empty; empty optional
// strings stored as NULL). Empty id, peer id or subscription id: ErrInvalid; existing key:
// ErrExists.
func (s *Store) CreateSubscription(ctx context.Context, x actingweb.Subscription) error {
	if x.ID == "" || x.PeerID == "" || x.SubID == "" {
		return invalid("create subscription %q/%q:%q: id, peer id and subscription id are required", x.ID, x.PeerID, x.SubID)
	}
	if x.PeerSubID == "" {
		x.PeerSubID = x.PeerID + ":" + x.SubID
	}
	subscriptionSpec.emptyOptionalsNull(&x)
	tag, err := s.pool.Exec(ctx, s.sql(sqlCreateSubscription), subscriptionSpec.values(&x, nil)...)
	return oneRow(tag, err, exists, "create subscription %s/%s", x.ID, x.PeerSubID)
}

// ModifySubscription applies u to the row keyed peerID:subID: strings when non-empty, Seqnr
// and Callback when non-nil. ErrNotFound if the subscription does not exist.
func (s *Store) ModifySubscription(ctx context.Context, actorID, peerID, subID string, u actingweb.SubscriptionUpdate) error {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	// NULLIF(x, '') / NULL parameters keep the stored value through COALESCE.
	tag, err := s.pool.Exec(ctx, s.sql(`UPDATE {subscriptions} SET
			granularity = COALESCE(NULLIF($3, ''), granularity),
			target = COALESCE(NULLIF($4, ''), target),
			subtarget = COALESCE(NULLIF($5, ''), subtarget),
			resource = COALESCE(NULLIF($6, ''), resource),
			seqnr = COALESCE($7, seqnr),
			callback = COALESCE($8, callback)
		WHERE id = $1 AND peer_sub_id = $2`), actorID, peerID+":"+subID,
		str(u.Granularity), str(u.Target), str(u.Subtarget), str(u.Resource), u.Seqnr, u.Callback)
	return oneRow(tag, err, notFound, "modify subscription %s/%s:%s", actorID, peerID, subID)
}

// DeleteSubscription deletes the row keyed peerID:subID (not its diffs). Idempotent.
func (s *Store) DeleteSubscription(ctx context.Context, actorID, peerID, subID string) error {
	_, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {subscriptions} WHERE id = $1 AND peer_sub_id = $2`), actorID, peerID+":"+subID)
	return wrapErr(err, "delete subscription %s/%s:%s", actorID, peerID, subID)
}

// ListSubscriptions returns the actor's subscriptions ordered by peer_sub_id (byte order).
func (s *Store) ListSubscriptions(ctx context.Context, actorID string) ([]actingweb.Subscription, error) {
	rows, _ := s.pool.Query(ctx, s.sql(sqlListSubscriptions), actorID)
	return collectList(rows, scanSubscription, "list subscriptions %s", actorID)
}

// DeleteAllSubscriptions deletes every subscription row of the actor (not the diffs).
func (s *Store) DeleteAllSubscriptions(ctx context.Context, actorID string) error {
	_, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {subscriptions} WHERE id = $1`), actorID)
	return wrapErr(err, "delete all subscriptions %s", actorID)
}
