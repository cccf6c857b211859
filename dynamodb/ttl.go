package dynamodb

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	actingweb "github.com/actingweb/actingweb-go"
)

// TTLAttribute is the expiry attribute of the attributes table, epoch seconds (§3.7), which
// DynamoDB's TTL must be enabled on for expired attributes to be deleted.
const TTLAttribute = ttlAttribute

// TTLState is the TTL setting of the attributes table as DescribeTimeToLive reports it.
type TTLState struct {
	// Table is the attributes table's name, <prefix>_attributes.
	Table string
	// Status is DynamoDB's TimeToLiveStatus: ENABLED, ENABLING, DISABLED or DISABLING.
	Status string
	// Attribute is the attribute TTL is set on ("" when DynamoDB names none, as when disabled).
	Attribute string
}

// On reports whether DynamoDB deletes expired attributes: TTL enabled (or being enabled) on
// ttl_timestamp.
func (st TTLState) On() bool {
	return (st.Status == string(types.TimeToLiveStatusEnabled) || st.Status == string(types.TimeToLiveStatusEnabling)) &&
		st.Attribute == ttlAttribute
}

// String describes the state in one line.
func (st TTLState) String() string {
	switch {
	case st.On():
		return fmt.Sprintf("TTL on %s.%s: %s (DynamoDB deletes expired attributes, usually within 48 hours)", st.Table, st.Attribute, st.Status)
	case st.Attribute != "" && st.Attribute != ttlAttribute:
		return fmt.Sprintf("TTL on %s: %s on attribute %q, not %s (expired attributes are not deleted)", st.Table, st.Status, st.Attribute, ttlAttribute)
	}
	return fmt.Sprintf("TTL on %s.%s: %s (expired attributes are never deleted)", st.Table, ttlAttribute, st.Status)
}

// TTL returns the TTL setting of the attributes table (DescribeTimeToLive).
func (s *Store) TTL(ctx context.Context) (TTLState, error) {
	name := s.TableName(actingweb.TableAttributes)
	out, err := s.client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		if isResourceNotFound(err) {
			return TTLState{}, fmt.Errorf("%w: dynamodb: table %s does not exist; run `actingweb schema upgrade --to %s`",
				actingweb.ErrSchema, name, s.upgradeURL())
		}
		return TTLState{}, fmt.Errorf("dynamodb: describe TTL of %s: %w", name, err)
	}
	st := TTLState{Table: name, Status: string(types.TimeToLiveStatusDisabled)}
	if d := out.TimeToLiveDescription; d != nil {
		if d.TimeToLiveStatus != "" {
			st.Status = string(d.TimeToLiveStatus)
		}
		st.Attribute = aws.ToString(d.AttributeName)
	}
	return st, nil
}

// EnableTTL enables TTL on the attributes table's ttl_timestamp (UpdateTimeToLive) unless it
// is already on, and returns the state afterwards and whether this call changed it. TTL on
// another attribute, or a change still under way (DISABLING), is an error: DynamoDB keeps one
// TTL attribute per table and refuses a change while one is in progress (up to an hour).
func (s *Store) EnableTTL(ctx context.Context) (TTLState, bool, error) {
	st, err := s.TTL(ctx)
	if err != nil || st.On() {
		return st, false, err
	}
	if st.Attribute != "" && st.Attribute != ttlAttribute {
		return st, false, fmt.Errorf("dynamodb: %s; disable it first (aws dynamodb update-time-to-live --table-name %s "+
			"--time-to-live-specification Enabled=false,AttributeName=%s), then enable it on %s",
			st, st.Table, st.Attribute, ttlAttribute)
	}
	if st.Status == string(types.TimeToLiveStatusDisabling) {
		return st, false, fmt.Errorf("dynamodb: %s: TTL is being disabled; DynamoDB accepts a new setting only when that has finished (up to an hour), try again then", st.Table)
	}
	out, err := s.client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(st.Table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(ttlAttribute), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return st, false, fmt.Errorf("dynamodb: enable TTL on %s.%s: %w", st.Table, ttlAttribute, err)
	}
	if out.TimeToLiveSpecification == nil || !aws.ToBool(out.TimeToLiveSpecification.Enabled) {
		return st, false, fmt.Errorf("dynamodb: enable TTL on %s.%s: DynamoDB did not confirm the change; run the command again to see the state", st.Table, ttlAttribute)
	}
	st.Attribute, st.Status = ttlAttribute, string(types.TimeToLiveStatusEnabling)
	if now, err := s.TTL(ctx); err == nil && now.On() {
		st = now // ENABLED at once on DynamoDB Local
	}
	return st, true, nil
}

// DisableTTL turns TTL off on the attributes table (UpdateTimeToLive) unless it is off
// already, and reports whether this call changed it. DynamoDB, and DynamoDB Local, then no
// longer delete expired attributes in the background: for tests and reproducible demos that
// read rows whose ttl_timestamp has passed. Reads of the application face filter expired rows
// themselves (GetAttributeStrict, §6.9), with or without TTL.
func (s *Store) DisableTTL(ctx context.Context) (bool, error) {
	st, err := s.TTL(ctx)
	if err != nil || st.Status == string(types.TimeToLiveStatusDisabled) {
		return false, err
	}
	_, err = s.client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(st.Table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(ttlAttribute), Enabled: aws.Bool(false)},
	})
	if err != nil {
		return false, fmt.Errorf("dynamodb: disable TTL on %s.%s: %w", st.Table, ttlAttribute, err)
	}
	return true, nil
}
