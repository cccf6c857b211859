package dynamodb

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	actingweb "github.com/actingweb/actingweb-go"
)

func peerTrusteeKey(actorID, peerID string) item {
	return keyOf(&actingweb.PeerTrustee{ID: actorID, PeerID: peerID})
}

func peerTrusteeOp(verb, actorID, peerID string) string {
	return fmt.Sprintf("%s peer trustee %s/%s", verb, actorID, peerID)
}

// GetPeerTrustee reads by peer id (consistent GetItem); ErrNotFound if absent.
func (s *Store) GetPeerTrustee(ctx context.Context, actorID, peerID string) (actingweb.PeerTrustee, error) {
	op := peerTrusteeOp("get", actorID, peerID)
	if actorID == "" || peerID == "" {
		return actingweb.PeerTrustee{}, notFound(op)
	}
	return getOne[actingweb.PeerTrustee](ctx, s, op, actingweb.TablePeerTrustees, peerTrusteeKey(actorID, peerID))
}

// GetPeerTrusteeByType reads the actor's partition (consistent Query filtered on type):
// ErrNotFound if no row has that type, ErrAmbiguous if several do (§6.6).
func (s *Store) GetPeerTrusteeByType(ctx context.Context, actorID, peerType string) (actingweb.PeerTrustee, error) {
	op := fmt.Sprintf("get peer trustee of %s by type %s", actorID, peerType)
	if actorID == "" || peerType == "" {
		return actingweb.PeerTrustee{}, notFound(op)
	}
	items, err := s.queryItems(ctx, &dynamodb.QueryInput{
		TableName:                aws.String(s.TableName(actingweb.TablePeerTrustees)),
		KeyConditionExpression:   aws.String("#id = :id"),
		FilterExpression:         aws.String("#t = :t"),
		ExpressionAttributeNames: map[string]string{"#id": "id", "#t": "type"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":id": avS(actorID), ":t": avS(peerType),
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return actingweb.PeerTrustee{}, ddbErr(op, err)
	}
	switch len(items) {
	case 0:
		return actingweb.PeerTrustee{}, notFound(op)
	case 1:
	default:
		return actingweb.PeerTrustee{}, fmt.Errorf("dynamodb: %s: %w (%d rows)", op, actingweb.ErrAmbiguous, len(items))
	}
	r, err := decodeRecord(actingweb.TablePeerTrustees, items[0])
	if err != nil {
		return actingweb.PeerTrustee{}, ddbErr(op+": decode", err)
	}
	return *r.(*actingweb.PeerTrustee), nil
}

// CreatePeerTrustee inserts with PutItem conditioned on attribute_not_exists(id): ErrExists
// if the key exists (§8.1, decided as PostgreSQL); ErrInvalid for an empty actor id, peer id
// or type.
func (s *Store) CreatePeerTrustee(ctx context.Context, p actingweb.PeerTrustee) error {
	op := peerTrusteeOp("create", p.ID, p.PeerID)
	if p.ID == "" || p.PeerID == "" || p.Type == "" {
		return invalid(op, "empty actor id, peer id or type")
	}
	return s.createNew(ctx, op, &p)
}

// ModifyPeerTrustee applies the non-empty arguments (UpdateItem conditioned on the row
// existing); ErrNotFound if absent.
func (s *Store) ModifyPeerTrustee(ctx context.Context, actorID, peerID, peerType, baseURI, passphrase string) error {
	op := peerTrusteeOp("modify", actorID, peerID)
	if actorID == "" || peerID == "" {
		return notFound(op)
	}
	u := newUpdate()
	for _, f := range []struct{ attr, v string }{{"type", peerType}, {"baseuri", baseURI}, {"passphrase", passphrase}} {
		if f.v != "" {
			u.set(f.attr, avS(f.v))
		}
	}
	return s.applyUpdate(ctx, op, actingweb.TablePeerTrustees, peerTrusteeKey(actorID, peerID), u)
}

// DeletePeerTrustee deletes one peer trustee (idempotent).
func (s *Store) DeletePeerTrustee(ctx context.Context, actorID, peerID string) error {
	if actorID == "" || peerID == "" {
		return nil
	}
	return s.deleteItem(ctx, peerTrusteeOp("delete", actorID, peerID), actingweb.TablePeerTrustees, peerTrusteeKey(actorID, peerID))
}

// ListPeerTrustees returns the actor's peer trustees ordered by peer id (consistent Query).
func (s *Store) ListPeerTrustees(ctx context.Context, actorID string) ([]actingweb.PeerTrustee, error) {
	return listPartition[actingweb.PeerTrustee](ctx, s, actingweb.TablePeerTrustees, "peer trustees", actorID)
}

// DeleteAllPeerTrustees deletes every peer trustee of the actor.
func (s *Store) DeleteAllPeerTrustees(ctx context.Context, actorID string) error {
	return s.deletePartition(ctx, actingweb.TablePeerTrustees, actorID)
}
