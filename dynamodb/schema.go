package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ttlAttribute is the expiry attribute of the attributes table (§3.7).
const ttlAttribute = "ttl_timestamp"

// tableWaitTimeout bounds the wait for a created table to become ACTIVE (or a deleted one to
// disappear).
const tableWaitTimeout = 5 * time.Minute

// gsiOf names the global secondary index of t and its hash key, or "" when t has none
// (§3.3 creator-index, §3.8 secret-index). The legacy property-index is created only on
// request (EnsureLegacyPropertyIndex).
func gsiOf(t actingweb.Table) (index, key string) {
	switch t {
	case actingweb.TableActors:
		return "creator-index", "creator"
	case actingweb.TableTrusts:
		return "secret-index", "secret"
	}
	return "", ""
}

// createTableInput is the CreateTable request PynamoDB issues for t's model in lookup-table
// mode (§3.1-§3.12): on-demand billing, S keys, GSIs with projection ALL, no LSIs.
func (s *Store) createTableInput(t actingweb.Table) *dynamodb.CreateTableInput {
	hash, rng := keySchema(t)
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(s.TableName(t)),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema:   []types.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash}},
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(hash), AttributeType: types.ScalarAttributeTypeS},
		},
	}
	if rng != "" {
		in.KeySchema = append(in.KeySchema, types.KeySchemaElement{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange})
		in.AttributeDefinitions = append(in.AttributeDefinitions,
			types.AttributeDefinition{AttributeName: aws.String(rng), AttributeType: types.ScalarAttributeTypeS})
	}
	if idx, key := gsiOf(t); idx != "" {
		in.AttributeDefinitions = append(in.AttributeDefinitions,
			types.AttributeDefinition{AttributeName: aws.String(key), AttributeType: types.ScalarAttributeTypeS})
		in.GlobalSecondaryIndexes = []types.GlobalSecondaryIndex{{
			IndexName:  aws.String(idx),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String(key), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}}
	}
	return in
}

// describe returns the table description of t, or nil when the table does not exist.
func (s *Store) describe(ctx context.Context, t actingweb.Table) (*types.TableDescription, error) {
	out, err := s.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.TableName(t))})
	if isResourceNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dynamodb: describe table %s: %w", s.TableName(t), err)
	}
	return out.Table, nil
}

// TableExists reports whether table t exists under the prefix (bulk.TableProber: a
// deployment that ran upstream's legacy mode has no property lookup table, §2.4).
func (s *Store) TableExists(ctx context.Context, t actingweb.Table) (bool, error) {
	d, err := s.describe(ctx, t)
	return d != nil, err
}

// SchemaStatus reports which of the nine required tables (§3.13, lookup mode) exist under the
// prefix, and in Notes: TTL state of the attributes table, PROVISIONED billing, tables not
// ACTIVE, missing or legacy GSIs. AtHead is true when every table exists. In legacy mode
// (LookupConfig.UseLookupTable false) the property lookup table is not required (§3.13: upstream
// never creates it there): a missing one is a note, not Missing. It changes nothing.
func (s *Store) SchemaStatus(ctx context.Context) (actingweb.SchemaStatus, error) {
	st := actingweb.SchemaStatus{Backend: "dynamodb", Location: s.prefix}
	attrsExist := false
	for _, t := range actingweb.Tables {
		name := s.TableName(t)
		d, err := s.describe(ctx, t)
		if err != nil {
			return st, err
		}
		if d == nil {
			if !s.needs(t) {
				st.Notes = append(st.Notes, fmt.Sprintf("%s does not exist: not needed in legacy mode "+
					"(USE_PROPERTY_LOOKUP_TABLE=false); `actingweb schema upgrade` in lookup mode creates it", name))
				continue
			}
			st.Missing = append(st.Missing, name)
			continue
		}
		st.Tables = append(st.Tables, name)
		if t == actingweb.TableAttributes {
			attrsExist = true
		}
		if d.TableStatus != types.TableStatusActive {
			st.Notes = append(st.Notes, fmt.Sprintf("%s is %s, not ACTIVE", name, d.TableStatus))
		}
		if d.BillingModeSummary == nil || d.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
			st.Notes = append(st.Notes, fmt.Sprintf("%s uses PROVISIONED billing (upstream's models declare PAY_PER_REQUEST; "+
				"the table is left as it is, writes may be throttled)", name))
		}
		have := map[string]bool{}
		for _, g := range d.GlobalSecondaryIndexes {
			have[aws.ToString(g.IndexName)] = true
		}
		if idx, _ := gsiOf(t); idx != "" && !have[idx] {
			st.Notes = append(st.Notes, fmt.Sprintf("%s lacks the GSI %s: lookups through it fail; recreate the table", name, idx))
		}
		if t == actingweb.TableProperties && have[LegacyPropertyIndex] {
			st.Notes = append(st.Notes, fmt.Sprintf("%s has the legacy property-index GSI (legacy-mode table; "+
				"property values are capped at 2048 bytes there)", name))
		}
		if t == actingweb.TableProperties && !have[LegacyPropertyIndex] && !s.lookup.UseLookupTable {
			st.Notes = append(st.Notes, fmt.Sprintf("%s lacks the GSI %s that legacy mode (USE_PROPERTY_LOOKUP_TABLE=false) "+
				"resolves reverse lookups through: they fail until `%s` creates it", name, LegacyPropertyIndex, s.legacyIndexFix()))
		}
	}
	if attrsExist {
		note, _, err := s.ttlState(ctx)
		if err != nil {
			return st, err
		}
		st.Notes = append(st.Notes, note)
	}
	st.AtHead = len(st.Missing) == 0
	return st, nil
}

// ttlState describes TTL on the attributes table; ok is true when it is enabled (or being
// enabled) on ttl_timestamp.
func (s *Store) ttlState(ctx context.Context) (note string, ok bool, err error) {
	name := s.TableName(actingweb.TableAttributes)
	out, err := s.client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		return "", false, fmt.Errorf("dynamodb: describe TTL of %s: %w", name, err)
	}
	d := out.TimeToLiveDescription
	if d == nil {
		return fmt.Sprintf("TTL on %s: unknown", name), false, nil
	}
	attr := aws.ToString(d.AttributeName)
	switch d.TimeToLiveStatus {
	case types.TimeToLiveStatusEnabled, types.TimeToLiveStatusEnabling:
		if attr == ttlAttribute {
			return fmt.Sprintf("TTL on %s.%s: %s", name, attr, d.TimeToLiveStatus), true, nil
		}
		return fmt.Sprintf("TTL on %s is %s on attribute %q, not %s: expired attributes are not swept",
			name, d.TimeToLiveStatus, attr, ttlAttribute), false, nil
	}
	return fmt.Sprintf("TTL on %s.%s: %s (expired attributes are never swept; `actingweb schema upgrade` enables it)",
		name, ttlAttribute, d.TimeToLiveStatus), false, nil
}

// UpgradeSchema creates the missing tables of the nine (§3.13, lookup mode: properties without
// the legacy GSI, property_lookup_v2 present) exactly as upstream's models declare them, waits
// until they are ACTIVE, and enables TTL on <prefix>_attributes.ttl_timestamp. In legacy mode
// (LookupConfig.UseLookupTable false) the property lookup table is not created, as upstream's
// legacy mode never creates it (EnsureLegacyPropertyIndex adds the GSI that mode needs).
// Existing tables are never altered otherwise (PROVISIONED billing and legacy GSIs are
// reported in Notes). Running it again is a no-op.
func (s *Store) UpgradeSchema(ctx context.Context) (actingweb.SchemaStatus, error) {
	var created []actingweb.Table
	for _, t := range actingweb.Tables {
		if !s.needs(t) {
			continue
		}
		d, err := s.describe(ctx, t)
		if err != nil {
			return actingweb.SchemaStatus{}, err
		}
		if d != nil {
			continue
		}
		_, err = s.client.CreateTable(ctx, s.createTableInput(t))
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) { // in use: created concurrently, wait below
			return actingweb.SchemaStatus{}, fmt.Errorf("dynamodb: create table %s: %w", s.TableName(t), err)
		}
		created = append(created, t)
	}
	for _, t := range actingweb.Tables {
		if !s.needs(t) {
			continue
		}
		// Wait for every table, not only the new ones: one created by a concurrent run may
		// still be CREATING.
		w := dynamodb.NewTableExistsWaiter(s.client, func(o *dynamodb.TableExistsWaiterOptions) {
			o.MinDelay = 200 * time.Millisecond
			o.MaxDelay = 5 * time.Second
		})
		if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.TableName(t))}, tableWaitTimeout); err != nil {
			return actingweb.SchemaStatus{}, fmt.Errorf("dynamodb: wait for table %s to become ACTIVE: %w", s.TableName(t), err)
		}
	}
	if err := s.enableTTL(ctx); err != nil {
		return actingweb.SchemaStatus{}, err
	}
	st, err := s.SchemaStatus(ctx)
	if err != nil {
		return st, err
	}
	for _, t := range created {
		st.Notes = append(st.Notes, "created "+s.TableName(t))
	}
	return st, nil
}

// needs reports whether the store's mode requires table t: every table but the property
// lookup table in legacy mode (§2.4, §3.13).
func (s *Store) needs(t actingweb.Table) bool {
	return t != actingweb.TablePropertyLookup || s.lookup.UseLookupTable
}

// enableTTL turns TTL on for the attributes table's ttl_timestamp unless it is already on
// (§3.1: auto-created tables have it off; an operator must enable it otherwise).
func (s *Store) enableTTL(ctx context.Context) error {
	name := s.TableName(actingweb.TableAttributes)
	out, err := s.client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("dynamodb: describe TTL of %s: %w", name, err)
	}
	if d := out.TimeToLiveDescription; d != nil {
		switch d.TimeToLiveStatus {
		case types.TimeToLiveStatusEnabled, types.TimeToLiveStatusEnabling:
			return nil // on ttl_timestamp, or on another attribute (reported by SchemaStatus)
		}
	}
	_, err = s.client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(ttlAttribute), Enabled: aws.Bool(true)},
	})
	if err != nil && !strings.Contains(strings.ToLower(err.Error()), "already enabled") {
		return fmt.Errorf("dynamodb: enable TTL on %s.%s: %w", name, ttlAttribute, err)
	}
	return nil
}

// CheckSchema returns nil when all nine tables exist under the prefix, else an error wrapping
// actingweb.ErrSchema that names the missing tables and says to run `actingweb schema upgrade`.
func (s *Store) CheckSchema(ctx context.Context) error {
	st, err := s.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	if st.AtHead {
		return nil
	}
	return fmt.Errorf("%w: dynamodb prefix %q: missing tables %s; run `actingweb schema upgrade --to %s` to create them",
		actingweb.ErrSchema, s.prefix, strings.Join(st.Missing, ", "), s.upgradeURL())
}

func (s *Store) upgradeURL() string {
	u := "dynamodb://?prefix=" + s.prefix + "&region=" + s.cfg.Region
	if s.cfg.Endpoint != "" {
		u += "&endpoint=" + s.cfg.Endpoint
	}
	return u
}

// DropTables deletes the nine tables of the prefix and its bookkeeping table (ControlTable:
// control values, migration locks, the dual-write repair journal); tests and demos use it for
// cleanup. Tables that do not exist are skipped. It waits until each deleted table is gone.
func (s *Store) DropTables(ctx context.Context) error {
	var errs []error
	names := make([]string, 0, len(actingweb.Tables)+1)
	for _, t := range actingweb.Tables {
		names = append(names, s.TableName(t))
	}
	for _, name := range append(names, s.ControlTable()) {
		_, err := s.client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		if isResourceNotFound(err) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("dynamodb: delete table %s: %w", name, err))
			continue
		}
		w := dynamodb.NewTableNotExistsWaiter(s.client, func(o *dynamodb.TableNotExistsWaiterOptions) {
			o.MinDelay = 200 * time.Millisecond
			o.MaxDelay = 5 * time.Second
		})
		if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, tableWaitTimeout); err != nil {
			errs = append(errs, fmt.Errorf("dynamodb: wait for table %s to be deleted: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
