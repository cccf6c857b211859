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
	"os"
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
}

// ConfigFromEnv reads AWS_DB_PREFIX, AWS_DEFAULT_REGION, AWS_DB_HOST, AWS_PROFILE,
// AWS_MAX_ATTEMPTS, AWS_CONNECT_TIMEOUT and the lookup settings (§2.2, §2.4). Credentials come
// from the SDK's default chain.
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
	// streams reads DynamoDB Streams (change capture, stream.go); same configuration,
	// credentials and endpoint as client.
	streams *dynamodbstreams.Client
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

// Open builds the client and makes the first contact: a DescribeTable of the actors table
// that must get an answer, any answer (a missing table is one: see UpgradeSchema and
// CheckSchema), within Config.ConnectTimeout. With an endpoint and no credentials in the
// environment, dummy static credentials are used (DynamoDB Local does not check them).
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
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(cfg.Region),
		awsconfig.WithLogger(sdkLogger{}),
		awsconfig.WithHTTPClient(httpClient),
		awsconfig.WithRetryer(func() aws.Retryer { return newRetryer(cfg.MaxAttempts, false) }),
	}
	if cfg.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(cfg.Profile))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("dynamodb: load AWS configuration: %w", err)
	}
	if cfg.Endpoint != "" && cfg.Profile == "" && os.Getenv("AWS_ACCESS_KEY_ID") == "" {
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
	s := &Store{client: client, streams: streams, cfg: cfg, prefix: cfg.Prefix, lookup: cfg.Lookup}
	if err := s.firstContact(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// newRetryer is the store's retryer: the SDK's standard one with maxAttempts attempts per
// call, waits up to 20 s, no client-side retry quota, and a warning logged for every failed
// attempt that is retried. With firstContact, a refused connection is not retried.
func newRetryer(maxAttempts int, firstContact bool) aws.RetryerV2 {
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
	}), max: maxAttempts}
}

// loggingRetryer logs "dynamodb: attempt N of M failed" at warn level (slog's default logger)
// for every failed attempt the SDK retries.
type loggingRetryer struct {
	aws.RetryerV2
	max int
}

// RetryDelay is the wrapped retryer's delay; the SDK calls it once a failed attempt is to be
// retried, with the number of that attempt.
func (r loggingRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	d, derr := r.RetryerV2.RetryDelay(attempt, err)
	if derr == nil {
		slog.Warn(fmt.Sprintf("dynamodb: attempt %d of %d failed, retrying in %s", attempt, r.max, d.Round(time.Millisecond)),
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
		func(o *dynamodb.Options) { o.Retryer = newRetryer(s.cfg.MaxAttempts, true) })
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

// Close is a no-op (the SDK client holds no connections that need closing).
func (s *Store) Close() error { return nil }

// sdkLogger sends the AWS SDK's own log lines (e.g. "failed to discard remaining HTTP response
// body" when a call is cancelled) to slog's default logger at debug level instead of printing
// them on stderr in the SDK's format: noise to an operator, visible with --log-level debug.
type sdkLogger struct{}

func (sdkLogger) Logf(c logging.Classification, format string, v ...interface{}) {
	slog.Debug("aws sdk: "+fmt.Sprintf(format, v...), "classification", string(c))
}
