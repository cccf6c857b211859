package postgres

import (
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	actingweb "github.com/actingweb/actingweb-go"
)

// statements holds a store's schema-qualified table names and the SQL statements of the
// application face with them filled in. Every statement the store sends names its tables
// with the schema ("schema"."table"), so a connection whose search_path points elsewhere (a
// pool the application hands to New) cannot send it to the wrong schema.
type statements struct {
	tables map[actingweb.Table]string // table -> pgx.Identifier{schema, table}.Sanitize()
	expand *strings.Replacer          // "{table}" -> the qualified name
	cache  sync.Map                   // template -> statement
}

// newStatements builds the statements of schema.
func newStatements(schema string) *statements {
	st := &statements{tables: make(map[actingweb.Table]string, len(actingweb.Tables))}
	var pairs []string
	for _, t := range actingweb.Tables {
		q := pgx.Identifier{schema, string(t)}.Sanitize()
		st.tables[t] = q
		pairs = append(pairs, "{"+string(t)+"}", q)
	}
	st.expand = strings.NewReplacer(pairs...)
	return st
}

// sql returns the statement of a template whose tables are written {table} (a table name of
// actingweb.Tables in braces, e.g. "SELECT id FROM {actors}"), with the store's qualified
// names in their place. Each template is expanded once per store; templates must be constant
// (a template built per call would be kept once per variant).
func (s *Store) sql(tmpl string) string {
	if q, ok := s.stmts.cache.Load(tmpl); ok {
		return q.(string)
	}
	q := s.stmts.expand.Replace(tmpl)
	s.stmts.cache.Store(tmpl, q)
	return q
}

// qtable is the schema-qualified, quoted table name.
func (s *Store) qtable(t actingweb.Table) string {
	if q, ok := s.stmts.tables[t]; ok {
		return q
	}
	return pgx.Identifier{s.schema, string(t)}.Sanitize()
}
