package dynamodb

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/actingweb/actingweb-go/internal/testenv"
)

// TestOpenFailsFast: Open's first contact with an endpoint on a closed port fails at once
// (a refused connection is not retried), and with a server that never answers within
// ConnectTimeout (AWS_CONNECT_TIMEOUT), with a one-line message naming host:port, the
// deadline and what to do.
func TestOpenFailsFast(t *testing.T) {
	t.Parallel()
	const deadline = 1500 * time.Millisecond
	cases := []struct {
		name  string
		port  func(testing.TB) int
		want  []string
		limit time.Duration
	}{
		{"closed port", testenv.ClosedPort, []string{"connection refused", "check the endpoint"}, 2 * time.Second},
		{"silent server", testenv.SilentServer, []string{"no answer within 1.5s (AWS_CONNECT_TIMEOUT)", "raise AWS_CONNECT_TIMEOUT"}, deadline + 5*time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			port := tc.port(t)
			hostPort := "127.0.0.1:" + strconv.Itoa(port)
			start := time.Now()
			s, err := Open(context.Background(), Config{Endpoint: "http://" + hostPort, Prefix: "p", ConnectTimeout: deadline})
			elapsed := time.Since(start)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			t.Logf("after %s: %s", elapsed.Round(time.Millisecond), msg)
			if elapsed > tc.limit {
				t.Errorf("failed after %s, want within %s", elapsed, tc.limit)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("message spans lines: %q", msg)
			}
			for _, w := range append(tc.want, hostPort) {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q: %s", w, msg)
				}
			}
			if tc.name == "silent server" && !errors.Is(err, ErrNoAnswer) {
				t.Errorf("want ErrNoAnswer: %v", err)
			}
		})
	}
}

func TestConnectTimeoutSetting(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := ConfigFromEnv(env(map[string]string{"AWS_CONNECT_TIMEOUT": "2.5"}))
	if err != nil || c.ConnectTimeout != 2500*time.Millisecond {
		t.Errorf("env: %s, %v", c.ConnectTimeout, err)
	}
	c, err = ConfigFromURL("dynamodb://?connect-timeout=7", env(nil))
	if err != nil || c.ConnectTimeout != 7*time.Second {
		t.Errorf("URL: %s, %v", c.ConnectTimeout, err)
	}
	for _, v := range []string{"0", "-3", "soon"} {
		if _, err := ConfigFromEnv(env(map[string]string{"AWS_CONNECT_TIMEOUT": v})); err == nil {
			t.Errorf("AWS_CONNECT_TIMEOUT=%s accepted", v)
		}
	}
}
