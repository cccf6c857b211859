// Package cli implements the actingweb command (cmd/actingweb): cobra commands that resolve
// stores from upstream's environment variables, flags and URLs, and call the schema managers of
// the backends and the migrate engine.
//
// Each command is an options struct plus a Run function that tests call directly (cli/cli
// style); the cobra layer only fills the struct. Exit codes (Main):
//
//	0  success (validate: the two sides are equal; schema status: at head)
//	1  failed: one line on stderr says what failed, where, and what to do
//	2  usage: unknown command or flag, missing or contradictory options
//	3  mismatch: validate found differences; schema status found the schema not at head;
//	   ttl purge found DynamoDB's TTL off
//
// Progress goes to stderr (bars on a terminal, periodic log lines otherwise), summaries and
// status to stdout. Passwords, passphrases and trust secrets are never printed.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	actingweb "github.com/actingweb/actingweb-go"
)

// Exit codes of the actingweb command.
const (
	ExitOK       = 0
	ExitFailed   = 1
	ExitUsage    = 2
	ExitMismatch = 3
)

// ExitError carries an exit code with the error that caused it. Run functions return it for
// usage errors (ExitUsage) and mismatches (ExitMismatch); any other error exits with ExitFailed.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// usageErrorf is an ExitUsage error.
func usageErrorf(format string, a ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, a...)}
}

// failed gives an error of a Run function its exit code: ExitError as is, anything else
// ExitFailed. (Errors cobra raises itself, before a Run function runs, are usage errors.)
func failed(err error) error {
	if err == nil {
		return nil
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return err
	}
	return &ExitError{Code: ExitFailed, Err: err}
}

// ExitCode maps an error returned by a Run function to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitFailed
}

// App is what every command shares: the streams, the environment (upstream's variables with
// the given flags laid over them), the logger and the connection flags.
type App struct {
	Stdout, Stderr io.Writer
	// Getenv reads the process environment (os.Getenv; tests pass a map).
	Getenv func(string) string
	// Terminal reports whether Stderr is a terminal (progress bars instead of log lines).
	Terminal bool
	// Logger writes to Stderr through logOut, which progress bars redirect above themselves.
	Logger *slog.Logger

	logOut   *switchWriter
	logLevel *slog.LevelVar
	conn     ConnFlags
	// flagSet records which connection flags were given (see Env).
	flagSet map[string]bool
}

// NewApp builds an App writing to stdout/stderr with getenv as the environment. The log
// level starts at info.
func NewApp(stdout, stderr io.Writer, getenv func(string) string) *App {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	a := &App{Stdout: stdout, Stderr: stderr, Getenv: getenv, logOut: &switchWriter{w: stderr},
		logLevel: new(slog.LevelVar), flagSet: map[string]bool{}}
	a.Logger = slog.New(slog.NewTextHandler(a.logOut, &slog.HandlerOptions{Level: a.logLevel}))
	return a
}

// switchWriter is a writer whose destination can be swapped (to the progress container while
// bars are drawn, so log lines appear above them).
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *switchWriter) set(w io.Writer) io.Writer {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.w
	s.w = w
	return old
}

// Main runs the actingweb command with args (without the program name) and returns the exit
// code. cmd/actingweb's main calls it with os.Args[1:].
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := NewApp(os.Stdout, os.Stderr, os.Getenv)
	app.Terminal = term.IsTerminal(int(os.Stderr.Fd()))
	// The stores log through the command's logger (App.openPostgres, App.openDynamoDB); the
	// rest logs through slog's default logger: send it through the command's handler, level
	// and progress-aware writer too.
	slog.SetDefault(app.Logger)
	return app.Execute(ctx, args)
}

// Execute runs the command tree with args and returns the exit code, printing a failure as
// one line on Stderr.
func (a *App) Execute(ctx context.Context, args []string) int {
	return a.ExecuteCmd(ctx, a.NewRootCmd(), args)
}

// ExecuteCmd is Execute for the command tree root (the actingweb command, or a development
// tool's such as NewFixtureCmd).
func (a *App) ExecuteCmd(ctx context.Context, root *cobra.Command, args []string) int {
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if !errors.As(err, &ee) {
		// Errors cobra raises itself (unknown command or flag, bad flag value, wrong number of
		// arguments) are usage errors.
		ee = &ExitError{Code: ExitUsage, Err: err}
	}
	if ee.Err != nil {
		fmt.Fprintf(a.Stderr, "%s: %s\n", root.Name(), safeLine(ee.Err.Error()))
	}
	if ee.Code == ExitUsage {
		fmt.Fprintf(a.Stderr, "Run '%s --help' (or '%s <command> --help') for usage.\n", root.Name(), root.Name())
	}
	return ee.Code
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// safeLine is a message as the command prints it: one line, passwords masked
// (actingweb.RedactPasswords), control and bidirectional formatting characters escaped
// (actingweb.Printable).
func safeLine(s string) string { return actingweb.Printable(actingweb.RedactPasswords(oneLine(s))) }

// NewRootCmd builds the command tree.
func (a *App) NewRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "actingweb",
		Short: "Move, validate and manage ActingWeb data on PostgreSQL and DynamoDB",
		Long: `actingweb manages the nine tables of the Python ActingWeb 3.14.0 library on PostgreSQL
and DynamoDB: schema status and upgrade, export to and import from bundles, copy between
stores, row-by-row validation, and live migration (sync, cutover) while the application writes.

A store is given as a backend name configured from upstream's environment variables
(postgresql: PG_DB_HOST, PG_DB_PORT, PG_DB_NAME, PG_DB_USER, PG_DB_PASSWORD, PG_DB_PREFIX,
PG_DB_SCHEMA, PG_POOL_*; dynamodb: AWS_DB_PREFIX, AWS_DEFAULT_REGION, AWS_DB_HOST, AWS_PROFILE,
AWS_MAX_ATTEMPTS, AWS_CONNECT_TIMEOUT)
or as a URL:
  postgres://user@host:5432/db?schema=public     (password: PG_DB_PASSWORD, not the URL)
  dynamodb://?region=us-west-1&endpoint=http://127.0.0.1:8000&prefix=demo_actingweb
Commands that use a single store default to DATABASE_BACKEND. The connection flags below
override the environment only when given.

Exit codes: 0 ok, 1 failed, 2 usage, 3 mismatch (validate differences, schema not at head,
DynamoDB's TTL off).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.prepare(cmd)
		},
	}
	root.SetOut(a.Stdout)
	root.SetErr(a.Stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &ExitError{Code: ExitUsage, Err: err}
	})
	a.bindConnFlags(root)
	root.AddCommand(a.newSchemaCmd(), a.newExportCmd(), a.newImportCmd(), a.newCopyCmd(),
		a.newValidateCmd(), a.newReconcileCmd(), a.newSyncCmd(), a.newCutoverCmd(), a.newTTLCmd(), a.newPhaseCmd(), a.newVersionCmd())
	refuseUnknownSubcommands(root)
	return root
}

// refuseUnknownSubcommands makes every command that only groups subcommands (schema, ...)
// refuse an unknown one with a usage error (exit 2), where cobra would print the help and
// exit 0; without arguments it still prints the help.
func refuseUnknownSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		refuseUnknownSubcommands(sub)
	}
	if c.HasParent() && c.HasSubCommands() && c.Run == nil && c.RunE == nil {
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return usageErrorf("unknown command %q for %q; see '%s --help'", args[0], cmd.CommandPath(), cmd.CommandPath())
		}
	}
}

// prepare applies --log-level and records which connection flags were given.
func (a *App) prepare(cmd *cobra.Command) error {
	for _, name := range connFlagNames {
		if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
			a.flagSet[name] = true
		}
	}
	if a.flagSet["log-level"] {
		lvl, err := parseLogLevel(a.conn.LogLevel)
		if err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
		a.logLevel.Set(lvl)
	}
	if !a.flagSet["log-level"] {
		// --quiet means quiet: no progress and no info lines, only warnings, errors and the
		// summary (an explicit --log-level wins).
		if f := cmd.Flags().Lookup("quiet"); f != nil && f.Changed && f.Value.String() == "true" {
			a.logLevel.Set(slog.LevelWarn)
		}
	}
	if a.flagSet["pg-password"] {
		a.Logger.Warn("--pg-password is visible to other users in the process list; prefer the PG_DB_PASSWORD environment variable")
	}
	return nil
}

// parseLogLevel accepts debug, info, warn/warning, error (any case), as upstream's script did.
func parseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error", "critical":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("--log-level %q: use debug, info, warning or error", s)
}
