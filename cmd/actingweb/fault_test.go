package main

import (
	"context"
	"errors"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"

	"github.com/actingweb/actingweb-go/internal/testenv"
)

// lostConnectionExitLimit is how long a copy whose target became unreachable may keep
// retrying before it must have exited by itself.
const lostConnectionExitLimit = 60 * time.Second

// silentExitLimit is how long after the cut a copy whose target went silent may take to exit
// with --batch-timeout 3s: the timed-out batches, then at most postgres.CloseWait for the
// connections pgx closes with a cancel request that would otherwise wait 15 s for the silent
// server.
const silentExitLimit = 15 * time.Second

// ddbOutage is how long the connection to the DynamoDB target stays cut. That copy is not
// waited out: with the store's SDK retryer (10 attempts per call, backoff up to 20 s;
// AWS_MAX_ATTEMPTS is ignored because the store sets its own retryer) a copy to an
// unreachable DynamoDB gives up only after about 110 s (measured 1m51.7s, exit 1, one-line
// error naming --resume). Instead the connection comes back within the retries and the copy
// must finish by itself.
const ddbOutage = 3 * time.Second

// TestLostConnectionAndResume runs the real binary with its target behind a toxiproxy
// (in-process, 127.0.0.1, free port) and cuts the connection in the middle of a throttled copy:
// the proxy is disabled, which closes every open connection and refuses new ones.
//
// DynamoDB→PostgreSQL through a proxied PostgreSQL: the copy must exit by itself, exit code 1,
// with a one-line error naming --resume; a rerun without --resume is refused; with the proxy
// enabled again, --resume finishes (docs/migration.md §5).
//
// PostgreSQL→DynamoDB through a proxied DynamoDB Local: the connection comes back after
// ddbOutage and the copy, retrying, must finish by itself with exit code 0 (see ddbOutage for
// why it is not waited out).
//
// DynamoDB→PostgreSQL through a proxy that goes silent (keeps the connections open, drops
// every byte): the copy must exit by itself after --batch-timeout (3 s), exit code 1, with a
// one-line error naming --batch-timeout and --resume; --resume then finishes.
//
// Either way validate then finds the target EQUAL to the source: nothing lost, nothing
// duplicated. The sources are read directly; the DynamoDB→PostgreSQL case copies what the
// first case wrote.
func TestLostConnectionAndResume(t *testing.T) {
	t.Parallel()
	pgURL, _ := testenv.FreshPostgresSchema(t)
	endpoint := testenv.DynamoDBEndpoint(t)
	ctx := context.Background()

	bin := buildCLI(t)
	// Source: a synthetic data set of 120 actors (~9,000 rows) in PostgreSQL.
	loadSyntheticPostgres(ctx, t, pgURL)

	prefix := testenv.UniqueDynamoPrefix(t)
	ddbDirect := dynamoURL(endpoint, prefix)
	dropDynamoTablesAtCleanup(t, ddbDirect)
	pgBack, _ := testenv.FreshPostgresSchema(t)
	pgSilent, _ := testenv.FreshPostgresSchema(t)

	run := func(args ...string) (int, string) { return runCLI(t, bin, args...) }
	for _, dst := range []string{ddbDirect, pgBack, pgSilent} {
		if code, out := run("schema", "upgrade", "--to", dst); code != 0 {
			t.Fatalf("schema upgrade: exit %d\n%s", code, out)
		}
	}

	validate := func(t *testing.T, from, to string) {
		t.Helper()
		code, out := runCLI(t, bin, "validate", "--from", from, "--to", to, "--quiet")
		if code != 0 {
			t.Fatalf("validate: exit %d\n%s", code, out)
		}
		if !strings.Contains(out, "EQUAL") {
			t.Errorf("validate output does not say EQUAL:\n%s", out)
		}
	}

	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	newProxy := func(name, upstream string) *toxiproxy.Proxy {
		p := toxiproxy.NewProxy(server, name, "127.0.0.1:0", upstream)
		if err := p.Start(); err != nil {
			t.Fatalf("toxiproxy %s: %v", name, err)
		}
		t.Cleanup(p.Stop)
		return p // p.Listen is now the bound address; Start binds it again after Stop.
	}
	ddbProxy := newProxy("dynamodb", hostPort(t, endpoint))
	pgProxy := newProxy("postgresql", hostPort(t, pgBack))
	silentProxy := newProxy("postgresql-silent", hostPort(t, pgSilent))
	ddbViaProxy := dynamoURL("http://"+ddbProxy.Listen, prefix)
	pgBackViaProxy := withHostPort(t, pgBack, pgProxy.Listen)
	pgSilentViaProxy := withHostPort(t, pgSilent, silentProxy.Listen)

	for _, c := range []struct {
		name     string
		from, to string // to: through the proxy
		toDirect string // the same target, for validate
		proxy    *toxiproxy.Proxy
		outage   time.Duration // 0: until the copy exits
		// silent: instead of closing the connections, the proxy keeps them open and drops
		// every byte (toxiproxy's timeout toxic): no error ever reaches the client, only
		// --batch-timeout ends the wait.
		silent bool
	}{
		{"postgresql-to-dynamodb", pgURL, ddbViaProxy, ddbDirect, ddbProxy, ddbOutage, false},
		// The source is the previous case's target.
		{"dynamodb-to-postgresql", ddbDirect, pgBackViaProxy, pgBack, pgProxy, 0, false},
		{"dynamodb-to-silent-postgresql", ddbDirect, pgSilentViaProxy, pgSilent, silentProxy, 0, true},
	} {
		ok := t.Run(c.name, func(t *testing.T) {
			state := filepath.Join(t.TempDir(), "state")
			base := []string{"copy", "--from", c.from, "--to", c.to, "--state-dir", state}
			if c.silent {
				base = append(base, "--batch-timeout", "3s")
			}
			args := append(slices.Clip(base), "--rate", "1500", "--concurrency", "2", "--quiet")
			cmd, _, stderr := startCLI(t, nil, bin, args...)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()

			// Cut the connection once 1,500 rows are checkpointed, well before the end
			// (~9,000 rows at 1,500 rows/s take 6 s).
			waitRows(t, state, 1500, done)
			cut := time.Now()
			reenable := func() {
				if err := c.proxy.Start(); err != nil {
					t.Fatalf("re-enable proxy: %v", err)
				}
			}
			if c.silent {
				for _, stream := range []string{"upstream", "downstream"} {
					toxic := `{"name":"silence-` + stream + `","type":"timeout","stream":"` + stream + `","toxicity":1,"attributes":{"timeout":0}}`
					if _, err := c.proxy.Toxics.AddToxicJson(strings.NewReader(toxic)); err != nil {
						t.Fatalf("add timeout toxic: %v", err)
					}
				}
				reenable = func() { c.proxy.Toxics.ResetToxics(context.Background()) }
			} else {
				c.proxy.Stop()
			}

			var err error
			if c.outage > 0 {
				select {
				case err = <-done:
					t.Fatalf("copy ended %v into a %v outage: %v; stderr:\n%s",
						time.Since(cut).Round(100*time.Millisecond), c.outage, err, stderr)
				case <-time.After(c.outage):
				}
				reenable()
			}
			select {
			case err = <-done:
			case <-time.After(lostConnectionExitLimit):
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("copy still running %v after its target became unreachable "+
					"(retries without end?); stderr:\n%s", lostConnectionExitLimit, stderr)
			}
			exited := time.Since(cut)
			t.Logf("copy exited %v after the cut: %v", exited.Round(100*time.Millisecond), err)
			if c.silent && exited > silentExitLimit {
				t.Errorf("copy exited %v after its target went silent, want within %v (--batch-timeout 3s, then postgres.CloseWait)",
					exited.Round(100*time.Millisecond), silentExitLimit)
			}
			if c.outage > 0 {
				if err != nil {
					t.Fatalf("copy through a %v outage: %v, want exit 0; stderr:\n%s", c.outage, err, stderr)
				}
				if cps, _ := filepath.Glob(filepath.Join(state, "*.checkpoint.json")); len(cps) > 0 {
					t.Errorf("checkpoints left after a clean run: %v", cps)
				}
				validate(t, c.from, c.toDirect)
				return
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("copy after the cut: %v, want exit code 1 (finished before the cut?)", err)
			}
			// stderr: log lines (time=... level=...), then the error on one line, naming
			// --resume.
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			msg := lines[len(lines)-1]
			oneLine := strings.HasPrefix(msg, "actingweb: ") && strings.Contains(msg, "--resume")
			for _, l := range lines[:len(lines)-1] {
				oneLine = oneLine && strings.HasPrefix(l, "time=")
			}
			if ee.ExitCode() != 1 || !oneLine {
				t.Fatalf("copy after the cut: exit %d, want 1 with a one-line error naming "+
					"--resume; stderr:\n%s", ee.ExitCode(), stderr)
			}
			t.Logf("error: %s", msg)
			if c.silent && !strings.Contains(msg, "--batch-timeout") {
				t.Errorf("the error after a silent connection does not name --batch-timeout: %s", msg)
			}

			reenable()
			code, out := run(args...)
			if code != 1 || !strings.Contains(out, "--resume") {
				t.Fatalf("rerun without --resume: exit %d, want 1 naming --resume\n%s", code, out)
			}
			code, out = run(append(slices.Clip(base), "--resume", "--quiet")...)
			if code != 0 {
				t.Fatalf("resume: exit %d\n%s", code, out)
			}
			validate(t, c.from, c.toDirect)
		})
		if !ok {
			break // the next case reads this one's target
		}
	}
}

// hostPort returns the host:port of a postgres:// or http:// URL.
func hostPort(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Port() == "" {
		t.Fatal("test service URL has no host:port")
	}
	return u.Host
}

// withHostPort returns the URL raw with its host:port replaced by hostport.
func withHostPort(t *testing.T, raw, hostport string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal("bad PostgreSQL URL")
	}
	u.Host = hostport
	return u.String()
}
