package postgres

import (
	"context"

	actingweb "github.com/actingweb/actingweb-go"
)

// Subscription suspensions (§6.10). subtarget '' is a whole-target suspension; suspended_at
// is timestamptz written as NOW().

var (
	scanSuspension     = scanAs[actingweb.SubscriptionSuspension](actingweb.TableSubscriptionSuspensions)
	sqlListSuspensions = specs[actingweb.TableSubscriptionSuspensions].selectFrom +
		` WHERE id = $1 ORDER BY target COLLATE "C", subtarget COLLATE "C"`
)

// IsSuspended reports whether the whole target is suspended or, with a subtarget, whether the
// target or that exact subtarget is.
func (s *Store) IsSuspended(ctx context.Context, actorID, target, subtarget string) (bool, error) {
	var found bool
	err := s.pool.QueryRow(ctx, s.sql(`SELECT EXISTS (SELECT 1 FROM {subscription_suspensions}
		WHERE id = $1 AND target = $2 AND subtarget IN ($3, ''))`), actorID, target, subtarget).Scan(&found)
	if err != nil {
		return false, wrapErr(err, "suspension check %s/%s", actorID, target)
	}
	return found, nil
}

// Suspend records (actorID, target, subtarget) now; false if that exact key already existed.
func (s *Store) Suspend(ctx context.Context, actorID, target, subtarget string) (bool, error) {
	if actorID == "" || target == "" {
		return false, invalid("suspend %q/%q: actor id and target are required", actorID, target)
	}
	tag, err := s.pool.Exec(ctx, s.sql(`INSERT INTO {subscription_suspensions} (id, target, subtarget, suspended_at)
		VALUES ($1, $2, $3, NOW()) ON CONFLICT (id, target, subtarget) DO NOTHING`), actorID, target, subtarget)
	if err != nil {
		return false, wrapErr(err, "suspend %s/%s", actorID, target)
	}
	return tag.RowsAffected() == 1, nil
}

// Resume removes that exact key; false if there was none.
func (s *Store) Resume(ctx context.Context, actorID, target, subtarget string) (bool, error) {
	tag, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {subscription_suspensions} WHERE id = $1 AND target = $2 AND subtarget = $3`),
		actorID, target, subtarget)
	if err != nil {
		return false, wrapErr(err, "resume %s/%s", actorID, target)
	}
	return tag.RowsAffected() == 1, nil
}

// ListSuspensions returns the actor's suspensions ordered by target, subtarget (byte order).
func (s *Store) ListSuspensions(ctx context.Context, actorID string) ([]actingweb.SubscriptionSuspension, error) {
	rows, _ := s.pool.Query(ctx, s.sql(sqlListSuspensions), actorID)
	return collectList(rows, scanSuspension, "list suspensions %s", actorID)
}

// DeleteAllSuspensions deletes every suspension of the actor.
func (s *Store) DeleteAllSuspensions(ctx context.Context, actorID string) error {
	_, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {subscription_suspensions} WHERE id = $1`), actorID)
	return wrapErr(err, "delete all suspensions %s", actorID)
}
