package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	actingweb "github.com/actingweb/actingweb-go"
)

func propKey(actorID, name string) item {
	return keyOf(&actingweb.Property{ID: actorID, Name: name})
}

func propOp(verb, actorID, name string) string {
	return fmt.Sprintf("%s property %s/%s", verb, actorID, name)
}

// GetProperty reads one value with a consistent GetItem (§6.3). ErrNotFound if the row is
// absent or holds the empty string (upstream DynamoDB reads "" as absent).
func (s *Store) GetProperty(ctx context.Context, actorID, name string) (string, error) {
	op := propOp("get", actorID, name)
	if actorID == "" || name == "" {
		return "", notFound(op)
	}
	it, err := s.getItem(ctx, actingweb.TableProperties, propKey(actorID, name), "value")
	if err != nil {
		return "", ddbErr(op, err)
	}
	v := attrString(it["value"])
	if v == "" {
		return "", notFound(op)
	}
	return v, nil
}

// SetProperty upserts a value with PutItem; an empty value deletes the row (DeleteProperty).
// For an indexed name (§6.3) the old value is read consistently first, and when it changed
// the old lookup row is deleted only if it points to this actor (condition actor_id = :me)
// and the new one is created with attribute_not_exists(lookup_key); a collision with another
// actor's row is logged and the write still succeeds. The steps are separate writes (no
// transaction, as upstream); a failing lookup step is returned as an error after the property
// row has been written.
func (s *Store) SetProperty(ctx context.Context, actorID, name, value string) error {
	op := propOp("set", actorID, name)
	if actorID == "" || name == "" {
		return invalid(op, "empty actor id or property name")
	}
	if value == "" {
		return s.DeleteProperty(ctx, actorID, name)
	}
	indexed := s.lookup.Indexed(name)
	old, hadOld := "", false
	if indexed {
		it, err := s.getItem(ctx, actingweb.TableProperties, propKey(actorID, name), "value")
		if err != nil {
			return ddbErr(op+": read old value", err)
		}
		if it != nil {
			old, hadOld = attrString(it["value"]), true
		}
	}
	it, err := encodeRecord(&actingweb.Property{ID: actorID, Name: name, Value: value})
	if err != nil {
		return ddbErr(op, err)
	}
	if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.TableName(actingweb.TableProperties)), Item: it,
	}); err != nil {
		return ddbErr(op, err)
	}
	if !indexed || (hadOld && old == value) {
		return nil
	}
	if hadOld && old != "" {
		if err := s.deleteOwnedLookup(ctx, name, old, actorID); err != nil {
			return ddbErr(op+": delete old lookup row", err)
		}
	}
	if err := s.addOwnedLookup(ctx, name, value, actorID); err != nil {
		return ddbErr(op+": create lookup row", err)
	}
	return nil
}

// DeleteProperty deletes the row (DeleteItem returning the old item) and, for an indexed
// name, the old value's lookup row if it points to actorID. Deleting a missing row succeeds.
func (s *Store) DeleteProperty(ctx context.Context, actorID, name string) error {
	op := propOp("delete", actorID, name)
	if actorID == "" || name == "" {
		return nil
	}
	out, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:    aws.String(s.TableName(actingweb.TableProperties)),
		Key:          propKey(actorID, name),
		ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		return ddbErr(op, err)
	}
	if s.lookup.Indexed(name) && out.Attributes != nil {
		if old := attrString(out.Attributes["value"]); old != "" {
			if err := s.deleteOwnedLookup(ctx, name, old, actorID); err != nil {
				return ddbErr(op+": delete lookup row", err)
			}
		}
	}
	return nil
}

// GetActorIDFromProperty resolves (name, value) to an actor (§6.3). ErrNotFound for an empty
// name or value and when nothing matches.
//
// Lookup mode (LookupConfig.UseLookupTable): a name that is not indexed is not found. Then, as
// upstream, the v2 lookup table (consistent GetItem of the digest), else the deprecated v1
// table when it exists (§3.6), else the legacy GSI property-index filtered by name when the
// properties table has it (§3.4). A lookup row resolves only while its owner's property row
// (actor, name) exists; the current value is not compared (a stale row still resolves). A
// missing v1 table or GSI is skipped; every other read error is returned (upstream counts
// them as "not found").
//
// Legacy mode: every name is resolved through the GSI property-index (ownerByPropertyIndex:
// filtered by name, unlike upstream, see there); a properties table without the GSI gives an
// ErrSchema error naming the command that creates it.
func (s *Store) GetActorIDFromProperty(ctx context.Context, name, value string) (string, error) {
	op := "reverse lookup of property " + name
	if name == "" || value == "" {
		return "", notFound(op + " (empty name or value)")
	}
	if !s.lookup.UseLookupTable {
		id, found, err := s.ownerByPropertyIndex(ctx, name, value)
		if errors.Is(err, errNoLegacyIndex) {
			return "", fmt.Errorf("dynamodb: %s: %w: legacy mode (USE_PROPERTY_LOOKUP_TABLE=false) needs the GSI %s on %s; "+
				"create it with `%s`, or run in lookup mode: %w",
				op, actingweb.ErrSchema, LegacyPropertyIndex, s.TableName(actingweb.TableProperties), s.legacyIndexFix(), err)
		}
		if err != nil {
			return "", ddbErr(op+" through "+LegacyPropertyIndex, err)
		}
		if !found {
			return "", notFound(op)
		}
		return id, nil
	}
	if !s.lookup.Indexed(name) {
		return "", notFound(op + " (name not indexed)")
	}
	actorID, err := s.GetPropertyLookup(ctx, name, value)
	if errors.Is(err, actingweb.ErrNotFound) {
		if actorID, err = s.ownerByV1Lookup(ctx, name, value); err != nil {
			return "", ddbErr(op+" through the v1 lookup table", err)
		}
		if actorID == "" {
			id, found, err := s.ownerByPropertyIndex(ctx, name, value)
			switch {
			case errors.Is(err, errNoLegacyIndex) || (err == nil && !found):
				return "", notFound(op)
			case err != nil:
				return "", ddbErr(op+" through "+LegacyPropertyIndex, err)
			}
			return id, nil // the index gave a property row that exists
		}
	} else if err != nil {
		return "", err
	}
	it, err := s.getItem(ctx, actingweb.TableProperties, propKey(actorID, name), "id")
	if err != nil {
		return "", ddbErr(op+": read property of "+actorID, err)
	}
	if it == nil {
		return "", notFound(op + ": owner " + actorID + " no longer has the property")
	}
	return actorID, nil
}

// rangeQuery returns the items of actorID with lower <= name <= upper (byte order, both
// inclusive), as a Query BETWEEN (or name <= upper when lower is empty, DynamoDB refusing
// empty key values). ok is false when the range is empty by construction.
func (s *Store) rangeInput(actorID, lower, upper string) (*dynamodb.QueryInput, bool) {
	if actorID == "" || upper == "" || lower > upper {
		return nil, false
	}
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.TableName(actingweb.TableProperties)),
		ExpressionAttributeNames: map[string]string{"#id": "id", "#n": "name"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":id": avS(actorID), ":hi": avS(upper),
		},
		ConsistentRead: aws.Bool(true),
	}
	if lower == "" {
		in.KeyConditionExpression = aws.String("#id = :id AND #n <= :hi")
	} else {
		in.KeyConditionExpression = aws.String("#id = :id AND #n BETWEEN :lo AND :hi")
		in.ExpressionAttributeValues[":lo"] = avS(lower)
	}
	return in, true
}

// GetPropertyRange returns all rows with lower <= name <= upper in byte order (both
// inclusive; DynamoDB orders S range keys by UTF-8 bytes), strongly consistent. keysOnly
// projects the names only and gives "" values. Empty map when nothing matches.
func (s *Store) GetPropertyRange(ctx context.Context, actorID, lower, upper string, keysOnly bool) (map[string]string, error) {
	out := map[string]string{}
	in, ok := s.rangeInput(actorID, lower, upper)
	if !ok {
		return out, nil
	}
	if keysOnly {
		in.ProjectionExpression = aws.String("#n")
	}
	items, err := s.queryItems(ctx, in)
	if err != nil {
		return nil, ddbErr(fmt.Sprintf("property range read %s [%s, %s]", actorID, lower, upper), err)
	}
	for _, it := range items {
		v := ""
		if !keysOnly {
			v = attrString(it["value"])
		}
		out[attrString(it["name"])] = v
	}
	return out, nil
}

// GetLastPropertyInRange returns the byte-greatest name in the inclusive range (Query
// descending, Limit 1, consistent); ErrNotFound when the range is empty.
func (s *Store) GetLastPropertyInRange(ctx context.Context, actorID, lower, upper string) (string, error) {
	op := fmt.Sprintf("last property in range %s [%s, %s]", actorID, lower, upper)
	in, ok := s.rangeInput(actorID, lower, upper)
	if !ok {
		return "", notFound(op)
	}
	in.ScanIndexForward = aws.Bool(false)
	in.Limit = aws.Int32(1)
	in.ProjectionExpression = aws.String("#n")
	out, err := s.client.Query(ctx, in)
	if err != nil {
		return "", ddbErr(op, err)
	}
	if len(out.Items) == 0 {
		return "", notFound(op)
	}
	return attrString(out.Items[0]["name"]), nil
}

// CreatePropertyIfNotExists is a PutItem conditioned on attribute_not_exists(id): false when
// a row exists or value is empty. No lookup maintenance (§6.3).
func (s *Store) CreatePropertyIfNotExists(ctx context.Context, actorID, name, value string) (bool, error) {
	op := propOp("create-if-not-exists", actorID, name)
	if value == "" {
		return false, nil
	}
	if actorID == "" || name == "" {
		return false, invalid(op, "empty actor id or property name")
	}
	return s.putNew(ctx, op, &actingweb.Property{ID: actorID, Name: name, Value: value})
}

// DeletePropertyIfValueEquals is a DeleteItem conditioned on value = :v (exact bytes); false
// when the row is missing or differs. No lookup maintenance.
func (s *Store) DeletePropertyIfValueEquals(ctx context.Context, actorID, name, value string) (bool, error) {
	op := propOp("delete-if-value-equals", actorID, name)
	if actorID == "" || name == "" {
		return false, nil
	}
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.TableName(actingweb.TableProperties)),
		Key:                       propKey(actorID, name),
		ConditionExpression:       aws.String("#v = :v"),
		ExpressionAttributeNames:  map[string]string{"#v": "value"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": avS(value)},
	})
	return conditional(op, err)
}

// SetPropertyIfValueEquals is compare-and-set: UpdateItem SET value conditioned on the row
// existing with value = :expected. Never creates a row; false when missing or different. No
// lookup maintenance.
func (s *Store) SetPropertyIfValueEquals(ctx context.Context, actorID, name, expected, value string) (bool, error) {
	op := propOp("set-if-value-equals", actorID, name)
	if actorID == "" || name == "" {
		return false, nil
	}
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.TableName(actingweb.TableProperties)),
		Key:                      propKey(actorID, name),
		UpdateExpression:         aws.String("SET #v = :new"),
		ConditionExpression:      aws.String("attribute_exists(#id) AND #v = :exp"),
		ExpressionAttributeNames: map[string]string{"#v": "value", "#id": "id"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":new": avS(value), ":exp": avS(expected),
		},
	})
	return conditional(op, err)
}

// BatchDeleteProperties deletes the named rows with BatchWriteItem (25 per request,
// unprocessed items retried); unknown names are fine. No lookup maintenance (§6.3).
func (s *Store) BatchDeleteProperties(ctx context.Context, actorID string, names []string) error {
	if actorID == "" || len(names) == 0 {
		return nil
	}
	keys := make([]item, 0, len(names))
	for _, n := range names {
		if n != "" {
			keys = append(keys, propKey(actorID, n))
		}
	}
	if err := s.deleteKeys(ctx, actingweb.TableProperties, keys); err != nil {
		return ddbErr(fmt.Sprintf("batch delete %d properties of %s", len(keys), actorID), err)
	}
	return nil
}

// ListProperties returns all plain properties (names not starting with "list:") with two
// consistent Queries, name < "list:" and name >= "list;" (';' is the byte after ':', §6.3a).
func (s *Store) ListProperties(ctx context.Context, actorID string) (map[string]string, error) {
	out := map[string]string{}
	if actorID == "" {
		return out, nil
	}
	for _, part := range []struct{ cond, val string }{{"#rk < :b", "list:"}, {"#rk >= :b", "list;"}} {
		items, err := s.queryPartition(ctx, actingweb.TableProperties, actorID, part.cond,
			map[string]types.AttributeValue{":b": avS(part.val)}, false)
		if err != nil {
			return nil, ddbErr("list properties of "+actorID, err)
		}
		for _, it := range items {
			out[attrString(it["name"])] = attrString(it["value"])
		}
	}
	return out, nil
}

// ListAllProperties returns every row of the actor, list rows included (consistent Query).
func (s *Store) ListAllProperties(ctx context.Context, actorID string) (map[string]string, error) {
	out := map[string]string{}
	if actorID == "" {
		return out, nil
	}
	items, err := s.queryPartition(ctx, actingweb.TableProperties, actorID, "", nil, false)
	if err != nil {
		return nil, ddbErr("list all properties of "+actorID, err)
	}
	for _, it := range items {
		out[attrString(it["name"])] = attrString(it["value"])
	}
	return out, nil
}

// DeleteAllProperties deletes every property row of the actor (Query, then BatchWriteItem)
// and then, for each indexed name among them, the lookup row of its value if it points to
// this actor.
func (s *Store) DeleteAllProperties(ctx context.Context, actorID string) error {
	op := "delete all properties of " + actorID
	if actorID == "" {
		return nil
	}
	items, err := s.queryPartition(ctx, actingweb.TableProperties, actorID, "", nil, false)
	if err != nil {
		return ddbErr(op, err)
	}
	if err := s.deleteKeys(ctx, actingweb.TableProperties, items); err != nil {
		return ddbErr(op, err)
	}
	for _, it := range items {
		name, value := attrString(it["name"]), attrString(it["value"])
		if strings.HasPrefix(name, "list:") || !s.lookup.Indexed(name) || value == "" {
			continue
		}
		if err := s.deleteOwnedLookup(ctx, name, value, actorID); err != nil {
			return ddbErr(op+": delete lookup row of "+name, err)
		}
	}
	return nil
}
