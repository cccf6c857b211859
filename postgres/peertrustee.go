package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	actingweb "github.com/actingweb/actingweb-go"
)

// Peer trustees (§6.6). Whole rows are read and written through the table's description
// (specs.go). Passphrases never appear in messages or logs.

var (
	peerTrusteeSpec = specs[actingweb.TablePeerTrustees]
	scanPeerTrustee = scanAs[actingweb.PeerTrustee](actingweb.TablePeerTrustees)

	sqlGetPeerTrustee       = peerTrusteeSpec.selectFrom + ` WHERE id = $1 AND peerid = $2`
	sqlGetPeerTrusteeByType = peerTrusteeSpec.selectFrom + ` WHERE id = $1 AND type = $2 ORDER BY peerid COLLATE "C" LIMIT 2`
	sqlListPeerTrustees     = peerTrusteeSpec.selectFrom + ` WHERE id = $1 ORDER BY peerid COLLATE "C"`
	sqlCreatePeerTrustee    = peerTrusteeSpec.insert + ` ON CONFLICT (` + quoteList(peerTrusteeSpec.pk) + `) DO NOTHING`
)

// GetPeerTrustee reads (actorID, peerID); ErrNotFound if absent.
func (s *Store) GetPeerTrustee(ctx context.Context, actorID, peerID string) (actingweb.PeerTrustee, error) {
	p, err := scanPeerTrustee(s.pool.QueryRow(ctx, s.sql(sqlGetPeerTrustee), actorID, peerID))
	if err != nil {
		return actingweb.PeerTrustee{}, wrapErr(err, "get peer trustee %s/%s", actorID, peerID)
	}
	return p, nil
}

// GetPeerTrusteeByType reads the actor's single peer trustee of peerType: ErrNotFound if none,
// ErrAmbiguous if several.
func (s *Store) GetPeerTrusteeByType(ctx context.Context, actorID, peerType string) (actingweb.PeerTrustee, error) {
	rows, _ := s.pool.Query(ctx, s.sql(sqlGetPeerTrusteeByType), actorID, peerType)
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (actingweb.PeerTrustee, error) { return scanPeerTrustee(r) })
	switch {
	case err != nil:
		return actingweb.PeerTrustee{}, wrapErr(err, "get peer trustee of %s by type %s", actorID, peerType)
	case len(list) == 0:
		return actingweb.PeerTrustee{}, notFound("get peer trustee of %s by type %s", actorID, peerType)
	case len(list) > 1:
		return actingweb.PeerTrustee{}, fmtAmbiguous("get peer trustee of %s by type %s: several peer trustees have that type", actorID, peerType)
	}
	return list[0], nil
}

// CreatePeerTrustee inserts; empty id, peer id or type: ErrInvalid; existing key: ErrExists.
func (s *Store) CreatePeerTrustee(ctx context.Context, p actingweb.PeerTrustee) error {
	if p.ID == "" || p.PeerID == "" || p.Type == "" {
		return invalid("create peer trustee %q/%q: id, peer id and type are required", p.ID, p.PeerID)
	}
	tag, err := s.pool.Exec(ctx, s.sql(sqlCreatePeerTrustee), peerTrusteeSpec.values(&p, nil)...)
	return oneRow(tag, err, exists, "create peer trustee %s/%s", p.ID, p.PeerID)
}

// ModifyPeerTrustee applies the non-empty arguments; ErrNotFound if absent.
func (s *Store) ModifyPeerTrustee(ctx context.Context, actorID, peerID, peerType, baseURI, passphrase string) error {
	// NULLIF(x, '') turns an empty argument into NULL and COALESCE keeps the stored value.
	var tag pgconn.CommandTag
	tag, err := s.pool.Exec(ctx, s.sql(`UPDATE {peertrustees} SET
			type = COALESCE(NULLIF($3, ''), type),
			baseuri = COALESCE(NULLIF($4, ''), baseuri),
			passphrase = COALESCE(NULLIF($5, ''), passphrase)
		WHERE id = $1 AND peerid = $2`), actorID, peerID, peerType, baseURI, passphrase)
	return oneRow(tag, err, notFound, "modify peer trustee %s/%s", actorID, peerID)
}

// DeletePeerTrustee deletes one peer trustee. Idempotent.
func (s *Store) DeletePeerTrustee(ctx context.Context, actorID, peerID string) error {
	_, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {peertrustees} WHERE id = $1 AND peerid = $2`), actorID, peerID)
	return wrapErr(err, "delete peer trustee %s/%s", actorID, peerID)
}

// ListPeerTrustees returns the actor's peer trustees ordered by peer id (byte order).
func (s *Store) ListPeerTrustees(ctx context.Context, actorID string) ([]actingweb.PeerTrustee, error) {
	rows, _ := s.pool.Query(ctx, s.sql(sqlListPeerTrustees), actorID)
	return collectList(rows, scanPeerTrustee, "list peer trustees %s", actorID)
}

// DeleteAllPeerTrustees deletes every peer trustee of the actor.
func (s *Store) DeleteAllPeerTrustees(ctx context.Context, actorID string) error {
	_, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {peertrustees} WHERE id = $1`), actorID)
	return wrapErr(err, "delete all peer trustees %s", actorID)
}
