package dynamodb

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	actingweb "github.com/actingweb/actingweb-go"
)

// lookupKeyItem is the primary key of the v2 lookup row of (name, value) (§3.5).
func lookupKeyItem(name, value string) item {
	return keyOf(&actingweb.PropertyLookup{PropertyName: name, LookupKey: actingweb.LookupKey(name, value)})
}

// GetPropertyLookup reads the v2 lookup row of (name, value) with a consistent GetItem of its
// digest (§6.4) and returns the owning actor id; ErrNotFound if none. Values never appear in
// errors (they may be e-mail addresses).
func (s *Store) GetPropertyLookup(ctx context.Context, name, value string) (string, error) {
	op := "get property lookup " + name
	if name == "" {
		return "", notFound(op)
	}
	pl, err := getOne[actingweb.PropertyLookup](ctx, s, op, actingweb.TablePropertyLookup, lookupKeyItem(name, value))
	if err != nil {
		return "", err
	}
	return pl.ActorID, nil
}

// CreatePropertyLookup writes the lookup row (name, value) -> actorID (§6.4). Without
// overwrite it is a PutItem conditioned on attribute_not_exists(lookup_key): an existing row
// of the same actor is success, one of another actor gives false (a collision, not logged
// here). With overwrite the row is replaced unconditionally.
func (s *Store) CreatePropertyLookup(ctx context.Context, name, value, actorID string, overwrite bool) (bool, error) {
	op := "create property lookup " + name + " for actor " + actorID
	if name == "" || actorID == "" {
		return false, invalid(op, "empty property name or actor id")
	}
	ok, err := s.putLookup(ctx, name, value, actorID, overwrite)
	if err != nil {
		return false, ddbErr(op, err)
	}
	return ok, nil
}

// putLookup is CreatePropertyLookup without argument checks or wrapping.
func (s *Store) putLookup(ctx context.Context, name, value, actorID string, overwrite bool) (bool, error) {
	rec := actingweb.NewPropertyLookup(name, value, actorID)
	it, err := encodeRecord(&rec)
	if err != nil {
		return false, err
	}
	in := &dynamodb.PutItemInput{TableName: aws.String(s.TableName(actingweb.TablePropertyLookup)), Item: it}
	if !overwrite {
		in.ConditionExpression = aws.String("attribute_not_exists(#k)")
		in.ExpressionAttributeNames = map[string]string{"#k": "lookup_key"}
		in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	}
	_, err = s.client.PutItem(ctx, in)
	if err == nil {
		return true, nil
	}
	if !isConditionFailed(err) {
		return false, err
	}
	// The row exists: success iff it is this actor's.
	owner := ""
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) && ccf.Item != nil {
		owner = attrString(ccf.Item["actor_id"])
	} else {
		cur, err := s.getItem(ctx, actingweb.TablePropertyLookup, lookupKeyItem(name, value), "actor_id")
		if err != nil {
			return false, err
		}
		if cur == nil { // deleted in between: try once more
			return s.putLookup(ctx, name, value, actorID, overwrite)
		}
		owner = attrString(cur["actor_id"])
	}
	return owner == actorID, nil
}

// DeletePropertyLookup deletes the lookup row of (name, value) whoever owns it (§6.4).
func (s *Store) DeletePropertyLookup(ctx context.Context, name, value string) error {
	return s.deleteItem(ctx, "delete property lookup "+name, actingweb.TablePropertyLookup, lookupKeyItem(name, value))
}

// deleteOwnedLookup deletes the lookup row of (name, value) only if it points to actorID
// (condition actor_id = :me); a row of another actor, or none, is left alone.
func (s *Store) deleteOwnedLookup(ctx context.Context, name, value, actorID string) error {
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.TableName(actingweb.TablePropertyLookup)),
		Key:                       lookupKeyItem(name, value),
		ConditionExpression:       aws.String("#a = :me"),
		ExpressionAttributeNames:  map[string]string{"#a": "actor_id"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":me": avS(actorID)},
	})
	if err != nil && !isConditionFailed(err) {
		return err
	}
	return nil
}

// addOwnedLookup creates the lookup row of (name, value) for actorID without overwriting
// another actor's row; such a collision is logged (names and actor ids, never the value) and
// is not an error (§6.3).
func (s *Store) addOwnedLookup(ctx context.Context, name, value, actorID string) error {
	ok, err := s.putLookup(ctx, name, value, actorID, false)
	if err != nil {
		return err
	}
	if !ok {
		s.log.WarnContext(ctx, "property lookup collision: value already owned by another actor; lookup row kept",
			"table", s.TableName(actingweb.TablePropertyLookup), "property", name, "actor", actorID)
	}
	return nil
}
