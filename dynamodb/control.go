package dynamodb

// control.go: named values in the store's bookkeeping table (actingweb.ControlStore), beside
// the migration locks (lock.go). The table is created on first write (ensureControlTable),
// never by UpgradeSchema.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	actingweb "github.com/actingweb/actingweb-go"
)

var (
	_ actingweb.ControlStore  = (*Store)(nil)
	_ actingweb.ControlLister = (*Store)(nil)
)

// controlItemKey is the bookkeeping item of control key key (locks use "lock/<name>").
func controlItemKey(key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "control/" + key}}
}

// ReadControl returns the value and version of key (actingweb.ControlStore), read strongly
// consistent; an absent key, or an absent bookkeeping table, reads as ("", 0, nil).
func (s *Store) ReadControl(ctx context.Context, key string) (string, int64, error) {
	table := s.ControlTable()
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: controlItemKey(key), ConsistentRead: aws.Bool(true)})
	if isResourceNotFound(err) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("dynamodb: read control key %q from %s: %w", key, table, err)
	}
	if len(out.Item) == 0 {
		return "", 0, nil
	}
	v, ok1 := out.Item["value"].(*types.AttributeValueMemberS)
	n, ok2 := out.Item["version"].(*types.AttributeValueMemberN)
	if !ok1 || !ok2 {
		return "", 0, fmt.Errorf("dynamodb: read control key %q from %s: %w: the item lacks value (S) or version (N)", key, table, actingweb.ErrInvalid)
	}
	version, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("dynamodb: read control key %q from %s: %w: version %q", key, table, actingweb.ErrInvalid, n.Value)
	}
	return v.Value, version, nil
}

// WriteControl stores value under key if its version is expectVersion (0: absent), as version
// expectVersion+1, by a conditional put (actingweb.ControlStore); another version fails with
// an error wrapping actingweb.ErrConflict. The bookkeeping table is created when missing.
func (s *Store) WriteControl(ctx context.Context, key, value string, expectVersion int64) error {
	if expectVersion < 0 {
		return fmt.Errorf("dynamodb: write control key %q: %w: expected version %d < 0", key, actingweb.ErrInvalid, expectVersion)
	}
	if err := s.ensureControlTable(ctx); err != nil {
		return err
	}
	table := s.ControlTable()
	item := controlItemKey(key)
	item["value"] = &types.AttributeValueMemberS{Value: value}
	item["version"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(expectVersion+1, 10)}
	in := &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}
	if expectVersion == 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(id)")
	} else {
		in.ConditionExpression = aws.String("version = :v")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(expectVersion, 10)}}
	}
	_, err := s.client.PutItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("dynamodb: write control key %q to %s: %w: it is no longer at version %d; read it again",
			key, table, actingweb.ErrConflict, expectVersion)
	}
	if err != nil {
		return fmt.Errorf("dynamodb: write control key %q to %s: %w", key, table, err)
	}
	return nil
}

// ListControl returns up to limit values whose key starts with prefix, in key order
// (actingweb.ControlLister; limit <= 0: all), read by a strongly consistent scan of the
// bookkeeping table (it is small: the control values and the migration locks); an absent
// table lists nothing.
func (s *Store) ListControl(ctx context.Context, prefix string, limit int) ([]actingweb.ControlEntry, error) {
	table := s.ControlTable()
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(table),
		ConsistentRead:            aws.Bool(true),
		FilterExpression:          aws.String("begins_with(id, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "control/" + prefix}},
	}
	var out []actingweb.ControlEntry
	p := dynamodb.NewScanPaginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if isResourceNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("dynamodb: list control keys %q... in %s: %w", prefix, table, err)
		}
		for _, item := range page.Items {
			id, ok0 := item["id"].(*types.AttributeValueMemberS)
			v, ok1 := item["value"].(*types.AttributeValueMemberS)
			n, ok2 := item["version"].(*types.AttributeValueMemberN)
			if !ok0 || !ok1 || !ok2 {
				return nil, fmt.Errorf("dynamodb: list control keys %q... in %s: %w: an item lacks id (S), value (S) or version (N)", prefix, table, actingweb.ErrInvalid)
			}
			version, err := strconv.ParseInt(n.Value, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("dynamodb: list control keys in %s: %w: version %q", table, actingweb.ErrInvalid, n.Value)
			}
			out = append(out, actingweb.ControlEntry{Key: strings.TrimPrefix(id.Value, "control/"), Value: v.Value, Version: version})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// DeleteControl removes key if its version is version (0: any version), by a conditional delete
// (actingweb.ControlLister); an absent key or table is no error, another version fails with an
// error wrapping actingweb.ErrConflict.
func (s *Store) DeleteControl(ctx context.Context, key string, version int64) error {
	table := s.ControlTable()
	in := &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: controlItemKey(key)}
	if version > 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(id) OR version = :v")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(version, 10)}}
	}
	_, err := s.client.DeleteItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return fmt.Errorf("dynamodb: delete control key %q from %s: %w: it is no longer at version %d", key, table, actingweb.ErrConflict, version)
	case isResourceNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("dynamodb: delete control key %q from %s: %w", key, table, err)
	}
	return nil
}

// LookupConfig returns the reverse-lookup configuration the store applies on property writes
// (dualwrite uses it to know which property writes change lookup rows).
func (s *Store) LookupConfig() actingweb.LookupConfig { return s.lookup }
