package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	actingweb "github.com/actingweb/actingweb-go"
)

// Internal helpers of the application face: transactions, error classification and time
// conversion. Nothing here is exported.

// inTx runs fn in one transaction (READ COMMITTED, the upstream default): committed when fn
// returns nil, rolled back otherwise.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// logger is the logger of the store (Options.Logger, with backend and schema). Values and
// secrets are never logged.
func (s *Store) logger() *slog.Logger { return s.log }

// wrapErr turns a database error into the error the application face returns: "postgres:
// <what>: ..." wrapping the matching sentinel of the root package and the original error.
// pgx.ErrNoRows becomes ErrNotFound, unique violations ErrExists, values PostgreSQL cannot
// store (too long, NUL, bad JSON, too large for an index) ErrInvalid, a missing table or
// column ErrSchema. PostgreSQL's error text carries no row values (those are in Detail,
// which is never included), so secrets do not leak into messages.
func wrapErr(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", what, actingweb.ErrNotFound)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("postgres: %s: %w: %w", what, actingweb.ErrExists, err)
		case "22001", // string_data_right_truncation (varchar(n) too short)
			"22003", // numeric_value_out_of_range (seqnr beyond integer)
			"22021", // character_not_in_repertoire (NUL, invalid UTF-8)
			"22P02", // invalid_text_representation (bad JSON)
			"22P05", // untranslatable_character (\u0000 in jsonb)
			"54000": // program_limit_exceeded (index row too large)
			return fmt.Errorf("postgres: %s: %w: %w", what, actingweb.ErrInvalid, err)
		case "42P01", "42703", "3F000": // undefined_table, undefined_column, invalid_schema_name
			return fmt.Errorf("postgres: %s: %w: %w (run `actingweb schema upgrade`)", what, actingweb.ErrSchema, err)
		}
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

// notFound returns an error wrapping ErrNotFound for what.
func notFound(format string, args ...any) error {
	return fmt.Errorf("postgres: %s: %w", fmt.Sprintf(format, args...), actingweb.ErrNotFound)
}

// exists returns an error wrapping ErrExists for what.
func exists(format string, args ...any) error {
	return fmt.Errorf("postgres: %s: %w", fmt.Sprintf(format, args...), actingweb.ErrExists)
}

// invalid returns an error wrapping ErrInvalid for what.
func invalid(format string, args ...any) error {
	return fmt.Errorf("postgres: %s: %w", fmt.Sprintf(format, args...), actingweb.ErrInvalid)
}

// now is the current time in UTC at microsecond precision (what PostgreSQL keeps).
func now() time.Time { return actingweb.NormalizeTime(time.Now()) }

// naive converts t for a `timestamp without time zone` parameter: UTC wall time (§4.1).
func naive(t time.Time) time.Time { return actingweb.NormalizeTime(t) }

// naivePtr is naive for optional values; nil stays nil (SQL NULL).
func naivePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := naive(*t)
	return &u
}

// nilIfEmpty maps "" to nil (SQL NULL).
func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// fmtAmbiguous returns an error wrapping ErrAmbiguous for what.
func fmtAmbiguous(format string, args ...any) error {
	return fmt.Errorf("postgres: %s: %w", fmt.Sprintf(format, args...), actingweb.ErrAmbiguous)
}

// collectList collects rows with scan into a slice that is empty, never nil, when there are
// no rows; a query or scan error is wrapped by wrapErr(err, format, args...).
func collectList[T any](rows pgx.Rows, scan func(pgx.Row) (T, error), format string, args ...any) ([]T, error) {
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	if err != nil {
		return nil, wrapErr(err, format, args...)
	}
	if out == nil {
		out = []T{}
	}
	return out, nil
}

// oneRow is the result of a statement that must affect a row: err wrapped by
// wrapErr(err, format, args...), no row affected reported by none (notFound for updates,
// exists for inserts ON CONFLICT DO NOTHING) with the same message, else nil.
func oneRow(tag pgconn.CommandTag, err error, none func(format string, args ...any) error, format string, args ...any) error {
	if err != nil {
		return wrapErr(err, format, args...)
	}
	if tag.RowsAffected() == 0 {
		return none(format, args...)
	}
	return nil
}
