package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	actingweb "github.com/actingweb/actingweb-go"
)

// Peer trustees (§6.6). Passphrases never appear in messages or logs.

const peerTrusteeColumns = `id, peerid, baseuri, type, passphrase`

func scanPeerTrustee(r pgx.Row) (actingweb.PeerTrustee, error) {
	var p actingweb.PeerTrustee
	err := r.Scan(&p.ID, &p.PeerID, &p.BaseURI, &p.Type, &p.Passphrase)
	return p, err
}

// GetPeerTrustee reads (actorID, peerID); ErrNotFound if absent.
func (s *Store) GetPeerTrustee(ctx context.Context, actorID, peerID string) (actingweb.PeerTrustee, error) {
	p, err := scanPeerTrustee(s.pool.QueryRow(ctx,
		s.sql(`SELECT `+peerTrusteeColumns+` FROM {peertrustees} WHERE id = $1 AND peerid = $2`), actorID, peerID))
	if err != nil {
		return actingweb.PeerTrustee{}, wrapErr(err, "get peer trustee %s/%s", actorID, peerID)
	}
	return p, nil
}

// GetPeerTrusteeByType reads the actor's single peer trustee of peerType: ErrNotFound if none,
// ErrAmbiguous if several.
func (s *Store) GetPeerTrusteeByType(ctx context.Context, actorID, peerType string) (actingweb.PeerTrustee, error) {
	rows, _ := s.pool.Query(ctx, s.sql(`SELECT `+peerTrusteeColumns+` FROM {peertrustees}
		WHERE id = $1 AND type = $2 ORDER BY peerid COLLATE "C" LIMIT 2`), actorID, peerType)
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
	tag, err := s.pool.Exec(ctx, s.sql(`INSERT INTO {peertrustees} (`+peerTrusteeColumns+`) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id, peerid) DO NOTHING`), p.ID, p.PeerID, p.BaseURI, p.Type, p.Passphrase)
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
	rows, _ := s.pool.Query(ctx, s.sql(`SELECT `+peerTrusteeColumns+` FROM {peertrustees} WHERE id = $1
		ORDER BY peerid COLLATE "C"`), actorID)
	return collectList(rows, scanPeerTrustee, "list peer trustees %s", actorID)
}

// DeleteAllPeerTrustees deletes every peer trustee of the actor.
func (s *Store) DeleteAllPeerTrustees(ctx context.Context, actorID string) error {
	_, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {peertrustees} WHERE id = $1`), actorID)
	return wrapErr(err, "delete all peer trustees %s", actorID)
}
