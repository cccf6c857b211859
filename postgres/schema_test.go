package postgres_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/postgres"
)

// coreOpen opens a store on a fresh, empty schema (dropped at cleanup).
func coreOpen(t testing.TB) (*postgres.Store, string) {
	t.Helper()
	u, schema := testenv.FreshPostgresSchema(t)
	cfg, err := postgres.ConfigFromURL(u, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.MinConns = 0
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, schema
}

// coreHead opens a store on a fresh schema upgraded to head.
func coreHead(t testing.TB) (*postgres.Store, string) {
	t.Helper()
	s, schema := coreOpen(t)
	if _, err := s.UpgradeSchema(context.Background()); err != nil {
		t.Fatalf("UpgradeSchema: %v", err)
	}
	return s, schema
}

func coreCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func repoFile(t testing.TB, rel string) string {
	_, me, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(me), "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// loadDump runs a pg_dump file of the upstream fixture in schema (public. rewritten to the
// schema; psql meta-commands and OWNER statements dropped).
func loadDump(t testing.TB, s *postgres.Store, schema, rel string) {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(repoFile(t, rel), "\n") {
		if strings.HasPrefix(line, `\`) || strings.Contains(line, "OWNER TO") || strings.Contains(line, "set_config('search_path'") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	sql := strings.ReplaceAll(b.String(), "public.", pgx.Identifier{schema}.Sanitize()+".")
	if _, err := s.Pool().Exec(coreCtx(t), sql); err != nil {
		t.Fatalf("load %s: %v", rel, err)
	}
}

// catalog is the structure of one schema as comparable text lines.
func catalog(t testing.TB, s *postgres.Store, schema string) (cols, idx, cons []string) {
	t.Helper()
	ctx := coreCtx(t)
	norm := func(v string) string {
		v = strings.ReplaceAll(v, pgx.Identifier{schema}.Sanitize()+".", "")
		return strings.ReplaceAll(v, schema+".", "")
	}
	query := func(q string) []string {
		rows, err := s.Pool().Query(ctx, q, schema, postgres.GooseTable)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for i := range out {
			out[i] = norm(out[i])
		}
		slices.Sort(out)
		return out
	}
	cols = query(`SELECT c.relname || '.' || a.attnum || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ||
			CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname <> $2 AND a.attnum > 0 AND NOT a.attisdropped`)
	idx = query(`SELECT tablename || ' ' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename <> $2`)
	cons = query(`SELECT c.conrelid::regclass::text || ' ' || c.conname || ' ' || c.contype::text || ' ' || pg_get_constraintdef(c.oid) ||
			' deferrable=' || c.condeferrable::text || ' deferred=' || c.condeferred::text
		FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
		WHERE n.nspname = $1 AND c.conrelid::regclass::text NOT LIKE '%' || $2`)
	return cols, idx, cons
}

func diffLines(t *testing.T, what string, want, got []string) {
	t.Helper()
	if slices.Equal(want, got) {
		return
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s: expected (from schema.sql) but missing: %s", what, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("%s: unexpected: %s", what, g)
		}
	}
}

// TestUpgradeSchemaMatchesUpstreamDump builds a fresh schema with the goose migrations and
// compares its catalog (columns with position, type, nullability and default; index
// definitions; constraints with deferrability) with the same catalog of upstream's pg_dump
// (testdata/upstream-seed1/postgresql/schema.sql) loaded into another schema.
func TestUpgradeSchemaMatchesUpstreamDump(t *testing.T) {
	ctx := coreCtx(t)
	s, schema := coreOpen(t)
	st, err := s.SchemaStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.AtHead || st.Version != "" || len(st.Tables) != 0 {
		t.Fatalf("fresh schema status = %+v", st)
	}
	if err := s.CheckSchema(ctx); !errors.Is(err, actingweb.ErrSchema) {
		t.Fatalf("CheckSchema on empty schema = %v, want ErrSchema", err)
	}
	st, err = s.UpgradeSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.AtHead || st.Version != actingweb.AlembicHead || len(st.Missing) != 0 || len(st.Tables) != 10 {
		t.Fatalf("status after upgrade = %+v", st)
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatalf("CheckSchema at head: %v", err)
	}

	ref, refSchema := coreOpen(t)
	loadDump(t, ref, refSchema, "testdata/upstream-seed1/postgresql/schema.sql")
	wantCols, wantIdx, wantCons := catalog(t, ref, refSchema)
	gotCols, gotIdx, gotCons := catalog(t, s, schema)
	// The reference must really describe the schema (a comparison of nothing proves nothing).
	if len(wantCols) != 66 || len(wantIdx) != 15 || len(wantCons) != 11 {
		t.Fatalf("reference catalog has %d columns, %d indexes, %d constraints; want 66, 15, 11", len(wantCols), len(wantIdx), len(wantCons))
	}
	for _, must := range []string{
		"trusts.23 capabilities_fetched_at timestamp with time zone",
		"subscription_suspensions.3 subtarget character varying(255) NOT NULL DEFAULT ''::character varying",
		"properties.2 name text NOT NULL",
	} {
		if !slices.Contains(wantCols, must) {
			t.Errorf("reference catalog lacks %q", must)
		}
	}
	diffLines(t, "columns", wantCols, gotCols)
	diffLines(t, "indexes", wantIdx, gotIdx)
	diffLines(t, "constraints", wantCons, gotCons)

	var rows int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{schema, "alembic_version"}.Sanitize()).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("alembic_version rows = %d (%v), want 1", rows, err)
	}
}

// gooseRows counts the rows of the goose table.
func gooseRows(t testing.TB, s *postgres.Store, schema string) int {
	t.Helper()
	var n int
	if err := s.Pool().QueryRow(coreCtx(t), `SELECT count(*) FROM `+pgx.Identifier{schema, postgres.GooseTable}.Sanitize()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUpgradeSchemaTwiceIsNoOp(t *testing.T) {
	ctx := coreCtx(t)
	s, schema := coreHead(t)
	before := gooseRows(t, s, schema)
	if before != 8 { // version 0 + seven migrations
		t.Fatalf("goose rows after first upgrade = %d, want 8", before)
	}
	st, err := s.UpgradeSchema(ctx)
	if err != nil || !st.AtHead {
		t.Fatalf("second upgrade: %+v, %v", st, err)
	}
	if after := gooseRows(t, s, schema); after != before {
		t.Fatalf("goose rows %d -> %d: second upgrade ran something", before, after)
	}
}

// applyAlembicUpTo simulates a database built by Alembic: the Up sections of the migration
// files up to and including revision rev, run directly (no goose table).
func applyAlembicUpTo(t testing.TB, s *postgres.Store, schema, rev string) {
	t.Helper()
	ctx := coreCtx(t)
	files, err := filepath.Glob(filepath.Join(filepath.Dir(callerFile()), "migrations", "*.sql"))
	if err != nil || len(files) != 7 {
		t.Fatalf("migration files: %v %v", files, err)
	}
	slices.Sort(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		up, _, _ := strings.Cut(string(b), "-- +goose Down")
		conn, err := s.Pool().Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = conn.Exec(ctx, "SET search_path TO "+pgx.Identifier{schema}.Sanitize()+"; "+up)
		conn.Release()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if strings.Contains(filepath.Base(f), rev) {
			return
		}
	}
	t.Fatalf("revision %s not found", rev)
}

func callerFile() string { _, f, _, _ := runtime.Caller(0); return f }

func TestUpgradeSchemaAdoptsAlembic(t *testing.T) {
	for _, rev := range []string{"3307e3616c5e", "a1b2c3d4e5f6", "d4e5f6a7b8c9", actingweb.AlembicHead} {
		t.Run(rev, func(t *testing.T) {
			ctx := coreCtx(t)
			s, schema := coreOpen(t)
			applyAlembicUpTo(t, s, schema, rev)
			st, err := s.SchemaStatus(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.Version != rev || st.AtHead != (rev == actingweb.AlembicHead) {
				t.Fatalf("status before = %+v", st)
			}
			if rev != actingweb.AlembicHead {
				if err := s.CheckSchema(ctx); !errors.Is(err, actingweb.ErrSchema) || !strings.Contains(err.Error(), rev) {
					t.Fatalf("CheckSchema below head = %v", err)
				}
			}
			st, err = s.UpgradeSchema(ctx)
			if err != nil || !st.AtHead {
				t.Fatalf("UpgradeSchema: %+v, %v", st, err)
			}
			if n := gooseRows(t, s, schema); n != 8 {
				t.Fatalf("goose rows = %d, want 8 (0 + 7)", n)
			}
			// Same structure as a Go-built schema.
			ref, refSchema := coreHead(t)
			wc, wi, wk := catalog(t, ref, refSchema)
			gc, gi, gk := catalog(t, s, schema)
			diffLines(t, "columns", wc, gc)
			diffLines(t, "indexes", wi, gi)
			diffLines(t, "constraints", wk, gk)
		})
	}
}

// TestUpgradeSchemaAdoptsUpstreamDump adopts the real pg_dump of a Python-built database
// (schema and data) at head: nothing is run, data is untouched.
func TestUpgradeSchemaAdoptsUpstreamDump(t *testing.T) {
	ctx := coreCtx(t)
	s, schema := coreOpen(t)
	loadDump(t, s, schema, "testdata/upstream-seed1/postgresql/schema.sql")
	loadDump(t, s, schema, "testdata/upstream-seed1/postgresql/data.sql")
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatalf("CheckSchema of upstream dump: %v", err)
	}
	before, err := s.Count(ctx, actingweb.TableProperties)
	if err != nil || before == 0 {
		t.Fatalf("properties = %d, %v", before, err)
	}
	if st, err := s.UpgradeSchema(ctx); err != nil || !st.AtHead {
		t.Fatalf("UpgradeSchema: %+v, %v", st, err)
	}
	if after, _ := s.Count(ctx, actingweb.TableProperties); after != before {
		t.Fatalf("properties %d -> %d", before, after)
	}
	if n := gooseRows(t, s, schema); n != 8 {
		t.Fatalf("goose rows = %d", n)
	}
}

func TestUpgradeSchemaRefuses(t *testing.T) {
	cases := []struct {
		name  string
		setup string
		want  string
	}{
		{"unknown revision", `CREATE TABLE alembic_version (version_num varchar(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
			INSERT INTO alembic_version VALUES ('f00dfacef00d');`, "f00dfacef00d"},
		{"tables without alembic_version", `CREATE TABLE actors (id varchar(255) PRIMARY KEY, creator varchar(255) NOT NULL, passphrase text NOT NULL)`, "actors"},
		{"two alembic rows", `CREATE TABLE alembic_version (version_num varchar(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
			INSERT INTO alembic_version VALUES ('a1b2c3d4e5f6'), ('3307e3616c5e');`, "2 rows"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := coreCtx(t)
			s, schema := coreOpen(t)
			conn, err := s.Pool().Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, err = conn.Exec(ctx, "SET search_path TO "+pgx.Identifier{schema}.Sanitize()+"; "+c.setup)
			conn.Release()
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.UpgradeSchema(ctx)
			if !errors.Is(err, actingweb.ErrSchema) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("UpgradeSchema = %v; want ErrSchema mentioning %q", err, c.want)
			}
			var exists bool
			if err := s.Pool().QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, schema+"."+postgres.GooseTable).Scan(&exists); err != nil || exists {
				t.Fatalf("refused upgrade created the goose table (%v)", err)
			}
			if err := s.CheckSchema(ctx); !errors.Is(err, actingweb.ErrSchema) {
				t.Fatalf("CheckSchema = %v", err)
			}
		})
	}
}

// TestUpgradeSchemaConcurrent runs two upgrades of one schema at once: the advisory lock
// serialises them, both succeed, migrations run once.
func TestUpgradeSchemaConcurrent(t *testing.T) {
	ctx := coreCtx(t)
	s, schema := coreOpen(t)
	errs := make(chan error, 2)
	for range 2 {
		go func() { _, err := s.UpgradeSchema(ctx); errs <- err }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := gooseRows(t, s, schema); n != 8 {
		t.Fatalf("goose rows = %d, want 8", n)
	}
}
