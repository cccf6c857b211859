package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	actingweb "github.com/actingweb/actingweb-go"
)

// Trusts (§6.5). Whole rows are read and written through the table's description (specs.go):
// `timestamp` columns hold naive UTC, `timestamptz` ones the same instant. Secrets never
// appear in messages or logs.

var (
	trustSpec = specs[actingweb.TableTrusts]
	scanTrust = scanAs[actingweb.Trust](actingweb.TableTrusts)

	sqlGetTrust         = trustSpec.selectFrom + ` WHERE id = $1 AND peerid = $2`
	sqlGetTrustBySecret = trustSpec.selectFrom + ` WHERE id = $1 AND secret = $2 ORDER BY peerid COLLATE "C" LIMIT 1`
	sqlListTrusts       = trustSpec.selectFrom + ` WHERE id = $1 ORDER BY peerid COLLATE "C"`
	// sqlUpsertTrust writes every column; on an existing key every column but created_at is
	// replaced (§8.1: re-creation keeps the original creation time).
	sqlUpsertTrust = trustSpec.insert + ` ON CONFLICT (` + quoteList(trustSpec.pk) + `) DO UPDATE SET ` +
		trustSpec.setExcept("created_at")
)

// GetTrust reads the trust (actorID, peerID); ErrNotFound if absent.
func (s *Store) GetTrust(ctx context.Context, actorID, peerID string) (actingweb.Trust, error) {
	t, err := scanTrust(s.pool.QueryRow(ctx, s.sql(sqlGetTrust), actorID, peerID))
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
	t, err := scanTrust(s.pool.QueryRow(ctx, s.sql(sqlGetTrustBySecret), actorID, secret))
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
		created = *t.CreatedAt
	}
	accessed := created
	if t.LastAccessed != nil {
		accessed = *t.LastAccessed
	}
	t.CreatedAt, t.LastAccessed = &created, &accessed
	via := ""
	if t.LastConnectedVia != nil {
		via = actingweb.CanonicalConnectionMethod(*t.LastConnectedVia)
	}
	if via == "" && t.EstablishedVia != nil {
		via = actingweb.CanonicalConnectionMethod(*t.EstablishedVia)
	}
	t.LastConnectedVia = nilIfEmpty(via)
	empty := ""
	if t.Desc == nil {
		t.Desc = &empty
	}
	if t.VerificationToken == nil {
		t.VerificationToken = &empty
	}
	trustSpec.normalizeTimes(&t)
	_, err := s.pool.Exec(ctx, s.sql(sqlUpsertTrust), trustSpec.values(&t, nil)...)
	return wrapErr(err, "create trust %s/%s", t.ID, t.PeerID)
}

// ModifyTrust applies the non-nil fields of u in one UPDATE (BaseURI, Secret, Desc and
// VerificationToken only when non-empty; LastConnectedVia canonicalised, NULL when it
// canonicalises to none; TrustUpdate.Apply). ErrNotFound if the trust does not exist.
func (s *Store) ModifyTrust(ctx context.Context, actorID, peerID string, u actingweb.TrustUpdate) error {
	var tr actingweb.Trust
	names := u.Apply(&tr)
	if len(names) == 0 {
		var one int
		err := s.pool.QueryRow(ctx, s.sql(`SELECT 1 FROM {trusts} WHERE id = $1 AND peerid = $2`), actorID, peerID).Scan(&one)
		return wrapErr(err, "modify trust %s/%s", actorID, peerID)
	}
	b := trustSpec.base(&tr)
	args := []any{actorID, peerID}
	sets := make([]string, len(names))
	for i, n := range names {
		c := trustSpec.column(n)
		if c == nil || c.key {
			return fmt.Errorf("postgres: modify trust %s/%s: %s is not a column an update sets", actorID, peerID, n)
		}
		args = append(args, c.arg(b))
		sets[i] = c.quoted + " = $" + strconv.Itoa(len(args))
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
	rows, _ := s.pool.Query(ctx, s.sql(sqlListTrusts), actorID)
	return collectList(rows, scanTrust, "list trusts %s", actorID)
}

// DeleteAllTrusts deletes every trust of the actor.
func (s *Store) DeleteAllTrusts(ctx context.Context, actorID string) error {
	_, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {trusts} WHERE id = $1`), actorID)
	return wrapErr(err, "delete all trusts %s", actorID)
}
