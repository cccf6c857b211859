package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	actingweb "github.com/actingweb/actingweb-go"
)

// Actors (§6.1). String ordering uses COLLATE "C" so results come in byte order on any
// database collation, as on DynamoDB.

// GetActor reads one actor (id, creator, passphrase; created_at is never read back, §4.3).
// ErrNotFound if absent.
func (s *Store) GetActor(ctx context.Context, id string) (actingweb.Actor, error) {
	a := actingweb.Actor{ID: id}
	err := s.pool.QueryRow(ctx, s.sql(`SELECT creator, passphrase FROM {actors} WHERE id = $1`), id).
		Scan(&a.Creator, &a.Passphrase)
	if err != nil {
		return actingweb.Actor{}, wrapErr(err, "get actor %s", id)
	}
	return a, nil
}

// GetActorsByCreator returns the actors of creator (lower-cased when it contains '@'),
// ordered by id; an empty slice when none.
func (s *Store) GetActorsByCreator(ctx context.Context, creator string) ([]actingweb.Actor, error) {
	creator = actingweb.NormalizeCreator(creator)
	rows, _ := s.pool.Query(ctx,
		s.sql(`SELECT id, creator, passphrase FROM {actors} WHERE creator = $1 ORDER BY id COLLATE "C"`), creator)
	return collectList(rows, func(r pgx.Row) (actingweb.Actor, error) {
		var a actingweb.Actor
		err := r.Scan(&a.ID, &a.Creator, &a.Passphrase)
		return a, err
	}, "get actors by creator")
}

// CreateActor inserts an actor with created_at = the current time as UTC wall time (§4.1,
// whatever the session's TimeZone). The creator is
// normalised (NormalizeCreator). Empty id or creator: ErrInvalid; existing id: ErrExists.
func (s *Store) CreateActor(ctx context.Context, a actingweb.Actor) error {
	if a.ID == "" {
		return invalid("create actor: empty id")
	}
	creator := actingweb.NormalizeCreator(a.Creator)
	if creator == "" {
		return invalid("create actor %s: empty creator", a.ID)
	}
	tag, err := s.pool.Exec(ctx, s.sql(`INSERT INTO {actors} (id, creator, passphrase, created_at)
		VALUES ($1, $2, $3, timezone('UTC', NOW())) ON CONFLICT (id) DO NOTHING`), a.ID, creator, a.Passphrase)
	return oneRow(tag, err, exists, "create actor %s", a.ID)
}

// ModifyActor replaces the non-empty arguments (creator normalised). ErrNotFound if the actor
// does not exist.
func (s *Store) ModifyActor(ctx context.Context, id, creator, passphrase string) error {
	var tag pgconn.CommandTag
	var err error
	creator = actingweb.NormalizeCreator(creator)
	switch {
	case creator != "" && passphrase != "":
		tag, err = s.pool.Exec(ctx, s.sql(`UPDATE {actors} SET creator = $2, passphrase = $3 WHERE id = $1`), id, creator, passphrase)
	case creator != "":
		tag, err = s.pool.Exec(ctx, s.sql(`UPDATE {actors} SET creator = $2 WHERE id = $1`), id, creator)
	case passphrase != "":
		tag, err = s.pool.Exec(ctx, s.sql(`UPDATE {actors} SET passphrase = $2 WHERE id = $1`), id, passphrase)
	default:
		var one int
		err = s.pool.QueryRow(ctx, s.sql(`SELECT 1 FROM {actors} WHERE id = $1`), id).Scan(&one)
		return wrapErr(err, "modify actor %s", id)
	}
	return oneRow(tag, err, notFound, "modify actor %s", id)
}

// DeleteActor deletes the actor row; the foreign key fk_property_lookup_actor removes the
// actor's property_lookup rows in the same statement. Idempotent.
func (s *Store) DeleteActor(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {actors} WHERE id = $1`), id)
	return wrapErr(err, "delete actor %s", id)
}

// ListActors returns every actor ordered by id, without passphrases (admin use).
func (s *Store) ListActors(ctx context.Context) ([]actingweb.Actor, error) {
	rows, _ := s.pool.Query(ctx, s.sql(`SELECT id, creator FROM {actors} ORDER BY id COLLATE "C"`))
	return collectList(rows, func(r pgx.Row) (actingweb.Actor, error) {
		var a actingweb.Actor
		err := r.Scan(&a.ID, &a.Creator)
		return a, err
	}, "list actors")
}
