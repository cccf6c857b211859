package dynamodb

import (
	"context"
	"fmt"
	"strconv"

	actingweb "github.com/actingweb/actingweb-go"
)

func subKey(actorID, peerID, subID string) item {
	return keyOf(&actingweb.Subscription{ID: actorID, PeerSubID: peerID + ":" + subID})
}

func subOp(verb, actorID, peerID, subID string) string {
	return fmt.Sprintf("%s subscription %s/%s:%s", verb, actorID, peerID, subID)
}

// GetSubscription reads the row keyed peerID:subID (consistent GetItem); ErrNotFound if
// absent.
func (s *Store) GetSubscription(ctx context.Context, actorID, peerID, subID string) (actingweb.Subscription, error) {
	op := subOp("get", actorID, peerID, subID)
	if actorID == "" || peerID == "" || subID == "" {
		return actingweb.Subscription{}, notFound(op)
	}
	return getOne[actingweb.Subscription](ctx, s, op, actingweb.TableSubscriptions, subKey(actorID, peerID, subID))
}

// nilIfEmptyStr turns "" into nil: optional subscription strings are stored only when
// non-empty on DynamoDB (§6.7).
func nilIfEmptyStr(p *string) *string {
	if p == nil || *p == "" {
		return nil
	}
	return p
}

// CreateSubscription inserts with PutItem conditioned on attribute_not_exists(id) (ErrExists
// if the key exists). PeerSubID is built from PeerID and SubID when empty; empty optional
// strings are stored as absent. ErrInvalid for an empty actor id, peer id or sub id.
func (s *Store) CreateSubscription(ctx context.Context, sub actingweb.Subscription) error {
	op := subOp("create", sub.ID, sub.PeerID, sub.SubID)
	if sub.ID == "" || sub.PeerID == "" || sub.SubID == "" {
		return invalid(op, "empty actor id, peer id or subscription id")
	}
	if sub.PeerSubID == "" {
		sub.PeerSubID = sub.PeerID + ":" + sub.SubID
	}
	sub.Granularity = nilIfEmptyStr(sub.Granularity)
	sub.Target = nilIfEmptyStr(sub.Target)
	sub.Subtarget = nilIfEmptyStr(sub.Subtarget)
	sub.Resource = nilIfEmptyStr(sub.Resource)
	return s.createNew(ctx, op, &sub)
}

// ModifySubscription applies u to the row keyed peerID:subID with an UpdateItem conditioned
// on the row existing (ErrNotFound otherwise): strings only when non-empty, Seqnr and
// Callback when non-nil. The key never changes (§6.7).
func (s *Store) ModifySubscription(ctx context.Context, actorID, peerID, subID string, su actingweb.SubscriptionUpdate) error {
	op := subOp("modify", actorID, peerID, subID)
	if actorID == "" || peerID == "" || subID == "" {
		return notFound(op)
	}
	u := newUpdate()
	for _, f := range []struct {
		attr string
		v    *string
	}{{"granularity", su.Granularity}, {"target", su.Target}, {"subtarget", su.Subtarget}, {"resource", su.Resource}} {
		if f.v != nil && *f.v != "" {
			u.set(f.attr, avS(*f.v))
		}
	}
	if su.Seqnr != nil {
		u.set("seqnr", avN(*su.Seqnr))
	}
	if su.Callback != nil {
		u.set("callback", avBool(*su.Callback))
	}
	return s.applyUpdate(ctx, op, actingweb.TableSubscriptions, subKey(actorID, peerID, subID), u)
}

// DeleteSubscription deletes the row only (its diffs are the caller's business, §6.12).
func (s *Store) DeleteSubscription(ctx context.Context, actorID, peerID, subID string) error {
	if actorID == "" {
		return nil
	}
	return s.deleteItem(ctx, subOp("delete", actorID, peerID, subID), actingweb.TableSubscriptions, subKey(actorID, peerID, subID))
}

// ListSubscriptions returns the actor's subscriptions ordered by peer_sub_id in byte order
// (consistent Query).
func (s *Store) ListSubscriptions(ctx context.Context, actorID string) ([]actingweb.Subscription, error) {
	return listPartition[actingweb.Subscription](ctx, s, actingweb.TableSubscriptions, "subscriptions", actorID)
}

// DeleteAllSubscriptions deletes every subscription row of the actor (not their diffs).
func (s *Store) DeleteAllSubscriptions(ctx context.Context, actorID string) error {
	return s.deletePartition(ctx, actingweb.TableSubscriptions, actorID)
}

// seqnrText is the decimal text of a sequence number as stored in N attributes and keys.
func seqnrText(n int64) string { return strconv.FormatInt(n, 10) }
