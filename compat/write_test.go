package compat_test

// write_test.go: the write direction. The canonical records built from a backend's truth file
// (composite keys derived from their parts) are written through the Go store's table face
// into an empty schema / table prefix (UpgradeSchema, WriteBatch per table, then
// RebuildPropertyLookup with upstream's default indexed names), and the physical rows are
// compared with the raw forms upstream wrote:
//   - DynamoDB: every item of every table, attribute by attribute (names, wire types, byte-exact
//     strings, numbers as decimals) against dynamodb/<suffix>.jsonl. This is also the cross
//     check of the Go codec: its encoding of the truth records reproduces every raw item.
//     Exception W1: attributes.data is compared as JSON (semantically) and by length only,
//     because the truth file holds payloads with sorted keys, so upstream's original key order
//     is lost; Python's json.dumps output has the same length whatever the key order, so the
//     length check still catches other separators, escaping or number forms (§3.2).
//   - PostgreSQL: every table row set against data.sql loaded into a second schema built from
//     upstream's own DDL (schema.sql), with EXCEPT both ways over all columns except
//     actors.created_at (data.sql holds upstream's NOW()), plus identical column types, indexes
//     and constraints. Exception W2: subscriptions' optional strings are compared with
//     NULLIF(col, ''), because data.sql holds both NULL and '' there while the truth file
//     returns "" for both (§6.7), so the truth cannot say which one to write; the Go store
//     writes NULL (§5.3: lossless in behaviour).

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/internal/fixture"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/aws/aws-sdk-go-v2/aws"
	sdkddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/jackc/pgx/v5"
)

// writeBatchSize is the number of records per WriteBatch call (several batches per table).
const writeBatchSize = 100

// writeTruth writes every canonical record of the truth through the table face, lookup rows
// included (the fixture's lookup table is not a pure function of its properties: two actors
// share an e-mail value and upstream kept the first writer's row), then runs
// RebuildPropertyLookup, which must find every derivable row already present.
func writeTruth(t *testing.T, ctx context.Context, backend string, st bulk.Backend, tr *truth, recs map[actingweb.Table][]actingweb.Record) {
	t.Helper()
	for _, tab := range actingweb.Tables {
		rs := recs[tab]
		for i := 0; i < len(rs); i += writeBatchSize {
			chunk := rs[i:min(i+writeBatchSize, len(rs))]
			res, err := st.WriteBatch(ctx, tab, chunk, bulk.ConflictFail)
			if err != nil {
				t.Fatalf("FAILURE backend=%s table=%s op=WriteBatch (records %d-%d): %v", backend, tab, i+1, i+len(chunk), err)
			}
			for _, rej := range res.Rejects {
				failure(t, backend, string(tab), actingweb.KeyString(rej.Key), "WriteBatch", fmt.Errorf("rejected: %s", rej.Reason))
			}
			if res.Written != len(chunk) || res.Skipped != 0 {
				t.Errorf("MISMATCH backend=%s table=%s op=WriteBatch (records %d-%d): written %d skipped %d rejected %d, want written %d",
					backend, tab, i+1, i+len(chunk), res.Written, res.Skipped, len(res.Rejects), len(chunk))
			}
		}
		if n, err := st.Count(ctx, tab); err != nil {
			failure(t, backend, string(tab), "*", "Count", err)
		} else if n != int64(len(rs)) {
			mismatch(t, backend, string(tab), "*", "Count after WriteBatch", len(rs), n)
		}
	}

	// What a rebuild must report, derived from the truth: every indexed property row either
	// finds its own lookup row (existing) or one of another actor (collision).
	cfg := actingweb.DefaultLookupConfig()
	owner := map[string]string{}
	for _, l := range tr.Lookups {
		owner[actingweb.LookupKey(l.PropertyName, l.Value)] = l.ActorID
	}
	var want bulk.LookupRebuild
	for _, p := range tr.Properties {
		if !cfg.Indexed(p.Name) {
			continue
		}
		want.Scanned++
		switch o, ok := owner[actingweb.LookupKey(p.Name, p.Value)]; {
		case !ok:
			want.Written++
		case o == p.ActorID:
			want.Existing++
		default:
			want.Collisions++
		}
	}
	got, err := st.RebuildPropertyLookup(ctx, actingweb.DefaultIndexedProperties)
	if err != nil {
		failure(t, backend, string(actingweb.TablePropertyLookup), "*", "RebuildPropertyLookup", err)
		return
	}
	if got.Scanned != want.Scanned || got.Written != want.Written || got.Existing != want.Existing ||
		got.Collisions != want.Collisions || got.Orphans != 0 {
		t.Errorf("MISMATCH backend=%s table=property_lookup op=RebuildPropertyLookup\n\texpected: scanned %d written %d existing %d collisions %d orphans 0\n\tactual:   scanned %d written %d existing %d collisions %d orphans %d",
			backend, want.Scanned, want.Written, want.Existing, want.Collisions,
			got.Scanned, got.Written, got.Existing, got.Collisions, got.Orphans)
	}
}

// TestWriteDynamoDB writes truth-dynamodb.json through the Go store's table face and compares
// every physical item with upstream's raw items.
func TestWriteDynamoDB(t *testing.T) {
	ctx := testCtx(t)
	tr := loadTruth(t, backendDDB)
	recs := tr.records(t)
	st, _ := openDynamoDB(t, ctx)
	writeTruth(t, ctx, backendDDB, st, tr, recs)
	descs := fixtureTables(t)

	t.Run("schema", func(t *testing.T) {
		for _, tab := range actingweb.Tables {
			want, ok := descs[tab.DynamoDBSuffix()]
			if !ok {
				t.Fatalf("tables.json has no table %s", tab.DynamoDBSuffix())
			}
			out, err := st.Client().DescribeTable(ctx, &sdkddb.DescribeTableInput{TableName: aws.String(st.TableName(tab))})
			if err != nil {
				failure(t, backendDDB, tab.DynamoDBSuffix(), "*", "DescribeTable", err)
				continue
			}
			d := out.Table
			var ks, wks []string
			for _, k := range d.KeySchema {
				ks = append(ks, *k.AttributeName+" "+string(k.KeyType))
			}
			for _, k := range want.KeySchema {
				wks = append(wks, k.AttributeName+" "+k.KeyType)
			}
			if strings.Join(ks, ",") != strings.Join(wks, ",") {
				mismatch(t, backendDDB, tab.DynamoDBSuffix(), "*", "KeySchema", wks, ks)
			}
			var ad, wad []string
			for _, a := range d.AttributeDefinitions {
				ad = append(ad, *a.AttributeName+" "+string(a.AttributeType))
			}
			for _, a := range want.AttributeDefinitions {
				wad = append(wad, a.AttributeName+" "+a.AttributeType)
			}
			if strings.Join(sortedCopy(ad), ",") != strings.Join(sortedCopy(wad), ",") {
				mismatch(t, backendDDB, tab.DynamoDBSuffix(), "*", "AttributeDefinitions", sortedCopy(wad), sortedCopy(ad))
			}
			var gsi, wgsi []string
			for _, g := range d.GlobalSecondaryIndexes {
				s := *g.IndexName + ":"
				for _, k := range g.KeySchema {
					s += " " + *k.AttributeName + " " + string(k.KeyType)
				}
				if g.Projection != nil {
					s += " projection " + string(g.Projection.ProjectionType)
				}
				gsi = append(gsi, s)
			}
			for _, g := range want.GlobalSecondaryIndexes {
				s := g.IndexName + ":"
				for _, k := range g.KeySchema {
					s += " " + k.AttributeName + " " + k.KeyType
				}
				wgsi = append(wgsi, s+" projection "+g.Projection.ProjectionType)
			}
			if strings.Join(sortedCopy(gsi), ",") != strings.Join(sortedCopy(wgsi), ",") {
				mismatch(t, backendDDB, tab.DynamoDBSuffix(), "*", "GlobalSecondaryIndexes", sortedCopy(wgsi), sortedCopy(gsi))
			}
			if len(d.LocalSecondaryIndexes) != 0 {
				mismatch(t, backendDDB, tab.DynamoDBSuffix(), "*", "LocalSecondaryIndexes", "none", len(d.LocalSecondaryIndexes))
			}
			billing := "PROVISIONED" // DescribeTable omits the summary for tables created provisioned
			if d.BillingModeSummary != nil {
				billing = string(d.BillingModeSummary.BillingMode)
			}
			if billing != want.BillingMode {
				mismatch(t, backendDDB, tab.DynamoDBSuffix(), "*", "BillingMode", want.BillingMode, billing)
			}
		}
	})

	for _, tab := range actingweb.Tables {
		suffix := tab.DynamoDBSuffix()
		t.Run(suffix, func(t *testing.T) {
			var keyAttrs []string
			for _, k := range descs[suffix].KeySchema {
				keyAttrs = append(keyAttrs, k.AttributeName)
			}
			want := rawItems(t, tab)
			got := map[string]wireItem{}
			for _, it := range scanPhysical(t, ctx, st.Client(), st.TableName(tab)) {
				got[itemKey(it, keyAttrs)] = it
			}
			if len(got) != len(want) {
				mismatch(t, backendDDB, suffix, "*", "item count", len(want), len(got))
			}
			for _, w := range want {
				key := itemKey(w, keyAttrs)
				g, ok := got[key]
				if !ok {
					mismatch(t, backendDDB, suffix, key, "item", "present", "missing")
					continue
				}
				delete(got, key)
				if d := attrNamesDiff(w, g); d != "" {
					mismatch(t, backendDDB, suffix, key, "attribute names", sortedAttrNames(w), d)
				}
				for _, name := range sortedAttrNames(w) {
					gv, ok := g[name]
					if !ok {
						continue // reported above
					}
					// W1: attributes.data semantically (sorted keys in the truth).
					if avType(w[name]) != avType(gv) {
						// Reported under a field name of its own, so that types show even
						// for secret attributes (whose values are masked).
						mismatch(t, backendDDB, suffix, key, name+" (wire type)", avType(w[name]), avType(gv))
						continue
					}
					if d := compareAV(w[name], gv, tab == actingweb.TableAttributes && name == "data"); d != "" {
						mismatch(t, backendDDB, suffix, key, name, avType(w[name])+" "+avText(w[name]), d)
					}
				}
			}
			for _, key := range sortedKeys(got) {
				mismatch(t, backendDDB, suffix, key, "item", "absent", "extra item")
			}
		})
	}
}

// pgKeys are the primary-key columns of each PostgreSQL table (§4.2), used to report
// differences field by field.
var pgKeys = map[string][]string{
	"actors":                   {"id"},
	"attributes":               {"id", "bucket_name"},
	"peertrustees":             {"id", "peerid"},
	"properties":               {"id", "name"},
	"property_lookup":          {"property_name", "value"},
	"subscription_diffs":       {"id", "subid_seqnr"},
	"subscription_suspensions": {"id", "target", "subtarget"},
	"subscriptions":            {"id", "peer_sub_id"},
	"trusts":                   {"id", "peerid"},
}

// TestWritePostgres writes truth-postgresql.json through the Go store's table face into a
// schema made by the Go store's UpgradeSchema and compares it with data.sql loaded into a
// schema made from upstream's own pg_dump DDL.
func TestWritePostgres(t *testing.T) {
	ctx := testCtx(t)
	tr := loadTruth(t, backendPG)
	recs := tr.records(t)
	st, goSchema := openPostgres(t, ctx)
	writeTruth(t, ctx, backendPG, st, tr, recs)

	_, refSchema := testenv.FreshPostgresSchema(t)
	if err := fixture.ApplyPostgresSchema(ctx, st.Pool(), refSchema, fixtureDir); err != nil {
		t.Fatalf("apply upstream schema.sql to %s: %v", refSchema, err)
	}
	if _, err := fixture.LoadPostgres(ctx, st.Pool(), refSchema, fixtureDir); err != nil {
		t.Fatalf("load data.sql into %s: %v", refSchema, err)
	}
	pool := st.Pool()
	goQ, refQ := pgx.Identifier{goSchema}.Sanitize(), pgx.Identifier{refSchema}.Sanitize()

	type column struct {
		table, name, typ, nullable, def string
		pos                             int
	}
	columns := func(schema string) map[string]column {
		rows, err := pool.Query(ctx, `SELECT table_name, column_name, ordinal_position,
			format_type(a.atttypid, a.atttypmod), is_nullable, coalesce(column_default, '')
			FROM information_schema.columns c
			JOIN pg_attribute a ON a.attrelid = format('%I.%I', c.table_schema, c.table_name)::regclass
			 AND a.attname = c.column_name
			WHERE table_schema = $1`, schema)
		if err != nil {
			t.Fatalf("columns of %s: %v", schema, err)
		}
		out := map[string]column{}
		for rows.Next() {
			var c column
			if err := rows.Scan(&c.table, &c.name, &c.pos, &c.typ, &c.nullable, &c.def); err != nil {
				t.Fatalf("columns of %s: %v", schema, err)
			}
			out[c.table+"."+c.name] = c
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("columns of %s: %v", schema, err)
		}
		return out
	}
	goCols, refCols := columns(goSchema), columns(refSchema)

	t.Run("column_types", func(t *testing.T) {
		if len(refCols) == 0 {
			t.Fatalf("reference schema %s has no columns", refSchema)
		}
		for _, k := range sortedKeys(refCols) {
			w, g := refCols[k], goCols[k]
			table, col, _ := strings.Cut(k, ".")
			if g.name == "" {
				mismatch(t, backendPG, table, col, "column", w.typ, "missing")
				continue
			}
			want := fmt.Sprintf("#%d %s nullable=%s default=%q", w.pos, w.typ, w.nullable, w.def)
			have := fmt.Sprintf("#%d %s nullable=%s default=%q", g.pos, g.typ, g.nullable, g.def)
			if want != have {
				mismatch(t, backendPG, table, col, "column type", want, have)
			}
		}
		refTables := map[string]bool{}
		for _, c := range refCols {
			refTables[c.table] = true
		}
		extraTables := map[string]bool{}
		for _, k := range sortedKeys(goCols) {
			if _, ok := refCols[k]; ok {
				continue
			}
			table, col, _ := strings.Cut(k, ".")
			if !refTables[table] {
				// Tables upstream does not have (goose's version table, the migration tool's
				// bookkeeping) are invisible to Python; they are noted, not compared.
				extraTables[table] = true
				continue
			}
			mismatch(t, backendPG, table, col, "column", "absent", "extra column "+goCols[k].typ)
		}
		if len(extraTables) > 0 {
			t.Logf("tables only in the Go schema (not compared): %v", sortedKeys(extraTables))
		}
	})

	var refTables []string // upstream's tables (alembic_version included)
	for _, c := range refCols {
		if c.pos == 1 {
			refTables = append(refTables, c.table)
		}
	}
	sort.Strings(refTables)

	t.Run("indexes_constraints", func(t *testing.T) {
		defs := func(schema string) map[string]string {
			rows, err := pool.Query(ctx, `
				SELECT 'index ' || indexname, replace(indexdef, quote_ident($1) || '.', '')
				FROM pg_indexes WHERE schemaname = $1 AND tablename = ANY($2)
				UNION ALL
				SELECT 'constraint ' || c.conname || ' on ' || r.relname,
				       replace(pg_get_constraintdef(c.oid), quote_ident($1) || '.', '')
				FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
				JOIN pg_namespace n ON n.oid = r.relnamespace
				WHERE n.nspname = $1 AND r.relname = ANY($2)`, schema, refTables)
			if err != nil {
				t.Fatalf("indexes of %s: %v", schema, err)
			}
			out := map[string]string{}
			for rows.Next() {
				var k, v string
				if err := rows.Scan(&k, &v); err != nil {
					t.Fatalf("indexes of %s: %v", schema, err)
				}
				out[k] = v
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("indexes of %s: %v", schema, err)
			}
			return out
		}
		want, got := defs(refSchema), defs(goSchema)
		if len(want) < 20 {
			t.Fatalf("reference schema %s has only %d indexes and constraints", refSchema, len(want))
		}
		for _, k := range sortedKeys(want) {
			if got[k] != want[k] {
				mismatch(t, backendPG, "schema", k, "definition", want[k], got[k])
			}
		}
		for _, k := range sortedKeys(got) {
			if _, ok := want[k]; !ok {
				mismatch(t, backendPG, "schema", k, "definition", "absent", got[k])
			}
		}
	})

	for _, table := range sortedKeys(pgKeys) {
		t.Run(table, func(t *testing.T) {
			var cols, exprs []string
			var list []column
			for _, c := range refCols {
				if c.table == table && !(table == "actors" && c.name == "created_at") {
					list = append(list, c)
				}
			}
			sort.Slice(list, func(i, j int) bool { return list[i].pos < list[j].pos })
			for _, c := range list {
				q := pgx.Identifier{c.name}.Sanitize()
				cols = append(cols, c.name)
				if table == "subscriptions" && (c.name == "granularity" || c.name == "target" || c.name == "subtarget" || c.name == "resource") {
					exprs = append(exprs, fmt.Sprintf("NULLIF(%s, '') AS %s", q, q)) // W2
				} else {
					exprs = append(exprs, q)
				}
			}
			if len(cols) == 0 {
				t.Fatalf("reference table %s has no columns", table)
			}
			sel := func(schema string) string {
				return "SELECT " + strings.Join(exprs, ", ") + " FROM " + schema + "." + pgx.Identifier{table}.Sanitize()
			}
			var goN, refN, onlyGo, onlyRef int64
			err := pool.QueryRow(ctx, fmt.Sprintf(`SELECT (SELECT count(*) FROM %[1]s.%[3]s), (SELECT count(*) FROM %[2]s.%[3]s),
				(SELECT count(*) FROM (%[4]s EXCEPT %[5]s) x), (SELECT count(*) FROM (%[5]s EXCEPT %[4]s) y)`,
				goQ, refQ, pgx.Identifier{table}.Sanitize(), sel(goQ), sel(refQ))).Scan(&goN, &refN, &onlyGo, &onlyRef)
			if err != nil {
				t.Fatalf("compare %s: %v", table, err)
			}
			if goN != refN {
				mismatch(t, backendPG, table, "*", "row count", refN, goN)
			}
			if onlyGo == 0 && onlyRef == 0 {
				return
			}
			t.Errorf("MISMATCH backend=%s table=%s: %d Go-written rows not in data.sql, %d data.sql rows not written by Go (details follow)", backendPG, table, onlyGo, onlyRef)
			reportPGDiff(t, ctx, pool, table, goQ, refQ, pgKeys[table], exprs, cols)
		})
	}
}

// reportPGDiff lists, field by field, how the Go-written table differs from the reference:
// rows present on one side only (by primary key) and columns that differ (IS DISTINCT FROM).
func reportPGDiff(t *testing.T, ctx context.Context, pool interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, table, goQ, refQ string, keys, exprs, cols []string) {
	t.Helper()
	tq := pgx.Identifier{table}.Sanitize()
	var keyExpr, on []string
	for _, k := range keys {
		q := pgx.Identifier{k}.Sanitize()
		keyExpr = append(keyExpr, "coalesce(a."+q+", b."+q+")::text")
		on = append(on, "a."+q+" = b."+q)
	}
	kx := strings.Join(keyExpr, " || ' / ' || ")
	var parts []string
	for i, c := range cols {
		e := strings.Replace(exprs[i], " AS "+pgx.Identifier{c}.Sanitize(), "", 1)
		ea := strings.ReplaceAll(e, pgx.Identifier{c}.Sanitize(), "a."+pgx.Identifier{c}.Sanitize())
		eb := strings.ReplaceAll(e, pgx.Identifier{c}.Sanitize(), "b."+pgx.Identifier{c}.Sanitize())
		parts = append(parts, fmt.Sprintf(`SELECT %s, %s, (%s)::text, (%s)::text, a.%s IS NULL, b.%s IS NULL
			FROM %s.%s a FULL JOIN %s.%s b ON %s
			WHERE (%s) IS DISTINCT FROM (%s)`, kx, quoteLit(c), eb, ea,
			pgx.Identifier{keys[0]}.Sanitize(), pgx.Identifier{keys[0]}.Sanitize(),
			goQ, tq, refQ, tq, strings.Join(on, " AND "), ea, eb))
	}
	rows, err := pool.Query(ctx, strings.Join(parts, " UNION ALL ")+" ORDER BY 1, 2 LIMIT 200")
	if err != nil {
		t.Errorf("detail query for %s: %v", table, err)
		return
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var key, col string
		var want, got *string
		var noGo, noRef bool
		if err := rows.Scan(&key, &col, &want, &got, &noGo, &noRef); err != nil {
			t.Errorf("detail query for %s: %v", table, err)
			return
		}
		if (noGo || noRef) && seen[key] {
			continue // one line per missing/extra row, not per column
		}
		seen[key] = true
		switch {
		case noGo:
			mismatch(t, backendPG, table, key, "row", "present (data.sql)", "missing")
		case noRef:
			mismatch(t, backendPG, table, key, "row", "absent (data.sql)", "extra row")
		default:
			mismatch(t, backendPG, table, key, col, want, got)
		}
	}
}

func quoteLit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
