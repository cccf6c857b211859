package dynamodb

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	actingweb "github.com/actingweb/actingweb-go"
)

// secretIndex is the GSI of the trusts table keyed by secret (§3.8).
const secretIndex = "secret-index"

// trustCreatedAt is the trust attribute CreateTrust keeps when the trust exists (§8.1).
const trustCreatedAt = "created_at"

func trustKey(actorID, peerID string) item {
	return keyOf(&actingweb.Trust{ID: actorID, PeerID: peerID})
}

func trustOp(verb, actorID, peerID string) string {
	return fmt.Sprintf("%s trust %s/%s", verb, actorID, peerID)
}

// GetTrust reads a trust by peer id (consistent GetItem); ErrNotFound if absent.
func (s *Store) GetTrust(ctx context.Context, actorID, peerID string) (actingweb.Trust, error) {
	op := trustOp("get", actorID, peerID)
	if actorID == "" || peerID == "" {
		return actingweb.Trust{}, notFound(op)
	}
	return getOne[actingweb.Trust](ctx, s, op, actingweb.TableTrusts, trustKey(actorID, peerID))
}

// GetTrustBySecret queries the secret-index GSI (eventually consistent on AWS) for secret and
// returns the hit owned by actorID (the lowest peer id if, against the protocol, several
// are); ErrNotFound if none. The secret never appears in errors.
func (s *Store) GetTrustBySecret(ctx context.Context, actorID, secret string) (actingweb.Trust, error) {
	op := "get trust of " + actorID + " by secret"
	if actorID == "" || secret == "" {
		return actingweb.Trust{}, notFound(op)
	}
	items, err := s.queryItems(ctx, &dynamodb.QueryInput{
		TableName:                aws.String(s.TableName(actingweb.TableTrusts)),
		IndexName:                aws.String(secretIndex),
		KeyConditionExpression:   aws.String("#s = :s"),
		FilterExpression:         aws.String("#id = :id"),
		ExpressionAttributeNames: map[string]string{"#s": "secret", "#id": "id"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":s": avS(secret), ":id": avS(actorID),
		},
	})
	if err != nil {
		return actingweb.Trust{}, ddbErr(op, err)
	}
	var best *actingweb.Trust
	for _, it := range items {
		r, err := decodeRecord(actingweb.TableTrusts, it)
		if err != nil {
			return actingweb.Trust{}, ddbErr(op+": decode", err)
		}
		t := r.(*actingweb.Trust)
		if t.ID == actorID && t.Secret == secret && (best == nil || t.PeerID < best.PeerID) {
			best = t
		}
	}
	if best == nil {
		return actingweb.Trust{}, notFound(op)
	}
	return *best, nil
}

// CreateTrust writes a trust, replacing an existing one but keeping its created_at (§8.1,
// PostgreSQL's semantics): one UpdateItem that SETs every attribute of the new trust,
// REMOVEs the optional ones it lacks and sets created_at with if_not_exists, so the stored
// creation time survives atomically. created_at defaults to now, last_accessed to created_at,
// last_connected_via to the canonical form of established_via (canonicalised when given).
// An empty actor id, peer id or secret (a GSI key on DynamoDB) fails with ErrInvalid.
func (s *Store) CreateTrust(ctx context.Context, t actingweb.Trust) error {
	op := trustOp("create", t.ID, t.PeerID)
	switch {
	case t.ID == "" || t.PeerID == "":
		return invalid(op, "empty actor id or peer id")
	case t.Secret == "":
		return invalid(op, "empty secret (the secret-index GSI key cannot be empty)")
	}
	if t.CreatedAt == nil {
		now := actingweb.NormalizeTime(time.Now())
		t.CreatedAt = &now
	}
	if t.LastAccessed == nil {
		la := *t.CreatedAt
		t.LastAccessed = &la
	}
	via := t.LastConnectedVia
	if via == nil {
		via = t.EstablishedVia
	}
	t.LastConnectedVia = nil
	if via != nil {
		if c := actingweb.CanonicalConnectionMethod(*via); c != "" {
			t.LastConnectedVia = &c
		}
	}
	it, err := encodeRecord(&t) // nil desc and verification_token are written "" (DynamoDBNilAsEmpty)
	if err != nil {
		return ddbErr(op, err)
	}
	u := newUpdate()
	for _, f := range planOf(actingweb.TableTrusts).fields {
		v, ok := it[f.Name]
		switch {
		case f.Name == trustCreatedAt && ok:
			u.setIfNotExists(f.Name, v)
		case ok:
			u.set(f.Name, v)
		case f.Name != trustCreatedAt:
			u.remove(f.Name)
		}
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.TableName(actingweb.TableTrusts)),
		Key:                       trustKey(t.ID, t.PeerID),
		UpdateExpression:          aws.String(u.expression()),
		ExpressionAttributeNames:  u.names,
		ExpressionAttributeValues: nilIfEmpty(u.values),
	})
	if err != nil {
		return ddbErr(op, err)
	}
	return nil
}

// ModifyTrust applies the non-nil fields of u with one UpdateItem conditioned on the trust
// existing (ErrNotFound otherwise). BaseURI, Secret, Desc and VerificationToken are applied
// only when non-empty; LastConnectedVia is canonicalised (a canonical "" removes it); other
// strings are written as given, empty included (§6.5). The fields are those TrustUpdate.Apply
// names, each written as the item codec writes it (fieldUpdate).
func (s *Store) ModifyTrust(ctx context.Context, actorID, peerID string, tu actingweb.TrustUpdate) error {
	op := trustOp("modify", actorID, peerID)
	if actorID == "" || peerID == "" {
		return notFound(op)
	}
	var tr actingweb.Trust
	u, err := fieldUpdate(&tr, tu.Apply(&tr))
	if err != nil {
		return ddbErr(op, err)
	}
	return s.applyUpdate(ctx, op, actingweb.TableTrusts, trustKey(actorID, peerID), u)
}

// DeleteTrust deletes one trust (idempotent).
func (s *Store) DeleteTrust(ctx context.Context, actorID, peerID string) error {
	if actorID == "" || peerID == "" {
		return nil
	}
	return s.deleteItem(ctx, trustOp("delete", actorID, peerID), actingweb.TableTrusts, trustKey(actorID, peerID))
}

// IsTokenInDB reports whether any trust of the actor has secret == token (secret-index GSI).
func (s *Store) IsTokenInDB(ctx context.Context, actorID, token string) (bool, error) {
	_, err := s.GetTrustBySecret(ctx, actorID, token)
	if err == nil {
		return true, nil
	}
	if isNotFound(err) {
		return false, nil
	}
	return false, err
}

// ListTrusts returns the actor's trusts ordered by peer id in byte order (consistent Query).
func (s *Store) ListTrusts(ctx context.Context, actorID string) ([]actingweb.Trust, error) {
	return listPartition[actingweb.Trust](ctx, s, actingweb.TableTrusts, "trusts", actorID)
}

// DeleteAllTrusts deletes every trust of the actor (key-only Query, then BatchWriteItem).
func (s *Store) DeleteAllTrusts(ctx context.Context, actorID string) error {
	return s.deletePartition(ctx, actingweb.TableTrusts, actorID)
}
