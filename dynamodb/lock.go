package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ControlSuffix is the suffix of the store's bookkeeping table, <prefix>_actingweb_go_control:
// not one of upstream's nine, created on first use (on-demand billing, partition key id of type
// S). It holds the migration locks (Lock), one item per lock name.
const ControlSuffix = "actingweb_go_control"

// LeaseDuration is how long a lock item is valid without renewal; a held lock is renewed every
// LeaseDuration/3.
const LeaseDuration = 30 * time.Second

// ControlTable is the physical name of the bookkeeping table.
func (s *Store) ControlTable() string { return s.prefix + "_" + ControlSuffix }

// Identity names the tables the store works on (migrate.Identifier): the endpoint ("AWS"
// without one), region, prefix, and the creation time of each of the nine tables ("absent"
// for a missing one), which changes when a table is deleted and created again.
func (s *Store) Identity(ctx context.Context) (map[string]string, error) {
	ep := s.cfg.Endpoint
	if ep == "" {
		ep = "AWS"
	}
	id := map[string]string{"dynamodb endpoint": ep, "dynamodb region": s.cfg.Region, "dynamodb prefix": s.prefix}
	for _, t := range actingweb.Tables {
		name := s.TableName(t)
		out, err := s.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		switch {
		case isResourceNotFound(err):
			id["dynamodb table "+name+" created"] = "absent"
		case err != nil:
			return nil, fmt.Errorf("dynamodb: identify %s: describe %s: %w", s.Describe(), name, err)
		case out.Table.CreationDateTime != nil:
			id["dynamodb table "+name+" created"] = out.Table.CreationDateTime.UTC().Format(time.RFC3339Nano)
		}
	}
	return id, nil
}

// ensureControlTable creates the bookkeeping table when it does not exist and waits until it
// is active.
func (s *Store) ensureControlTable(ctx context.Context) error {
	name := s.ControlTable()
	_, err := s.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err == nil {
		return nil
	}
	if !isResourceNotFound(err) {
		return fmt.Errorf("dynamodb: describe %s: %w", name, err)
	}
	_, err = s.client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) { // in use: another run created it just now
		return fmt.Errorf("dynamodb: create the bookkeeping table %s: %w (the migration's locks live there; allow dynamodb:CreateTable, or create it: partition key id, type S)", name, err)
	}
	w := dynamodb.NewTableExistsWaiter(s.client)
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 5*time.Minute); err != nil {
		return fmt.Errorf("dynamodb: wait for %s to become active: %w", name, err)
	}
	return nil
}

// Lock takes the lock name (bulk.Locker) as a lease item in the bookkeeping table: a
// conditional put that succeeds when no item exists, when the item's lease expired, or when
// the item names the same runID (a resume of a run killed with SIGKILL takes its lease over
// at once). The lease lasts LeaseDuration and is renewed every LeaseDuration/3 by a
// conditional update on the run id; when a renewal finds the item taken over, or cannot
// reach DynamoDB until the lease ran out, Lost is closed. Release deletes the item.
func (s *Store) Lock(ctx context.Context, name, holder, runID string) (bulk.Lock, error) {
	if err := s.ensureControlTable(ctx); err != nil {
		return nil, err
	}
	table := s.ControlTable()
	key := "lock/" + name
	now := time.Now()
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(table),
		Item: map[string]types.AttributeValue{
			"id":         &types.AttributeValueMemberS{Value: key},
			"holder":     &types.AttributeValueMemberS{Value: holder},
			"run_id":     &types.AttributeValueMemberS{Value: runID},
			"expires_at": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(LeaseDuration).UnixMilli(), 10)},
		},
		ConditionExpression: aws.String("attribute_not_exists(id) OR expires_at < :now OR run_id = :run"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.UnixMilli(), 10)},
			":run": &types.AttributeValueMemberS{Value: runID},
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		who, left := "another run", ""
		out, gerr := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: key}}})
		if gerr == nil && out.Item != nil {
			if h, ok := out.Item["holder"].(*types.AttributeValueMemberS); ok {
				who = h.Value
			}
			if e, ok := out.Item["expires_at"].(*types.AttributeValueMemberN); ok {
				if ms, err := strconv.ParseInt(e.Value, 10, 64); err == nil {
					left = fmt.Sprintf(" (its lease runs out in %s unless renewed)", time.Until(time.UnixMilli(ms)).Round(time.Second))
				}
			}
		}
		return nil, fmt.Errorf("dynamodb: %s: %w: lock %q is held by %s%s; wait for that run to finish or stop it",
			s.Describe(), actingweb.ErrLocked, name, who, left)
	}
	if err != nil {
		return nil, fmt.Errorf("dynamodb: lock %q in %s: %w", name, table, err)
	}
	l := &ddbLock{s: s, table: table, key: key, runID: runID, expires: now.Add(LeaseDuration),
		lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go l.renew()
	return l, nil
}

// ddbLock is a held lease.
type ddbLock struct {
	s            *Store
	table, key   string
	runID        string
	expires      time.Time
	lost         chan struct{}
	stop         chan struct{}
	done         chan struct{}
	err          error
	once         sync.Once
	releaseError error
}

func (l *ddbLock) keyAV() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: l.key}}
}

func (l *ddbLock) renew() {
	defer close(l.done)
	t := time.NewTicker(LeaseDuration / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), LeaseDuration/3)
		next := time.Now().Add(LeaseDuration)
		_, err := l.s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(l.table), Key: l.keyAV(),
			UpdateExpression:    aws.String("SET expires_at = :exp"),
			ConditionExpression: aws.String("run_id = :run"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":exp": &types.AttributeValueMemberN{Value: strconv.FormatInt(next.UnixMilli(), 10)},
				":run": &types.AttributeValueMemberS{Value: l.runID},
			},
		})
		cancel()
		var ccf *types.ConditionalCheckFailedException
		switch {
		case err == nil:
			l.expires = next
			continue
		case errors.As(err, &ccf):
			l.err = fmt.Errorf("dynamodb: the run's lease %q in %s was taken over by another run", l.key, l.table)
		case time.Now().After(l.expires):
			l.err = fmt.Errorf("dynamodb: the run's lease %q in %s ran out: it could not be renewed: %w", l.key, l.table, err)
		default:
			continue // try again at the next tick, while the lease lasts
		}
		close(l.lost)
		return
	}
}

func (l *ddbLock) Lost() <-chan struct{} { return l.lost }

func (l *ddbLock) Err() error {
	select {
	case <-l.lost:
		return l.err
	default:
		return nil
	}
}

// Release stops the renewal and deletes the lease item if it is still this run's.
func (l *ddbLock) Release(ctx context.Context) error {
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		_, err := l.s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: aws.String(l.table), Key: l.keyAV(),
			ConditionExpression:       aws.String("run_id = :run"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":run": &types.AttributeValueMemberS{Value: l.runID}},
		})
		var ccf *types.ConditionalCheckFailedException
		if err != nil && !errors.As(err, &ccf) {
			l.releaseError = fmt.Errorf("dynamodb: release lock %q in %s: %w (it runs out by itself within %s)", l.key, l.table, err, LeaseDuration)
		}
	})
	return l.releaseError
}
