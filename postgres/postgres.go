// Package postgres is the actingweb store on PostgreSQL through pgx v5 (pgxpool): the
// physical model of Python ActingWeb 3.14.0 at Alembic head e5f6a7b8c9d0
// (docs/storage-model.md §4), so Go and Python share one database. Schema migrations are
// embedded and run with goose. The "§N" references in this package's comments point to
// docs/storage-model.md.
package postgres

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgxpool"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/waitlog"
)

// Compile-time check that Store implements the whole interface.
var _ actingweb.Store = (*Store)(nil)

// Config configures a PostgreSQL store.
type Config struct {
	Host, Database, User, Password string
	Port                           int
	// Schema is the effective schema: PG_DB_PREFIX + PG_DB_SCHEMA (§4.1). Letters, digits,
	// '_' and '-' only; lower case recommended (Alembic folds it).
	Schema string
	// ConnString, when set, is a libpq/URL connection string used instead of the fields
	// above (the schema still comes from Schema).
	ConnString string
	// Pool sizes (PG_POOL_MIN_SIZE 2, PG_POOL_MAX_SIZE 10: the connections kept open, and
	// the most open at once) and PoolTimeout (PG_POOL_TIMEOUT 30 s; 0 = DefaultPoolTimeout):
	// as upstream's psycopg_pool timeout, the longest an operation waits to get a connection
	// of the pool (all MaxConns busy, or a new one opening) before it fails with
	// ErrPoolTimeout; a statement's own run time is not bounded by it. It is also the
	// deadline of Open's first contact with the server (ErrNoAnswer) and of every connection
	// attempt (unless the URL's connect_timeout is shorter).
	MinConns, MaxConns int32
	PoolTimeout        time.Duration
	// Lookup is the reverse-lookup configuration applied on property writes.
	Lookup actingweb.LookupConfig
	// Logger receives the store's warnings (Options.Logger); nil discards them. ConfigFromEnv
	// and ConfigFromURL leave it nil.
	Logger *slog.Logger
}

var schemaRe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// ValidateSchemaName checks a schema name against upstream's rule (§4.1).
func ValidateSchemaName(s string) error {
	if !schemaRe.MatchString(s) || len(s) > 63 {
		return fmt.Errorf("%w: schema name %q: use letters, digits, '_' and '-' only (at most 63)", actingweb.ErrInvalid, s)
	}
	return nil
}

// ConfigFromEnv builds a Config from upstream's variables (§2.3): PG_DB_HOST (localhost),
// PG_DB_PORT (5432), PG_DB_NAME (actingweb), PG_DB_USER (actingweb), PG_DB_PASSWORD (empty),
// PG_DB_PREFIX + PG_DB_SCHEMA (public), PG_POOL_MIN_SIZE (2), PG_POOL_MAX_SIZE (10),
// PG_POOL_TIMEOUT (30 s: the longest wait for a free connection of the pool, see
// Config.PoolTimeout), and the lookup settings USE_PROPERTY_LOOKUP_TABLE and
// INDEXED_PROPERTIES.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	def := func(k, d string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return d
	}
	c := Config{
		Host: def("PG_DB_HOST", "localhost"), Database: def("PG_DB_NAME", "actingweb"),
		User: def("PG_DB_USER", "actingweb"), Password: getenv("PG_DB_PASSWORD"),
		Schema: getenv("PG_DB_PREFIX") + def("PG_DB_SCHEMA", "public"),
	}
	var err error
	if c.Port, err = strconv.Atoi(def("PG_DB_PORT", "5432")); err != nil {
		return c, fmt.Errorf("PG_DB_PORT: %w", err)
	}
	if err := c.poolFromEnv(getenv); err != nil {
		return c, err
	}
	if c.Lookup, err = actingweb.LookupConfigFromEnv(getenv); err != nil {
		return c, err
	}
	return c, ValidateSchemaName(c.Schema)
}

// poolFromEnv sets the pool sizes and timeout from PG_POOL_MIN_SIZE (2), PG_POOL_MAX_SIZE
// (10) and PG_POOL_TIMEOUT (30 s; seconds, fractions allowed, more than 0).
func (c *Config) poolFromEnv(getenv func(string) string) error {
	def := func(k, d string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return d
	}
	min, err := strconv.Atoi(def("PG_POOL_MIN_SIZE", "2"))
	if err != nil {
		return fmt.Errorf("PG_POOL_MIN_SIZE: %w", err)
	}
	max, err := strconv.Atoi(def("PG_POOL_MAX_SIZE", "10"))
	if err != nil {
		return fmt.Errorf("PG_POOL_MAX_SIZE: %w", err)
	}
	c.MinConns, c.MaxConns = int32(min), int32(max)
	v := def("PG_POOL_TIMEOUT", "30")
	to, err := strconv.ParseFloat(v, 64)
	if err != nil || !(to > 0) || to > 1e6 {
		return fmt.Errorf("%w: PG_POOL_TIMEOUT %q: want a number of seconds greater than 0", actingweb.ErrInvalid, v)
	}
	c.PoolTimeout = time.Duration(to * float64(time.Second))
	return nil
}

// ConfigFromURL builds a Config from postgres://user:pass@host:port/db?schema=public (other
// query parameters pass through to libpq/pgx, e.g. sslmode); the pool settings (PG_POOL_*)
// and the lookup settings come from getenv as in ConfigFromEnv.
func ConfigFromURL(raw string, getenv func(string) string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return Config{}, fmt.Errorf("%w: not a postgres:// URL", actingweb.ErrInvalid)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Config{}, fmt.Errorf("%w: postgres URL query: %v", actingweb.ErrInvalid, err)
	}
	c := Config{Schema: "public"}
	if err := c.poolFromEnv(getenv); err != nil {
		return c, err
	}
	if s := q.Get("schema"); s != "" {
		c.Schema = s
	}
	q.Del("schema")
	u.RawQuery = q.Encode()
	c.ConnString = u.String()
	c.Host, c.Database = u.Hostname(), strings.TrimPrefix(u.Path, "/")
	if u.User != nil {
		c.User = u.User.Username()
	}
	if c.Lookup, err = actingweb.LookupConfigFromEnv(getenv); err != nil {
		return c, err
	}
	return c, ValidateSchemaName(c.Schema)
}

// Store is the PostgreSQL store. Safe for concurrent use.
type Store struct {
	pool   *pool
	cfg    Config
	schema string
	lookup actingweb.LookupConfig
	log    *slog.Logger // never nil (Options.Logger, or a discarding one)
	stmts  *statements  // the schema-qualified statements (shared by inSnapshot's views)
	// ownPool: Close closes the pool (Open built it); a store of New leaves it to the caller.
	ownPool bool
	// snapshot, when set, is an exported snapshot every Scan and Count reads in (inSnapshot).
	snapshot string
}

// Options is what a store needs apart from its connection pool (New, and Open through
// Config).
type Options struct {
	// Schema is the schema the store's tables live in (PG_DB_PREFIX + PG_DB_SCHEMA, §4.1);
	// "" = public. Letters, digits, '_' and '-' only (ValidateSchemaName). Every statement the
	// store sends names its tables with this schema, whatever the connections' search_path.
	Schema string
	// Lookup is the reverse-lookup configuration applied on property writes and lookups
	// (§6.3). The zero value is legacy mode (no lookup table); upstream's default is
	// actingweb.DefaultLookupConfig().
	Lookup actingweb.LookupConfig
	// Logger receives the store's warnings (lookup collisions, §6.3); values and secrets are
	// never logged. nil discards them.
	Logger *slog.Logger
}

// discard is the logger of a store given none.
var discard = slog.New(slog.DiscardHandler)

// New returns a store on pp, a pgxpool.Pool the caller built and owns, with o's schema,
// lookup configuration and logger. It sends nothing to the server: the pool may not even be
// connected yet (see UpgradeSchema and CheckSchema to prepare and check the schema).
//
// The pool's configuration is the caller's and rules: its sizes, its connection timeouts,
// its time zone and search_path are used as they are. In particular no acquire timeout is
// installed (Open installs one from Config.PoolTimeout, upstream's PG_POOL_TIMEOUT, as the
// pool's tracer): an operation waits for a free connection as long as its context lets it,
// and never fails with ErrPoolTimeout. Statements name every table with o.Schema, so the
// connections' search_path does not matter. Give the connections TimeZone UTC as Open does
// (ConnConfig.RuntimeParams["timezone"] = "UTC"; §4.1: timestamp columns hold UTC wall
// time): the application face writes UTC whatever the session's time zone, but the table
// face (Scan) reads timestamptz columns as the server prints them in the session's zone.
//
// Close on the returned store does not close pp: the caller closes it after the store's
// last use.
func New(pp *pgxpool.Pool, o Options) (*Store, error) {
	if pp == nil {
		return nil, fmt.Errorf("%w: postgres.New: nil pool", actingweb.ErrInvalid)
	}
	cc := pp.Config().ConnConfig
	cfg := Config{Host: cc.Host, Port: int(cc.Port), Database: cc.Database, User: cc.User}
	return newStore(&pool{p: pp}, cfg, o, false)
}

// newStore is New's store on p; cfg names the server (describe), own says Close closes p.
func newStore(p *pool, cfg Config, o Options, own bool) (*Store, error) {
	if o.Schema == "" {
		o.Schema = "public"
	}
	if err := ValidateSchemaName(o.Schema); err != nil {
		return nil, err
	}
	cfg.Schema, cfg.Lookup = o.Schema, o.Lookup
	p.where = describe(cfg)
	log := o.Logger
	if log == nil {
		log = discard
	}
	return &Store{pool: p, cfg: cfg, schema: o.Schema, lookup: o.Lookup, ownPool: own,
		log: log.With("backend", "postgresql", "schema", o.Schema), stmts: newStatements(o.Schema)}, nil
}

// inSnapshot returns a view of s whose Scan and Count read inside the exported snapshot id
// (SET TRANSACTION SNAPSHOT), valid while the session that exported it keeps it. It shares
// s's pool: do not Close it.
func (s *Store) inSnapshot(id string) *Store {
	c := *s
	c.snapshot = id
	return &c
}

// Open builds a pool from cfg, checks that the server answers, and returns New's store on it
// (schema, lookup configuration and logger from cfg); Close closes the pool. Every connection
// gets TimeZone=UTC (§4.1: timestamp columns hold UTC wall time) and, for a schema other than
// public, search_path set to the quoted schema (for tools that use Pool; the store's own
// statements name the schema); every acquire of a connection waits at most cfg.PoolTimeout
// (ErrPoolTimeout). Open does not create or check the schema; see UpgradeSchema and
// CheckSchema.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Schema == "" {
		cfg.Schema = "public"
	}
	if err := ValidateSchemaName(cfg.Schema); err != nil {
		return nil, err
	}
	var pc *pgxpool.Config
	var err error
	if cfg.ConnString != "" {
		pc, err = pgxpool.ParseConfig(cfg.ConnString)
	} else {
		pc, err = pgxpool.ParseConfig("")
		if err == nil {
			pc.ConnConfig.Host, pc.ConnConfig.Port = cfg.Host, uint16(cfg.Port)
			pc.ConnConfig.Database, pc.ConnConfig.User, pc.ConnConfig.Password = cfg.Database, cfg.User, cfg.Password
		}
	}
	if err != nil {
		// pgx's parse errors repeat the connection string (it masks the password only where
		// it can tell it apart): the reason goes through actingweb.RedactPasswords and the
		// original error is not kept in the chain.
		return nil, fmt.Errorf("%w: postgres: connection settings of %s: %s (check the URL or PG_DB_*)",
			actingweb.ErrInvalid, describe(cfg), actingweb.RedactPasswords(err.Error()))
	}
	timeout := cfg.PoolTimeout
	if timeout <= 0 {
		timeout = DefaultPoolTimeout
	}
	// Every connection attempt, the pool's background ones included, gives up after the pool
	// timeout (pgxpool's own default is 2 minutes) unless the URL's connect_timeout is shorter.
	if ct := pc.ConnConfig.ConnectTimeout; ct <= 0 || ct > timeout {
		pc.ConnConfig.ConnectTimeout = timeout
	}
	if cfg.MinConns > 0 {
		pc.MinConns = cfg.MinConns
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	pc.ConnConfig.RuntimeParams["timezone"] = "UTC"
	// Connections name themselves in pg_stat_activity (a URL's application_name wins).
	if pc.ConnConfig.RuntimeParams["application_name"] == "" {
		pc.ConnConfig.RuntimeParams["application_name"] = "actingweb"
	}
	pc.ConnConfig.BuildFrontend = bufferedFrontend
	// Every acquire of a connection waits at most the pool timeout (pgxpool has no bound).
	pc.ConnConfig.Tracer = acquireTimeout{timeout}
	if cfg.Schema != "public" {
		pc.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{cfg.Schema}.Sanitize()
	}
	pp, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect to %s: %s", describe(cfg), actingweb.RedactPasswords(err.Error()))
	}
	// First contact: bounded by the pool timeout (PG_POOL_TIMEOUT), with a log line every
	// waitlog.Interval while it waits.
	pingCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stopWaitLog := waitlog.Start(pingCtx, describe(cfg), timeout, "PG_POOL_TIMEOUT")
	// The first query is the connection check (in place of a ping) and reads the encodings:
	// with server_encoding UTF8 the server refuses invalid UTF-8 in any text it stores, and
	// with client_encoding UTF8 (the default in a UTF8 database) sends it unconverted
	// (Validated).
	var senc, cenc string
	err = pp.QueryRow(pingCtx, "SELECT current_setting('server_encoding'), current_setting('client_encoding')").Scan(&senc, &cenc)
	stopWaitLog()
	if err != nil {
		// Close in the background: it waits for connection attempts still under way.
		go pp.Close()
		return nil, firstContactError(ctx, pingCtx, cfg, timeout, err)
	}
	s, err := newStore(&pool{p: pp, timeout: timeout}, cfg, Options{Schema: cfg.Schema, Lookup: cfg.Lookup, Logger: cfg.Logger}, true)
	if err != nil {
		pp.Close()
		return nil, err
	}
	return s, nil
}

// DefaultPoolTimeout is the pool timeout when Config.PoolTimeout is 0 (upstream's
// PG_POOL_TIMEOUT default).
const DefaultPoolTimeout = 30 * time.Second

// firstContactError is Open's one-line error when the first query failed: the store (host,
// port, database; never the password), the deadline when it passed, and what to do.
func firstContactError(ctx, pingCtx context.Context, cfg Config, timeout time.Duration, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("postgres: connect to %s: %w", describe(cfg), ctx.Err())
	}
	if errors.Is(pingCtx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return fmt.Errorf("postgres: %s: %w within %s (PG_POOL_TIMEOUT): %w; check the host and port, that the server is running and reachable over the network, or raise PG_POOL_TIMEOUT",
			describe(cfg), ErrNoAnswer, timeout, redactErr(err))
	}
	return fmt.Errorf("postgres: connect to %s: %w; check the host, port, user and password (PG_DB_* or the URL) and that the server is running",
		describe(cfg), redactErr(err))
}

// ErrNoAnswer marks an error of Open when the server did not answer within the pool timeout.
var ErrNoAnswer = errors.New("no answer")

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// redactErr returns err unchanged when its text holds no password (RedactPasswords finds
// nothing to mask), else an error with the masked text only.
func redactErr(err error) error {
	if m := actingweb.RedactPasswords(err.Error()); m != err.Error() {
		return errors.New(m)
	}
	return err
}

// validated reports whether every string the store reads is valid UTF-8 and every payload
// valid JSON (bulk.Capabilities.Validated): true when the database's server encoding and the
// connections' client encoding are both UTF8 (the server then refuses invalid UTF-8 on input
// and sends text as stored) and the payload column, attributes.data, is jsonb or json (whose
// input is checked and whose output is JSON). A SQL_ASCII database stores bytes unchecked and
// sends them as they are, a text column takes any text: false. So is any failure to tell.
// (Text stored in a UTF8 database before PostgreSQL checked its input, or written by a
// client that bypassed the checks, is not covered: PostgreSQL does not check it again.)
func (s *Store) validated(ctx context.Context) bool {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT current_setting('server_encoding') = 'UTF8' AND current_setting('client_encoding') = 'UTF8'
		AND coalesce((SELECT bool_and(atttypid IN ('jsonb'::regtype, 'json'::regtype))
		FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'data' AND NOT attisdropped), false)`,
		s.qtable(actingweb.TableAttributes)).Scan(&ok)
	return err == nil && ok
}

// Pool exposes the pgx pool (benchmarks, tests, schema tooling).
// Its acquires are bounded by the pool timeout too, failing with context.DeadlineExceeded
// (the store's own operations fail with ErrPoolTimeout).
func (s *Store) Pool() *pgxpool.Pool { return s.pool.p }

// Schema is the effective schema name.
func (s *Store) Schema() string { return s.schema }

// Describe names the store without its password.
func (s *Store) Describe() string { return describe(s.cfg) }

func describe(c Config) string {
	host, db := c.Host, c.Database
	if c.ConnString != "" {
		if u, err := url.Parse(c.ConnString); err == nil {
			host, db = u.Host, strings.TrimPrefix(u.Path, "/")
		}
	} else if c.Port != 0 {
		host = fmt.Sprintf("%s:%d", c.Host, c.Port)
	}
	return fmt.Sprintf("postgresql %s/%s schema %s", host, db, c.Schema)
}

// Close closes the pool of a store of Open, waiting at most CloseWait; on a store of New it
// does nothing (the caller owns the pool and closes it).
func (s *Store) Close() error {
	if !s.ownPool {
		return nil
	}
	done := make(chan struct{})
	go func() {
		s.pool.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(CloseWait):
		s.log.Warn("postgres: a connection did not close in time (its server does not answer); it is left to close in the background",
			"store", s.Describe(), "waited", CloseWait)
	}
	return nil
}

// CloseWait bounds how long Close waits for the pool's connections to close. A connection
// whose query was interrupted (a cancelled context, a batch timeout) is closed by pgx with a
// cancel request that waits up to 15 s for the server's answer (pgconn's asyncClose); when
// the server went silent, Close returns after CloseWait and logs a warning, and the
// connection finishes closing in the background (or with the process).
const CloseWait = 2 * time.Second

// frontendReadBuffer is the read buffer between a connection and pgx's protocol reader,
// which reads at most 8 KiB at a time: a scan of a large table (export, copy, validate) then
// costs one read system call per 8 KiB. With it, one per up to 256 KiB.
const frontendReadBuffer = 256 << 10

// bufferedFrontend is pgproto3.NewFrontend reading through a frontendReadBuffer buffer. (The
// buffer is invisible to PgConn.SyncConn, which only Hijack-style direct use of the net.Conn
// needs; the store never does that.)
func bufferedFrontend(r io.Reader, w io.Writer) *pgproto3.Frontend {
	return pgproto3.NewFrontend(bufio.NewReaderSize(r, frontendReadBuffer), w)
}
