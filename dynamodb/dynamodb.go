// Package dynamodb is the actingweb store on Amazon DynamoDB through aws-sdk-go-v2, item for
// item what Python ActingWeb 3.14.0 writes through PynamoDB 6.1.0 (data-model.md §3): table
// names <prefix>_<suffix>, every key of type S, the creator-index and secret-index GSIs,
// on-demand billing, PynamoDB attribute encodings (§3.2).
package dynamodb

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/logging"

	actingweb "github.com/actingweb/actingweb-go"
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
	// ScanSplit fixes Store.ScanSplit (URL scan-split, 1-256): how many scan segments each
	// scanner of a migration or validation reads in turn. 0 = sized by the table's item count.
	ScanSplit int
	// Lookup is the reverse-lookup configuration applied on property writes.
	Lookup actingweb.LookupConfig
}

// ConfigFromEnv reads AWS_DB_PREFIX, AWS_DEFAULT_REGION, AWS_DB_HOST, AWS_PROFILE and the
// lookup settings (§2.2, §2.4). Credentials come from the SDK's default chain.
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
	var err error
	c.Lookup, err = actingweb.LookupConfigFromEnv(getenv)
	return c, err
}

// ConfigFromURL parses dynamodb://?region=us-west-1&endpoint=http://127.0.0.1:8000&prefix=p
// (&profile=name&max-attempts=n&scan-split=n). Missing values fall back to ConfigFromEnv.
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
		case "region", "endpoint", "prefix", "profile", "max-attempts", "scan-split":
		default:
			return c, fmt.Errorf("%w: dynamodb URL: unknown parameter %q (region, endpoint, prefix, profile, max-attempts, scan-split)", actingweb.ErrInvalid, k)
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
}

// Open builds the client. With an endpoint and no credentials in the environment, dummy static
// credentials are used (DynamoDB Local does not check them). Open does not touch the tables;
// see UpgradeSchema and CheckSchema.
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
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(cfg.Region),
		awsconfig.WithLogger(sdkLogger{}),
		awsconfig.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(cfg.RequestTimeout)),
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = cfg.MaxAttempts
				o.MaxBackoff = 20 * time.Second
				o.RateLimiter = ratelimit.None
			})
		}),
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
	return &Store{client: client, cfg: cfg, prefix: cfg.Prefix, lookup: cfg.Lookup}, nil
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
