package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Cluster is a private PostgreSQL cluster of one test, which the test may stop and start
// (a server restart under a running client); see PrivateCluster.
type Cluster struct {
	// URL is the cluster's postgres database as the superuser postgres (trust, no password).
	URL string
	// Port is the loopback port it listens on.
	Port int

	bindir, dir, data, log string
	cred                   *syscall.Credential // the OS user the server runs as when the test runs as root
}

// PrivateCluster initialises a PostgreSQL cluster (initdb) in a new temporary directory,
// listening on a free loopback port only, starts it and stops and removes it when the test
// ends. The binaries come from ACTINGWEB_TEST_PG_BINDIR (PostgreSQL 15, as the shared test
// cluster's); the test is skipped (failed on CI) when it is unset. Running as root, the server
// runs as the OS user postgres, which must exist (scripts/services.sh creates it), as
// PostgreSQL refuses to run as root. Starting a cluster takes a second or two: use it only
// for tests that must stop the server.
func PrivateCluster(t testing.TB) *Cluster {
	t.Helper()
	return PrivateClusterAt(t, lookup(t, EnvPostgresBinDir, "the PostgreSQL binaries (initdb, pg_ctl)"))
}

// PrivateClusterAt is PrivateCluster with the server binaries of bindir (any installed
// PostgreSQL version; see PostgresBinDirs). The cluster runs with wal_level = logical, so
// change capture works on it too.
func PrivateClusterAt(t testing.TB, bindir string) *Cluster {
	t.Helper()
	c := &Cluster{bindir: bindir}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("testenv: running as root, the cluster must run as OS user postgres: %v (scripts/services.sh up creates it)", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// Not t.TempDir: its parents are private to this user, and the socket path must be short.
	dir, err := os.MkdirTemp("", "awpg-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir, c.data, c.log = dir, filepath.Join(dir, "data"), filepath.Join(dir, "postgres.log")
	t.Cleanup(func() { os.RemoveAll(dir) })
	if c.cred != nil {
		if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := c.run("initdb", "-D", c.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "-N"); err != nil {
		t.Fatalf("testenv: initdb: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.Port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := fmt.Sprintf("\nlisten_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\n"+
		"fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nshared_buffers = 16MB\nmax_connections = 40\n"+
		"wal_level = logical\nmax_wal_senders = 4\nmax_replication_slots = 4\n", c.Port, dir)
	f, err := os.OpenFile(filepath.Join(c.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(conf)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		t.Fatalf("testenv: configure the private cluster: %v", err)
	}
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.Port)
	c.Start(t)
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(c.data, "postmaster.pid")); err == nil {
			c.run("pg_ctl", "-D", c.data, "-m", "immediate", "-w", "stop")
		}
	})
	return c
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	if out, err := c.run("pg_ctl", "-D", c.data, "-l", c.log, "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(c.log)
		t.Fatalf("testenv: start the private cluster: %v\n%s\n%s", err, out, log)
	}
}

// Stop stops the server with pg_ctl's fast mode (open sessions are ended, as on a
// restart) and waits until it is down.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	if out, err := c.run("pg_ctl", "-D", c.data, "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		t.Fatalf("testenv: stop the private cluster: %v\n%s", err, out)
	}
}

// run runs a binary of the cluster's bindir as the cluster's OS user.
func (c *Cluster) run(name string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(c.bindir, name), args...)
	cmd.Dir = c.dir
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
		cmd.Env = append(os.Environ(), "HOME="+c.dir)
	}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// EnvPostgresBinDirs lists, separated by ':', the PostgreSQL server binary directories that
// version-matrix tests run on; unset, PostgresBinDirs looks for installed versions.
const EnvPostgresBinDirs = "ACTINGWEB_TEST_PG_BINDIRS"

// PostgresBinDirs returns the server binary directories of the PostgreSQL versions to test
// on: EnvPostgresBinDirs when set, else every /usr/lib/postgresql/<version>/bin holding an
// initdb (Debian's layout, one per installed postgresql-<version> package), in version order.
// The shared test cluster's version (EnvPostgresBinDir) is always among them.
func PostgresBinDirs(t testing.TB) []string {
	t.Helper()
	if v := strings.TrimSpace(os.Getenv(EnvPostgresBinDirs)); v != "" {
		return strings.Split(v, ":")
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	for i, d := range dirs {
		dirs[i] = filepath.Dir(d)
	}
	shared := filepath.Clean(lookup(t, EnvPostgresBinDir, "the PostgreSQL binaries (initdb, pg_ctl)"))
	if !slices.Contains(dirs, shared) {
		dirs = append(dirs, shared)
	}
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(a) - versionOf(b) })
	return dirs
}

// versionOf is the major version in a Debian bindir path (/usr/lib/postgresql/15/bin), 0 when
// the path names none.
func versionOf(bindir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return n
}
