package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// Direct access to the reverse-lookup table (§6.4). PostgreSQL keeps the value in clear text
// under the primary key (property_name, value); values are never put into messages or logs.
// RebuildPropertyLookup lives in table.go.

// GetPropertyLookup returns the actor owning (name, value); ErrNotFound if none.
func (s *Store) GetPropertyLookup(ctx context.Context, name, value string) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, s.sql(`SELECT actor_id FROM {property_lookup} WHERE property_name = $1 AND value = $2`),
		name, value).Scan(&id)
	if err != nil {
		return "", wrapErr(err, "get property lookup %s", name)
	}
	return id, nil
}

// CreatePropertyLookup inserts (name, value) -> actorID. With overwrite the row is replaced
// (true). Without, an existing row of the same actor is success and one of another actor
// returns false (collision, logged). The actor row must exist (foreign key, checked at the
// end of the statement's transaction): otherwise an error.
func (s *Store) CreatePropertyLookup(ctx context.Context, name, value, actorID string, overwrite bool) (bool, error) {
	if name == "" || value == "" || actorID == "" {
		return false, invalid("create property lookup %q for %q: empty name, value or actor id", name, actorID)
	}
	if overwrite {
		_, err := s.pool.Exec(ctx, s.sql(`INSERT INTO {property_lookup} (property_name, value, actor_id) VALUES ($1, $2, $3)
			ON CONFLICT (property_name, value) DO UPDATE SET actor_id = EXCLUDED.actor_id`), name, value, actorID)
		if err != nil {
			return false, wrapErr(err, "create property lookup %s for %s", name, actorID)
		}
		return true, nil
	}
	var owner string
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = s.pool.QueryRow(ctx, s.sql(sqlInsertLookupOwner), name, value, actorID).Scan(&owner)
		if !errors.Is(err, pgx.ErrNoRows) {
			break
		}
		// Another transaction inserted the key concurrently: the statement's snapshot cannot see
		// that row, so read the owner again in a new statement (a new snapshot). If the row has
		// been deleted meanwhile, the insert is tried again.
		err = s.pool.QueryRow(ctx, s.sql(`SELECT actor_id FROM {property_lookup} WHERE property_name = $1 AND value = $2`),
			name, value).Scan(&owner)
		if !errors.Is(err, pgx.ErrNoRows) {
			break
		}
	}
	if err != nil {
		return false, wrapErr(err, "create property lookup %s for %s", name, actorID)
	}
	if owner != actorID {
		s.logger().WarnContext(ctx, "property lookup collision: value already indexed for another actor; kept",
			"actor", actorID, "property", name, "owner", owner)
		return false, nil
	}
	return true, nil
}

// DeletePropertyLookup deletes the row of (name, value) whoever owns it. Idempotent.
func (s *Store) DeletePropertyLookup(ctx context.Context, name, value string) error {
	_, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {property_lookup} WHERE property_name = $1 AND value = $2`), name, value)
	return wrapErr(err, "delete property lookup %s", name)
}
