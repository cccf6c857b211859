package dynamodb

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/testenv"
)

// openTestStore opens a store on DynamoDB Local under a unique prefix whose tables are dropped
// when the test ends. With create, the schema is created first.
func openTestStore(t testing.TB, create bool) *Store {
	t.Helper()
	endpoint := testenv.DynamoDBEndpoint(t)
	ctx := context.Background()
	s, err := Open(ctx, Config{Prefix: testenv.UniqueDynamoPrefix(t), Endpoint: endpoint,
		Lookup: actingweb.DefaultLookupConfig()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.DropTables(context.Background()); err != nil {
			t.Errorf("drop tables: %v", err)
		}
	})
	if create {
		if _, err := s.UpgradeSchema(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// tableShape is the part of a table description the schema must reproduce.
type tableShape struct {
	KeySchema            []types.KeySchemaElement
	AttributeDefinitions []types.AttributeDefinition
	GSIs                 []gsiShape
	BillingMode          string
}

type gsiShape struct {
	IndexName  string
	KeySchema  []types.KeySchemaElement
	Projection string
}

// fixtureTableShapes reads tables.json, the description upstream's models produced.
func fixtureTableShapes(t *testing.T) map[string]tableShape {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtureDir, "tables.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tables map[string]struct {
			AttributeDefinitions   []types.AttributeDefinition
			BillingMode            string
			KeySchema              []types.KeySchemaElement
			GlobalSecondaryIndexes []struct {
				IndexName  string
				KeySchema  []types.KeySchemaElement
				Projection struct{ ProjectionType string }
			}
		} `json:"tables"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]tableShape{}
	for name, d := range doc.Tables {
		sh := tableShape{KeySchema: d.KeySchema, AttributeDefinitions: d.AttributeDefinitions, BillingMode: d.BillingMode}
		for _, g := range d.GlobalSecondaryIndexes {
			sh.GSIs = append(sh.GSIs, gsiShape{IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection.ProjectionType})
		}
		out[name] = normShape(sh)
	}
	if len(out) != 9 {
		t.Fatalf("tables.json has %d tables", len(out))
	}
	return out
}

func normShape(sh tableShape) tableShape {
	sort.Slice(sh.AttributeDefinitions, func(i, j int) bool {
		return aws.ToString(sh.AttributeDefinitions[i].AttributeName) < aws.ToString(sh.AttributeDefinitions[j].AttributeName)
	})
	sort.Slice(sh.GSIs, func(i, j int) bool { return sh.GSIs[i].IndexName < sh.GSIs[j].IndexName })
	return sh
}

func describedShape(d *types.TableDescription) tableShape {
	sh := tableShape{KeySchema: d.KeySchema, AttributeDefinitions: d.AttributeDefinitions}
	if d.BillingModeSummary != nil {
		sh.BillingMode = string(d.BillingModeSummary.BillingMode)
	}
	for _, g := range d.GlobalSecondaryIndexes {
		p := ""
		if g.Projection != nil {
			p = string(g.Projection.ProjectionType)
		}
		sh.GSIs = append(sh.GSIs, gsiShape{IndexName: aws.ToString(g.IndexName), KeySchema: g.KeySchema, Projection: p})
	}
	return normShape(sh)
}

func shapeJSON(sh tableShape) string { b, _ := json.Marshal(sh); return string(b) }

func TestSchemaUpgradeMatchesUpstream(t *testing.T) {
	want := fixtureTableShapes(t)
	s := openTestStore(t, false)
	ctx := context.Background()

	st, err := s.SchemaStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.AtHead || len(st.Missing) != 9 || len(st.Tables) != 0 {
		t.Fatalf("fresh prefix status: %+v", st)
	}
	err = s.CheckSchema(ctx)
	if !errors.Is(err, actingweb.ErrSchema) || !strings.Contains(err.Error(), s.TableName(actingweb.TableActors)) ||
		!strings.Contains(err.Error(), "actingweb schema upgrade") {
		t.Fatalf("CheckSchema on a fresh prefix = %v", err)
	}

	st, err = s.UpgradeSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.AtHead || len(st.Tables) != 9 || len(st.Missing) != 0 {
		t.Fatalf("after upgrade: %+v", st)
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tb := range actingweb.Tables {
		out, err := s.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.TableName(tb))})
		if err != nil {
			t.Fatal(err)
		}
		got, exp := shapeJSON(describedShape(out.Table)), shapeJSON(want[tb.DynamoDBSuffix()])
		if got != exp {
			t.Errorf("%s:\n got %s\nwant %s", tb, got, exp)
		}
		if out.Table.TableStatus != types.TableStatusActive {
			t.Errorf("%s is %s", tb, out.Table.TableStatus)
		}
	}
	ttl, err := s.client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(s.TableName(actingweb.TableAttributes))})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d == nil || aws.ToString(d.AttributeName) != ttlAttribute ||
		(d.TimeToLiveStatus != types.TimeToLiveStatusEnabled && d.TimeToLiveStatus != types.TimeToLiveStatusEnabling) {
		t.Errorf("TTL description: %+v", ttl.TimeToLiveDescription)
	}

	// Second run: a no-op that reports nothing created.
	st2, err := s.UpgradeSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range st2.Notes {
		if strings.HasPrefix(n, "created ") {
			t.Errorf("second upgrade created something: %q", n)
		}
	}
	if !reflect.DeepEqual(st2.Tables, st.Tables) {
		t.Errorf("tables changed: %v vs %v", st2.Tables, st.Tables)
	}
}

func TestSchemaStatusPartial(t *testing.T) {
	s := openTestStore(t, true)
	ctx := context.Background()
	name := s.TableName(actingweb.TableSubscriptionSuspensions)
	if _, err := s.client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	st, err := s.SchemaStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.AtHead || !reflect.DeepEqual(st.Missing, []string{name}) {
		t.Fatalf("status with one table missing: %+v", st)
	}
	if err := s.CheckSchema(ctx); !errors.Is(err, actingweb.ErrSchema) || !strings.Contains(err.Error(), name) {
		t.Fatalf("CheckSchema = %v", err)
	}
	st, err = s.UpgradeSchema(ctx)
	if err != nil || !st.AtHead {
		t.Fatalf("upgrade: %+v %v", st, err)
	}
	created := 0
	for _, n := range st.Notes {
		if strings.HasPrefix(n, "created ") {
			created++
		}
	}
	if created != 1 {
		t.Errorf("notes: %q", st.Notes)
	}
}

// TestDropTablesDropsBookkeeping: DropTables removes the nine tables and the bookkeeping table
// a control write created, so a test that wrote control records leaves nothing behind.
func TestDropTablesDropsBookkeeping(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTestStore(t, true)
	if err := s.WriteControl(ctx, "k", "v", 0); err != nil {
		t.Fatal(err)
	}
	if err := s.DropTables(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{s.ControlTable(), s.TableName(actingweb.TableActors)} {
		_, err := s.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if !isResourceNotFound(err) {
			t.Errorf("table %s after DropTables: DescribeTable gave %v, want ResourceNotFoundException", name, err)
		}
	}
}
