package dynamodb

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	actingweb "github.com/actingweb/actingweb-go"
)

func suspKey(actorID, target, subtarget string) item {
	return keyOf(&actingweb.SubscriptionSuspension{ID: actorID, Target: target, Subtarget: subtarget})
}

func suspOp(verb, actorID, target, subtarget string) string {
	return fmt.Sprintf("%s suspension %s/%s/%s", verb, actorID, target, subtarget)
}

// suspensionMatches reports whether a stored suspension item is exactly (target,
// subtarget): target_key alone is ambiguous when target contains ':' (§5.1), so the separate
// target and subtarget attributes are compared (an absent subtarget equals "").
func suspensionMatches(it item, target, subtarget string) bool {
	return it != nil && attrString(it["target"]) == target && attrString(it["subtarget"]) == subtarget
}

// IsSuspended reports, without subtarget, whether the whole target is suspended; with one,
// whether the target or that exact subtarget is (§6.10). Consistent GetItems of the exact
// keys target and target:subtarget (never a prefix query), each checked against the stored
// target/subtarget fields.
func (s *Store) IsSuspended(ctx context.Context, actorID, target, subtarget string) (bool, error) {
	op := suspOp("check", actorID, target, subtarget)
	if actorID == "" || target == "" {
		return false, nil
	}
	it, err := s.getItem(ctx, actingweb.TableSubscriptionSuspensions, suspKey(actorID, target, ""), "target", "subtarget")
	if err != nil {
		return false, ddbErr(op, err)
	}
	if suspensionMatches(it, target, "") {
		return true, nil
	}
	if subtarget == "" {
		return false, nil
	}
	it, err = s.getItem(ctx, actingweb.TableSubscriptionSuspensions, suspKey(actorID, target, subtarget), "target", "subtarget")
	if err != nil {
		return false, ddbErr(op, err)
	}
	return suspensionMatches(it, target, subtarget), nil
}

// Suspend records a suspension now with PutItem conditioned on attribute_not_exists(id):
// false if that key already existed (including a colliding key of another target/subtarget
// pair, which DynamoDB cannot hold side by side, §5.1). ErrInvalid for an empty target.
func (s *Store) Suspend(ctx context.Context, actorID, target, subtarget string) (bool, error) {
	op := suspOp("suspend", actorID, target, subtarget)
	if actorID == "" || target == "" {
		return false, invalid(op, "empty actor id or target")
	}
	return s.putNew(ctx, op, &actingweb.SubscriptionSuspension{
		ID: actorID, Target: target, Subtarget: subtarget, SuspendedAt: actingweb.NormalizeTime(time.Now()),
	})
}

// Resume removes that exact suspension: a DeleteItem conditioned on the stored target and
// subtarget matching (so a colliding key of another pair is left alone), returning the old
// item. false if there was none.
func (s *Store) Resume(ctx context.Context, actorID, target, subtarget string) (bool, error) {
	op := suspOp("resume", actorID, target, subtarget)
	if actorID == "" || target == "" {
		return false, nil
	}
	cond := "#t = :t AND (attribute_not_exists(#s) OR #s = :s)"
	if subtarget != "" {
		cond = "#t = :t AND #s = :s"
	}
	out, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                aws.String(s.TableName(actingweb.TableSubscriptionSuspensions)),
		Key:                      suspKey(actorID, target, subtarget),
		ConditionExpression:      aws.String(cond),
		ExpressionAttributeNames: map[string]string{"#t": "target", "#s": "subtarget"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":t": avS(target), ":s": avS(subtarget),
		},
		ReturnValues: types.ReturnValueAllOld,
	})
	ok, err := conditional(op, err)
	return ok && len(out.Attributes) > 0, err
}

// ListSuspensions returns the actor's suspensions ordered by target, then subtarget
// (consistent Query). Empty slice when none.
func (s *Store) ListSuspensions(ctx context.Context, actorID string) ([]actingweb.SubscriptionSuspension, error) {
	out, err := listPartition[actingweb.SubscriptionSuspension](ctx, s, actingweb.TableSubscriptionSuspensions, "suspensions", actorID)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Target != out[j].Target {
			return out[i].Target < out[j].Target
		}
		return out[i].Subtarget < out[j].Subtarget
	})
	return out, nil
}

// DeleteAllSuspensions deletes every suspension of the actor (part of actor deletion, §8.1).
func (s *Store) DeleteAllSuspensions(ctx context.Context, actorID string) error {
	return s.deletePartition(ctx, actingweb.TableSubscriptionSuspensions, actorID)
}
