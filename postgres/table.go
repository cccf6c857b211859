package postgres

import (
	"context"
	"fmt"
	"strings"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/jackc/pgx/v5"
)

// The table face (bulk.TableStore) on PostgreSQL: whole-table streaming in primary-key
// order with a resumable cursor, batch writes through COPY with a conflict policy, counts, and
// the rebuild of property_lookup from properties (§5.4, §5.6). Rows cross it in canonical
// record form; PostgreSQL column names are the records' JSON field names (§5.3).

// DefaultPageSize is the page size of Scan when ScanOptions.PageSize is not set.
const DefaultPageSize = 1000

// spec returns the table's description or an error wrapping ErrUnknownTable.
func spec(t actingweb.Table) (*tableSpec, error) {
	if sp, ok := specs[t]; ok {
		return sp, nil
	}
	return nil, fmt.Errorf("postgres: %w: %q", actingweb.ErrUnknownTable, string(t))
}

func quoteList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(q, ", ")
}

// tableErr wraps a database error of an operation on table t: a missing table or schema
// becomes ErrSchema. PostgreSQL's message is kept; its Detail (which may quote row values,
// secrets included) is not.
func (s *Store) tableErr(t actingweb.Table, what string, err error) error {
	if isUndefinedTable(err) {
		return fmt.Errorf("postgres: %s %s.%s: %w: %w (run `actingweb schema upgrade`)", what, s.schema, t, actingweb.ErrSchema, err)
	}
	return fmt.Errorf("postgres: %s %s.%s: %w", what, s.schema, t, err)
}

// Analyze runs ANALYZE on tables of the store's schema (one statement), so the query planner
// has their statistics right after a bulk load instead of when autovacuum next gets to them
// (bulk.Analyzer). ANALYZE takes no lock that blocks reads or writes. A table the user
// does not own is skipped by the server with a warning, not an error.
func (s *Store) Analyze(ctx context.Context, tables []actingweb.Table) error {
	if len(tables) == 0 {
		return nil
	}
	q, names := make([]string, len(tables)), make([]string, len(tables))
	for i, t := range tables {
		if _, err := spec(t); err != nil {
			return err
		}
		q[i], names[i] = s.qtable(t), string(t)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE `+strings.Join(q, ", ")); err != nil {
		return fmt.Errorf("postgres: analyze %s in schema %s: %w", strings.Join(names, ", "), s.schema, err)
	}
	return nil
}
