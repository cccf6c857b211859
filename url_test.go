package actingweb_test

import (
	"errors"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/dynamodb"
	"github.com/actingweb/actingweb-go/postgres"
)

func TestConfigFromURL(t *testing.T) {
	env := func(string) string { return "" }
	pgCases := []struct {
		url, schema string
		bad         bool
	}{
		{"postgres://u@127.0.0.1:5432/db?schema=public&sslmode=disable", "public", false},
		{"postgres://u@127.0.0.1:5432/db?schema=tenant_a", "tenant_a", false},
		{"postgres://u@127.0.0.1:5432/db", "public", false},
		{"postgres://u@127.0.0.1:5432/db?schema=bad;name", "", true},
		{"postgres://u@127.0.0.1:5432/db?schema=Robert%27);DROP", "", true},
		{"mysql://u@h/db", "", true},
	}
	for _, c := range pgCases {
		cfg, err := postgres.ConfigFromURL(c.url, env)
		if c.bad {
			if !errors.Is(err, actingweb.ErrInvalid) {
				t.Errorf("%s: want ErrInvalid, got %v", c.url, err)
			}
			continue
		}
		if err != nil || cfg.Schema != c.schema {
			t.Errorf("%s: schema %q err %v, want %q", c.url, cfg.Schema, err, c.schema)
		}
	}
	ddbCases := []struct {
		url, prefix, region, endpoint string
		bad                           bool
	}{
		{"dynamodb://?region=eu-west-1&endpoint=http://127.0.0.1:8000&prefix=demo", "demo", "eu-west-1", "http://127.0.0.1:8000", false},
		{"dynamodb://", actingweb.DefaultDynamoDBPrefix, actingweb.DefaultRegion, "", false},
		{"dynamodb://?prefx=x", "", "", "", true},
		{"dynamodb://?max-attempts=0", "", "", "", true},
		{"dynamodb://?max-attempts=x", "", "", "", true},
		{"dynamodb://?scan-split=0", "", "", "", true},
		{"dynamodb://?scan-split=257", "", "", "", true},
		{"dynamodb://?scan-split=x", "", "", "", true},
		{"dynamodb://?prefix=a;b", "", "", "", true},
		{"postgres://x", "", "", "", true},
	}
	for _, c := range ddbCases {
		cfg, err := dynamodb.ConfigFromURL(c.url, env)
		if c.bad {
			if !errors.Is(err, actingweb.ErrInvalid) {
				t.Errorf("%s: want ErrInvalid, got %v", c.url, err)
			}
			continue
		}
		if err != nil || cfg.Prefix != c.prefix || cfg.Region != c.region || cfg.Endpoint != c.endpoint {
			t.Errorf("%s: got %+v err %v", c.url, cfg, err)
		}
	}
}

func TestDynamoDBMaxAttempts(t *testing.T) {
	cases := []struct {
		env, url string
		want     int
		bad      bool
	}{
		{"", "dynamodb://", 0, false}, // Open applies the default of 10
		{"3", "dynamodb://", 3, false},
		{"3", "dynamodb://?max-attempts=5", 5, false},
		{"0", "dynamodb://", 0, true},
		{"many", "dynamodb://", 0, true},
	}
	for _, c := range cases {
		env := func(k string) string {
			if k == "AWS_MAX_ATTEMPTS" {
				return c.env
			}
			return ""
		}
		cfg, err := dynamodb.ConfigFromURL(c.url, env)
		if c.bad {
			if !errors.Is(err, actingweb.ErrInvalid) {
				t.Errorf("AWS_MAX_ATTEMPTS=%q %s: want ErrInvalid, got %v", c.env, c.url, err)
			}
			continue
		}
		if err != nil || cfg.MaxAttempts != c.want {
			t.Errorf("AWS_MAX_ATTEMPTS=%q %s: MaxAttempts %d err %v, want %d", c.env, c.url, cfg.MaxAttempts, err, c.want)
		}
	}
}

func TestDynamoDBScanSplitURL(t *testing.T) {
	for _, c := range []struct {
		url  string
		want int
	}{
		{"dynamodb://", 0}, // sized by the table
		{"dynamodb://?scan-split=1", 1},
		{"dynamodb://?scan-split=256", 256},
	} {
		cfg, err := dynamodb.ConfigFromURL(c.url, func(string) string { return "" })
		if err != nil || cfg.ScanSplit != c.want {
			t.Errorf("%s: ScanSplit %d err %v, want %d", c.url, cfg.ScanSplit, err, c.want)
		}
	}
}
