// Package dynamodb is the actingweb store on Amazon DynamoDB through aws-sdk-go-v2, item for
// item what Python ActingWeb 3.14.0 writes through PynamoDB 6.1.0 (docs/storage-model.md §3):
// table names <prefix>_<suffix>, every key of type S, the creator-index and secret-index GSIs,
// on-demand billing, PynamoDB attribute encodings (§3.2). The "§N" references in this
// package's comments point to docs/storage-model.md.
package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/waitlog"
)

// Compile-time check that Store implements the whole interface.
var _ actingweb.Store = (*Store)(nil)

// Config configures a DynamoDB store.
type Config struct {
	// Prefix is AWS_DB_PREFIX (default demo_actingweb); table names are Prefix + "_" + suffix.
	Prefix string
	// Region is AWS_DEFAULT_REGION (default us-west-1).
	Region string
	// Endpoint is AWS_DB_HOST, e.g. http://127.0.0.1:8000 for DynamoDB Local; "" = AWS.
	Endpoint string
	// Profile is AWS_PROFILE (shared config profile), optional.
	Profile string
	// MaxAttempts bounds SDK attempts per call (AWS_MAX_ATTEMPTS or URL max-attempts; default
	// 10, waits up to 20 s between attempts). The SDK's client-side retry quota
	// is disabled so throttling never fails a call for want of retry tokens.
	MaxAttempts int
	// RequestTimeout bounds one HTTP attempt (default 60 s), so a connection that goes silent
	// (a hung load balancer) fails the attempt and is retried instead of hanging the caller.
	RequestTimeout time.Duration
	// ConnectTimeout is the deadline of Open's first contact with DynamoDB (AWS_CONNECT_TIMEOUT
	// or URL connect-timeout, seconds; default DefaultConnectTimeout): a DescribeTable of the
	// actors table, which must get an answer (a missing table is one) in that time. A refused
	// connection fails it at once, without retries. It also caps the TCP connect of every
	// request (at most DialTimeout).
	ConnectTimeout time.Duration
	// ScanSplit fixes Store.ScanSplit (URL scan-split, 1-256): how many scan segments each
	// scanner of a migration or validation reads in turn. 0 = sized by the table's item count.
	ScanSplit int
	// Lookup is the reverse-lookup configuration applied on property writes.
	Lookup actingweb.LookupConfig
	// Logger receives the store's warnings (Options.Logger) and the SDK's retries and notices;
	// nil discards them. ConfigFromEnv and ConfigFromURL leave it nil.
	Logger *slog.Logger
	// DefaultCredentials makes Open take credentials from the SDK's default chain even with an
	// Endpoint and no Profile. Without it such a configuration (DynamoDB Local) gets dummy
	// static credentials, so the chain does not probe EC2 IMDS. ConfigFromEnv and
	// ConfigFromURL set it when AWS_ACCESS_KEY_ID is set.
	DefaultCredentials bool
}

// ConfigFromEnv reads AWS_DB_PREFIX, AWS_DEFAULT_REGION, AWS_DB_HOST, AWS_PROFILE,
// AWS_MAX_ATTEMPTS, AWS_CONNECT_TIMEOUT and the lookup settings (§2.2, §2.4). Credentials come
// from the SDK's default chain; with AWS_DB_HOST, no AWS_PROFILE and no AWS_ACCESS_KEY_ID,
// Open uses dummy ones instead (Config.DefaultCredentials).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{Prefix: getenv("AWS_DB_PREFIX"), Region: getenv("AWS_DEFAULT_REGION"),
		Endpoint: getenv("AWS_DB_HOST"), Profile: getenv("AWS_PROFILE")}
	if c.Prefix == "" {
		c.Prefix = actingweb.DefaultDynamoDBPrefix
	}
	if c.Region == "" {
		c.Region = actingweb.DefaultRegion
	}
	if v := getenv("AWS_MAX_ATTEMPTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("%w: AWS_MAX_ATTEMPTS %q: want a whole number >= 1", actingweb.ErrInvalid, v)
		}
		c.MaxAttempts = n
	}
	if v := getenv("AWS_CONNECT_TIMEOUT"); v != "" {
		d, err := parseSeconds(v)
		if err != nil {
			return c, fmt.Errorf("%w: AWS_CONNECT_TIMEOUT %q: %v", actingweb.ErrInvalid, v, err)
		}
		c.ConnectTimeout = d
	}
	c.DefaultCredentials = getenv("AWS_ACCESS_KEY_ID") != ""
	var err error
	c.Lookup, err = actingweb.LookupConfigFromEnv(getenv)
	return c, err
}

// ConfigFromURL parses dynamodb://?region=us-west-1&endpoint=http://127.0.0.1:8000&prefix=p
// (&profile=name&max-attempts=n&scan-split=n&connect-timeout=seconds). Missing values fall back
// to ConfigFromEnv.
func ConfigFromURL(raw string, getenv func(string) string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "dynamodb" {
		return Config{}, fmt.Errorf("%w: not a dynamodb:// URL", actingweb.ErrInvalid)
	}
	c, err := ConfigFromEnv(getenv)
	if err != nil {
		return c, err
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return c, fmt.Errorf("%w: dynamodb URL query: %v", actingweb.ErrInvalid, err)
	}
	for k := range q {
		switch k {
		case "region", "endpoint", "prefix", "profile", "max-attempts", "scan-split", "connect-timeout":
		default:
			return c, fmt.Errorf("%w: dynamodb URL: unknown parameter %q (region, endpoint, prefix, profile, max-attempts, scan-split, connect-timeout)", actingweb.ErrInvalid, k)
		}
	}
	if v := q.Get("region"); v != "" {
		c.Region = v
	}
	if v := q.Get("endpoint"); v != "" {
		c.Endpoint = v
	}
	if v := q.Get("prefix"); v != "" {
		c.Prefix = v
	}
	if v := q.Get("profile"); v != "" {
		c.Profile = v
	}
	if v := q.Get("max-attempts"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("%w: dynamodb URL: max-attempts %q: want a whole number >= 1", actingweb.ErrInvalid, v)
		}
		c.MaxAttempts = n
	}
	if v := q.Get("connect-timeout"); v != "" {
		d, err := parseSeconds(v)
		if err != nil {
			return c, fmt.Errorf("%w: dynamodb URL: connect-timeout %q: %v", actingweb.ErrInvalid, v, err)
		}
		c.ConnectTimeout = d
	}
	if v := q.Get("scan-split"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxScanSplit {
			return c, fmt.Errorf("%w: dynamodb URL: scan-split %q: want a whole number from 1 to %d", actingweb.ErrInvalid, v, MaxScanSplit)
		}
		c.ScanSplit = n
	}
	return c, nil
}

// Store is the DynamoDB store. Safe for concurrent use.
type Store struct {
	client *dynamodb.Client
	cfg    Config
	prefix string
	lookup actingweb.LookupConfig
	log    *slog.Logger // never nil (Options.Logger, or a discarding one)
	// streams reads DynamoDB Streams (change capture, stream.go); same configuration,
	// credentials and endpoint as client.
	streams *dynamodbstreams.Client
}

// Options is what a store needs apart from its DynamoDB client (New, and Open through
// Config).
type Options struct {
	// Prefix is the table prefix (AWS_DB_PREFIX); table names are Prefix + "_" + suffix (§3).
	// "" = actingweb.DefaultDynamoDBPrefix.
	Prefix string
	// Lookup is the reverse-lookup configuration applied on property writes and lookups
	// (§6.3). The zero value is legacy mode (no lookup table); upstream's default is
	// actingweb.DefaultLookupConfig().
	Lookup actingweb.LookupConfig
	// Logger receives the store's warnings (lookup collisions, stream reads); values and
	// secrets are never logged. nil discards them.
	Logger *slog.Logger
	// ScanSplit fixes Store.ScanSplit (1-256; 0 = sized by the table's item count).
	ScanSplit int
	// Streams reads DynamoDB Streams (change capture, Store.Capture). nil = a client built
	// from the DynamoDB client's options (region, credentials, endpoint, HTTP client,
	// retryer).
	Streams *dynamodbstreams.Client
}

// discard is the logger of a store given none.
var discard = slog.New(slog.DiscardHandler)

// New returns a store on client, a DynamoDB client the caller built and owns (its region,
// credentials, endpoint, retryer and HTTP client are used as they are), with o's table
// prefix, lookup configuration and logger. It sends nothing: see UpgradeSchema and
// CheckSchema to create and check the tables. Close does nothing to the client (the SDK
// client holds nothing that needs closing).
func New(client *dynamodb.Client, o Options) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: dynamodb.New: nil client", actingweb.ErrInvalid)
	}
	co := client.Options()
	cfg := Config{Region: co.Region, ScanSplit: o.ScanSplit}
	if co.BaseEndpoint != nil {
		cfg.Endpoint = *co.BaseEndpoint
	}
	streams := o.Streams
	if streams == nil {
		streams = dynamodbstreams.New(dynamodbstreams.Options{
			Region: co.Region, Credentials: co.Credentials, BaseEndpoint: co.BaseEndpoint,
			HTTPClient: co.HTTPClient, Retryer: co.Retryer, RetryMaxAttempts: co.RetryMaxAttempts,
			RetryMode: co.RetryMode, Logger: co.Logger, ClientLogMode: co.ClientLogMode,
			AppID: co.AppID, DefaultsMode: co.DefaultsMode,
		})
	}
	return newStore(client, streams, cfg, o)
}

// newStore is New's store; cfg holds the connection settings Describe and Identity show.
func newStore(client *dynamodb.Client, streams *dynamodbstreams.Client, cfg Config, o Options) (*Store, error) {
	if o.Prefix == "" {
		o.Prefix = actingweb.DefaultDynamoDBPrefix
	}
	if o.ScanSplit < 0 || o.ScanSplit > MaxScanSplit {
		return nil, fmt.Errorf("%w: dynamodb: scan split %d: want 0 to %d", actingweb.ErrInvalid, o.ScanSplit, MaxScanSplit)
	}
	cfg.Prefix, cfg.Lookup, cfg.ScanSplit, cfg.Logger = o.Prefix, o.Lookup, o.ScanSplit, o.Logger
	log := o.Logger
	if log == nil {
		log = discard
	}
	return &Store{client: client, streams: streams, cfg: cfg, prefix: o.Prefix, lookup: o.Lookup,
		log: log.With("backend", "dynamodb", "prefix", o.Prefix)}, nil
}

// Defaults of the connection settings.
const (
	// DefaultConnectTimeout is Config.ConnectTimeout's default: the first contact's deadline.
	DefaultConnectTimeout = 30 * time.Second
	// DialTimeout bounds the TCP (and TLS) connect of every request.
	DialTimeout = 10 * time.Second
)

// parseSeconds reads a positive number of seconds (fractions allowed).
func parseSeconds(v string) (time.Duration, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f > 0) || f > 1e6 {
		return 0, errors.New("want a number of seconds greater than 0")
	}
	return time.Duration(f * float64(time.Second)), nil
}

// Open builds a client from cfg, makes the first contact: a DescribeTable of the actors table
// that must get an answer, any answer (a missing table is one: see UpgradeSchema and
// CheckSchema), within Config.ConnectTimeout, and returns New's store on that client (prefix,
// lookup configuration, scan split and logger from cfg). With an endpoint, no profile and no
// DefaultCredentials, dummy static credentials are used (DynamoDB Local does not check them).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = actingweb.DefaultDynamoDBPrefix
	}
	if cfg.Region == "" {
		cfg.Region = actingweb.DefaultRegion
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 60 * time.Second
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	dial := min(DialTimeout, cfg.ConnectTimeout)
	httpClient := awshttp.NewBuildableClient().WithTimeout(cfg.RequestTimeout).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = dial }).
		WithTransportOptions(func(t *http.Transport) { t.TLSHandshakeTimeout = dial })
	log := cfg.Logger
	if log == nil {
		log = discard
	}
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(cfg.Region),
		awsconfig.WithLogger(sdkLogger{log}),
		awsconfig.WithHTTPClient(httpClient),
		awsconfig.WithRetryer(func() aws.Retryer { return newRetryer(cfg.MaxAttempts, false, log) }),
	}
	if cfg.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(cfg.Profile))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("dynamodb: load AWS configuration: %w", err)
	}
	if cfg.Endpoint != "" && cfg.Profile == "" && !cfg.DefaultCredentials {
		// A custom endpoint (DynamoDB Local) without explicit credentials: use dummy static
		// ones instead of walking the default chain, which would probe EC2 IMDS.
		awsCfg.Credentials = credentials.NewStaticCredentialsProvider("local", "local", "")
	}
	client := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
			// DynamoDB Local sends no CRC32 the SDK accepts; skip the check there.
			o.DisableValidateResponseChecksum = true
		}
	})
	streams := dynamodbstreams.NewFromConfig(awsCfg, func(o *dynamodbstreams.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint) // DynamoDB Local serves streams on the same port
		}
	})
	s, err := newStore(client, streams, cfg, Options{Prefix: cfg.Prefix, Lookup: cfg.Lookup, Logger: cfg.Logger, ScanSplit: cfg.ScanSplit})
	if err != nil {
		return nil, err
	}
	if err := s.firstContact(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// newRetryer is the store's retryer: the SDK's standard one with maxAttempts attempts per
// call, waits up to 20 s, no client-side retry quota, and a warning logged for every failed
// attempt that is retried. With firstContact, a refused connection is not retried.
func newRetryer(maxAttempts int, firstContact bool, log *slog.Logger) aws.RetryerV2 {
	return loggingRetryer{RetryerV2: retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = maxAttempts
		o.MaxBackoff = 20 * time.Second
		o.RateLimiter = ratelimit.None
		if firstContact {
			o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
				if errors.Is(err, syscall.ECONNREFUSED) {
					return aws.FalseTernary
				}
				return aws.UnknownTernary
			})}, o.Retryables...)
		}
	}), max: maxAttempts, log: log}
}

// loggingRetryer logs "dynamodb: attempt N of M failed" at warn level (Config.Logger) for
// every failed attempt the SDK retries.
type loggingRetryer struct {
	aws.RetryerV2
	max int
	log *slog.Logger
}

// RetryDelay is the wrapped retryer's delay; the SDK calls it once a failed attempt is to be
// retried, with the number of that attempt.
func (r loggingRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	d, derr := r.RetryerV2.RetryDelay(attempt, err)
	if derr == nil {
		r.log.Warn(fmt.Sprintf("dynamodb: attempt %d of %d failed, retrying in %s", attempt, r.max, d.Round(time.Millisecond)),
			"err", actingweb.RedactPasswords(err.Error()))
	}
	return d, derr
}

// hostPort names the endpoint of the store's DynamoDB as host:port (the AWS regional endpoint
// when none is configured), never with user information.
func (s *Store) hostPort() string {
	if s.cfg.Endpoint == "" {
		return "dynamodb." + s.cfg.Region + ".amazonaws.com:443"
	}
	u, err := url.Parse(s.cfg.Endpoint)
	if err != nil || u.Host == "" {
		return strconv.Quote(actingweb.RedactPasswords(s.cfg.Endpoint))
	}
	if u.Port() == "" {
		if u.Scheme == "http" {
			return u.Host + ":80"
		}
		return u.Host + ":443"
	}
	return u.Host
}

// ErrNoAnswer marks an error of Open when DynamoDB did not answer within the connect timeout.
var ErrNoAnswer = errors.New("no answer")

// firstContact is Open's DescribeTable of the actors table, bounded by ConnectTimeout and
// logging every waitlog.Interval while it waits. Any answer of the service, an error such as
// ResourceNotFoundException or AccessDeniedException included, counts as contact.
func (s *Store) firstContact(ctx context.Context) error {
	deadline := s.cfg.ConnectTimeout
	cctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	defer waitlog.Start(cctx, "dynamodb "+s.hostPort(), deadline, "AWS_CONNECT_TIMEOUT")()
	_, err := s.client.DescribeTable(cctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.TableName(actingweb.TableActors))},
		func(o *dynamodb.Options) { o.Retryer = newRetryer(s.cfg.MaxAttempts, true, s.log) })
	var apiErr smithy.APIError
	switch {
	case err == nil, errors.As(err, &apiErr):
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("dynamodb: connect to %s: %w", s.hostPort(), ctx.Err())
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("dynamodb: connect to %s: connection refused (%s); check the endpoint (AWS_DB_HOST or the URL's endpoint) and that DynamoDB is running there",
			s.hostPort(), actingweb.RedactPasswords(err.Error()))
	case cctx.Err() != nil:
		return fmt.Errorf("dynamodb: %s: %w within %s (AWS_CONNECT_TIMEOUT): %s; check the endpoint (AWS_DB_HOST or the URL's endpoint), that DynamoDB is running and reachable over the network, or raise AWS_CONNECT_TIMEOUT",
			s.hostPort(), ErrNoAnswer, deadline, actingweb.RedactPasswords(err.Error()))
	}
	return fmt.Errorf("dynamodb: connect to %s: %s; check the endpoint (AWS_DB_HOST or the URL's endpoint), the region, the AWS credentials and the network",
		s.hostPort(), actingweb.RedactPasswords(err.Error()))
}

// Client exposes the SDK client (benchmarks, tests).
func (s *Store) Client() *dynamodb.Client { return s.client }

// Prefix is the store's table prefix (Config.Prefix).
func (s *Store) Prefix() string { return s.prefix }

// TableName is the physical name of t under this store's prefix.
func (s *Store) TableName(t actingweb.Table) string { return t.DynamoDBName(s.prefix) }

// Describe names the store.
func (s *Store) Describe() string {
	ep := s.cfg.Endpoint
	if ep == "" {
		ep = "AWS"
	}
	return fmt.Sprintf("dynamodb %s region %s prefix %s", ep, s.cfg.Region, s.prefix)
}

// Close is a no-op (the SDK client holds no connections that need closing; a client given to
// New stays usable).
func (s *Store) Close() error { return nil }

// sdkLogger sends the AWS SDK's own log lines (e.g. "failed to discard remaining HTTP response
// body" when a call is cancelled) to Config.Logger at debug level instead of printing them on
// stderr in the SDK's format: noise to an operator, visible with --log-level debug.
type sdkLogger struct{ log *slog.Logger }

func (l sdkLogger) Logf(c logging.Classification, format string, v ...interface{}) {
	l.log.Debug("aws sdk: "+fmt.Sprintf(format, v...), "classification", string(c))
}
