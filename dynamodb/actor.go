package dynamodb

import (
	"context"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	actingweb "github.com/actingweb/actingweb-go"
)

// creatorIndex is the GSI of the actors table keyed by creator (§3.3).
const creatorIndex = "creator-index"

// GetActor reads one actor by id with a strongly consistent GetItem (§6.1); ErrNotFound if
// absent or id is empty.
func (s *Store) GetActor(ctx context.Context, id string) (actingweb.Actor, error) {
	op := "get actor " + id
	if id == "" {
		return actingweb.Actor{}, notFound(op)
	}
	return getOne[actingweb.Actor](ctx, s, op, actingweb.TableActors, keyOf(&actingweb.Actor{ID: id}))
}

// GetActorsByCreator queries the creator-index GSI (eventually consistent on AWS, immediate
// on DynamoDB Local) for creator, lower-cased when it contains '@' (§6.1). The GSI projects
// every attribute, so the items are returned as read from the index, ordered by id. Empty
// (non-nil) when none match or creator is empty (DynamoDB refuses empty key values).
func (s *Store) GetActorsByCreator(ctx context.Context, creator string) ([]actingweb.Actor, error) {
	creator = actingweb.NormalizeCreator(creator)
	out := []actingweb.Actor{}
	if creator == "" {
		return out, nil
	}
	items, err := s.queryItems(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.TableName(actingweb.TableActors)),
		IndexName:                 aws.String(creatorIndex),
		KeyConditionExpression:    aws.String("#c = :c"),
		ExpressionAttributeNames:  map[string]string{"#c": "creator"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": avS(creator)},
	})
	if err != nil {
		return nil, ddbErr("query actors by creator", err)
	}
	recs, err := decodeAll[actingweb.Actor](actingweb.TableActors, items)
	if err != nil {
		return nil, ddbErr("decode actors by creator", err)
	}
	for _, a := range recs {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// CreateActor inserts an actor with PutItem conditioned on attribute_not_exists(id): an
// existing id fails with ErrExists, an empty id or creator with ErrInvalid (§6.1, §3.1). The
// creator is lower-cased when it contains '@'; CreatedAt is not stored on DynamoDB (§5.3).
func (s *Store) CreateActor(ctx context.Context, a actingweb.Actor) error {
	op := "create actor " + a.ID
	a.Creator = actingweb.NormalizeCreator(a.Creator)
	a.CreatedAt = nil
	if a.ID == "" {
		return invalid(op, "empty actor id")
	}
	if a.Creator == "" {
		return invalid(op, "empty creator (the creator-index GSI key cannot be empty)")
	}
	return s.createNew(ctx, op, &a)
}

// ModifyActor replaces creator (lower-cased when it contains '@') and/or passphrase with an
// UpdateItem conditioned on the actor existing; empty arguments leave the stored values.
// ErrNotFound if the actor does not exist.
func (s *Store) ModifyActor(ctx context.Context, id, creator, passphrase string) error {
	op := "modify actor " + id
	if id == "" {
		return notFound(op)
	}
	creator = actingweb.NormalizeCreator(creator)
	u := newUpdate()
	if creator != "" {
		u.set("creator", avS(creator))
	}
	if passphrase != "" {
		u.set("passphrase", avS(passphrase))
	}
	return s.applyUpdate(ctx, op, actingweb.TableActors, keyOf(&actingweb.Actor{ID: id}), u)
}

// DeleteActor deletes the actor row and, to mirror PostgreSQL's foreign-key cascade, the
// lookup rows of the actor's current indexed property values that point to this actor
// (§6.12). Lookup rows for values the actor no longer holds cannot be found without a table
// scan and are left alone; DeleteAllProperties (called first by DeleteActorCascade) already
// removes the owned lookup rows of every indexed property. Deleting a missing actor succeeds.
func (s *Store) DeleteActor(ctx context.Context, id string) error {
	op := "delete actor " + id
	if id == "" {
		return nil
	}
	if s.lookup.UseLookupTable {
		for _, name := range s.lookup.IndexedProperties {
			if !s.lookup.Indexed(name) {
				continue
			}
			it, err := s.getItem(ctx, actingweb.TableProperties, keyOf(&actingweb.Property{ID: id, Name: name}), "value")
			if err != nil {
				return ddbErr(op+": read indexed property "+name, err)
			}
			if it == nil {
				continue
			}
			if err := s.deleteOwnedLookup(ctx, name, attrString(it["value"]), id); err != nil {
				return ddbErr(op+": delete lookup row of "+name, err)
			}
		}
	}
	return s.deleteItem(ctx, op, actingweb.TableActors, keyOf(&actingweb.Actor{ID: id}))
}

// ListActors scans the whole actors table (strongly consistent, admin use) and returns the
// actors ordered by id, passphrases blanked.
func (s *Store) ListActors(ctx context.Context) ([]actingweb.Actor, error) {
	out := []actingweb.Actor{}
	p := dynamodb.NewScanPaginator(s.client, &dynamodb.ScanInput{
		TableName:      aws.String(s.TableName(actingweb.TableActors)),
		ConsistentRead: aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, ddbErr("list actors", err)
		}
		for _, it := range page.Items {
			r, err := decodeRecord(actingweb.TableActors, it)
			if err != nil {
				return nil, ddbErr("list actors: decode", err)
			}
			a := *r.(*actingweb.Actor)
			a.Passphrase = ""
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
