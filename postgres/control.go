package postgres

// control.go: the store's bookkeeping table actingweb_go_control (actingweb.ControlStore),
// beside the nine tables in the store's schema and created on first write, never by
// UpgradeSchema (the schema of the nine stays exactly upstream's).

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	actingweb "github.com/actingweb/actingweb-go"
)

// ControlTable is the bookkeeping table of actingweb.ControlStore: key text primary key,
// value text, version bigint, updated_at timestamptz.
const ControlTable = "actingweb_go_control"

var (
	_ actingweb.ControlStore  = (*Store)(nil)
	_ actingweb.ControlLister = (*Store)(nil)
)

func (s *Store) qcontrol() string { return pgx.Identifier{s.schema, ControlTable}.Sanitize() }

// ReadControl returns the value and version of key (actingweb.ControlStore); an absent key,
// or an absent table, reads as ("", 0, nil).
func (s *Store) ReadControl(ctx context.Context, key string) (string, int64, error) {
	var value string
	var version int64
	err := s.pool.QueryRow(ctx, `SELECT value, version FROM `+s.qcontrol()+` WHERE key = $1`, key).Scan(&value, &version)
	switch {
	case errors.Is(err, pgx.ErrNoRows), isUndefinedTable(err):
		return "", 0, nil
	case err != nil:
		return "", 0, fmt.Errorf("postgres: read control key %q from %s.%s: %w", key, s.schema, ControlTable, err)
	}
	return value, version, nil
}

// WriteControl stores value under key if its version is expectVersion (0: absent), as version
// expectVersion+1 (actingweb.ControlStore); another version fails with an error wrapping
// actingweb.ErrConflict. The table is created when missing.
func (s *Store) WriteControl(ctx context.Context, key, value string, expectVersion int64) error {
	if expectVersion < 0 {
		return fmt.Errorf("postgres: write control key %q: %w: expected version %d < 0", key, actingweb.ErrInvalid, expectVersion)
	}
	n, err := s.writeControl(ctx, key, value, expectVersion)
	if isUndefinedTable(err) {
		if err = s.createControlTable(ctx); err == nil {
			n, err = s.writeControl(ctx, key, value, expectVersion)
		}
	}
	if err != nil {
		return fmt.Errorf("postgres: write control key %q to %s.%s: %w", key, s.schema, ControlTable, err)
	}
	if n == 0 {
		return fmt.Errorf("postgres: write control key %q to %s.%s: %w: it is no longer at version %d; read it again",
			key, s.schema, ControlTable, actingweb.ErrConflict, expectVersion)
	}
	return nil
}

func (s *Store) writeControl(ctx context.Context, key, value string, expect int64) (int64, error) {
	var tag pgconn.CommandTag
	var err error
	if expect == 0 {
		tag, err = s.pool.Exec(ctx, `INSERT INTO `+s.qcontrol()+` (key, value, version, updated_at) VALUES ($1, $2, 1, now())
			ON CONFLICT (key) DO NOTHING`, key, value)
	} else {
		tag, err = s.pool.Exec(ctx, `UPDATE `+s.qcontrol()+` SET value = $2, version = version + 1, updated_at = now()
			WHERE key = $1 AND version = $3`, key, value, expect)
	}
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// createControlTable creates the bookkeeping table; two processes racing to create it both
// succeed (the loser's unique violation on the catalog is taken as "it exists now").
func (s *Store) createControlTable(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+s.qcontrol()+` (
		key text PRIMARY KEY,
		value text NOT NULL,
		version bigint NOT NULL,
		updated_at timestamptz NOT NULL DEFAULT now())`)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "42P07") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create the bookkeeping table (allow CREATE on schema %s, or create %s: key text primary key, value text, version bigint, updated_at timestamptz): %w",
			s.schema, ControlTable, err)
	}
	return nil
}

// ListControl returns up to limit values whose key starts with prefix, in key order
// (actingweb.ControlLister; limit <= 0: all); an absent table lists nothing.
func (s *Store) ListControl(ctx context.Context, prefix string, limit int) ([]actingweb.ControlEntry, error) {
	q := `SELECT key, value, version FROM ` + s.qcontrol() + ` WHERE starts_with(key, $1) ORDER BY key`
	args := []any{prefix}
	if limit > 0 {
		q += ` LIMIT $2`
		args = append(args, limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err == nil {
		var out []actingweb.ControlEntry
		for rows.Next() {
			var e actingweb.ControlEntry
			if err = rows.Scan(&e.Key, &e.Value, &e.Version); err != nil {
				break
			}
			out = append(out, e)
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
		if err == nil {
			return out, nil
		}
	}
	if isUndefinedTable(err) {
		return nil, nil
	}
	return nil, fmt.Errorf("postgres: list control keys %q... in %s.%s: %w", prefix, s.schema, ControlTable, err)
}

// DeleteControl removes key if its version is version (0: any version) (actingweb.ControlLister);
// an absent key or table is no error, another version fails with an error wrapping
// actingweb.ErrConflict.
func (s *Store) DeleteControl(ctx context.Context, key string, version int64) error {
	q, args := `DELETE FROM `+s.qcontrol()+` WHERE key = $1`, []any{key}
	if version > 0 {
		q += ` AND version = $2`
		args = append(args, version)
	}
	tag, err := s.pool.Exec(ctx, q, args...)
	if isUndefinedTable(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("postgres: delete control key %q from %s.%s: %w", key, s.schema, ControlTable, err)
	}
	if tag.RowsAffected() == 0 && version > 0 {
		_, now, err := s.ReadControl(ctx, key)
		if err != nil {
			return err
		}
		if now != 0 {
			return fmt.Errorf("postgres: delete control key %q from %s.%s: %w: it is no longer at version %d",
				key, s.schema, ControlTable, actingweb.ErrConflict, version)
		}
	}
	return nil
}

// LookupConfig returns the reverse-lookup configuration the store applies on property writes
// (dualwrite uses it to know which property writes change lookup rows).
func (s *Store) LookupConfig() actingweb.LookupConfig { return s.lookup }
