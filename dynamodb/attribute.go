package dynamodb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	actingweb "github.com/actingweb/actingweb-go"
)

func attrKey(ownerID, bucket, name string) item {
	return keyOf(&actingweb.Attribute{ID: ownerID, BucketName: bucket + ":" + name})
}

// attrOp names an attribute operation for errors. Names in library-internal buckets ("_..."
// and "spa_...", §6.13) can be token or session identifiers and are not shown.
func attrOp(verb, ownerID, bucket, name string) string {
	if strings.HasPrefix(bucket, "_") || strings.HasPrefix(bucket, "spa_") {
		name = "<name withheld>"
	}
	return fmt.Sprintf("%s attribute %s/%s:%s", verb, ownerID, bucket, name)
}

// falsyJSON reports whether data is a Python-falsy payload: absent, null, false, "", a zero
// number, [] or {} (§6.9). Text that is not JSON is an error wrapping ErrInvalid.
func falsyJSON(data json.RawMessage) (bool, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return true, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return false, fmt.Errorf("%w: attribute payload is not JSON: %v", actingweb.ErrInvalid, err)
	}
	switch v := v.(type) {
	case nil:
		return true, nil
	case bool:
		return !v, nil
	case string:
		return v == "", nil
	case json.Number:
		f, err := strconv.ParseFloat(v.String(), 64)
		return err == nil && f == 0, nil
	case []any:
		return len(v) == 0, nil
	case map[string]any:
		return len(v) == 0, nil
	}
	return false, nil
}

// bucketItems returns the items of exactly bucket: a consistent Query
// begins_with(bucket_name, bucket + ":") plus equality on the stored bucket attribute, so
// bucket "foo" never includes "foobar" (§8.1).
func (s *Store) bucketItems(ctx context.Context, ownerID, bucket string) ([]item, error) {
	items, err := s.queryPartition(ctx, actingweb.TableAttributes, ownerID, "begins_with(#rk, :p)",
		map[string]types.AttributeValue{":p": avS(bucket + ":")}, false)
	if err != nil {
		return nil, err
	}
	out := items[:0]
	for _, it := range items {
		if attrString(it["bucket"]) == bucket {
			out = append(out, it)
		}
	}
	return out, nil
}

// GetBucket returns the bucket's attributes by name (exact bucket match, no expiry
// filtering). Empty map when none.
func (s *Store) GetBucket(ctx context.Context, ownerID, bucket string) (map[string]actingweb.Attribute, error) {
	op := fmt.Sprintf("get bucket %s/%s", ownerID, bucket)
	out := map[string]actingweb.Attribute{}
	if ownerID == "" || bucket == "" {
		return out, nil
	}
	items, err := s.bucketItems(ctx, ownerID, bucket)
	if err != nil {
		return nil, ddbErr(op, err)
	}
	recs, err := decodeAll[actingweb.Attribute](actingweb.TableAttributes, items)
	if err != nil {
		return nil, ddbErr(op+": decode", err)
	}
	for _, a := range recs {
		out[a.Name] = *a
	}
	return out, nil
}

// GetAttribute reads one attribute (consistent GetItem, no expiry filtering); ErrNotFound if
// absent.
func (s *Store) GetAttribute(ctx context.Context, ownerID, bucket, name string) (actingweb.Attribute, error) {
	op := attrOp("get", ownerID, bucket, name)
	if ownerID == "" || bucket == "" || name == "" {
		return actingweb.Attribute{}, notFound(op)
	}
	return getOne[actingweb.Attribute](ctx, s, op, actingweb.TableAttributes, attrKey(ownerID, bucket, name))
}

// GetAttributeStrict is GetAttribute with expired rows (ttl_timestamp <= now) reported as
// ErrNotFound.
func (s *Store) GetAttributeStrict(ctx context.Context, ownerID, bucket, name string) (actingweb.Attribute, error) {
	a, err := s.GetAttribute(ctx, ownerID, bucket, name)
	if err != nil {
		return a, err
	}
	if a.Expired(time.Now()) {
		return actingweb.Attribute{}, notFound(attrOp("get", ownerID, bucket, name) + " (expired)")
	}
	return a, nil
}

// SetAttribute replaces the attribute with one PutItem, data stored as Python-style JSON text
// by the codec. Falsy data deletes it (§6.9). ttl > 0 sets ttl_timestamp = now + ttl (whole
// seconds) + TTLClockSkewBuffer; ttl <= 0 makes the row permanent. ts may be nil. ErrInvalid
// for empty ids/bucket/name or data that is not JSON.
func (s *Store) SetAttribute(ctx context.Context, ownerID, bucket, name string, data json.RawMessage, ts *time.Time, ttl time.Duration) error {
	op := attrOp("set", ownerID, bucket, name)
	if ownerID == "" || bucket == "" || name == "" {
		return invalid(op, "empty owner id, bucket or name")
	}
	falsy, err := falsyJSON(data)
	if err != nil {
		return fmt.Errorf("dynamodb: %s: %w", op, err)
	}
	if falsy {
		return s.DeleteAttribute(ctx, ownerID, bucket, name)
	}
	a := actingweb.Attribute{ID: ownerID, BucketName: bucket + ":" + name, Bucket: bucket, Name: name, Data: data}
	if ts != nil {
		t := actingweb.NormalizeTime(*ts)
		a.Timestamp = &t
	}
	if ttl > 0 {
		exp := time.Now().Unix() + int64(ttl/time.Second) + actingweb.TTLClockSkewBuffer
		a.TTLTimestamp = &exp
	}
	it, err := encodeRecord(&a)
	if err != nil {
		return ddbErr(op, err)
	}
	if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.TableName(actingweb.TableAttributes)), Item: it,
	}); err != nil {
		return ddbErr(op, err)
	}
	return nil
}

// DeleteAttribute deletes the attribute (idempotent).
func (s *Store) DeleteAttribute(ctx context.Context, ownerID, bucket, name string) error {
	if ownerID == "" {
		return nil
	}
	return s.deleteItem(ctx, attrOp("delete", ownerID, bucket, name), actingweb.TableAttributes, attrKey(ownerID, bucket, name))
}

// DeleteAttributeConditional is a DeleteItem conditioned on attribute_exists(id): true only
// if this call removed an existing row (single-use consumption; of concurrent callers exactly
// one wins).
func (s *Store) DeleteAttributeConditional(ctx context.Context, ownerID, bucket, name string) (bool, error) {
	op := attrOp("conditional delete", ownerID, bucket, name)
	if ownerID == "" {
		return false, nil
	}
	out, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                aws.String(s.TableName(actingweb.TableAttributes)),
		Key:                      attrKey(ownerID, bucket, name),
		ConditionExpression:      aws.String("attribute_exists(#id)"),
		ExpressionAttributeNames: map[string]string{"#id": "id"},
		ReturnValues:             types.ReturnValueAllOld,
	})
	ok, err := conditional(op, err)
	return ok && len(out.Attributes) > 0, err
}

// canonicalOrNull is CanonicalJSON with nil/empty meaning JSON null.
func canonicalOrNull(data json.RawMessage) ([]byte, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return []byte("null"), nil
	}
	return actingweb.CanonicalJSON(data)
}

// ConditionalUpdateAttribute is compare-and-swap on the payload (§6.9): it reads the item
// consistently, compares the stored payload with oldData as JSON (CanonicalJSON on both, so
// key order and spacing are irrelevant), then runs UpdateItem SET data (and timestamp only
// when ts is given; TTL untouched) conditioned on the stored data text being unchanged. false
// when the row is missing, differs, or changed in between. newData is stored even when falsy
// (JSON null removes the data attribute, as PynamoDB writes None). ErrInvalid when oldData
// or newData is not JSON.
func (s *Store) ConditionalUpdateAttribute(ctx context.Context, ownerID, bucket, name string, oldData, newData json.RawMessage, ts *time.Time) (bool, error) {
	op := attrOp("conditional update", ownerID, bucket, name)
	if ownerID == "" || bucket == "" || name == "" {
		return false, nil
	}
	want, err := canonicalOrNull(oldData)
	if err != nil {
		return false, fmt.Errorf("dynamodb: %s: old data: %w", op, err)
	}
	key := attrKey(ownerID, bucket, name)
	it, err := s.getItem(ctx, actingweb.TableAttributes, key)
	if err != nil {
		return false, ddbErr(op, err)
	}
	if it == nil {
		return false, nil
	}
	r, err := decodeRecord(actingweb.TableAttributes, it)
	if err != nil {
		return false, ddbErr(op+": decode stored item", err)
	}
	a := r.(*actingweb.Attribute)
	got, err := canonicalOrNull(a.Data)
	if err != nil {
		return false, ddbErr(op+": stored data", err)
	}
	if !bytes.Equal(got, want) {
		return false, nil
	}
	a.Data = newData
	if len(bytes.TrimSpace(newData)) == 0 {
		a.Data = nil
	}
	if ts != nil {
		t := actingweb.NormalizeTime(*ts)
		a.Timestamp = &t
	}
	enc, err := encodeRecord(a)
	if err != nil {
		return false, fmt.Errorf("dynamodb: %s: new data: %w", op, err)
	}
	u := newUpdate()
	if v, ok := enc["data"]; ok {
		u.set("data", v)
	} else {
		u.remove("data")
	}
	if ts != nil {
		u.set("timestamp", enc["timestamp"])
	}
	idName := u.name("id")
	dataName := u.name("data")
	cond := "attribute_exists(" + idName + ") AND "
	if old, ok := it["data"]; ok {
		cond += dataName + " = " + u.value(old)
	} else {
		cond += "attribute_not_exists(" + dataName + ")"
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.TableName(actingweb.TableAttributes)),
		Key:                       key,
		UpdateExpression:          aws.String(u.expression()),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  u.names,
		ExpressionAttributeValues: nilIfEmpty(u.values),
	})
	return conditional(op, err)
}

// DeleteBucket deletes a whole bucket (exact match; Query then BatchWriteItem).
func (s *Store) DeleteBucket(ctx context.Context, ownerID, bucket string) error {
	op := fmt.Sprintf("delete bucket %s/%s", ownerID, bucket)
	if ownerID == "" || bucket == "" {
		return nil
	}
	items, err := s.bucketItems(ctx, ownerID, bucket)
	if err != nil {
		return ddbErr(op, err)
	}
	if err := s.deleteKeys(ctx, actingweb.TableAttributes, items); err != nil {
		return ddbErr(op, err)
	}
	return nil
}

// DeleteExpiredAttributes purges rows with ttl_timestamp < now (optionally only in the
// listed buckets, exact names) from every owner: a consistent, paginated Scan filtered on
// ttl_timestamp, then BatchWriteItem deletes. Upstream DynamoDB relies on native TTL; this
// makes purging explicit and equal on both backends. Returns rows deleted.
func (s *Store) DeleteExpiredAttributes(ctx context.Context, now time.Time, buckets []string) (int64, error) {
	op := "delete expired attributes"
	var want map[string]bool
	if len(buckets) > 0 {
		want = make(map[string]bool, len(buckets))
		for _, b := range buckets {
			want[b] = true
		}
	}
	p := dynamodb.NewScanPaginator(s.client, &dynamodb.ScanInput{
		TableName:                aws.String(s.TableName(actingweb.TableAttributes)),
		FilterExpression:         aws.String("#t < :now"),
		ProjectionExpression:     aws.String("#id, #bn, #b"),
		ExpressionAttributeNames: map[string]string{"#t": ttlAttribute, "#id": "id", "#bn": "bucket_name", "#b": "bucket"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": avN(now.Unix()),
		},
		ConsistentRead: aws.Bool(true),
	})
	var n int64
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return n, ddbErr(op, err)
		}
		var keys []item
		for _, it := range page.Items {
			if want == nil || want[attrString(it["bucket"])] {
				keys = append(keys, it)
			}
		}
		if err := s.deleteKeys(ctx, actingweb.TableAttributes, keys); err != nil {
			return n, ddbErr(op, err)
		}
		n += int64(len(keys))
	}
	return n, nil
}

// chainIDText is the text PostgreSQL's data->>'chain_id' yields for a payload: the string
// itself, a number's or boolean's JSON text; ok=false when the payload is no object, lacks
// chain_id, or it is null.
func chainIDText(data json.RawMessage) (string, bool) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		return "", false
	}
	raw, ok := obj["chain_id"]
	if !ok {
		return "", false
	}
	raw = bytes.TrimSpace(raw)
	var str string
	if err := json.Unmarshal(raw, &str); err == nil {
		return str, true
	}
	if string(raw) == "null" {
		return "", false
	}
	return string(raw), true
}

// DeleteAttributesByChain deletes the owner's rows in the listed buckets (exact names) whose
// payload is an object with chain_id equal to chainID (refresh-token family revocation,
// §6.9): per bucket a consistent Query, the check client-side, then BatchWriteItem deletes.
// Returns rows deleted.
func (s *Store) DeleteAttributesByChain(ctx context.Context, ownerID string, buckets []string, chainID string) (int64, error) {
	op := fmt.Sprintf("delete attributes of %s by chain", ownerID)
	if ownerID == "" || len(buckets) == 0 {
		return 0, nil
	}
	seen := map[string]bool{}
	var keys []item
	for _, b := range buckets {
		if b == "" || seen[b] {
			continue
		}
		seen[b] = true
		items, err := s.bucketItems(ctx, ownerID, b)
		if err != nil {
			return 0, ddbErr(op+" in bucket "+b, err)
		}
		for _, it := range items {
			r, err := decodeRecord(actingweb.TableAttributes, it)
			if err != nil {
				return 0, ddbErr(op+" in bucket "+b+": decode", err)
			}
			if c, ok := chainIDText(r.(*actingweb.Attribute).Data); ok && c == chainID {
				keys = append(keys, it)
			}
		}
	}
	if err := s.deleteKeys(ctx, actingweb.TableAttributes, keys); err != nil {
		return 0, ddbErr(op, err)
	}
	return int64(len(keys)), nil
}

// ownerAttributes decodes every attribute of the owner (consistent Query).
func (s *Store) ownerAttributes(ctx context.Context, ownerID string) ([]*actingweb.Attribute, error) {
	items, err := s.queryPartition(ctx, actingweb.TableAttributes, ownerID, "", nil, false)
	if err != nil {
		return nil, err
	}
	return decodeAll[actingweb.Attribute](actingweb.TableAttributes, items)
}

// ListAttributes returns every attribute of the owner: bucket -> name -> attribute. Empty
// map when none.
func (s *Store) ListAttributes(ctx context.Context, ownerID string) (map[string]map[string]actingweb.Attribute, error) {
	out := map[string]map[string]actingweb.Attribute{}
	if ownerID == "" {
		return out, nil
	}
	as, err := s.ownerAttributes(ctx, ownerID)
	if err != nil {
		return nil, ddbErr("list attributes of "+ownerID, err)
	}
	for _, a := range as {
		m := out[a.Bucket]
		if m == nil {
			m = map[string]actingweb.Attribute{}
			out[a.Bucket] = m
		}
		m[a.Name] = *a
	}
	return out, nil
}

// BucketTimestamps returns, per bucket, the greatest timestamp (§8.1: the maximum, as
// PostgreSQL); buckets without any timestamp are omitted.
func (s *Store) BucketTimestamps(ctx context.Context, ownerID string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	if ownerID == "" {
		return out, nil
	}
	as, err := s.ownerAttributes(ctx, ownerID)
	if err != nil {
		return nil, ddbErr("bucket timestamps of "+ownerID, err)
	}
	for _, a := range as {
		if a.Timestamp == nil {
			continue
		}
		if cur, ok := out[a.Bucket]; !ok || a.Timestamp.After(cur) {
			out[a.Bucket] = *a.Timestamp
		}
	}
	return out, nil
}

// DeleteAllAttributes deletes every attribute of the owner.
func (s *Store) DeleteAllAttributes(ctx context.Context, ownerID string) error {
	return s.deletePartition(ctx, actingweb.TableAttributes, ownerID)
}
