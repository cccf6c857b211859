package postgres

import (
	"context"
	"slices"
	"strings"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/testenv"
)

// TestModelMatchesSchema checks the table model (actingweb.Model), from which this package
// derives every column list and codec, against the schema the migrations build: per table the
// columns in physical order with their type, varchar limit and nullability (optional kinds
// nullable, the rest NOT NULL; a key part never NULL), and the primary-key columns in index
// order. It also checks that the migrations make exactly the nine tables (and Alembic's and
// goose's bookkeeping).
func TestModelMatchesSchema(t *testing.T) {
	url, schema := testenv.FreshPostgresSchema(t)
	cfg, err := ConfigFromURL(url, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.UpgradeSchema(ctx); err != nil {
		t.Fatal(err)
	}

	var tables []string
	rows, _ := s.Pool().Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = $1 AND table_name NOT IN ('alembic_version', $2) ORDER BY table_name`, schema, GooseTable)
	for rows.Next() {
		var n string
		mustNil(t, rows.Scan(&n))
		tables = append(tables, n)
	}
	mustNil(t, rows.Err())
	var want []string
	for _, tb := range actingweb.Tables {
		want = append(want, string(tb))
	}
	slices.Sort(want)
	if !slices.Equal(tables, want) {
		t.Errorf("schema %s has tables %v, the model %v", schema, tables, want)
	}

	for _, tb := range actingweb.Tables {
		m := actingweb.Model(tb)
		// The model's columns, rendered as information_schema shows them.
		var wantCols []string
		for _, f := range m.Fields {
			if f.PGType == "" {
				continue
			}
			optional := f.Kind == actingweb.KindOptString || f.Kind == actingweb.KindOptInt64 ||
				f.Kind == actingweb.KindOptTime || f.Kind == actingweb.KindJSON
			wantCols = append(wantCols, column4(f.Name, f.PGType, f.PGMaxLen, optional && !f.PGKey))
		}
		var gotCols []string
		rows, _ := s.Pool().Query(ctx, `SELECT column_name, data_type, coalesce(character_maximum_length, 0), is_nullable = 'YES'
			FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, schema, string(tb))
		for rows.Next() {
			var name, typ string
			var maxLen int
			var nullable bool
			mustNil(t, rows.Scan(&name, &typ, &maxLen, &nullable))
			gotCols = append(gotCols, column4(name, typ, maxLen, nullable))
		}
		mustNil(t, rows.Err())
		if !slices.Equal(gotCols, wantCols) {
			t.Errorf("%s columns:\nschema %s\nmodel  %s", tb, strings.Join(gotCols, ", "), strings.Join(wantCols, ", "))
		}

		var gotPK []string
		rows, _ = s.Pool().Query(ctx, `SELECT a.attname FROM pg_index i
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
			WHERE i.indrelid = $1::regclass AND i.indisprimary
			ORDER BY array_position(i.indkey::int2[], a.attnum)`, s.qtable(tb))
		for rows.Next() {
			var n string
			mustNil(t, rows.Scan(&n))
			gotPK = append(gotPK, n)
		}
		mustNil(t, rows.Err())
		if !slices.Equal(gotPK, m.PGKey()) || len(gotPK) == 0 {
			t.Errorf("%s primary key: schema %v, model %v", tb, gotPK, m.PGKey())
		}

		// The package's description is the model's.
		sp := specs[tb]
		if !slices.Equal(sp.cols, m.Columns()) || !slices.Equal(sp.pk, m.PGKey()) || sp.owner != m.Owner {
			t.Errorf("%s: spec columns %v key %v owner %s; model %v %v %s", tb, sp.cols, sp.pk, sp.owner, m.Columns(), m.PGKey(), m.Owner)
		}
	}
}

func column4(name, typ string, maxLen int, nullable bool) string {
	s := name + " " + typ
	if maxLen > 0 {
		s += "(" + itoa(int64(maxLen)) + ")"
	}
	if !nullable {
		s += " NOT NULL"
	}
	return s
}
