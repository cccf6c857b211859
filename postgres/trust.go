package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	actingweb "github.com/actingweb/actingweb-go"
)

// Trusts (§6.5). created_at and last_accessed are `timestamp` (naive UTC),
// capabilities_fetched_at is `timestamptz`. Secrets never appear in messages or logs.

const trustColumns = `id, peerid, baseuri, type, relationship, secret, "desc", approved, peer_approved,
	verified, verification_token, peer_identifier, established_via, created_at, last_accessed,
	last_connected_via, client_name, client_version, client_platform, oauth_client_id,
	aw_supported, aw_version, capabilities_fetched_at`

// sqlUpsertTrust writes every column; on an existing key every column but created_at is
// replaced (§8.1: re-creation keeps the original creation time).
const sqlUpsertTrust = `INSERT INTO {trusts} (` + trustColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
	ON CONFLICT (id, peerid) DO UPDATE SET
		baseuri = EXCLUDED.baseuri, type = EXCLUDED.type, relationship = EXCLUDED.relationship,
		secret = EXCLUDED.secret, "desc" = EXCLUDED."desc", approved = EXCLUDED.approved,
		peer_approved = EXCLUDED.peer_approved, verified = EXCLUDED.verified,
		verification_token = EXCLUDED.verification_token, peer_identifier = EXCLUDED.peer_identifier,
		established_via = EXCLUDED.established_via, last_accessed = EXCLUDED.last_accessed,
		last_connected_via = EXCLUDED.last_connected_via, client_name = EXCLUDED.client_name,
		client_version = EXCLUDED.client_version, client_platform = EXCLUDED.client_platform,
		oauth_client_id = EXCLUDED.oauth_client_id, aw_supported = EXCLUDED.aw_supported,
		aw_version = EXCLUDED.aw_version, capabilities_fetched_at = EXCLUDED.capabilities_fetched_at`

func scanTrust(r pgx.Row) (actingweb.Trust, error) {
	var t actingweb.Trust
	err := r.Scan(&t.ID, &t.PeerID, &t.BaseURI, &t.Type, &t.Relationship, &t.Secret, &t.Desc,
		&t.Approved, &t.PeerApproved, &t.Verified, &t.VerificationToken, &t.PeerIdentifier,
		&t.EstablishedVia, &t.CreatedAt, &t.LastAccessed, &t.LastConnectedVia, &t.ClientName,
		&t.ClientVersion, &t.ClientPlatform, &t.OAuthClientID, &t.AWSupported, &t.AWVersion,
		&t.CapabilitiesFetchedAt)
	t.CreatedAt, t.LastAccessed = utcPtr(t.CreatedAt), utcPtr(t.LastAccessed)
	t.CapabilitiesFetchedAt = utcPtr(t.CapabilitiesFetchedAt)
	return t, err
}

// GetTrust reads the trust (actorID, peerID); ErrNotFound if absent.
func (s *Store) GetTrust(ctx context.Context, actorID, peerID string) (actingweb.Trust, error) {
	t, err := scanTrust(s.pool.QueryRow(ctx, s.sql(`SELECT `+trustColumns+` FROM {trusts} WHERE id = $1 AND peerid = $2`),
		actorID, peerID))
	if err != nil {
		return actingweb.Trust{}, wrapErr(err, "get trust %s/%s", actorID, peerID)
	}
	return t, nil
}

// GetTrustBySecret returns the actor's trust with that secret (the byte-first peer id when
// several share it); ErrNotFound if none.
func (s *Store) GetTrustBySecret(ctx context.Context, actorID, secret string) (actingweb.Trust, error) {
	if secret == "" {
		return actingweb.Trust{}, notFound("get trust of %s by secret: empty secret", actorID)
	}
	t, err := scanTrust(s.pool.QueryRow(ctx, s.sql(`SELECT `+trustColumns+` FROM {trusts} WHERE id = $1 AND secret = $2
		ORDER BY peerid COLLATE "C" LIMIT 1`), actorID, secret))
	if err != nil {
		return actingweb.Trust{}, wrapErr(err, "get trust of %s by secret", actorID)
	}
	return t, nil
}

// CreateTrust writes t, replacing an existing trust of the same key but keeping its
// created_at. created_at defaults to now, last_accessed to created_at, last_connected_via to
// the canonical LastConnectedVia or else the canonical EstablishedVia (NULL when none); desc
// and verification_token default to "" as upstream's create stores them. Empty id, peer id or
// secret: ErrInvalid.
func (s *Store) CreateTrust(ctx context.Context, t actingweb.Trust) error {
	if t.ID == "" || t.PeerID == "" || t.Secret == "" {
		return invalid("create trust %q/%q: id, peer id and secret are required", t.ID, t.PeerID)
	}
	created := now()
	if t.CreatedAt != nil {
		created = naive(*t.CreatedAt)
	}
	accessed := created
	if t.LastAccessed != nil {
		accessed = naive(*t.LastAccessed)
	}
	via := ""
	if t.LastConnectedVia != nil {
		via = actingweb.CanonicalConnectionMethod(*t.LastConnectedVia)
	}
	if via == "" && t.EstablishedVia != nil {
		via = actingweb.CanonicalConnectionMethod(*t.EstablishedVia)
	}
	desc, token := "", ""
	if t.Desc != nil {
		desc = *t.Desc
	}
	if t.VerificationToken != nil {
		token = *t.VerificationToken
	}
	var capAt any // timestamptz: an aware UTC time
	if t.CapabilitiesFetchedAt != nil {
		capAt = actingweb.NormalizeTime(*t.CapabilitiesFetchedAt)
	}
	_, err := s.pool.Exec(ctx, s.sql(sqlUpsertTrust), t.ID, t.PeerID, t.BaseURI, t.Type, t.Relationship, t.Secret,
		desc, t.Approved, t.PeerApproved, t.Verified, token, t.PeerIdentifier, t.EstablishedVia,
		created, accessed, nilIfEmpty(via), t.ClientName, t.ClientVersion, t.ClientPlatform,
		t.OAuthClientID, t.AWSupported, t.AWVersion, capAt)
	return wrapErr(err, "create trust %s/%s", t.ID, t.PeerID)
}

// ModifyTrust applies the non-nil fields of u in one UPDATE (BaseURI, Secret, Desc and
// VerificationToken only when non-empty; LastConnectedVia canonicalised, NULL when it
// canonicalises to none). ErrNotFound if the trust does not exist.
func (s *Store) ModifyTrust(ctx context.Context, actorID, peerID string, u actingweb.TrustUpdate) error {
	var sets []string
	args := []any{actorID, peerID}
	set := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	nonEmpty := func(col string, p *string) {
		if p != nil && *p != "" {
			set(col, *p)
		}
	}
	str := func(col string, p *string) {
		if p != nil {
			set(col, *p)
		}
	}
	boolean := func(col string, p *bool) {
		if p != nil {
			set(col, *p)
		}
	}
	nonEmpty("baseuri", u.BaseURI)
	nonEmpty("secret", u.Secret)
	nonEmpty(`"desc"`, u.Desc)
	nonEmpty("verification_token", u.VerificationToken)
	boolean("approved", u.Approved)
	boolean("peer_approved", u.PeerApproved)
	boolean("verified", u.Verified)
	str("peer_identifier", u.PeerIdentifier)
	str("established_via", u.EstablishedVia)
	if u.LastConnectedVia != nil {
		set("last_connected_via", nilIfEmpty(actingweb.CanonicalConnectionMethod(*u.LastConnectedVia)))
	}
	str("client_name", u.ClientName)
	str("client_version", u.ClientVersion)
	str("client_platform", u.ClientPlatform)
	str("oauth_client_id", u.OAuthClientID)
	str("aw_supported", u.AWSupported)
	str("aw_version", u.AWVersion)
	if u.CreatedAt != nil {
		set("created_at", naive(*u.CreatedAt))
	}
	if u.LastAccessed != nil {
		set("last_accessed", naive(*u.LastAccessed))
	}
	if u.CapabilitiesFetchedAt != nil {
		set("capabilities_fetched_at", actingweb.NormalizeTime(*u.CapabilitiesFetchedAt))
	}
	if len(sets) == 0 {
		var one int
		err := s.pool.QueryRow(ctx, s.sql(`SELECT 1 FROM {trusts} WHERE id = $1 AND peerid = $2`), actorID, peerID).Scan(&one)
		return wrapErr(err, "modify trust %s/%s", actorID, peerID)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE `+s.qtable(actingweb.TableTrusts)+` SET `+strings.Join(sets, ", ")+` WHERE id = $1 AND peerid = $2`, args...)
	return oneRow(tag, err, notFound, "modify trust %s/%s", actorID, peerID)
}

// DeleteTrust deletes one trust. Idempotent.
func (s *Store) DeleteTrust(ctx context.Context, actorID, peerID string) error {
	_, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {trusts} WHERE id = $1 AND peerid = $2`), actorID, peerID)
	return wrapErr(err, "delete trust %s/%s", actorID, peerID)
}

// IsTokenInDB reports whether any trust of the actor has secret == token.
func (s *Store) IsTokenInDB(ctx context.Context, actorID, token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	var found bool
	err := s.pool.QueryRow(ctx, s.sql(`SELECT EXISTS (SELECT 1 FROM {trusts} WHERE id = $1 AND secret = $2)`),
		actorID, token).Scan(&found)
	if err != nil {
		return false, wrapErr(err, "token check for %s", actorID)
	}
	return found, nil
}

// ListTrusts returns the actor's trusts ordered by peer id in byte order; empty when none.
func (s *Store) ListTrusts(ctx context.Context, actorID string) ([]actingweb.Trust, error) {
	rows, _ := s.pool.Query(ctx, s.sql(`SELECT `+trustColumns+` FROM {trusts} WHERE id = $1 ORDER BY peerid COLLATE "C"`), actorID)
	return collectList(rows, scanTrust, "list trusts %s", actorID)
}

// DeleteAllTrusts deletes every trust of the actor.
func (s *Store) DeleteAllTrusts(ctx context.Context, actorID string) error {
	_, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {trusts} WHERE id = $1`), actorID)
	return wrapErr(err, "delete all trusts %s", actorID)
}
