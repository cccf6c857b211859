package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/jackc/pgx/v5"
)

// Identity names the database and schema the store works on (migrate.Identifier): the
// cluster's system identifier (pg_control_system(), the same for a cluster and its physical
// replicas, another for every initdb), the database's name and OID (a recreated database gets
// another) and the schema. A migration records it and refuses a resume against another.
func (s *Store) Identity(ctx context.Context) (map[string]string, error) {
	var sysid, db, dbOID string
	err := s.pool.QueryRow(ctx, `SELECT (SELECT system_identifier FROM pg_control_system())::text,
		current_database(), (SELECT oid FROM pg_database WHERE datname = current_database())::text`).Scan(&sysid, &db, &dbOID)
	if err != nil {
		return nil, fmt.Errorf("postgres: identify %s: %w", s.Describe(), err)
	}
	return map[string]string{"postgres system identifier": sysid, "postgres database": db,
		"postgres database oid": dbOID, "postgres schema": s.schema}, nil
}

// lockKeys are the two int4 keys of the advisory lock named name on schema: a fixed class
// (the letters "awgo") and an FNV-1a hash of schema and name, as pg_locks shows them (classid,
// objid).
func lockKeys(schema, name string) (int32, int32) {
	h := fnv.New32a()
	h.Write([]byte(schema + "\x00" + name))
	return 0x6177676f, int32(h.Sum32())
}

// lockPing is how often a held lock's connection is checked.
const lockPing = 5 * time.Second

// Lock takes the session advisory lock name on the store's schema (bulk.Locker) on a
// connection of its own, whose application_name carries holder (PostgreSQL cuts it at 63
// bytes), so the refusal another run gets names the holder, its client address and its start.
// The lock lives as long as that connection: a killed process's lock goes with its
// connection, so a resume after SIGKILL takes it at once (runID is not needed). The
// connection is checked every 5 s; when it fails, Lost is closed.
func (s *Store) Lock(ctx context.Context, name, holder, _ string) (bulk.Lock, error) {
	cc := s.pool.Config().ConnConfig.Copy()
	cc.RuntimeParams["application_name"] = truncate("actingweb "+holder, 63)
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("postgres: lock %q on %s: %w", name, s.Describe(), err)
	}
	k1, k2 := lockKeys(s.schema, name)
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", k1, k2).Scan(&ok); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("postgres: lock %q on %s: %w", name, s.Describe(), err)
	}
	if !ok {
		who := "another session"
		var app, addr string
		var since time.Time
		if err := conn.QueryRow(ctx, `SELECT a.application_name, coalesce(host(a.client_addr), 'local'), a.backend_start
			FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::int4::bigint::oid AND l.objid = ($2::int4::bigint & 4294967295)::oid
			  AND l.objsubid = 2 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			LIMIT 1`, k1, k2).Scan(&app, &addr, &since); err == nil {
			who = fmt.Sprintf("%q (client %s, connected %s)", app, addr, since.UTC().Format(time.RFC3339))
		}
		conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("postgres: %s schema %s: %w: lock %q is held by %s; wait for that run to finish or stop it",
			s.Describe(), s.schema, actingweb.ErrLocked, name, who)
	}
	l := &pgLock{conn: conn, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go l.watch()
	return l, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// cut at a rune boundary
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// pgLock is a held advisory lock: its connection, watched until Release.
type pgLock struct {
	conn *pgx.Conn
	mu   sync.Mutex // the connection: watch's pings and Release
	lost chan struct{}
	stop chan struct{}
	done chan struct{}
	err  error
	once sync.Once
}

func (l *pgLock) watch() {
	defer close(l.done)
	t := time.NewTicker(lockPing)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		l.mu.Lock()
		ctx, cancel := context.WithTimeout(context.Background(), lockPing)
		err := l.conn.Ping(ctx)
		cancel()
		l.mu.Unlock()
		if err != nil {
			l.err = fmt.Errorf("postgres: the connection holding the run's advisory lock failed: %w", err)
			close(l.lost)
			return
		}
	}
}

func (l *pgLock) Lost() <-chan struct{} { return l.lost }

func (l *pgLock) Err() error {
	select {
	case <-l.lost:
		return l.err
	default:
		return nil
	}
}

// Release unlocks and closes the lock's connection.
func (l *pgLock) Release(ctx context.Context) error {
	var err error
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		l.mu.Lock()
		defer l.mu.Unlock()
		err = l.conn.Close(ctx) // ends the session, and with it the lock
	})
	return err
}
