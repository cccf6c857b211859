package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/actingweb/actingweb-go/internal/testenv"
)

// TestOpenFailsFast: a closed port fails at once, a server that never answers fails within
// PoolTimeout (PG_POOL_TIMEOUT), with a one-line message naming host:port, the deadline and
// what to do, and never the password.
func TestOpenFailsFast(t *testing.T) {
	t.Parallel()
	const pw = "pw-never-printed"
	const deadline = 1500 * time.Millisecond
	cases := []struct {
		name string
		port func(testing.TB) int
		want []string
	}{
		{"closed port", testenv.ClosedPort, []string{"connection refused", "check the host"}},
		{"silent server", testenv.SilentServer, []string{"no answer within 1.5s (PG_POOL_TIMEOUT)", "raise PG_POOL_TIMEOUT"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			port := tc.port(t)
			for _, viaURL := range []bool{false, true} {
				cfg := Config{Host: "127.0.0.1", Port: port, Database: "db", User: "u", Password: pw,
					Schema: "public", MinConns: 2, MaxConns: 4, PoolTimeout: deadline}
				if viaURL {
					cfg.ConnString = "postgres://u:" + pw + "@127.0.0.1:" + strconv.Itoa(port) + "/db?sslmode=disable"
				}
				start := time.Now()
				s, err := Open(context.Background(), cfg)
				elapsed := time.Since(start)
				if err == nil {
					s.Close()
					t.Fatal("Open succeeded")
				}
				msg := err.Error()
				t.Logf("after %s: %s", elapsed.Round(time.Millisecond), msg)
				if elapsed > deadline+5*time.Second {
					t.Errorf("failed after %s, deadline %s", elapsed, deadline)
				}
				if strings.Contains(msg, pw) || strings.Contains(msg, "\n") {
					t.Errorf("message shows the password or spans lines: %q", msg)
				}
				for _, w := range append(tc.want, "127.0.0.1:"+strconv.Itoa(port)) {
					if !strings.Contains(msg, w) {
						t.Errorf("message lacks %q: %s", w, msg)
					}
				}
				if tc.name == "silent server" && !errors.Is(err, ErrNoAnswer) {
					t.Errorf("want ErrNoAnswer: %v", err)
				}
			}
		})
	}
}

// TestOpenBadURLHidesPassword: connection settings pgx cannot parse give an error without the
// password.
func TestOpenBadURLHidesPassword(t *testing.T) {
	t.Parallel()
	const pw = "pw-never-printed"
	for _, cs := range []string{
		"postgres://u:" + pw + "@127.0.0.1:notaport/db",
		"postgres://u:" + pw + "@127.0.0.1/db?sslmode=bogus",
		"postgres://u:" + pw + "@127.0.0.1/db?connect_timeout=soon",
	} {
		_, err := Open(context.Background(), Config{ConnString: cs, Schema: "public", PoolTimeout: time.Second})
		if err == nil {
			t.Fatalf("%s: Open succeeded", cs)
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

func TestPoolTimeoutFromEnv(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := ConfigFromURL("postgres://u@h/db", env(map[string]string{"PG_POOL_TIMEOUT": "2.5"}))
	if err != nil || c.PoolTimeout != 2500*time.Millisecond {
		t.Errorf("URL: PoolTimeout %s, %v", c.PoolTimeout, err)
	}
	c, err = ConfigFromEnv(env(map[string]string{}))
	if err != nil || c.PoolTimeout != 30*time.Second {
		t.Errorf("default: PoolTimeout %s, %v", c.PoolTimeout, err)
	}
	for _, v := range []string{"0", "-1", "soon"} {
		if _, err := ConfigFromEnv(env(map[string]string{"PG_POOL_TIMEOUT": v})); err == nil {
			t.Errorf("PG_POOL_TIMEOUT=%s accepted", v)
		}
	}
}
