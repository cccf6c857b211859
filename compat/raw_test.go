package compat_test

// raw_test.go: the raw forms of the fixture (DynamoDB items in wire format, pg_dump data) and
// the stores the tests run on: opening a Go store on a fresh schema or table prefix, loading
// the raw form into it, and comparing DynamoDB items.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/dynamodb"
	"github.com/actingweb/actingweb-go/internal/fixture"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/postgres"
)

func noEnv(string) string { return "" }

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// openPostgres opens a Go store on a fresh schema and brings it to Alembic head with the
// store's own UpgradeSchema. The lookup configuration is upstream's default (the fixture was
// written with it), independent of the environment.
func openPostgres(t testing.TB, ctx context.Context) (*postgres.Store, string) {
	t.Helper()
	url, schema := testenv.FreshPostgresSchema(t)
	cfg, err := postgres.ConfigFromURL(url, noEnv)
	if err != nil {
		t.Fatalf("postgres config: %v", err)
	}
	cfg.Lookup = actingweb.DefaultLookupConfig()
	st, err := postgres.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("postgres open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.UpgradeSchema(ctx); err != nil {
		t.Fatalf("postgres UpgradeSchema on schema %s: %v", schema, err)
	}
	return st, schema
}

// openDynamoDB opens a Go store under a unique table prefix and creates its tables with the
// store's own UpgradeSchema; the tables are deleted when the test ends.
func openDynamoDB(t testing.TB, ctx context.Context) (*dynamodb.Store, string) {
	t.Helper()
	endpoint := testenv.DynamoDBEndpoint(t)
	prefix := testenv.UniqueDynamoPrefix(t)
	st, err := dynamodb.Open(ctx, dynamodb.Config{Prefix: prefix, Region: actingweb.DefaultRegion,
		Endpoint: endpoint, Lookup: actingweb.DefaultLookupConfig()})
	if err != nil {
		t.Fatalf("dynamodb open: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, tab := range actingweb.Tables {
			_, err := st.Client().DeleteTable(ctx, &sdkddb.DeleteTableInput{TableName: aws.String(st.TableName(tab))})
			var nf *types.ResourceNotFoundException
			if err != nil && !errors.As(err, &nf) {
				t.Logf("cleanup: delete table %s: %v", st.TableName(tab), err)
			}
		}
		st.Close()
	})
	if _, err := st.UpgradeSchema(ctx); err != nil {
		t.Fatalf("dynamodb UpgradeSchema under prefix %s: %v", prefix, err)
	}
	// UpgradeSchema enables TTL on attributes.ttl_timestamp (§3.7, §5.6), and DynamoDB Local
	// really sweeps expired items: the fixture's TTLs lie in mid-2025, so rows would vanish
	// at random while the test runs. Upstream's own tables had TTL disabled (§3.1), which is
	// the state the fixture was dumped in; turn it off again for these tables.
	_, err = st.Client().UpdateTimeToLive(ctx, &sdkddb.UpdateTimeToLiveInput{
		TableName: aws.String(st.TableName(actingweb.TableAttributes)),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String("ttl_timestamp"), Enabled: aws.Bool(false)},
	})
	if err != nil {
		t.Fatalf("disable TTL on %s (the fixture's expired rows would be swept): %v", st.TableName(actingweb.TableAttributes), err)
	}
	return st, prefix
}

// loadPostgresRaw executes the fixture's data.sql (pg_dump --column-inserts) into schema.
func loadPostgresRaw(t testing.TB, ctx context.Context, st *postgres.Store, schema string) {
	t.Helper()
	res, err := fixture.LoadPostgres(ctx, st.Pool(), schema, fixtureDir)
	if err != nil {
		t.Fatalf("load data.sql into %s: %v", schema, err)
	}
	if res.AlembicVersion != actingweb.AlembicHead {
		t.Fatalf("data.sql alembic_version %q, want %q", res.AlembicVersion, actingweb.AlembicHead)
	}
}

// wireItem is one raw DynamoDB item as it appears in the fixture's JSONL files.
type wireItem = map[string]types.AttributeValue

// rawItems reads dynamodb/<suffix>.jsonl of table tab.
func rawItems(t testing.TB, tab actingweb.Table) []wireItem {
	t.Helper()
	path := filepath.Join(fixtureDir, "dynamodb", tab.DynamoDBSuffix()+".jsonl")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	var out []wireItem
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		it, err := dynamodb.ParseWireItem(sc.Bytes())
		if err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		out = append(out, it)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return out
}

// loadDynamoDBRaw writes every raw item of every table, exactly as upstream stored it (no
// codec in between), into the store's tables (internal/fixture's loader, BatchWriteItem).
func loadDynamoDBRaw(t testing.TB, ctx context.Context, st *dynamodb.Store, prefix string) map[actingweb.Table]int {
	t.Helper()
	res, err := fixture.LoadDynamoDB(ctx, st.Client(), prefix, fixtureDir)
	if err != nil {
		t.Fatalf("load raw DynamoDB items under prefix %s: %v", prefix, err)
	}
	counts := map[actingweb.Table]int{}
	for _, tab := range actingweb.Tables {
		counts[tab] = res.Items[st.TableName(tab)]
	}
	return counts
}

// scanPhysical reads every item of a physical table with consistent Scans (raw SDK, no codec).
func scanPhysical(t testing.TB, ctx context.Context, client *sdkddb.Client, table string) []wireItem {
	t.Helper()
	var out []wireItem
	p := sdkddb.NewScanPaginator(client, &sdkddb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		out = append(out, page.Items...)
	}
	return out
}

// tableDesc is one table of the fixture's dynamodb/tables.json.
type tableDesc struct {
	AttributeDefinitions []struct {
		AttributeName, AttributeType string
	}
	BillingMode            string
	GlobalSecondaryIndexes []struct {
		IndexName string
		KeySchema []struct{ AttributeName, KeyType string }
		// Projection.ProjectionType
		Projection struct{ ProjectionType string }
	}
	KeySchema             []struct{ AttributeName, KeyType string }
	LocalSecondaryIndexes []json.RawMessage
	ItemCount             int
	TableName             string
}

// fixtureTables reads dynamodb/tables.json, keyed by table suffix.
func fixtureTables(t testing.TB) map[string]tableDesc {
	t.Helper()
	path := filepath.Join(fixtureDir, "dynamodb", "tables.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var f struct {
		Tables map[string]tableDesc `json:"tables"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return f.Tables
}

// itemKey renders the primary key of an item (hash / range values).
func itemKey(it wireItem, keyAttrs []string) string {
	parts := make([]string, len(keyAttrs))
	for i, a := range keyAttrs {
		parts[i] = avText(it[a])
	}
	return keyOf(parts...)
}

// avType names the wire type of an attribute value.
func avType(v types.AttributeValue) string {
	switch v.(type) {
	case *types.AttributeValueMemberS:
		return "S"
	case *types.AttributeValueMemberN:
		return "N"
	case *types.AttributeValueMemberBOOL:
		return "BOOL"
	case *types.AttributeValueMemberNULL:
		return "NULL"
	case *types.AttributeValueMemberB:
		return "B"
	case *types.AttributeValueMemberSS:
		return "SS"
	case *types.AttributeValueMemberNS:
		return "NS"
	case *types.AttributeValueMemberL:
		return "L"
	case *types.AttributeValueMemberM:
		return "M"
	case nil:
		return "<absent>"
	}
	return fmt.Sprintf("%T", v)
}

// avText renders a scalar attribute value's text (S, N, BOOL); others as Go values.
func avText(v types.AttributeValue) string {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return x.Value
	case *types.AttributeValueMemberN:
		return x.Value
	case *types.AttributeValueMemberBOOL:
		return fmt.Sprint(x.Value)
	case nil:
		return "<absent>"
	}
	return fmt.Sprintf("%v", v)
}

// compareAV compares a raw (expected) and a Go-written (actual) attribute value: same type;
// strings byte-exact; numbers equal as decimals; booleans equal. jsonText compares S values
// as JSON documents instead (see compareItems). It returns "" when equal.
func compareAV(want, got types.AttributeValue, jsonText bool) string {
	if avType(want) != avType(got) {
		return fmt.Sprintf("type %s, want %s", avType(got), avType(want))
	}
	switch w := want.(type) {
	case *types.AttributeValueMemberS:
		g := got.(*types.AttributeValueMemberS).Value
		if jsonText {
			cw, err1 := actingweb.CanonicalJSON([]byte(w.Value))
			cg, err2 := actingweb.CanonicalJSON([]byte(g))
			if err1 != nil || err2 != nil || !bytes.Equal(cw, cg) {
				return fmt.Sprintf("JSON %q, want %q (semantically)", g, w.Value)
			}
			// Python's json.dumps output has the same length whatever the key order, so a
			// length difference means other separators, escaping or number forms (§3.2).
			if len(g) != len(w.Value) {
				return fmt.Sprintf("JSON text %q (%d bytes) is not Python-json.dumps-shaped like %q (%d bytes)", g, len(g), w.Value, len(w.Value))
			}
			return ""
		}
		if w.Value != g {
			return fmt.Sprintf("%q, want %q", g, w.Value)
		}
	case *types.AttributeValueMemberN:
		g := got.(*types.AttributeValueMemberN).Value
		rw, ok1 := new(big.Rat).SetString(w.Value)
		rg, ok2 := new(big.Rat).SetString(g)
		if !ok1 || !ok2 || rw.Cmp(rg) != 0 {
			return fmt.Sprintf("%s, want %s", g, w.Value)
		}
	case *types.AttributeValueMemberBOOL:
		if g := got.(*types.AttributeValueMemberBOOL).Value; g != w.Value {
			return fmt.Sprintf("%v, want %v", g, w.Value)
		}
	default:
		if fmt.Sprintf("%#v", want) != fmt.Sprintf("%#v", got) {
			return fmt.Sprintf("%#v, want %#v", got, want)
		}
	}
	return ""
}

// sortedAttrNames lists an item's attribute names in byte order.
func sortedAttrNames(it wireItem) []string {
	out := make([]string, 0, len(it))
	for k := range it {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// attrNamesDiff describes the attribute names only in want or only in got.
func attrNamesDiff(want, got wireItem) string {
	var missing, extra []string
	for k := range want {
		if _, ok := got[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
		}
	}
	if len(missing) == 0 && len(extra) == 0 {
		return ""
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return fmt.Sprintf("missing attributes [%s], extra attributes [%s]", strings.Join(missing, " "), strings.Join(extra, " "))
}
