// Command awfixture is a development tool of the demo (scripts/demo.sh) and the tests, not
// part of the product: it loads the upstream fixture (testdata/upstream-seed1, rows and items
// the Python library wrote) into a store exactly as stored, drops a store's data, and turns
// DynamoDB TTL on or off. It takes the actingweb command's connection flags and environment.
//
//	awfixture load --to URL [--dir testdata/upstream-seed1] [--upgrade] [--no-ttl]
//	awfixture drop --to URL [--force]
//	awfixture ttl  --to URL --enabled=false
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/actingweb/actingweb-go/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := cli.NewApp(os.Stdout, os.Stderr, os.Getenv)
	slog.SetDefault(app.Logger)
	code := app.ExecuteCmd(ctx, app.NewFixtureCmd(), os.Args[1:])
	stop()
	os.Exit(code)
}
