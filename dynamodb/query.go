package dynamodb

// Helpers of the application face (ddb-app): paginated queries and scans, key-only deletes,
// error classification. Item encoding and decoding live in codec.go (ddb-core).

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

// item is one DynamoDB item in wire form.
type item = map[string]types.AttributeValue

// ddbErr wraps an SDK error for operation op; a missing table also wraps ErrSchema so callers
// can tell "run schema upgrade" apart from other failures.
func ddbErr(op string, err error) error {
	var rnf *types.ResourceNotFoundException
	if errors.As(err, &rnf) {
		return fmt.Errorf("dynamodb: %s: %w (table missing: run the schema upgrade): %w", op, actingweb.ErrSchema, err)
	}
	return fmt.Errorf("dynamodb: %s: %w", op, err)
}

// notFound is the ErrNotFound error of operation op.
func notFound(op string) error { return fmt.Errorf("dynamodb: %s: %w", op, actingweb.ErrNotFound) }

// invalid is the ErrInvalid error of operation op.
func invalid(op, why string) error {
	return fmt.Errorf("dynamodb: %s: %w: %s", op, actingweb.ErrInvalid, why)
}

// projectionOf is the ProjectionExpression ("#p0, #p1, ...") and ExpressionAttributeNames
// selecting attrs; (nil, nil), i.e. every attribute, when attrs is empty.
func projectionOf(attrs []string) (*string, map[string]string) {
	if len(attrs) == 0 {
		return nil, nil
	}
	names := make(map[string]string, len(attrs))
	phs := make([]string, len(attrs))
	for i, a := range attrs {
		phs[i] = fmt.Sprintf("#p%d", i)
		names[phs[i]] = a
	}
	return aws.String(strings.Join(phs, ", ")), names
}

// getItem is a strongly consistent GetItem; nil item (and nil error) when absent.
func (s *Store) getItem(ctx context.Context, table actingweb.Table, key item, projection ...string) (item, error) {
	in := &dynamodb.GetItemInput{TableName: aws.String(s.TableName(table)), Key: key, ConsistentRead: aws.Bool(true)}
	in.ProjectionExpression, in.ExpressionAttributeNames = projectionOf(projection)
	out, err := s.client.GetItem(ctx, in)
	if err != nil {
		return nil, err
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

// getRecord reads and decodes one item of table; (nil, nil) when absent.
func (s *Store) getRecord(ctx context.Context, table actingweb.Table, key item) (actingweb.Record, error) {
	it, err := s.getItem(ctx, table, key)
	if err != nil || it == nil {
		return nil, err
	}
	return decodeRecord(table, it)
}

// queryItems runs in to completion, following LastEvaluatedKey, and returns every item.
func (s *Store) queryItems(ctx context.Context, in *dynamodb.QueryInput) ([]item, error) {
	var out []item
	p := dynamodb.NewQueryPaginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
	}
	return out, nil
}

// queryPartition returns every item of the partition of owner (hash key = owner) of table
// (strongly consistent), optionally restricted by a range-key condition rangeCond over "#rk"
// with values vals, and optionally projected to the key attributes only (keySchema).
func (s *Store) queryPartition(ctx context.Context, table actingweb.Table, owner, rangeCond string, vals map[string]types.AttributeValue, keysOnly bool) ([]item, error) {
	hashKey, rangeKey := keySchema(table)
	names := map[string]string{"#hk": hashKey}
	values := map[string]types.AttributeValue{":hk": avS(owner)}
	cond := "#hk = :hk"
	if rangeCond != "" {
		names["#rk"] = rangeKey
		cond += " AND " + rangeCond
		for k, v := range vals {
			values[k] = v
		}
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.TableName(table)),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ConsistentRead:            aws.Bool(true),
	}
	switch {
	case keysOnly && rangeKey == "":
		in.ProjectionExpression = aws.String("#hk")
	case keysOnly:
		names["#rk"] = rangeKey
		in.ProjectionExpression = aws.String("#hk, #rk")
	}
	return s.queryItems(ctx, in)
}

// decodeAll decodes items of table into its record type T (*T must be the table's record,
// e.g. T = actingweb.Trust for TableTrusts).
func decodeAll[T any](table actingweb.Table, items []item) ([]*T, error) {
	out := make([]*T, 0, len(items))
	for _, it := range items {
		r, err := decodeRecord(table, it)
		if err != nil {
			return nil, err
		}
		out = append(out, any(r).(*T))
	}
	return out, nil
}

// getOne reads the record of table with key (consistent GetItem) as T for operation op:
// ErrNotFound when absent, SDK and decode errors wrapped by ddbErr.
func getOne[T any](ctx context.Context, s *Store, op string, table actingweb.Table, key item) (T, error) {
	var zero T
	r, err := s.getRecord(ctx, table, key)
	if err != nil {
		return zero, ddbErr(op, err)
	}
	if r == nil {
		return zero, notFound(op)
	}
	return *any(r).(*T), nil
}

// listPartition returns every record of the partition id = actorID of table as T, in range
// key order (consistent Query); empty (non-nil) when actorID is empty or nothing is stored.
// Errors name the operation "list <what> of <actorID>".
func listPartition[T any](ctx context.Context, s *Store, table actingweb.Table, what, actorID string) ([]T, error) {
	out := []T{}
	if actorID == "" {
		return out, nil
	}
	op := "list " + what + " of " + actorID
	items, err := s.queryPartition(ctx, table, actorID, "", nil, false)
	if err != nil {
		return nil, ddbErr(op, err)
	}
	recs, err := decodeAll[T](table, items)
	if err != nil {
		return nil, ddbErr(op+": decode", err)
	}
	for _, r := range recs {
		out = append(out, *r)
	}
	return out, nil
}

// putNew encodes r and writes it with PutItem conditioned on attribute_not_exists of the
// hash key: false (and nil error) when an item with that key already exists; errors wrapped by
// ddbErr(op, ...).
func (s *Store) putNew(ctx context.Context, op string, r actingweb.Record) (bool, error) {
	it, err := encodeRecord(r)
	if err != nil {
		return false, ddbErr(op, err)
	}
	hash, _ := keySchema(r.Table())
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.TableName(r.Table())),
		Item:                     it,
		ConditionExpression:      aws.String("attribute_not_exists(#k)"),
		ExpressionAttributeNames: map[string]string{"#k": hash},
	})
	return conditional(op, err)
}

// conditional is the outcome of a conditional write of operation op: (false, nil) when its
// condition failed, (false, ddbErr(op, err)) on another error, (true, nil) when applied.
func conditional(op string, err error) (bool, error) {
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, ddbErr(op, err)
	}
	return true, nil
}

// createNew is putNew for the Create* operations: ErrExists when the key exists, every error
// wrapped by ddbErr(op, ...).
func (s *Store) createNew(ctx context.Context, op string, r actingweb.Record) error {
	created, err := s.putNew(ctx, op, r)
	if err != nil {
		return err
	}
	if !created {
		return ddbErr(op, actingweb.ErrExists)
	}
	return nil
}

// deleteKeys deletes the items of table with the primary keys of keys (items holding at least
// the key attributes; BatchWriteItem, 25 per request, unprocessed items retried by batchWrite).
// Duplicate keys are removed first (DynamoDB refuses a batch that names one key twice).
func (s *Store) deleteKeys(ctx context.Context, table actingweb.Table, keys []item) error {
	if len(keys) == 0 {
		return nil
	}
	hashKey, rangeKey := keySchema(table)
	seen := make(map[string]bool, len(keys))
	reqs := make([]types.WriteRequest, 0, len(keys))
	for _, k := range keys {
		key := item{hashKey: k[hashKey]}
		id := attrString(k[hashKey])
		if rangeKey != "" {
			key[rangeKey] = k[rangeKey]
			id += "\x00" + attrString(k[rangeKey])
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key}})
	}
	return s.batchWrite(ctx, s.TableName(table), reqs)
}

// deleteItem deletes the item of table with key (unconditional DeleteItem: deleting a missing
// item succeeds); an error is wrapped by ddbErr(op, ...).
func (s *Store) deleteItem(ctx context.Context, op string, table actingweb.Table, key item) error {
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.TableName(table)),
		Key:       key,
	})
	if err != nil {
		return ddbErr(op, err)
	}
	return nil
}

// attrString returns the text of an S attribute ("" for anything else).
func attrString(av types.AttributeValue) string {
	if s, ok := av.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// update builds an UpdateExpression from SET and REMOVE clauses with generated placeholders.
type update struct {
	sets, removes []string
	names         map[string]string
	values        map[string]types.AttributeValue
}

func newUpdate() *update {
	return &update{names: map[string]string{}, values: map[string]types.AttributeValue{}}
}

func (u *update) name(attr string) string {
	ph := fmt.Sprintf("#u%d", len(u.names))
	u.names[ph] = attr
	return ph
}

func (u *update) value(v types.AttributeValue) string {
	ph := fmt.Sprintf(":u%d", len(u.values))
	u.values[ph] = v
	return ph
}

// set adds "attr = v".
func (u *update) set(attr string, v types.AttributeValue) {
	u.sets = append(u.sets, u.name(attr)+" = "+u.value(v))
}

// setIfNotExists adds "attr = if_not_exists(attr, v)": the stored value wins.
func (u *update) setIfNotExists(attr string, v types.AttributeValue) {
	n := u.name(attr)
	u.sets = append(u.sets, n+" = if_not_exists("+n+", "+u.value(v)+")")
}

// remove adds "REMOVE attr".
func (u *update) remove(attr string) { u.removes = append(u.removes, u.name(attr)) }

func (u *update) empty() bool { return len(u.sets) == 0 && len(u.removes) == 0 }

func (u *update) expression() string {
	var clauses []string
	if len(u.sets) > 0 {
		clauses = append(clauses, "SET "+strings.Join(u.sets, ", "))
	}
	if len(u.removes) > 0 {
		clauses = append(clauses, "REMOVE "+strings.Join(u.removes, ", "))
	}
	return strings.Join(clauses, " ")
}

// applyUpdate runs u on the item with key, conditioned on the item existing (its hash key
// present): ErrNotFound when it does not. An empty update only checks existence.
func (s *Store) applyUpdate(ctx context.Context, op string, table actingweb.Table, key item, u *update) error {
	hashKey, _ := keySchema(table)
	if u.empty() {
		it, err := s.getItem(ctx, table, key, hashKey)
		if err != nil {
			return ddbErr(op, err)
		}
		if it == nil {
			return notFound(op)
		}
		return nil
	}
	cond := "attribute_exists(" + u.name(hashKey) + ")"
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.TableName(table)),
		Key:                       key,
		UpdateExpression:          aws.String(u.expression()),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  u.names,
		ExpressionAttributeValues: nilIfEmpty(u.values),
	})
	if isConditionFailed(err) {
		return notFound(op)
	}
	if err != nil {
		return ddbErr(op, err)
	}
	return nil
}

// nilIfEmpty avoids sending an empty ExpressionAttributeValues map, which DynamoDB refuses.
func nilIfEmpty(m map[string]types.AttributeValue) map[string]types.AttributeValue {
	if len(m) == 0 {
		return nil
	}
	return m
}

// isNotFound reports whether err wraps ErrNotFound.
func isNotFound(err error) bool { return errors.Is(err, actingweb.ErrNotFound) }

// deletePartition deletes every item of owner (the hash key) in table (key-only consistent
// Query, then BatchWriteItem).
func (s *Store) deletePartition(ctx context.Context, table actingweb.Table, owner string) error {
	op := fmt.Sprintf("delete all %s of %s", table, owner)
	if owner == "" {
		return nil
	}
	keys, err := s.queryPartition(ctx, table, owner, "", nil, true)
	if err != nil {
		return ddbErr(op, err)
	}
	if err := s.deleteKeys(ctx, table, keys); err != nil {
		return ddbErr(op, err)
	}
	return nil
}
