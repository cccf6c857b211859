package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	actingweb "github.com/actingweb/actingweb-go"
)

// Reverse lookups outside the v2 lookup table (§6.3, §3.4, §3.6): the legacy GSI on property
// values and the deprecated v1 lookup table.

// LegacyPropertyIndex is the GSI of legacy-mode properties tables (§3.4, model PropertyLegacy):
// hash key value (S), no range key, projection ALL.
const LegacyPropertyIndex = "property-index"

// v1LookupSuffix is the table suffix of the deprecated v1 lookup table (§3.6): hash key
// property_name, range key value (plaintext), attribute actor_id.
const v1LookupSuffix = "property_lookup"

// errNoLegacyIndex marks a query on a properties table without LegacyPropertyIndex.
var errNoLegacyIndex = errors.New("missing GSI")

// isMissingIndex reports a Query on an index the table does not have (ValidationException
// "The table does not have the specified index").
func isMissingIndex(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ValidationException" &&
		strings.Contains(strings.ToLower(ae.ErrorMessage()), "specified index")
}

// legacyIndexFix is the command that creates LegacyPropertyIndex on this store's properties
// table.
func (s *Store) legacyIndexFix() string {
	return "actingweb schema upgrade --to '" + s.upgradeURL() + "' --legacy-property-index"
}

// ownerByPropertyIndex queries LegacyPropertyIndex for value and returns the smallest actor id
// among the items whose name is name and whose property row, read again consistently (the GSI
// is eventually consistent), still holds value. found is false when there is none;
// errNoLegacyIndex (wrapped) when the table lacks the index.
//
// Upstream queries by value only and takes the first item (§6.3: the name is ignored in
// legacy mode), which returns a wrong actor whenever another actor holds the same value under
// another property name (a display name equal to someone's e-mail, "true", "0", ...). This
// store filters by name (FilterExpression, so every item with the value is read, all pages)
// and picks the smallest actor id when several actors hold the pair, as
// RebuildPropertyLookup does, so a migrated lookup table gives the same answers.
func (s *Store) ownerByPropertyIndex(ctx context.Context, name, value string) (actorID string, found bool, err error) {
	items, err := s.queryItems(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.TableName(actingweb.TableProperties)),
		IndexName:                 aws.String(LegacyPropertyIndex),
		KeyConditionExpression:    aws.String("#v = :v"),
		FilterExpression:          aws.String("#n = :n"),
		ProjectionExpression:      aws.String("#id"),
		ExpressionAttributeNames:  map[string]string{"#v": "value", "#n": "name", "#id": "id"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": avS(value), ":n": avS(name)},
	})
	if isMissingIndex(err) {
		return "", false, fmt.Errorf("%w %s on %s: %w", errNoLegacyIndex, LegacyPropertyIndex, s.TableName(actingweb.TableProperties), err)
	}
	if err != nil {
		return "", false, err
	}
	ids := make([]string, 0, len(items))
	for _, it := range items {
		if id := attrString(it["id"]); id != "" {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		cur, err := s.getItem(ctx, actingweb.TableProperties, propKey(id, name), "value")
		if err != nil {
			return "", false, err
		}
		if cur != nil && attrString(cur["value"]) == value {
			return id, true, nil
		}
	}
	return "", false, nil
}

// ownerByV1Lookup reads the deprecated v1 lookup table (§3.6) with a consistent GetItem of
// (property_name, value). A missing table counts as "no row" (§6.4 get_v1).
func (s *Store) ownerByV1Lookup(ctx context.Context, name, value string) (string, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.prefix + "_" + v1LookupSuffix),
		Key: map[string]types.AttributeValue{
			"property_name": avS(name), "value": avS(value),
		},
		ProjectionExpression:     aws.String("#a"),
		ExpressionAttributeNames: map[string]string{"#a": "actor_id"},
		ConsistentRead:           aws.Bool(true),
	})
	if isResourceNotFound(err) {
		return "", nil
	}
	if err != nil {
		var ae smithy.APIError
		// A value longer than a range key may be (1024 bytes) can have no v1 row.
		if errors.As(err, &ae) && ae.ErrorCode() == "ValidationException" && len(value) > 1024 {
			return "", nil
		}
		return "", err
	}
	return attrString(out.Item["actor_id"]), nil
}

// EnsureLegacyPropertyIndex creates LegacyPropertyIndex (hash key value, projection ALL) on the
// properties table of a deployment that runs upstream's legacy mode (USE_PROPERTY_LOOKUP_TABLE
// =false, §2.4, §3.4) and waits until DynamoDB has backfilled it (index ACTIVE; on a large
// table this takes as long as DynamoDB needs to read every item). On a PROVISIONED table the
// index gets the table's own read and write capacity (every property write is also written to
// the index, so a smaller write capacity would throttle the table). created is false when the
// index existed already (a second run changes nothing, and waits for an index still being
// built). The properties table must exist (ErrSchema otherwise: run the schema upgrade).
// Values longer than 2048 bytes cannot be written to a table with this index (§9.1).
func (s *Store) EnsureLegacyPropertyIndex(ctx context.Context) (created bool, err error) {
	name := s.TableName(actingweb.TableProperties)
	d, err := s.describe(ctx, actingweb.TableProperties)
	if err != nil {
		return false, err
	}
	if d == nil {
		return false, fmt.Errorf("dynamodb: create %s on %s: %w: the table does not exist; run `actingweb schema upgrade --to '%s'` first",
			LegacyPropertyIndex, name, actingweb.ErrSchema, s.upgradeURL())
	}
	if g := findGSI(d, LegacyPropertyIndex); g != nil {
		if err := checkLegacyGSI(name, g); err != nil {
			return false, err
		}
		return false, s.waitIndexActive(ctx, name)
	}
	if err := s.waitActive(ctx, name); err != nil {
		return false, err
	}
	create := &types.CreateGlobalSecondaryIndexAction{
		IndexName:  aws.String(LegacyPropertyIndex),
		KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("value"), KeyType: types.KeyTypeHash}},
		Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
	}
	if d.BillingModeSummary == nil || d.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		if pt := d.ProvisionedThroughput; pt != nil && aws.ToInt64(pt.ReadCapacityUnits) > 0 {
			create.ProvisionedThroughput = &types.ProvisionedThroughput{
				ReadCapacityUnits: pt.ReadCapacityUnits, WriteCapacityUnits: pt.WriteCapacityUnits}
		}
	}
	_, err = s.client.UpdateTable(ctx, &dynamodb.UpdateTableInput{
		TableName:                   aws.String(name),
		AttributeDefinitions:        []types.AttributeDefinition{{AttributeName: aws.String("value"), AttributeType: types.ScalarAttributeTypeS}},
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Create: create}},
	})
	if err != nil {
		// A concurrent run may have created it meanwhile.
		if d2, derr := s.describe(ctx, actingweb.TableProperties); derr == nil && d2 != nil && findGSI(d2, LegacyPropertyIndex) != nil {
			return false, s.waitIndexActive(ctx, name)
		}
		return false, fmt.Errorf("dynamodb: create GSI %s on %s: %w; check the dynamodb:UpdateTable permission", LegacyPropertyIndex, name, err)
	}
	return true, s.waitIndexActive(ctx, name)
}

func findGSI(d *types.TableDescription, index string) *types.GlobalSecondaryIndexDescription {
	for i := range d.GlobalSecondaryIndexes {
		if aws.ToString(d.GlobalSecondaryIndexes[i].IndexName) == index {
			return &d.GlobalSecondaryIndexes[i]
		}
	}
	return nil
}

// checkLegacyGSI refuses an index named property-index that is not upstream's (hash key
// value, no range key): reverse lookups through it would be wrong.
func checkLegacyGSI(table string, g *types.GlobalSecondaryIndexDescription) error {
	ks := g.KeySchema
	if len(ks) != 1 || aws.ToString(ks[0].AttributeName) != "value" || ks[0].KeyType != types.KeyTypeHash {
		return fmt.Errorf("dynamodb: %s has a GSI %s that is not upstream's (want hash key value and no range key); "+
			"delete it in the AWS console or with `aws dynamodb update-table` and run this again", table, LegacyPropertyIndex)
	}
	return nil
}

// waitIndexActive polls the table until LegacyPropertyIndex is ACTIVE (every 2 s, until ctx
// ends: a backfill has no upper bound worth guessing; stopping the wait does not stop it).
func (s *Store) waitIndexActive(ctx context.Context, table string) error {
	for {
		d, err := s.describe(ctx, actingweb.TableProperties)
		if err != nil {
			return err
		}
		if d == nil {
			return fmt.Errorf("dynamodb: wait for GSI %s on %s: %w: the table was deleted", LegacyPropertyIndex, table, actingweb.ErrSchema)
		}
		g := findGSI(d, LegacyPropertyIndex)
		if g == nil {
			return fmt.Errorf("dynamodb: wait for GSI %s on %s: the index disappeared (deleted concurrently?)", LegacyPropertyIndex, table)
		}
		if g.IndexStatus == types.IndexStatusActive {
			return nil
		}
		t := time.NewTimer(2 * time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("dynamodb: wait for GSI %s on %s (status %s; DynamoDB goes on building it, run the command again to wait): %w",
				LegacyPropertyIndex, table, g.IndexStatus, context.Cause(ctx))
		case <-t.C:
		}
	}
}
