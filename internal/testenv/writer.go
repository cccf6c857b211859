package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	actingweb "github.com/actingweb/actingweb-go"
)

// LiveRound runs one round of an application's writes on s, as a live deployment does while it
// is migrated: a new actor "<prefix><round>" created with an indexed and a large property, a large
// (TOASTed) attribute with a TTL then updated, a trust, a subscription with two diffs; on the
// existing actor existing (a seeded one): its email moved (the lookup follows), a list
// property deleted, and every third round the whole actor deleted with its rows (cascade);
// once existing is gone, the round leaves it alone.
// On PostgreSQL it also updates an attribute without setting its payload, as any SQL client
// may, so that logical replication sends the payload as an unchanged TOASTed value.
func LiveRound(ctx context.Context, s actingweb.Store, prefix string, round int, existing string) error {
	id := fmt.Sprintf("%s%06d", prefix, round)
	b := make([]byte, 4000)
	rand.Read(b)
	big := json.RawMessage(`{"blob":"` + hex.EncodeToString(b) + `"}`) // incompressible: stored out of line
	ts := time.Date(2026, 1, 1, 0, 0, round%60, 0, time.UTC)
	steps := []func() error{
		func() error {
			return s.CreateActor(ctx, actingweb.Actor{ID: id, Creator: id + "@example.org", Passphrase: "pw"})
		},
		func() error { return s.SetProperty(ctx, id, "email", id+"@example.org") },
		func() error { return s.SetProperty(ctx, id, "note", strings.Repeat("n", 3000)) },
		func() error { return s.SetProperty(ctx, existing, "email", fmt.Sprintf("moved%d@example.org", round)) },
		func() error { return s.DeleteProperty(ctx, existing, "list:notes-#0001") },
		func() error { return s.SetAttribute(ctx, id, "big", "blob", big, nil, time.Hour) },
		func() error {
			_, err := s.ConditionalUpdateAttribute(ctx, id, "big", "blob", big, big, &ts)
			return err
		},
		func() error {
			pg, ok := s.(interface {
				Pool() *pgxpool.Pool
				Schema() string
			})
			if !ok {
				return nil
			}
			_, err := pg.Pool().Exec(ctx, `UPDATE `+pgx.Identifier{pg.Schema(), "attributes"}.Sanitize()+
				` SET ttl_timestamp = ttl_timestamp + 1 WHERE id = $1`, id)
			return err
		},
		func() error {
			return s.CreateTrust(ctx, actingweb.Trust{ID: id, PeerID: "peer", BaseURI: "https://p", Secret: "s-" + id, Type: "urn:x", Relationship: "friend"})
		},
		func() error {
			target := "properties"
			return s.CreateSubscription(ctx, actingweb.Subscription{ID: id, PeerID: "peer", SubID: "sub", Target: &target})
		},
		func() error { _, err := s.AddDiff(ctx, id, "peer", "sub", `{"d":1}`); return err },
		func() error { _, err := s.AddDiff(ctx, id, "peer", "sub", `{"d":2}`); return err },
		func() error {
			if round%3 == 0 {
				return actingweb.DeleteActorCascade(ctx, s, existing, time.Now())
			}
			return nil
		},
	}
	if _, err := s.GetActor(ctx, existing); errors.Is(err, actingweb.ErrNotFound) {
		steps = steps[:3:3] // deleted by an earlier round: its steps would only write orphans
		steps = append(steps, func() error { return s.SetAttribute(ctx, id, "big", "blob", big, nil, time.Hour) })
	} else if err != nil {
		return fmt.Errorf("live writer round %d: %w", round, err)
	}
	for _, f := range steps {
		if err := f(); err != nil {
			return fmt.Errorf("live writer round %d: %w", round, err)
		}
	}
	return nil
}
