package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"

	actingweb "github.com/actingweb/actingweb-go"
)

// Schema management (docs/storage-model.md §4.2, §4.5). The seven Alembic revisions of Python
// ActingWeb 3.14.0 are embedded as goose SQL migrations, one file per revision, numbered 1-7 in
// chain order (see Revisions). Every migration also maintains Alembic's own alembic_version
// table (one row, the revision reached), so Python deployments and `alembic current` accept a
// database built here, and a database built by Alembic is adopted (see UpgradeSchema).
//
// Goose keeps its bookkeeping in GooseTable, in the store's schema next to the nine tables.

// GooseTable is the goose version table, kept in the store's schema. It is deliberately not
// goose's default "goose_db_version", so it never clashes with an application that uses goose
// for its own tables in the same schema.
const GooseTable = "actingweb_goose_version"

// AlembicVersionTable is Alembic's version table (§4.5): version_num varchar(32), one row.
const AlembicVersionTable = "alembic_version"

// Revisions is the Alembic revision chain of §4.5 in order, base first; goose version i+1
// applies Revisions[i]. The last one is actingweb.AlembicHead.
var Revisions = []string{
	"3307e3616c5e", "70d60420526", "a1b2c3d4e5f6", "b2c3d4e5f6a7",
	"c3d4e5f6a7b8", "d4e5f6a7b8c9", "e5f6a7b8c9d0",
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

// revisionIndex returns the goose version (1-based position in Revisions) of an Alembic
// revision, or 0 if the revision is unknown.
func revisionIndex(rev string) int64 {
	if i := slices.Index(Revisions, rev); i >= 0 {
		return int64(i + 1)
	}
	return 0
}

// tableNames lists the nine physical table names in actingweb.Tables order.
func tableNames() []string {
	out := make([]string, len(actingweb.Tables))
	for i, t := range actingweb.Tables {
		out[i] = string(t)
	}
	return out
}

// schemaState is what inspect finds in the store's schema.
type schemaState struct {
	schemaExists  bool
	tables        map[string]bool // the nine tables present
	hasAlembic    bool            // alembic_version exists
	versions      []string        // rows of alembic_version
	hasGoose      bool            // GooseTable exists
	gooseVersion  int64           // highest applied goose version (0 when none)
	gooseVersions map[int64]bool  // applied goose versions
}

// inspect reads the schema's state without changing anything.
func (s *Store) inspect(ctx context.Context, q pgxQuerier) (schemaState, error) {
	st := schemaState{tables: map[string]bool{}, gooseVersions: map[int64]bool{}}
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, s.schema).Scan(&st.schemaExists); err != nil {
		return st, fmt.Errorf("postgres: inspect schema %s: %w", s.schema, err)
	}
	if !st.schemaExists {
		return st, nil
	}
	rows, err := q.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`, s.schema)
	if err != nil {
		return st, fmt.Errorf("postgres: inspect schema %s: %w", s.schema, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return st, fmt.Errorf("postgres: inspect schema %s: %w", s.schema, err)
	}
	nine := tableNames()
	for _, n := range names {
		switch {
		case slices.Contains(nine, n):
			st.tables[n] = true
		case n == AlembicVersionTable:
			st.hasAlembic = true
		case n == GooseTable:
			st.hasGoose = true
		}
	}
	if st.hasAlembic {
		rows, err := q.Query(ctx, `SELECT version_num FROM `+pgx.Identifier{s.schema, AlembicVersionTable}.Sanitize()+` ORDER BY 1`)
		if err != nil {
			return st, fmt.Errorf("postgres: read %s.%s: %w", s.schema, AlembicVersionTable, err)
		}
		if st.versions, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return st, fmt.Errorf("postgres: read %s.%s: %w", s.schema, AlembicVersionTable, err)
		}
	}
	if st.hasGoose {
		// goose records every apply and rollback as a row; the newest row per version decides.
		rows, err := q.Query(ctx, `SELECT DISTINCT ON (version_id) version_id, is_applied FROM `+
			pgx.Identifier{s.schema, GooseTable}.Sanitize()+` ORDER BY version_id, id DESC`)
		if err != nil {
			return st, fmt.Errorf("postgres: read %s.%s: %w", s.schema, GooseTable, err)
		}
		var v int64
		var applied bool
		_, err = pgx.ForEachRow(rows, []any{&v, &applied}, func() error {
			if applied && v > 0 {
				st.gooseVersions[v] = true
				st.gooseVersion = max(st.gooseVersion, v)
			}
			return nil
		})
		if err != nil {
			return st, fmt.Errorf("postgres: read %s.%s: %w", s.schema, GooseTable, err)
		}
	}
	return st, nil
}

// pgxQuerier is what inspect needs from a pool or connection.
type pgxQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// status turns a state into a SchemaStatus.
func (s *Store) status(st schemaState) actingweb.SchemaStatus {
	out := actingweb.SchemaStatus{
		Backend: "postgresql", Location: s.schema, Head: actingweb.AlembicHead,
		Tables: []string{}, Missing: []string{},
	}
	if !st.schemaExists {
		out.Missing = append(out.Missing, "schema "+s.schema)
	}
	for _, n := range tableNames() {
		if st.tables[n] {
			out.Tables = append(out.Tables, n)
		} else {
			out.Missing = append(out.Missing, n)
		}
	}
	if st.hasAlembic {
		out.Tables = append(out.Tables, AlembicVersionTable)
	} else {
		out.Missing = append(out.Missing, AlembicVersionTable)
	}
	switch len(st.versions) {
	case 0:
		if st.hasAlembic {
			out.Notes = append(out.Notes, "alembic_version is empty")
		}
	case 1:
		out.Version = st.versions[0]
	default:
		out.Version = strings.Join(st.versions, ",")
		out.Notes = append(out.Notes, fmt.Sprintf("alembic_version holds %d rows (%s); Alembic expects exactly one", len(st.versions), out.Version))
	}
	idx := int64(0)
	if len(st.versions) == 1 {
		idx = revisionIndex(st.versions[0])
		if idx == 0 {
			out.Notes = append(out.Notes, fmt.Sprintf("alembic revision %q is not in the chain of ActingWeb 3.14.0 (head %s)", st.versions[0], actingweb.AlembicHead))
		}
	}
	if len(st.versions) <= 1 && (idx > 0 || len(st.versions) == 0) {
		for _, r := range Revisions[idx:] {
			out.Missing = append(out.Missing, "revision "+r)
		}
	}
	if st.hasAlembic && !st.hasGoose {
		out.Notes = append(out.Notes, fmt.Sprintf("built by Alembic (no %s table): schema upgrade adopts it", GooseTable))
	}
	if st.hasGoose && idx > 0 && st.gooseVersion != idx {
		out.Notes = append(out.Notes, fmt.Sprintf("%s records version %d but alembic_version says %s (version %d)", GooseTable, st.gooseVersion, st.versions[0], idx))
	}
	out.AtHead = out.Version == actingweb.AlembicHead && len(out.Missing) == 0
	return out
}

// SchemaStatus reports the schema's Alembic revision, which of the nine tables (and
// alembic_version) exist and what is missing (tables, then revisions still to apply), without
// changing anything. AtHead is true only at actingweb.AlembicHead with every table present.
func (s *Store) SchemaStatus(ctx context.Context) (actingweb.SchemaStatus, error) {
	st, err := s.inspect(ctx, s.pool)
	if err != nil {
		return actingweb.SchemaStatus{}, err
	}
	return s.status(st), nil
}

// CheckSchema returns nil when the schema is at Alembic head and all nine tables and
// alembic_version exist, else an error wrapping actingweb.ErrSchema that says what was found
// and to run `actingweb schema upgrade`. A database built by Alembic at head passes (no goose
// table is required).
func (s *Store) CheckSchema(ctx context.Context) error {
	st, err := s.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	if st.AtHead {
		return nil
	}
	v := st.Version
	if v == "" {
		v = "none"
	}
	msg := fmt.Sprintf("postgres: schema %s is not at Alembic head %s (revision: %s", s.schema, actingweb.AlembicHead, v)
	if len(st.Missing) > 0 {
		msg += "; missing: " + strings.Join(st.Missing, ", ")
	}
	if len(st.Notes) > 0 {
		msg += "; " + strings.Join(st.Notes, "; ")
	}
	return fmt.Errorf("%s): %w; run `actingweb schema upgrade`", msg, actingweb.ErrSchema)
}

// lockID is the advisory lock of this schema's migrations: schema upgrades of the same schema
// are serialised, different schemas do not wait for each other. goose's own session lock uses
// lockID+1.
func (s *Store) lockID() int64 {
	h := fnv.New64a()
	h.Write([]byte("actingweb-go schema " + s.schema))
	return int64(h.Sum64()&^(1<<63)) &^ 1
}

// UpgradeSchema brings the store's schema to Alembic head and returns the new status:
//
//   - the schema is created when missing (CREATE SCHEMA IF NOT EXISTS, quoted);
//   - an empty schema gets all seven migrations;
//   - a database built by Alembic (alembic_version, no GooseTable) is adopted: the goose
//     versions of the revisions it has are recorded as applied without running them, and the
//     missing revisions are applied (nothing runs at head);
//   - a database built here gets the migrations it lacks (none at head: a no-op).
//
// It refuses, with an error wrapping actingweb.ErrSchema and changing nothing, a schema that
// holds ActingWeb tables but no alembic_version, an unknown Alembic revision (named in the
// error), an alembic_version with several rows, and a goose table that is ahead of
// alembic_version. Concurrent upgrades of one schema are serialised by a PostgreSQL advisory
// lock; each migration runs in its own transaction together with its alembic_version update.
func (s *Store) UpgradeSchema(ctx context.Context) (actingweb.SchemaStatus, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return actingweb.SchemaStatus{}, fmt.Errorf("postgres: schema upgrade of %s: %w", s.schema, err)
	}
	defer conn.Release()
	if s.schema != "public" {
		if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{s.schema}.Sanitize()); err != nil {
			return actingweb.SchemaStatus{}, fmt.Errorf("postgres: create schema %s: %w", s.schema, err)
		}
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, s.lockID()); err != nil {
		return actingweb.SchemaStatus{}, fmt.Errorf("postgres: schema upgrade of %s: take advisory lock: %w", s.schema, err)
	}
	defer func() {
		// A detached context: the lock must be released even when ctx was cancelled.
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, s.lockID()); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx)) // closing the session releases the lock
		}
	}()

	st, err := s.inspect(ctx, conn)
	if err != nil {
		return actingweb.SchemaStatus{}, err
	}
	mark, err := s.planAdoption(st)
	if err != nil {
		return s.status(st), err
	}

	db := stdlib.OpenDB(*s.migrationConnConfig())
	defer db.Close()
	db.SetMaxOpenConns(2)
	if len(mark) > 0 {
		if err := markApplied(ctx, db, st.hasGoose, mark); err != nil {
			return s.status(st), fmt.Errorf("postgres: schema %s: record Alembic revisions in %s: %w", s.schema, GooseTable, err)
		}
	}
	p, err := s.newProvider(db)
	if err != nil {
		return s.status(st), err
	}
	if _, err := p.Up(ctx); err != nil {
		return s.status(st), fmt.Errorf("postgres: schema %s: apply migrations: %w: %w", s.schema, actingweb.ErrSchema, err)
	}
	st, err = s.inspect(ctx, conn)
	if err != nil {
		return actingweb.SchemaStatus{}, err
	}
	out := s.status(st)
	if !out.AtHead {
		return out, fmt.Errorf("postgres: schema %s: after upgrade the schema is not at head (revision %q, missing %s): %w",
			s.schema, out.Version, strings.Join(out.Missing, ", "), actingweb.ErrSchema)
	}
	return out, nil
}

// planAdoption decides, from the inspected state, which goose versions must be recorded as
// applied before goose runs (the revisions an Alembic-built database already has), or refuses.
func (s *Store) planAdoption(st schemaState) ([]int64, error) {
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("postgres: schema %s: %s: %w", s.schema, fmt.Sprintf(format, args...), actingweb.ErrSchema)
	}
	if len(st.versions) > 1 {
		return nil, refuse("alembic_version holds %d rows (%s); expected exactly one — repair it with Alembic first",
			len(st.versions), strings.Join(st.versions, ", "))
	}
	var rev int64
	if len(st.versions) == 1 {
		if rev = revisionIndex(st.versions[0]); rev == 0 {
			return nil, refuse("unknown Alembic revision %q in alembic_version (ActingWeb 3.14.0's chain ends at %s); refusing to touch it",
				st.versions[0], actingweb.AlembicHead)
		}
	}
	if rev == 0 && len(st.tables) > 0 {
		var present []string
		for _, n := range tableNames() {
			if st.tables[n] {
				present = append(present, n)
			}
		}
		return nil, refuse("tables exist (%s) but no Alembic revision is recorded; refusing to guess their state",
			strings.Join(present, ", "))
	}
	if st.gooseVersion > rev {
		return nil, refuse("%s records version %d (%s) but alembic_version says %q; was the schema downgraded by Alembic? Repair by hand",
			GooseTable, st.gooseVersion, Revisions[st.gooseVersion-1], strings.Join(st.versions, ""))
	}
	var mark []int64
	for v := int64(1); v <= rev; v++ {
		if !st.gooseVersions[v] {
			mark = append(mark, v)
		}
	}
	return mark, nil
}

// markApplied records goose versions as applied without running them (adoption of an
// Alembic-built database), creating the goose table as goose does when needed. One transaction.
func markApplied(ctx context.Context, db *sql.DB, tableExists bool, versions []int64) error {
	store, err := database.NewStore(goose.DialectPostgres, GooseTable)
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if !tableExists {
		if err := store.CreateVersionTable(ctx, tx); err != nil {
			return err
		}
		if err := store.Insert(ctx, tx, database.InsertRequest{Version: 0}); err != nil {
			return err
		}
	}
	for _, v := range versions {
		if err := store.Insert(ctx, tx, database.InsertRequest{Version: v}); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// migrationConnConfig is the pool's connection config with search_path always set to the
// store's schema (also for public, as Alembic's env.py does), so unqualified DDL and goose's
// version table land in the schema.
func (s *Store) migrationConnConfig() *pgx.ConnConfig {
	cc := s.pool.Config().ConnConfig.Copy()
	cc.RuntimeParams["search_path"] = pgx.Identifier{s.schema}.Sanitize()
	cc.RuntimeParams["timezone"] = "UTC"
	return cc
}

// newProvider builds the goose provider: embedded migrations, GooseTable, a session-level
// advisory lock, no global Go migrations, quiet logging.
func (s *Store) newProvider(db *sql.DB) (*goose.Provider, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(s.lockID()+1), lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithTableName(GooseTable),
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		return nil, fmt.Errorf("postgres: schema migrations: %w", err)
	}
	return p, nil
}

// isUndefinedTable reports a missing table (42P01) or schema (3F000).
func isUndefinedTable(err error) bool {
	var pe interface{ SQLState() string }
	if errors.As(err, &pe) {
		return pe.SQLState() == "42P01" || pe.SQLState() == "3F000"
	}
	return false
}
