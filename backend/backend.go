// Package backend opens the store an application's environment names: upstream's
// DATABASE_BACKEND (postgresql or dynamodb, docs/storage-model.md §2.1) and the chosen
// backend's own variables (postgres.ConfigFromEnv, dynamodb.ConfigFromEnv).
package backend

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/dynamodb"
	"github.com/actingweb/actingweb-go/postgres"
)

// Backend names, the values of DATABASE_BACKEND.
const (
	Postgres = "postgresql"
	DynamoDB = "dynamodb"
)

// Open opens the store DATABASE_BACKEND names, read through getenv (os.Getenv, or a map's
// lookup in tests): "postgresql" opens postgres.Open(postgres.ConfigFromEnv(getenv)),
// "dynamodb" dynamodb.Open(dynamodb.ConfigFromEnv(getenv)); case and surrounding spaces are
// ignored (as upstream's db/verify_tables.py). Unset or any other value is an error wrapping
// actingweb.ErrInvalid that names the variable (upstream assumes dynamodb when it is unset,
// §2.1; a store chosen by default could be the wrong one). logger receives the store's warnings (nil discards them). The store is connected
// but its schema is not checked (CheckSchema, UpgradeSchema); Close it after use.
func Open(ctx context.Context, getenv func(string) string, logger *slog.Logger) (actingweb.Store, error) {
	v := strings.TrimSpace(getenv("DATABASE_BACKEND"))
	switch strings.ToLower(v) {
	case Postgres:
		cfg, err := postgres.ConfigFromEnv(getenv)
		if err != nil {
			return nil, fmt.Errorf("DATABASE_BACKEND=%s: %w", Postgres, err)
		}
		cfg.Logger = logger
		s, err := postgres.Open(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return s, nil
	case DynamoDB:
		cfg, err := dynamodb.ConfigFromEnv(getenv)
		if err != nil {
			return nil, fmt.Errorf("DATABASE_BACKEND=%s: %w", DynamoDB, err)
		}
		cfg.Logger = logger
		s, err := dynamodb.Open(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return s, nil
	case "":
		return nil, fmt.Errorf("%w: DATABASE_BACKEND is not set: set it to %s or %s", actingweb.ErrInvalid, Postgres, DynamoDB)
	}
	return nil, fmt.Errorf("%w: DATABASE_BACKEND=%q: want %s or %s", actingweb.ErrInvalid, v, Postgres, DynamoDB)
}
