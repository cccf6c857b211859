package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Properties (§6.2, §6.3, §6.3a). Name ranges and orderings use COLLATE "C": byte order, as
// DynamoDB's range keys, whatever the database collation.

const (
	sqlUpsertProperty = `INSERT INTO {properties} (id, name, value) VALUES ($1, $2, $3)
		ON CONFLICT (id, name) DO UPDATE SET value = EXCLUDED.value`
	// sqlDeletePropertyIndexed deletes a property and, in the same statement, its lookup row
	// when that row points to the same actor.
	sqlDeletePropertyIndexed = `WITH d AS (DELETE FROM {properties} WHERE id = $1 AND name = $2 RETURNING value)
		DELETE FROM {property_lookup} l USING d
		WHERE l.property_name = $2 AND l.value = d.value AND l.actor_id = $1`
	// sqlLockProperty serialises the lookup maintenance of one (actor, name) for the rest of
	// the transaction, so every later statement (each with a fresh READ COMMITTED snapshot)
	// sees the lookup row a concurrent writer of the same property committed before it.
	sqlLockProperty = `SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2::text, 6366057))`
	// sqlDeleteOldLookup locks the property row and deletes the lookup row of its current
	// value when that differs from the new one ($3) and points to this actor.
	sqlDeleteOldLookup = `DELETE FROM {property_lookup}
		WHERE property_name = $2 AND actor_id = $1 AND value <> $3
		  AND value = (SELECT value FROM {properties} WHERE id = $1 AND name = $2 FOR UPDATE)`
	// sqlInsertLookupOwner inserts a lookup row unless the key exists and returns the owner of
	// the key: this actor when inserted (or already its own), another actor on a collision.
	sqlInsertLookupOwner = `WITH ins AS (
			INSERT INTO {property_lookup} (property_name, value, actor_id) VALUES ($1, $2, $3)
			ON CONFLICT (property_name, value) DO NOTHING RETURNING actor_id)
		SELECT actor_id FROM ins
		UNION ALL
		SELECT actor_id FROM {property_lookup} WHERE property_name = $1 AND value = $2
		LIMIT 1`
)

// sanitize makes a value valid UTF-8 before it is stored, as upstream's serialiser does
// (§6.2: invalid sequences become '?').
func sanitize(s string) string { return strings.ToValidUTF8(s, "?") }

// GetProperty reads one value; ErrNotFound if absent or stored empty.
func (s *Store) GetProperty(ctx context.Context, actorID, name string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, s.sql(`SELECT value FROM {properties} WHERE id = $1 AND name = $2`), actorID, name).Scan(&v)
	if err != nil {
		return "", wrapErr(err, "get property %s/%s", actorID, name)
	}
	if v == "" {
		return "", notFound("get property %s/%s (stored empty)", actorID, name)
	}
	return v, nil
}

// SetProperty upserts a value (made valid UTF-8); "" deletes the row (DeleteProperty). For
// an indexed name (s.lookup.Indexed) it runs one transaction (three round trips: BEGIN, a
// pipelined batch, COMMIT): the property row is locked and the old value's lookup row deleted
// if it points to this actor, the property upserted, and then, inside a savepoint, the new
// lookup row inserted without overwriting another actor's (a collision is logged) and the
// deferred foreign key checked at once. A
// failure inside the savepoint (value too large for the lookup B-tree, actor row missing) is
// rolled back alone and logged; the property write still commits (§6.3 hazard fixed).
func (s *Store) SetProperty(ctx context.Context, actorID, name, value string) error {
	if actorID == "" || name == "" {
		return invalid("set property %q/%q: empty actor id or name", actorID, name)
	}
	value = sanitize(value)
	if value == "" {
		return s.DeleteProperty(ctx, actorID, name)
	}
	if !s.lookup.Indexed(name) {
		_, err := s.pool.Exec(ctx, s.sql(sqlUpsertProperty), actorID, name, value)
		return wrapErr(err, "set property %s/%s", actorID, name)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// One round trip: the statements are pipelined. The first locks the property row
		// (FOR UPDATE) and removes the old value's lookup row when it points to this actor;
		// deleting by key cannot hit a size limit, so it stays outside the savepoint and a
		// failed insert below does not leave the stale row behind.
		b := &pgx.Batch{}
		b.Queue(sqlLockProperty, actorID, name)
		b.Queue(s.sql(sqlDeleteOldLookup), actorID, name, value)
		b.Queue(s.sql(sqlUpsertProperty), actorID, name, value)
		b.Queue(`SAVEPOINT lookup`)
		b.Queue(s.sql(sqlInsertLookupOwner), name, value, actorID)
		b.Queue(`SET CONSTRAINTS ALL IMMEDIATE`) // the deferred FK, checked inside the savepoint
		b.Queue(`RELEASE SAVEPOINT lookup`)
		br := tx.SendBatch(ctx, b)
		for i := 0; i < 4; i++ {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return err
			}
		}
		var owner string
		lerr := br.QueryRow().Scan(&owner)
		if errors.Is(lerr, pgx.ErrNoRows) {
			lerr = nil // concurrent insert of the same key, not yet visible
		}
		for i := 0; i < 2 && lerr == nil; i++ {
			_, lerr = br.Exec()
		}
		if cerr := br.Close(); lerr == nil {
			lerr = cerr
		}
		if lerr != nil {
			if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT lookup`); err != nil {
				return err
			}
		}
		s.logLookupOutcome(ctx, actorID, name, len(value), owner, lerr)
		return nil
	})
	return wrapErr(err, "set property %s/%s", actorID, name)
}

// logLookupOutcome logs a lookup row that was not written (err, the savepoint rolled back)
// or a collision (owner is another actor). Values are never logged, only their size.
func (s *Store) logLookupOutcome(ctx context.Context, actorID, name string, size int, owner string, err error) {
	log := s.logger()
	switch {
	case err != nil:
		attrs := []any{"actor", actorID, "property", name, "value_bytes", size}
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			attrs = append(attrs, "sqlstate", pe.Code, "error", pe.Message)
		} else {
			attrs = append(attrs, "error", err.Error())
		}
		log.WarnContext(ctx, "property lookup row not written; the property was stored without it "+
			"(rebuild with RebuildPropertyLookup once fixed)", attrs...)
	case owner == "":
		log.WarnContext(ctx, "property lookup row not written: concurrent writer of the same key",
			"actor", actorID, "property", name)
	case owner != actorID:
		log.WarnContext(ctx, "property lookup collision: value already indexed for another actor; kept",
			"actor", actorID, "property", name, "owner", owner)
	}
}

// DeleteProperty deletes a row and, for an indexed name, its lookup row when it points to
// actorID: one pipelined batch (one round trip) in an implicit transaction that first takes
// the same per-property lock as SetProperty. Idempotent.
func (s *Store) DeleteProperty(ctx context.Context, actorID, name string) error {
	if !s.lookup.Indexed(name) {
		_, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {properties} WHERE id = $1 AND name = $2`), actorID, name)
		return wrapErr(err, "delete property %s/%s", actorID, name)
	}
	b := &pgx.Batch{}
	b.Queue(sqlLockProperty, actorID, name)
	b.Queue(s.sql(sqlDeletePropertyIndexed), actorID, name)
	err := s.pool.SendBatch(ctx, b).Close()
	return wrapErr(err, "delete property %s/%s", actorID, name)
}

const (
	// sqlOwnerByLookup is the lookup-mode reverse lookup (§6.3): the lookup row, resolving only
	// while its owner's property row (actor, name) exists (the value is not compared); when
	// there is no lookup row at all, upstream's fallback, a scan of properties by name and
	// value (the InitPlan NOT EXISTS skips it whenever a lookup row exists).
	sqlOwnerByLookup = `WITH l AS (SELECT actor_id FROM {property_lookup} WHERE property_name = $1 AND value = $2)
		SELECT l.actor_id FROM l WHERE EXISTS (SELECT 1 FROM {properties} p WHERE p.id = l.actor_id AND p.name = $1)
		UNION ALL
		(SELECT p.id FROM {properties} p WHERE NOT EXISTS (SELECT 1 FROM l) AND p.name = $1 AND p.value = $2
		 ORDER BY p.id LIMIT 1)`
	// sqlOwnerByValue is the legacy-mode reverse lookup: a scan of properties by name and value.
	sqlOwnerByValue = `SELECT id FROM {properties} WHERE name = $1 AND value = $2 ORDER BY id LIMIT 1`
)

// GetActorIDFromProperty resolves (name, value) to an actor (§6.3); ErrNotFound for an empty
// name or value and when nothing matches.
//
// Lookup mode: a name that is not indexed is not found; else the lookup table, whose row
// resolves only while the owner's property row exists (the current value is not compared);
// when there is no lookup row, upstream's fallback: the smallest actor id holding (name,
// value) in properties, found by a full scan of the table (properties has no index on value
// since Alembic c3d4e5f6a7b8, §4.4), so every miss costs a scan until the lookup table is
// complete (RebuildPropertyLookup).
//
// Legacy mode (USE_PROPERTY_LOOKUP_TABLE=false): the same scan for every lookup. Upstream runs
// `WHERE value = $1 LIMIT 1`, ignoring the name, and so returns a wrong actor whenever another
// property of another actor holds the same value (a display name equal to someone's e-mail,
// "true", "0"); this store filters by name too. Where several actors hold the pair, both
// modes take the smallest id, as RebuildPropertyLookup does.
func (s *Store) GetActorIDFromProperty(ctx context.Context, name, value string) (string, error) {
	if name == "" || value == "" {
		return "", notFound("actor by property %q: empty name or value", name)
	}
	q := s.sql(sqlOwnerByValue)
	if s.lookup.UseLookupTable {
		if !s.lookup.Indexed(name) {
			return "", notFound("actor by property %s: not an indexed property", name)
		}
		q = s.sql(sqlOwnerByLookup)
	}
	var id string
	if err := s.pool.QueryRow(ctx, q, name, value).Scan(&id); err != nil {
		return "", wrapErr(err, "actor by property %s", name)
	}
	return id, nil
}

// GetPropertyRange returns the rows with lower <= name <= upper in byte order; keysOnly
// gives "" values. Empty map when none.
func (s *Store) GetPropertyRange(ctx context.Context, actorID, lower, upper string, keysOnly bool) (map[string]string, error) {
	q := s.sql(`SELECT name, value FROM {properties}
		WHERE id = $1 AND name COLLATE "C" >= $2 AND name COLLATE "C" <= $3`)
	if keysOnly {
		q = s.sql(`SELECT name, '' FROM {properties}
		WHERE id = $1 AND name COLLATE "C" >= $2 AND name COLLATE "C" <= $3`)
	}
	m, err := s.propertyMap(ctx, q, actorID, lower, upper)
	return m, wrapErr(err, "property range %s", actorID)
}

// GetLastPropertyInRange returns the byte-greatest name in the inclusive range; ErrNotFound
// when the range is empty.
func (s *Store) GetLastPropertyInRange(ctx context.Context, actorID, lower, upper string) (string, error) {
	var name string
	err := s.pool.QueryRow(ctx, s.sql(`SELECT name FROM {properties}
		WHERE id = $1 AND name COLLATE "C" >= $2 AND name COLLATE "C" <= $3
		ORDER BY name COLLATE "C" DESC LIMIT 1`), actorID, lower, upper).Scan(&name)
	if err != nil {
		return "", wrapErr(err, "last property in range %s", actorID)
	}
	return name, nil
}

// CreatePropertyIfNotExists inserts only when no row exists; false when one does or the
// (sanitised) value is empty. No lookup maintenance (§6.3).
func (s *Store) CreatePropertyIfNotExists(ctx context.Context, actorID, name, value string) (bool, error) {
	value = sanitize(value)
	if actorID == "" || name == "" || value == "" {
		return false, nil
	}
	tag, err := s.pool.Exec(ctx, s.sql(`INSERT INTO {properties} (id, name, value) VALUES ($1, $2, $3)
		ON CONFLICT (id, name) DO NOTHING`), actorID, name, value)
	if err != nil {
		return false, wrapErr(err, "create property %s/%s", actorID, name)
	}
	return tag.RowsAffected() == 1, nil
}

// DeletePropertyIfValueEquals deletes the row only when its value equals value exactly.
func (s *Store) DeletePropertyIfValueEquals(ctx context.Context, actorID, name, value string) (bool, error) {
	tag, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {properties} WHERE id = $1 AND name = $2 AND value = $3`),
		actorID, name, value)
	if err != nil {
		return false, wrapErr(err, "conditional delete of property %s/%s", actorID, name)
	}
	return tag.RowsAffected() == 1, nil
}

// SetPropertyIfValueEquals replaces the value only when it equals expected; never creates.
func (s *Store) SetPropertyIfValueEquals(ctx context.Context, actorID, name, expected, value string) (bool, error) {
	tag, err := s.pool.Exec(ctx, s.sql(`UPDATE {properties} SET value = $4 WHERE id = $1 AND name = $2 AND value = $3`),
		actorID, name, expected, value)
	if err != nil {
		return false, wrapErr(err, "conditional set of property %s/%s", actorID, name)
	}
	return tag.RowsAffected() == 1, nil
}

// BatchDeleteProperties deletes the named rows; no lookup maintenance.
func (s *Store) BatchDeleteProperties(ctx context.Context, actorID string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	_, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {properties} WHERE id = $1 AND name = ANY($2)`), actorID, names)
	return wrapErr(err, "batch delete of %d properties of %s", len(names), actorID)
}

// ListProperties returns the plain properties (names not starting with "list:").
func (s *Store) ListProperties(ctx context.Context, actorID string) (map[string]string, error) {
	m, err := s.propertyMap(ctx, s.sql(`SELECT name, value FROM {properties} WHERE id = $1 AND name NOT LIKE 'list:%'`), actorID)
	return m, wrapErr(err, "list properties %s", actorID)
}

// ListAllProperties returns every property row of the actor, list rows included.
func (s *Store) ListAllProperties(ctx context.Context, actorID string) (map[string]string, error) {
	m, err := s.propertyMap(ctx, s.sql(`SELECT name, value FROM {properties} WHERE id = $1`), actorID)
	return m, wrapErr(err, "list all properties %s", actorID)
}

// DeleteAllProperties deletes every property row of the actor and, in lookup mode, the lookup
// rows of indexed names that point to it, in one statement.
func (s *Store) DeleteAllProperties(ctx context.Context, actorID string) error {
	var err error
	if s.lookup.UseLookupTable && len(s.lookup.IndexedProperties) > 0 {
		_, err = s.pool.Exec(ctx, s.sql(`WITH dl AS (DELETE FROM {property_lookup} WHERE actor_id = $1 AND property_name = ANY($2))
			DELETE FROM {properties} WHERE id = $1`), actorID, s.lookup.IndexedProperties)
	} else {
		_, err = s.pool.Exec(ctx, s.sql(`DELETE FROM {properties} WHERE id = $1`), actorID)
	}
	return wrapErr(err, "delete all properties %s", actorID)
}

// propertyMap runs a (name, value) query into a map (never nil).
func (s *Store) propertyMap(ctx context.Context, q string, args ...any) (map[string]string, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]string{}
	var name, value string
	for rows.Next() {
		if err := rows.Scan(&name, &value); err != nil {
			return nil, err
		}
		m[name] = value
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return m, nil
}
