package dynamodb

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	actingweb "github.com/actingweb/actingweb-go"
)

// Paged lists (store.go: ListActorsPage, ListDiffsPage, GetBucketPage): Query or Scan with
// Limit and ExclusiveStartKey, reading limit+1 matching items so that next is "" (0) exactly
// at the end.

// collectPage runs call (one Query or Scan from start) until want items passed keep or the
// results end, and returns them.
func collectPage(ctx context.Context, want int, start item, keep func(item) bool,
	call func(ctx context.Context, start item, limit int32) (items []item, last item, err error)) ([]item, error) {
	var out []item
	for len(out) < want {
		items, last, err := call(ctx, start, int32(want-len(out)))
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if keep == nil || keep(it) {
				out = append(out, it)
			}
		}
		if len(last) == 0 {
			break
		}
		start = last
	}
	return out, nil
}

// queryCall is collectPage's call for a Query in.
func (s *Store) queryCall(in dynamodb.QueryInput) func(context.Context, item, int32) ([]item, item, error) {
	return func(ctx context.Context, start item, limit int32) ([]item, item, error) {
		in := in
		in.ExclusiveStartKey, in.Limit = start, aws.Int32(limit)
		out, err := s.client.Query(ctx, &in)
		if err != nil {
			return nil, nil, err
		}
		return out.Items, out.LastEvaluatedKey, nil
	}
}

// ListActorsPage returns at most limit actors after the actor whose id is after in the scan
// order of the actors table (a consistent Scan resumed at ExclusiveStartKey {id: after}; not
// by id), without passphrases, and the next cursor.
func (s *Store) ListActorsPage(ctx context.Context, after string, limit int) ([]actingweb.Actor, string, error) {
	op := fmt.Sprintf("list actors after %q", after)
	if limit < 1 {
		return nil, "", invalid(op, fmt.Sprintf("page limit %d: want 1 or more", limit))
	}
	var start item
	if after != "" {
		start = keyOf(&actingweb.Actor{ID: after})
	}
	in := dynamodb.ScanInput{TableName: aws.String(s.TableName(actingweb.TableActors)), ConsistentRead: aws.Bool(true)}
	items, err := collectPage(ctx, limit+1, start, nil, func(ctx context.Context, start item, n int32) ([]item, item, error) {
		in := in
		in.ExclusiveStartKey, in.Limit = start, aws.Int32(n)
		out, err := s.client.Scan(ctx, &in)
		if err != nil {
			return nil, nil, err
		}
		return out.Items, out.LastEvaluatedKey, nil
	})
	if err != nil {
		return nil, "", ddbErr(op, err)
	}
	recs, err := decodeAll[actingweb.Actor](actingweb.TableActors, items)
	if err != nil {
		return nil, "", ddbErr(op+": decode", err)
	}
	out := make([]actingweb.Actor, 0, len(recs))
	for _, a := range recs {
		a.Passphrase = ""
		out = append(out, *a)
	}
	if len(out) > limit {
		return out[:limit], out[limit-1].ID, nil
	}
	return out, "", nil
}

// maxSeqnrDigits is the number of digits of the greatest int64.
const maxSeqnrDigits = 19

// ListDiffsPage returns at most limit diffs of subscription subID with seqnr > after, by
// numeric seqnr, and the next cursor. The range key subid_seqnr ("<subid>:<seqnr>", §3) sorts
// as a string, in which seqnrs of the same number of digits are in numeric order: the page
// is read as one key range per number of digits, from those of after+1 up.
func (s *Store) ListDiffsPage(ctx context.Context, actorID, subID string, after int64, limit int) ([]actingweb.SubscriptionDiff, int64, error) {
	op := fmt.Sprintf("list diffs %s/%s after %d", actorID, subID, after)
	if limit < 1 {
		return nil, 0, invalid(op, fmt.Sprintf("page limit %d: want 1 or more", limit))
	}
	out := []actingweb.SubscriptionDiff{}
	if actorID == "" || subID == "" {
		return out, 0, nil
	}
	hk, rk := keySchema(actingweb.TableSubscriptionDiffs)
	from := strconv.FormatInt(max(after, -1)+1, 10)
	for digits := len(from); digits <= maxSeqnrDigits && len(out) <= limit; digits++ {
		lo := from
		if digits > len(from) {
			lo = "1" + strings.Repeat("0", digits-1)
		}
		in := dynamodb.QueryInput{
			TableName:                 aws.String(s.TableName(actingweb.TableSubscriptionDiffs)),
			KeyConditionExpression:    aws.String("#hk = :hk AND #rk BETWEEN :lo AND :hi"),
			ExpressionAttributeNames:  map[string]string{"#hk": hk, "#rk": rk},
			ExpressionAttributeValues: map[string]types.AttributeValue{":hk": avS(actorID), ":lo": avS(subID + ":" + lo), ":hi": avS(subID + ":" + strings.Repeat("9", digits))},
			ConsistentRead:            aws.Bool(true),
		}
		// Other subscriptions' keys may fall in the range (a subid "s:1" has keys "s:1:<n>"):
		// only keys of subID and a seqnr of this many digits count.
		prefix := subID + ":"
		keep := func(it item) bool {
			k := attrString(it[rk])
			n := strings.TrimPrefix(k, prefix)
			return len(n) == digits && attrString(it["subid"]) == subID && strings.Trim(n, "0123456789") == ""
		}
		items, err := collectPage(ctx, limit+1-len(out), nil, keep, s.queryCall(in))
		if err != nil {
			return nil, 0, ddbErr(op, err)
		}
		recs, err := decodeAll[actingweb.SubscriptionDiff](actingweb.TableSubscriptionDiffs, items)
		if err != nil {
			return nil, 0, ddbErr(op+": decode", err)
		}
		for _, d := range recs {
			out = append(out, *d)
		}
	}
	if len(out) > limit {
		return out[:limit], out[limit-1].Seqnr, nil
	}
	return out, 0, nil
}

// GetBucketPage returns at most limit attributes of the bucket with name > after in byte
// order (the range key bucket_name = "<bucket>:<name>" sorts by its UTF-8 bytes), and the
// next cursor.
func (s *Store) GetBucketPage(ctx context.Context, ownerID, bucket, after string, limit int) ([]actingweb.Attribute, string, error) {
	op := fmt.Sprintf("get bucket %s/%s after %q", ownerID, bucket, after)
	if limit < 1 {
		return nil, "", invalid(op, fmt.Sprintf("page limit %d: want 1 or more", limit))
	}
	out := []actingweb.Attribute{}
	if ownerID == "" || bucket == "" {
		return out, "", nil
	}
	var start item
	if after != "" {
		start = keyOf(&actingweb.Attribute{ID: ownerID, BucketName: bucket + ":" + after})
	}
	hk, rk := keySchema(actingweb.TableAttributes)
	in := dynamodb.QueryInput{
		TableName:                 aws.String(s.TableName(actingweb.TableAttributes)),
		KeyConditionExpression:    aws.String("#hk = :hk AND begins_with(#rk, :p)"),
		ExpressionAttributeNames:  map[string]string{"#hk": hk, "#rk": rk},
		ExpressionAttributeValues: map[string]types.AttributeValue{":hk": avS(ownerID), ":p": avS(bucket + ":")},
		ConsistentRead:            aws.Bool(true),
	}
	// Keys of a bucket "<bucket>:x" share the prefix: only the bucket's own rows count.
	keep := func(it item) bool { return attrString(it["bucket"]) == bucket }
	items, err := collectPage(ctx, limit+1, start, keep, s.queryCall(in))
	if err != nil {
		return nil, "", ddbErr(op, err)
	}
	recs, err := decodeAll[actingweb.Attribute](actingweb.TableAttributes, items)
	if err != nil {
		return nil, "", ddbErr(op+": decode", err)
	}
	for _, a := range recs {
		out = append(out, *a)
	}
	if len(out) > limit {
		return out[:limit], out[limit-1].Name, nil
	}
	return out, "", nil
}
