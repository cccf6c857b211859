package dualwrite_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/jackc/pgx/v5"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/dualwrite"
	"github.com/actingweb/actingweb-go/dynamodb"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/postgres"
)

// storePool hands out fresh, empty stores at head like openPG and openDDB, but reuses the
// PostgreSQL schemas and DynamoDB table prefixes: when a test ends its store is emptied (every
// row of every table deleted, the lazily created bookkeeping table dropped) and checked to be
// table for table what a new one is, then handed to the next test. TestContract opens about
// 190 store pairs; creating and dropping a schema and nine DynamoDB tables for each cost most
// of the package's time (0.3 s of PostgreSQL and 0.6 s of DynamoDB Local CPU a pair), emptying
// a used one a few milliseconds. A store that cannot be emptied, or holds tables a new one does
// not, is dropped instead of reused.
type storePool struct {
	mu     sync.Mutex
	free   map[string][]*pooled // backend name -> stores ready for the next test
	all    []*pooled            // every store, dropped by close
	closed bool
}

// pooled is one reusable store location: a PostgreSQL schema or a DynamoDB table prefix.
type pooled struct {
	backend string
	loc     string          // PostgreSQL URL with ?schema=, or the DynamoDB table prefix
	ddbURL  string          // DynamoDB Local's endpoint
	tables  map[string]bool // the tables of a new store at head
	drop    func(context.Context) error
	dropped bool
}

func newStorePool() *storePool { return &storePool{free: map[string][]*pooled{}} }

// open returns a fresh, empty store of b at head whose release is registered on t.
func (p *storePool) open(t *testing.T, b backend) dualwrite.Backend {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p.mu.Lock()
	var e *pooled
	if n := len(p.free[b.name]); n > 0 {
		e, p.free[b.name] = p.free[b.name][n-1], p.free[b.name][:n-1]
	}
	p.mu.Unlock()
	var s dualwrite.Backend
	var err error
	if e == nil {
		e, s, err = p.create(ctx, t, b.name)
	} else {
		s, err = openAt(ctx, e)
	}
	if err != nil {
		t.Fatalf("%s store: %v", b.name, err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		p.release(t, e)
	})
	return s
}

// create makes a new store location of backend at head, registered with the pool.
func (p *storePool) create(ctx context.Context, t *testing.T, backend string) (*pooled, dualwrite.Backend, error) {
	e := &pooled{backend: backend}
	switch backend {
	case "postgres":
		u, _, drop, err := testenv.NewPostgresSchema(ctx, testenv.PostgresURL(t))
		if err != nil {
			return nil, nil, err
		}
		e.loc, e.drop = u, drop
	case "dynamodb":
		e.loc, e.ddbURL = testenv.UniqueDynamoPrefix(t), testenv.DynamoDBEndpoint(t)
		e.drop = func(ctx context.Context) error { return dropDynamoDB(ctx, e) }
	default:
		return nil, nil, fmt.Errorf("no backend %q", backend)
	}
	p.mu.Lock()
	p.all = append(p.all, e)
	p.mu.Unlock()
	s, err := openAt(ctx, e)
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.UpgradeSchema(ctx); err != nil {
		_ = s.Close()
		return nil, nil, fmt.Errorf("UpgradeSchema: %w", err)
	}
	if d, ok := s.(*dynamodb.Store); ok {
		// The contract reads rows whose ttl_timestamp has passed: DynamoDB Local's TTL
		// sweeper must not delete them between the write and the read.
		if _, err := d.DisableTTL(ctx); err != nil {
			_ = s.Close()
			return nil, nil, fmt.Errorf("DisableTTL: %w", err)
		}
	}
	if err := e.recordTables(ctx, s); err != nil {
		_ = s.Close()
		return nil, nil, err
	}
	return e, s, nil
}

// release empties e's store and hands it to the next test, or drops it when it cannot be
// brought back to the state of a new one.
func (p *storePool) release(t *testing.T, e *pooled) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := resetAt(ctx, e)
	p.mu.Lock()
	closed := p.closed
	if err == nil && !closed {
		p.free[e.backend] = append(p.free[e.backend], e)
	}
	p.mu.Unlock()
	if err == nil && !closed {
		return
	}
	if err != nil {
		t.Logf("%s store %s not reused: %v", e.backend, e.loc, err)
	}
	if derr := p.dropOne(ctx, e); derr != nil {
		t.Errorf("drop %s store %s: %v", e.backend, e.loc, derr)
	}
}

// close drops every store of the pool; stores still in use are dropped at their release.
func (p *storePool) close(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p.mu.Lock()
	p.closed = true
	var free []*pooled
	for _, l := range p.free {
		free = append(free, l...)
	}
	clear(p.free)
	p.mu.Unlock()
	for _, e := range free {
		if err := p.dropOne(ctx, e); err != nil {
			t.Errorf("drop %s store %s: %v", e.backend, e.loc, err)
		}
	}
}

func (p *storePool) dropOne(ctx context.Context, e *pooled) error {
	p.mu.Lock()
	done := e.dropped
	e.dropped = true
	p.mu.Unlock()
	if done {
		return nil
	}
	return e.drop(ctx)
}

// recordTables records the tables of e's new store s.
func (e *pooled) recordTables(ctx context.Context, s dualwrite.Backend) error {
	var err error
	switch s := s.(type) {
	case *postgres.Store:
		conn, _, cerr := pgConn(ctx, e.loc)
		if cerr != nil {
			return cerr
		}
		defer conn.Close(context.Background())
		e.tables, err = listTables(ctx, conn, e)
	case *dynamodb.Store:
		if e.tables, err = listTables(ctx, s.Client(), e); err == nil {
			for _, tb := range actingweb.Tables {
				if !e.tables[s.TableName(tb)] {
					err = fmt.Errorf("ListTables of prefix %s: %s missing from %v", e.loc, s.TableName(tb), e.tables)
				}
			}
		}
	}
	return err
}

// openAt opens a store on e's schema or table prefix, in lookup mode with the default indexed
// properties, as openPG and openDDB do.
func openAt(ctx context.Context, e *pooled) (dualwrite.Backend, error) {
	switch e.backend {
	case "postgres":
		cfg, err := postgres.ConfigFromURL(e.loc, func(string) string { return "" })
		if err != nil {
			return nil, fmt.Errorf("ConfigFromURL: %w", err)
		}
		cfg.Lookup = actingweb.DefaultLookupConfig()
		s, err := postgres.Open(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("Open: %w", err)
		}
		return s, nil
	default:
		s, err := dynamodb.Open(ctx, ddbConfig(e))
		if err != nil {
			return nil, fmt.Errorf("Open: %w", err)
		}
		return s, nil
	}
}

func ddbConfig(e *pooled) dynamodb.Config {
	return dynamodb.Config{Prefix: e.loc, Region: actingweb.DefaultRegion, Endpoint: e.ddbURL, Lookup: actingweb.DefaultLookupConfig()}
}

// listTables lists the tables of e's store, through conn: the tables in its PostgreSQL schema
// (conn a *pgx.Conn), or the DynamoDB tables named with its prefix (conn a DynamoDB client).
func listTables(ctx context.Context, conn any, e *pooled) (map[string]bool, error) {
	tables := map[string]bool{}
	switch c := conn.(type) {
	case *pgx.Conn:
		_, schema, err := testenv.SplitSchemaParam(e.loc)
		if err != nil {
			return nil, err
		}
		rows, err := c.Query(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
		if err != nil {
			return nil, fmt.Errorf("list the tables of %s: %w", schema, err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("list the tables of %s: %w", schema, err)
		}
		for _, n := range names {
			tables[n] = true
		}
	case *ddb.Client:
		pg := ddb.NewListTablesPaginator(c, &ddb.ListTablesInput{ExclusiveStartTableName: aws.String(e.loc)})
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list the tables of prefix %s: %w", e.loc, err)
			}
			past := false
			for _, n := range out.TableNames {
				if strings.HasPrefix(n, e.loc+"_") {
					tables[n] = true
				} else if n > e.loc {
					past = true
				}
			}
			if past {
				break // the names come sorted: past the prefix's
			}
		}
	default:
		return nil, fmt.Errorf("listTables: %T", conn)
	}
	return tables, nil
}

// resetAt brings e's store back to the state of a new one: the bookkeeping table (created by
// the first WriteControl) dropped, every row of every other table deleted (PostgreSQL's
// schema version tables kept), and then exactly the tables of a new store, all empty.
func resetAt(ctx context.Context, e *pooled) error {
	if e.backend == "postgres" {
		conn, schema, err := pgConn(ctx, e.loc)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+pgx.Identifier{schema, postgres.ControlTable}.Sanitize()); err != nil {
			return fmt.Errorf("drop the bookkeeping table: %w", err)
		}
		if err := sameTables(ctx, conn, e); err != nil {
			return err
		}
		// DELETE, not TRUNCATE: for the few rows a test leaves, a DELETE costs a fraction of
		// TRUNCATE's new files for every table and index.
		var del, any []string
		for _, n := range slices.Sorted(maps.Keys(e.tables)) {
			if n != postgres.AlembicVersionTable && n != postgres.GooseTable {
				q := pgx.Identifier{schema, n}.Sanitize()
				del = append(del, "DELETE FROM "+q)
				any = append(any, "EXISTS (SELECT FROM "+q+")")
			}
		}
		if _, err := conn.Exec(ctx, "BEGIN; "+strings.Join(del, "; ")+"; COMMIT"); err != nil {
			return fmt.Errorf("delete the rows: %w", err)
		}
		var left bool
		if err := conn.QueryRow(ctx, "SELECT "+strings.Join(any, " OR ")).Scan(&left); err != nil || left {
			return fmt.Errorf("rows left after the deletes (%v)", err)
		}
		return nil
	}
	s, err := dynamodb.Open(ctx, ddbConfig(e))
	if err != nil {
		return fmt.Errorf("Open: %w", err)
	}
	defer s.Close()
	if err := deleteTable(ctx, s.Client(), s.ControlTable()); err != nil {
		return err
	}
	if err := sameTables(ctx, s.Client(), e); err != nil {
		return err
	}
	for _, n := range slices.Sorted(maps.Keys(e.tables)) {
		if err := emptyTable(ctx, s.Client(), n); err != nil {
			return err
		}
	}
	return nil
}

// sameTables fails unless the store holds exactly the tables of a new one.
func sameTables(ctx context.Context, conn any, e *pooled) error {
	now, err := listTables(ctx, conn, e)
	if err != nil {
		return err
	}
	if !maps.Equal(now, e.tables) {
		return fmt.Errorf("tables %v, a new store has %v", slices.Sorted(maps.Keys(now)), slices.Sorted(maps.Keys(e.tables)))
	}
	return nil
}

func pgConn(ctx context.Context, pgURL string) (*pgx.Conn, string, error) {
	rest, schema, err := testenv.SplitSchemaParam(pgURL)
	if err != nil {
		return nil, "", err
	}
	conn, err := pgx.Connect(ctx, rest)
	if err != nil {
		return nil, "", fmt.Errorf("connect: %w", err)
	}
	return conn, schema, nil
}

// emptyTable deletes every item of the DynamoDB table name and checks that none is left.
func emptyTable(ctx context.Context, c *ddb.Client, name string) error {
	d, err := c.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("describe %s: %w", name, err)
	}
	names, proj := map[string]string{}, []string{}
	for i, k := range d.Table.KeySchema {
		ph := fmt.Sprintf("#k%d", i)
		names[ph] = aws.ToString(k.AttributeName)
		proj = append(proj, ph)
	}
	scan := ddb.NewScanPaginator(c, &ddb.ScanInput{TableName: aws.String(name), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String(strings.Join(proj, ", ")), ExpressionAttributeNames: names})
	var keys []map[string]types.AttributeValue
	for scan.HasMorePages() {
		out, err := scan.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("scan %s: %w", name, err)
		}
		keys = append(keys, out.Items...)
	}
	for len(keys) > 0 {
		n := min(len(keys), 25)
		reqs := make([]types.WriteRequest, n)
		for i, k := range keys[:n] {
			reqs[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}}
		}
		keys = keys[n:]
		in := map[string][]types.WriteRequest{name: reqs}
		for len(in) > 0 {
			out, err := c.BatchWriteItem(ctx, &ddb.BatchWriteItemInput{RequestItems: in})
			if err != nil {
				return fmt.Errorf("delete the items of %s: %w", name, err)
			}
			in = out.UnprocessedItems
		}
	}
	out, err := c.Scan(ctx, &ddb.ScanInput{TableName: aws.String(name), ConsistentRead: aws.Bool(true), Select: types.SelectCount})
	if err != nil {
		return fmt.Errorf("count %s: %w", name, err)
	}
	if out.Count != 0 || out.LastEvaluatedKey != nil {
		return fmt.Errorf("%s holds %d items after the deletes", name, out.Count)
	}
	return nil
}

// deleteTable deletes the DynamoDB table name, if it exists, and waits until it is gone.
func deleteTable(ctx context.Context, c *ddb.Client, name string) error {
	_, err := c.DeleteTable(ctx, &ddb.DeleteTableInput{TableName: aws.String(name)})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete table %s: %w", name, err)
	}
	w := ddb.NewTableNotExistsWaiter(c, func(o *ddb.TableNotExistsWaiterOptions) { o.MinDelay = 50 * time.Millisecond })
	if err := w.Wait(ctx, &ddb.DescribeTableInput{TableName: aws.String(name)}, time.Minute); err != nil {
		return fmt.Errorf("wait for table %s to be deleted: %w", name, err)
	}
	return nil
}

// dropDynamoDB deletes the nine tables of e's prefix and its bookkeeping table.
func dropDynamoDB(ctx context.Context, e *pooled) error {
	s, err := dynamodb.Open(ctx, ddbConfig(e))
	if err != nil {
		return err
	}
	defer s.Close()
	return s.DropTables(ctx)
}
