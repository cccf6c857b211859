package backend_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/actingweb/actingweb-go/backend"
)

// Open the store the environment names (DATABASE_BACKEND and the backend's own variables),
// with the application's logger, and check that its schema is ready.
func Example() {
	if os.Getenv("DATABASE_BACKEND") == "" {
		return // no store configured: nothing to show
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	store, err := backend.Open(ctx, os.Getenv, logger)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	if err := store.CheckSchema(ctx); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("ready:", store.Describe())
}
