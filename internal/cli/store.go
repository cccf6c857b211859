package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/dynamodb"
	"github.com/actingweb/actingweb-go/postgres"
	"github.com/spf13/cobra"
)

// ConnFlags are upstream's connection flags (scripts/migrate_dynamodb_to_postgresql.py). Unlike
// upstream (docs/storage-model.md §7.2 I10) each one overrides its environment variable only when it
// is given on the command line; otherwise the environment (or the library default) applies.
type ConnFlags struct {
	TablePrefix string // --table-prefix → AWS_DB_PREFIX
	AWSProfile  string // --aws-profile → AWS_PROFILE
	PGHost      string // --pg-host → PG_DB_HOST
	PGPort      int    // --pg-port → PG_DB_PORT
	PGDatabase  string // --pg-database → PG_DB_NAME
	PGUser      string // --pg-user → PG_DB_USER
	PGPassword  string // --pg-password → PG_DB_PASSWORD (prefer the variable)
	LogLevel    string // --log-level
	Indexed     string // --indexed-properties → INDEXED_PROPERTIES
}

var connFlagNames = []string{"table-prefix", "aws-profile", "pg-host", "pg-port", "pg-database",
	"pg-user", "pg-password", "log-level", "indexed-properties"}

func (a *App) bindConnFlags(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&a.conn.TablePrefix, "table-prefix", "", "DynamoDB table prefix (overrides AWS_DB_PREFIX; tables are <prefix>_<table>, so give \"prod\", not \"prod_\")")
	f.StringVar(&a.conn.AWSProfile, "aws-profile", "", "AWS shared-config profile (overrides AWS_PROFILE)")
	f.StringVar(&a.conn.PGHost, "pg-host", "", "PostgreSQL host (overrides PG_DB_HOST, default localhost)")
	f.IntVar(&a.conn.PGPort, "pg-port", 0, "PostgreSQL port (overrides PG_DB_PORT, default 5432)")
	f.StringVar(&a.conn.PGDatabase, "pg-database", "", "PostgreSQL database (overrides PG_DB_NAME, default actingweb)")
	f.StringVar(&a.conn.PGUser, "pg-user", "", "PostgreSQL user (overrides PG_DB_USER, default actingweb)")
	f.StringVar(&a.conn.PGPassword, "pg-password", "", "PostgreSQL password (overrides PG_DB_PASSWORD; prefer the variable, flags are visible in the process list)")
	f.StringVar(&a.conn.LogLevel, "log-level", "info", "log level: debug, info, warning, error")
	f.StringVar(&a.conn.Indexed, "indexed-properties", "", "comma-separated property names that get reverse-lookup rows (overrides INDEXED_PROPERTIES, default oauthId,email,externalUserId)")
}

// Env returns the value of an environment variable as the commands see it: a given connection
// flag replaces its variable, anything else comes from Getenv.
func (a *App) Env(key string) string {
	over := map[string]struct {
		flag string
		val  func() string
	}{
		"AWS_DB_PREFIX":      {"table-prefix", func() string { return a.conn.TablePrefix }},
		"AWS_PROFILE":        {"aws-profile", func() string { return a.conn.AWSProfile }},
		"PG_DB_HOST":         {"pg-host", func() string { return a.conn.PGHost }},
		"PG_DB_PORT":         {"pg-port", func() string { return strconv.Itoa(a.conn.PGPort) }},
		"PG_DB_NAME":         {"pg-database", func() string { return a.conn.PGDatabase }},
		"PG_DB_USER":         {"pg-user", func() string { return a.conn.PGUser }},
		"PG_DB_PASSWORD":     {"pg-password", func() string { return a.conn.PGPassword }},
		"INDEXED_PROPERTIES": {"indexed-properties", func() string { return a.conn.Indexed }},
	}
	if o, ok := over[key]; ok && a.flagSet[o.flag] {
		return o.val()
	}
	return a.Getenv(key)
}

// SetFlag marks a connection flag as given with value v, as if it were on the command line
// (for tests and callers that build an App without cobra).
func (a *App) SetFlag(name, v string) error {
	switch name {
	case "table-prefix":
		a.conn.TablePrefix = v
	case "aws-profile":
		a.conn.AWSProfile = v
	case "pg-host":
		a.conn.PGHost = v
	case "pg-port":
		p, err := strconv.Atoi(v)
		if err != nil {
			return usageErrorf("--pg-port %q: %v", v, err)
		}
		a.conn.PGPort = p
	case "pg-database":
		a.conn.PGDatabase = v
	case "pg-user":
		a.conn.PGUser = v
	case "pg-password":
		a.conn.PGPassword = v
	case "indexed-properties":
		a.conn.Indexed = v
	case "log-level":
		a.conn.LogLevel = v
	default:
		return usageErrorf("unknown connection flag %q", name)
	}
	a.flagSet[name] = true
	return nil
}

// IndexedProperties is the effective indexed-property list: --indexed-properties, else
// INDEXED_PROPERTIES, else upstream's default (§2.4).
func (a *App) IndexedProperties() []string {
	if v := a.Env("INDEXED_PROPERTIES"); strings.TrimSpace(v) != "" {
		return actingweb.ParseNameList(v)
	}
	return append([]string(nil), actingweb.DefaultIndexedProperties...)
}

// Backend names.
const (
	BackendPostgres = "postgresql"
	BackendDynamoDB = "dynamodb"
)

// StoreSpec is a resolved --from/--to value: the backend and its configuration. It prints
// (String) without any password.
type StoreSpec struct {
	Backend string // BackendPostgres or BackendDynamoDB
	// Arg is the value as given (a backend name or URL, password removed).
	Arg      string
	Postgres postgres.Config
	DynamoDB dynamodb.Config
	// Warnings found while resolving (e.g. a prefix ending in '_').
	Warnings []string
}

// String names the store without secrets.
func (s StoreSpec) String() string {
	if s.Backend == BackendDynamoDB {
		ep := s.DynamoDB.Endpoint
		if ep == "" {
			ep = "AWS"
		}
		return fmt.Sprintf("dynamodb %s region %s prefix %s", ep, s.DynamoDB.Region, s.DynamoDB.Prefix)
	}
	c := s.Postgres
	host := c.Host
	if c.Port != 0 {
		host = fmt.Sprintf("%s:%d", c.Host, c.Port)
	}
	if c.ConnString != "" {
		if u, err := url.Parse(c.ConnString); err == nil {
			host = u.Host
		}
	}
	return fmt.Sprintf("postgresql %s/%s schema %s", host, c.Database, c.Schema)
}

var slugRe = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// Slug is a short file-name-safe name of the store (for default state directories).
func (s StoreSpec) Slug() string {
	if s.Backend == BackendDynamoDB {
		return slugRe.ReplaceAllString("dynamodb-"+s.DynamoDB.Prefix, "_")
	}
	return slugRe.ReplaceAllString("postgresql-"+s.Postgres.Database+"-"+s.Postgres.Schema, "_")
}

// ResolveStore turns a --from/--to value into a StoreSpec: "postgresql" (also "postgres") or
// "dynamodb" configured from the environment (Env: upstream's variables with the given flags
// over them), or a postgres:// or dynamodb:// URL. A postgres URL without a password takes
// PG_DB_PASSWORD (or --pg-password); the URL's own settings win over the environment. Errors
// are usage errors.
func (a *App) ResolveStore(arg string) (StoreSpec, error) {
	arg = strings.TrimSpace(arg)
	spec := StoreSpec{Arg: arg}
	var err error
	switch {
	case arg == "":
		return spec, usageErrorf("no store given: use a backend name (postgresql, dynamodb) or a postgres:// or dynamodb:// URL")
	case strings.Contains(arg, "://"):
		u, perr := url.Parse(arg)
		if perr != nil {
			// url.Error repeats the whole URL, password included: give only its reason.
			var ue *url.Error
			if errors.As(perr, &ue) {
				perr = ue.Err
			}
			return spec, usageErrorf("store URL %s: %s (check the URL; give the password in PG_DB_PASSWORD)",
				redactURL(arg), actingweb.RedactPasswords(perr.Error()))
		}
		switch u.Scheme {
		case "postgres", "postgresql":
			spec.Backend = BackendPostgres
			if u.User != nil {
				if _, has := u.User.Password(); !has {
					if pw := a.Env("PG_DB_PASSWORD"); pw != "" {
						u.User = url.UserPassword(u.User.Username(), pw)
					}
				} else {
					spec.Warnings = append(spec.Warnings, "a password in the store URL is visible in the process list; prefer PG_DB_PASSWORD")
				}
			}
			for _, f := range []string{"pg-host", "pg-port", "pg-database", "pg-user"} {
				if a.flagSet[f] {
					spec.Warnings = append(spec.Warnings, fmt.Sprintf("--%s does not apply to a postgres:// URL (the URL names host, port, database and user); ignored for %s", f, redactURL(arg)))
				}
			}
			spec.Arg = redactURL(arg)
			spec.Postgres, err = postgres.ConfigFromURL(u.String(), a.Env)
		case "dynamodb":
			spec.Backend = BackendDynamoDB
			spec.DynamoDB, err = dynamodb.ConfigFromURL(arg, a.Env)
		default:
			return spec, usageErrorf("store URL %q: scheme %q is neither postgres nor dynamodb", redactURL(arg), u.Scheme)
		}
	default:
		switch strings.ToLower(arg) {
		case "postgresql", "postgres":
			spec.Backend = BackendPostgres
			spec.Postgres, err = postgres.ConfigFromEnv(a.Env)
		case "dynamodb":
			spec.Backend = BackendDynamoDB
			spec.DynamoDB, err = dynamodb.ConfigFromEnv(a.Env)
		default:
			return spec, usageErrorf("store %q: use postgresql, dynamodb, or a postgres:// or dynamodb:// URL", arg)
		}
	}
	if err != nil {
		return spec, usageErrorf("store %s: %s", spec.Arg, actingweb.RedactPasswords(err.Error()))
	}
	if spec.Backend == BackendDynamoDB && strings.HasSuffix(spec.DynamoDB.Prefix, "_") {
		spec.Warnings = append(spec.Warnings, fmt.Sprintf(
			"DynamoDB table prefix %q ends in '_': tables are named %s (a double underscore, as upstream does); to address %s use prefix %q",
			spec.DynamoDB.Prefix, actingweb.TableActors.DynamoDBName(spec.DynamoDB.Prefix),
			actingweb.TableActors.DynamoDBName(strings.TrimRight(spec.DynamoDB.Prefix, "_")), strings.TrimRight(spec.DynamoDB.Prefix, "_")))
	}
	return spec, nil
}

// redactURL removes a password from a URL for messages; a URL that does not parse is shown
// with its password masked as far as actingweb.RedactPasswords recognises it, and escaped.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		// Whatever lies between the user name and the last '@' may be the password.
		if i, j := strings.Index(s, "://"), strings.LastIndex(s, "@"); i >= 0 && j > i {
			if c := strings.Index(s[i+3:j], ":"); c >= 0 {
				s = s[:i+3+c] + ":xxxxx" + s[j:]
			}
		}
		return strconv.Quote(actingweb.RedactPasswords(s))
	}
	return actingweb.Printable(u.Redacted())
}

// backendFlags lists the connection flags that configure one backend only.
var backendFlags = map[string][]string{
	BackendDynamoDB: {"table-prefix", "aws-profile"},
	BackendPostgres: {"pg-host", "pg-port", "pg-database", "pg-user", "pg-password"},
}

// backendName is a backend's name in messages.
var backendName = map[string]string{BackendDynamoDB: "DynamoDB", BackendPostgres: "PostgreSQL"}

// givenFlags returns the flags of backend that were given on the command line, as "--name".
func (a *App) givenFlags(backend string) []string {
	var out []string
	for _, f := range backendFlags[backend] {
		if a.flagSet[f] {
			out = append(out, "--"+f)
		}
	}
	return out
}

// backendOf returns the backend a --from/--to value or DATABASE_BACKEND names, "" for none.
func backendOf(arg string) string {
	arg = strings.ToLower(strings.TrimSpace(arg))
	switch {
	case arg == "postgresql" || arg == "postgres" || strings.HasPrefix(arg, "postgres://") || strings.HasPrefix(arg, "postgresql://"):
		return BackendPostgres
	case arg == "dynamodb" || strings.HasPrefix(arg, "dynamodb://"):
		return BackendDynamoDB
	}
	return ""
}

func otherBackend(b string) string {
	if b == BackendPostgres {
		return BackendDynamoDB
	}
	return BackendPostgres
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ChooseStore picks the store of a single-store command (export's source, import's, validate's
// and schema's target) from, in this order:
//   - given, the --from/--to value (flag names it in messages);
//   - implied, the backend upstream's migration script uses for op, when a connection flag of
//     that backend is given (export reads DynamoDB when --table-prefix or --aws-profile is
//     given; import and validate write PostgreSQL when a --pg-* flag is given), even when
//     DATABASE_BACKEND names the other backend (upstream's guide sets it for the application);
//   - DATABASE_BACKEND (upstream's backend selector, docs/storage-model.md §2.1);
//   - the one backend whose connection flags are given.
//
// A connection flag of the backend the chosen store does not use is a usage error that names
// the flag and where the choice came from: a flag never applies to a store of the other
// backend, and is never silently ignored. implied is "" for commands upstream's script lacks.
func (a *App) ChooseStore(op, given, flag, implied string) (string, error) {
	reject := func(b, why string) error {
		other := a.givenFlags(otherBackend(b))
		if len(other) == 0 {
			return nil
		}
		return usageErrorf("%s: %s %s %s %s, but %s: drop %s, or name a %s store with %s",
			op, strings.Join(other, ", "), plural(len(other), "is a", "are"), backendName[otherBackend(b)],
			plural(len(other), "flag", "flags"), why, plural(len(other), "it", "them"), backendName[otherBackend(b)], flag)
	}
	if strings.TrimSpace(given) != "" {
		if b := backendOf(given); b != "" {
			if err := reject(b, fmt.Sprintf("%s names a %s store", flag, backendName[b])); err != nil {
				return "", err
			}
		}
		return given, nil
	}
	env := strings.TrimSpace(a.Getenv("DATABASE_BACKEND"))
	if implied != "" {
		if f := a.givenFlags(implied); len(f) > 0 {
			if err := reject(implied, fmt.Sprintf("%s makes %s use %s", strings.Join(f, ", "), op, backendName[implied])); err != nil {
				return "", err
			}
			if env != "" && backendOf(env) != implied {
				a.Logger.Info(fmt.Sprintf("%s uses %s, as %s %s (upstream's migration script does the same); DATABASE_BACKEND=%s is not used",
					op, backendName[implied], strings.Join(f, ", "), plural(len(f), "says", "say"), env))
			}
			return implied, nil
		}
	}
	if env != "" {
		if b := backendOf(env); b != "" {
			if err := reject(b, fmt.Sprintf("DATABASE_BACKEND=%s makes %s use %s", env, op, backendName[b])); err != nil {
				return "", err
			}
		}
		return env, nil
	}
	pg, ddb := a.givenFlags(BackendPostgres), a.givenFlags(BackendDynamoDB)
	switch {
	case len(pg) > 0 && len(ddb) == 0:
		return BackendPostgres, nil
	case len(ddb) > 0 && len(pg) == 0:
		return BackendDynamoDB, nil
	}
	return "", usageErrorf("%s: %s is required (or set DATABASE_BACKEND to postgresql or dynamodb)", op, flag)
}

// CheckPairFlags refuses connection flags of a backend that none of a two-store command's
// stores (from, to: --from/--to values) uses: such a flag would configure nothing.
func (a *App) CheckPairFlags(op, from, to string) error {
	for _, b := range []string{BackendPostgres, BackendDynamoDB} {
		f := a.givenFlags(b)
		if len(f) == 0 || backendOf(from) == b || backendOf(to) == b {
			continue
		}
		return usageErrorf("%s: %s %s %s %s, but neither --from (%s) nor --to (%s) is a %s store: drop %s",
			op, strings.Join(f, ", "), plural(len(f), "is a", "are"), backendName[b], plural(len(f), "flag", "flags"),
			redactURL(from), redactURL(to), backendName[b], plural(len(f), "it", "them"))
	}
	return nil
}

// Store is what the commands need of a backend: the table face the engine moves data through,
// schema management and a name. postgres.Store and dynamodb.Store implement it.
type Store interface {
	bulk.Source
	bulk.Sink
	actingweb.SchemaManager
	Describe() string
	Close() error
}

// OpenStore resolves arg and connects. Warnings are logged. The store is not checked; callers
// call CheckSchema or leave it to the engine.
func (a *App) OpenStore(ctx context.Context, arg string) (Store, StoreSpec, error) {
	spec, err := a.ResolveStore(arg)
	if err != nil {
		return nil, spec, err
	}
	for _, w := range spec.Warnings {
		a.Logger.Warn(w, "store", spec.String())
	}
	var s Store
	switch spec.Backend {
	case BackendPostgres:
		s, err = a.openPostgres(ctx, spec.Postgres)
	default:
		s, err = a.openDynamoDB(ctx, spec.DynamoDB)
	}
	if err != nil {
		return nil, spec, fmt.Errorf("open %s: %w", spec, err)
	}
	a.Logger.Debug("store opened", "store", s.Describe())
	return s, spec, nil
}

// openPostgres and openDynamoDB return the concrete stores, logging through the command's
// logger; kept apart so a nil *Store never becomes a non-nil interface.
func (a *App) openPostgres(ctx context.Context, c postgres.Config) (Store, error) {
	c.Logger = a.Logger
	s, err := postgres.Open(ctx, c)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (a *App) openDynamoDB(ctx context.Context, c dynamodb.Config) (Store, error) {
	c.Logger = a.Logger
	s, err := dynamodb.Open(ctx, c)
	if err != nil {
		return nil, err
	}
	return s, nil
}
