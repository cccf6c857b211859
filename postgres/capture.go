package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/capture"
	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"
)

// Change capture on PostgreSQL (capture.Source): logical replication with the built-in
// pgoutput plugin. A capture named N is a publication N on the nine tables of the store's
// schema and a logical replication slot N. The slot is created before the initial load and
// exports a snapshot; the load reads inside that snapshot (Capture.LoadSource), so the load and
// the change stream meet exactly at the slot's consistent point. The slot keeps the WAL the
// capture has not confirmed (Capture.Ack: the confirmed flush LSN); a slot whose WAL was
// removed (wal_status "lost", max_slot_wal_keep_size) fails with capture.ErrHistoryLost.
//
// Requirements: wal_level = logical on the server, a role with the REPLICATION attribute (or
// rds_replication on Amazon RDS) that owns the tables (CREATE PUBLICATION ... FOR TABLE).

var captureNameRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// captureSetup checks wal_level and the name, and creates the publication when missing.
func (s *Store) captureSetup(ctx context.Context, name string) error {
	if !captureNameRe.MatchString(name) {
		return fmt.Errorf("postgres: %w: capture name %q: lower-case letters, digits and '_' only, at most 63", actingweb.ErrInvalid, name)
	}
	var level string
	if err := s.pool.QueryRow(ctx, `SELECT current_setting('wal_level')`).Scan(&level); err != nil {
		return fmt.Errorf("postgres: read wal_level of %s: %w", describe(s.cfg), err)
	}
	if level != "logical" {
		return fmt.Errorf("postgres: change capture on %s needs wal_level = logical, the server runs with wal_level = %s: "+
			"set it (ALTER SYSTEM SET wal_level = logical, or rds.logical_replication = 1 on Amazon RDS) and restart the server",
			describe(s.cfg), level)
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("postgres: read publication %s: %w", name, err)
	}
	if exists {
		return nil
	}
	tables := make([]string, len(actingweb.Tables))
	for i, t := range actingweb.Tables {
		tables[i] = s.qtable(t)
	}
	if _, err := s.pool.Exec(ctx, `CREATE PUBLICATION `+pgx.Identifier{name}.Sanitize()+` FOR TABLE `+strings.Join(tables, ", ")); err != nil {
		return fmt.Errorf("postgres: create publication %s on the tables of schema %s: %w (the role must own the tables)", name, s.schema, err)
	}
	return nil
}

// slotState reads the replication slot name: whether it exists and its wal_status.
func (s *Store) slotState(ctx context.Context, name string) (exists bool, walStatus string, err error) {
	var st *string
	err = s.pool.QueryRow(ctx, `SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1`, name).Scan(&st)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, "", nil
	}
	if err != nil {
		return false, "", fmt.Errorf("postgres: read replication slot %s: %w", name, err)
	}
	if st != nil {
		walStatus = *st
	}
	return true, walStatus, nil
}

// OpenCapture sets change capture up (capture.Source). fresh true creates the
// publication (when missing) and the replication slot name, which must not exist
// (ErrExists), and keeps the slot's exported snapshot for LoadSource; fresh false attaches to
// the existing slot (ErrNotFound when there is none, ErrHistoryLost when its WAL is gone).
// Errors name the setting or privilege that is missing (wal_level, REPLICATION).
func (s *Store) OpenCapture(ctx context.Context, name string, fresh bool) (capture.Capture, error) {
	if err := s.captureSetup(ctx, name); err != nil {
		return nil, err
	}
	exists, walStatus, err := s.slotState(ctx, name)
	if err != nil {
		return nil, err
	}
	switch {
	case fresh && exists:
		return nil, fmt.Errorf("postgres: replication slot %s: %w", name, actingweb.ErrExists)
	case !fresh && !exists:
		return nil, fmt.Errorf("postgres: replication slot %s: %w (start over with a fresh load)", name, actingweb.ErrNotFound)
	case walStatus == "lost":
		return nil, fmt.Errorf("postgres: replication slot %s: the server removed WAL the slot still needed (wal_status lost, see max_slot_wal_keep_size): %w", name, capture.ErrHistoryLost)
	}
	cfg := s.pool.Config().ConnConfig.Config.Copy()
	cfg.RuntimeParams["replication"] = "database"
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open a replication connection to %s: %s (the role needs the REPLICATION attribute)", describe(s.cfg), actingweb.RedactPasswords(err.Error()))
	}
	c := &pgCapture{store: s, conn: conn, name: name, types: pgtype.NewMap(), relations: map[uint32]*pglogrepl.RelationMessage{}, connCfg: cfg}
	if fresh {
		res, err := pglogrepl.CreateReplicationSlot(ctx, conn, name, "pgoutput",
			pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: "EXPORT_SNAPSHOT"})
		if err != nil {
			conn.Close(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("postgres: create replication slot %s: %w (check max_replication_slots and the REPLICATION attribute)", name, err)
		}
		lsn, err := pglogrepl.ParseLSN(res.ConsistentPoint)
		if err != nil {
			conn.Close(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("postgres: replication slot %s: consistent point %q: %w", name, res.ConsistentPoint, err)
		}
		c.start = lsn
		c.snapshot = res.SnapshotName
	}
	return c, nil
}

// slotReleaseWait is how long DropCapture waits for an active slot to be released;
// slotBusyWait how long Stream waits for a slot another connection still holds (PostgreSQL's
// default wal_sender_timeout is 60 s).
const (
	slotReleaseWait = 10 * time.Second
	slotBusyWait    = 70 * time.Second
)

// DropCapture drops the replication slot and the publication name (capture.Source);
// absent ones are fine. A slot still in use after slotReleaseWait (a running capture) cannot be
// dropped (an error says so).
func (s *Store) DropCapture(ctx context.Context, name string) error {
	if !captureNameRe.MatchString(name) {
		return fmt.Errorf("postgres: %w: capture name %q", actingweb.ErrInvalid, name)
	}
	if exists, _, err := s.slotState(ctx, name); err != nil {
		return err
	} else if exists {
		// A capture that just closed leaves its walsender holding the slot for a moment: wait
		// up to slotReleaseWait for the slot to be released before dropping it.
		var active bool
		for deadline := time.Now().Add(slotReleaseWait); ; {
			err := s.pool.QueryRow(ctx, `SELECT active FROM pg_replication_slots WHERE slot_name = $1`, name).Scan(&active)
			if errors.Is(err, pgx.ErrNoRows) {
				break
			}
			if err != nil {
				return fmt.Errorf("postgres: read replication slot %s: %w", name, err)
			}
			if !active || time.Now().After(deadline) {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond): // poll pg_replication_slots
			}
		}
		if _, err := s.pool.Exec(ctx, `SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $1`, name); err != nil {
			return fmt.Errorf("postgres: drop replication slot %s: %w (is a sync still running?)", name, err)
		}
	}
	if _, err := s.pool.Exec(ctx, `DROP PUBLICATION IF EXISTS `+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("postgres: drop publication %s: %w", name, err)
	}
	return nil
}

// capturePosition is the Position of a PostgreSQL ChangeBatch: the end LSN of the last
// transaction of the batch ({"lsn": "0/16B3748"}).
type capturePosition struct {
	LSN string `json:"lsn"`
}

func encodePosition(lsn pglogrepl.LSN) string {
	b, _ := json.Marshal(capturePosition{LSN: lsn.String()})
	return string(b)
}

func decodePosition(pos string) (pglogrepl.LSN, error) {
	if pos == "" {
		return 0, nil
	}
	var p capturePosition
	if err := json.Unmarshal([]byte(pos), &p); err != nil {
		return 0, fmt.Errorf("postgres: %w: capture position %q is not a PostgreSQL position", actingweb.ErrInvalid, pos)
	}
	return pglogrepl.ParseLSN(p.LSN)
}

// pgCapture is an open PostgreSQL capture (capture.Capture).
type pgCapture struct {
	store     *Store
	conn      *pgconn.PgConn
	name      string
	start     pglogrepl.LSN // fresh: the slot's consistent point
	snapshot  string        // fresh: the exported snapshot, until Stream starts
	acked     atomic.Uint64 // confirmed flush LSN to report
	types     *pgtype.Map
	relations map[uint32]*pglogrepl.RelationMessage
	// connCfg opens the replication connection again; streamed says a Stream ran on conn,
	// which then stays in the replication protocol's copy mode (a Stream ends when its fn
	// fails or its context does, without a CopyDone), so the next Stream needs a new one.
	connCfg  *pgconn.Config
	streamed bool
}

// LoadSource is the store inside the slot's exported snapshot (fresh capture, until Stream is
// called) or the store itself.
func (c *pgCapture) LoadSource() bulk.TableStore {
	if c.snapshot == "" {
		return c.store
	}
	return c.store.inSnapshot(c.snapshot)
}

func (c *pgCapture) Start() string {
	if c.start == 0 {
		return ""
	}
	return encodePosition(c.start)
}

func (c *pgCapture) Ack(pos string) {
	lsn, err := decodePosition(pos)
	if err != nil {
		return
	}
	for {
		old := c.acked.Load()
		if uint64(lsn) <= old || c.acked.CompareAndSwap(old, uint64(lsn)) {
			return
		}
	}
}

func (c *pgCapture) Close() error {
	return c.conn.Close(context.Background())
}

// standbyInterval is how often the capture reports its confirmed position to the server (and
// so keeps the walsender's timeout away); idleFlush is how long a pending batch waits for more
// transactions before it is handed over.
const (
	standbyInterval = time.Second
	idleFlush       = 50 * time.Millisecond
	heartbeatEvery  = time.Second
	// maxBatchDelay bounds how long a batch collects transactions while more keep arriving,
	// so a steady stream of small transactions is applied within about that much.
	maxBatchDelay = 100 * time.Millisecond
)

// Stream runs START_REPLICATION on the slot from position from (or the slot's confirmed
// position) and hands over whole transactions in commit order (capture.Capture). A batch
// ends after maxChanges changes (a transaction is never split), after maxBatchDelay, or when
// no further transaction arrives within idleFlush. When idle it sends a heartbeat batch (no changes,
// CaughtUp) about once a second. After Stream the exported snapshot is gone.
func (c *pgCapture) Stream(ctx context.Context, from string, maxChanges int, fn func(capture.Batch) error) error {
	c.snapshot = ""
	startLSN, err := decodePosition(from)
	if err != nil {
		return err
	}
	if startLSN == 0 {
		startLSN = c.start
	}
	c.Ack(encodePosition(startLSN))
	if c.streamed {
		// A Stream before this one left the connection streaming (a START_REPLICATION sent
		// now would end it with "invalid standby message type"): start on a new one. The old
		// walsender lets the slot go as it exits (the wait below covers that).
		c.conn.Close(context.WithoutCancel(ctx))
		conn, err := pgconn.ConnectConfig(ctx, c.connCfg)
		if err != nil {
			return fmt.Errorf("postgres: open a replication connection again to %s: %s", describe(c.store.cfg), actingweb.RedactPasswords(err.Error()))
		}
		c.conn = conn
		c.relations = map[uint32]*pglogrepl.RelationMessage{}
	}
	c.streamed = true
	// A previous capture's walsender may still hold the slot (a killed process whose connection
	// the server has not noticed yet, at most wal_sender_timeout): wait for it.
	for deadline := time.Now().Add(slotBusyWait); ; {
		err = pglogrepl.StartReplication(ctx, c.conn, c.name, startLSN, pglogrepl.StartReplicationOptions{
			Mode:       pglogrepl.LogicalReplication,
			PluginArgs: []string{"proto_version '1'", "publication_names '" + c.name + "'"},
		})
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond): // poll until the old walsender lets go
		}
	}
	if err != nil {
		return c.replicationErr(err)
	}
	if maxChanges <= 0 {
		maxChanges = 1000
	}
	var (
		batch      capture.Batch
		txn        []capture.Change
		inTxn      bool
		commitTime time.Time
		lastEnd    = startLSN
		nextStatus = time.Now()
		lastBeat   = time.Now()
		batchStart time.Time // when the pending batch got its first transaction
	)
	flush := func(caughtUp bool) error {
		batch.CaughtUp = caughtUp
		batch.Position = encodePosition(lastEnd)
		b := batch
		batch = capture.Batch{}
		lastBeat = time.Now()
		return fn(b)
	}
	for {
		if !time.Now().Before(nextStatus) {
			if err := c.sendStatus(ctx); err != nil {
				return err
			}
			nextStatus = time.Now().Add(standbyInterval)
		}
		wait := nextStatus
		pending := len(batch.Changes) > 0
		if !inTxn { // inside a transaction, wait for the rest of it
			// A pending batch goes out when nothing follows soon; an idle stream beats.
			d := idleFlush
			if !pending {
				d = time.Until(lastBeat.Add(heartbeatEvery))
			} else if left := time.Until(batchStart.Add(maxBatchDelay)); left < d {
				d = max(left, 0)
			}
			if w := time.Now().Add(d); w.Before(wait) {
				wait = w
			}
		}
		rctx, cancel := context.WithDeadline(ctx, wait)
		raw, err := c.conn.ReceiveMessage(rctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if pgconn.Timeout(err) {
				if !inTxn && (pending || !time.Now().Before(lastBeat.Add(heartbeatEvery))) {
					if err := flush(true); err != nil {
						return err
					}
				}
				continue
			}
			return c.replicationErr(err)
		}
		switch m := raw.(type) {
		case *pgproto3.ErrorResponse:
			return c.replicationErr(pgconn.ErrorResponseToPgError(m))
		case *pgproto3.CopyData:
			switch m.Data[0] {
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(m.Data[1:])
				if err != nil {
					return fmt.Errorf("postgres: replication slot %s: %w", c.name, err)
				}
				// Every transaction that ended before the walsender's position has been sent: when
				// none is open, that position may be confirmed once what was sent is applied.
				if !inTxn && len(batch.Changes) == 0 && ka.ServerWALEnd > lastEnd {
					lastEnd = ka.ServerWALEnd
				}
				if ka.ReplyRequested {
					nextStatus = time.Now()
				}
			case pglogrepl.XLogDataByteID:
				xld, err := pglogrepl.ParseXLogData(m.Data[1:])
				if err != nil {
					return fmt.Errorf("postgres: replication slot %s: %w", c.name, err)
				}
				msg, err := pglogrepl.Parse(xld.WALData)
				if err != nil {
					return fmt.Errorf("postgres: replication slot %s: decode pgoutput message: %w", c.name, err)
				}
				switch msg := msg.(type) {
				case *pglogrepl.RelationMessage:
					c.relations[msg.RelationID] = msg
				case *pglogrepl.BeginMessage:
					inTxn, txn, commitTime = true, txn[:0:0], msg.CommitTime
				case *pglogrepl.InsertMessage:
					ch, err := c.change(msg.RelationID, msg.Tuple, false)
					if err != nil {
						return err
					}
					txn = append(txn, ch)
				case *pglogrepl.UpdateMessage:
					ch, err := c.change(msg.RelationID, msg.NewTuple, false)
					if err != nil {
						return err
					}
					if msg.OldTuple != nil {
						// The key changed: the row under the old key is gone.
						old, err := c.change(msg.RelationID, msg.OldTuple, true)
						if err != nil {
							return err
						}
						txn = append(txn, old)
					}
					txn = append(txn, ch)
				case *pglogrepl.DeleteMessage:
					ch, err := c.change(msg.RelationID, msg.OldTuple, true)
					if err != nil {
						return err
					}
					txn = append(txn, ch)
				case *pglogrepl.TruncateMessage:
					return fmt.Errorf("postgres: replication slot %s: a table of the publication was truncated (TRUNCATE is not replicated): start over with a fresh load", c.name)
				case *pglogrepl.CommitMessage:
					inTxn = false
					if msg.TransactionEndLSN <= startLSN {
						continue // applied before (the server resends from the slot's restart point)
					}
					lastEnd = msg.TransactionEndLSN
					if len(batch.Changes) == 0 {
						batchStart = time.Now()
					}
					batch.Changes = append(batch.Changes, txn...)
					batch.SourceTime = commitTime
					if len(batch.Changes) >= maxChanges || time.Since(batchStart) >= maxBatchDelay {
						if err := flush(false); err != nil {
							return err
						}
					}
				}
			}
		}
	}
}

// sendStatus reports the acknowledged position as written, flushed and applied.
func (c *pgCapture) sendStatus(ctx context.Context) error {
	lsn := pglogrepl.LSN(c.acked.Load())
	err := pglogrepl.SendStandbyStatusUpdate(ctx, c.conn, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: lsn, WALFlushPosition: lsn, WALApplyPosition: lsn,
		// The reply (a keepalive with the walsender's position) lets an idle capture move
		// its position forward at once instead of at the walsender's timeout.
		ReplyRequested: true,
	})
	if err != nil {
		return c.replicationErr(err)
	}
	return nil
}

// replicationErr wraps a failure of the replication connection; a slot that lost its WAL
// wraps ErrHistoryLost.
func (c *pgCapture) replicationErr(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && lostHistory(pgErr.Message+" "+pgErr.Detail) {
		return fmt.Errorf("postgres: replication slot %s: %s: %w", c.name, pgErr.Message, capture.ErrHistoryLost)
	}
	return fmt.Errorf("postgres: replication slot %s: %w", c.name, err)
}

// lostHistory reports whether a server error's text says the slot's WAL is gone (PostgreSQL 15:
// an invalidated slot, removed WAL segments).
func lostHistory(text string) bool {
	for _, p := range []string{"can no longer get changes", "has already been removed", "invalidated",
		"cannot read from logical replication slot"} {
		if strings.Contains(text, p) {
			return true
		}
	}
	return false
}

// change turns a pgoutput tuple of a relation into a Change. keyOnly: the tuple is a deleted
// row's key (replica identity), other columns NULL.
func (c *pgCapture) change(relID uint32, tuple *pglogrepl.TupleData, keyOnly bool) (capture.Change, error) {
	rel, ok := c.relations[relID]
	if !ok {
		return capture.Change{}, fmt.Errorf("postgres: replication slot %s: change of relation %d before its description", c.name, relID)
	}
	t := actingweb.Table(rel.RelationName)
	sp, err := spec(t)
	if err != nil || rel.Namespace != c.store.schema {
		return capture.Change{}, fmt.Errorf("postgres: replication slot %s: change of %s.%s, not a table of schema %s", c.name, rel.Namespace, rel.RelationName, c.store.schema)
	}
	if tuple == nil || len(tuple.Columns) != len(rel.Columns) {
		return capture.Change{}, fmt.Errorf("postgres: replication slot %s: %s: tuple does not match the relation's columns", c.name, t)
	}
	row := tupleRow{types: c.types, cols: make([]tupleCol, len(sp.cols)), keyOnly: keyOnly}
	var unchanged []int
	for i, name := range sp.cols {
		j := -1
		for k, rc := range rel.Columns {
			if rc.Name == name {
				j = k
				break
			}
		}
		if j < 0 {
			return capture.Change{}, fmt.Errorf("postgres: replication slot %s: %s has no column %s in the change stream (schema changed?)", c.name, t, name)
		}
		col := tuple.Columns[j]
		row.cols[i] = tupleCol{oid: rel.Columns[j].DataType, kind: col.DataType, data: col.Data}
		if col.DataType == pglogrepl.TupleDataTypeToast {
			unchanged = append(unchanged, i)
		}
	}
	if keyOnly || len(unchanged) == 0 {
		rec, err := sp.scan(&row)
		if err != nil {
			return capture.Change{}, fmt.Errorf("postgres: replication slot %s: decode a change of %s: %w", c.name, t, err)
		}
		return capture.Change{Table: t, Delete: keyOnly, Record: rec}, nil
	}
	// Unchanged TOASTed columns: their values come from the row's previous state.
	fill := func(prev actingweb.Record) (actingweb.Record, error) {
		if prev == nil {
			return nil, fmt.Errorf("postgres: %s: an update left a large value unchanged but the row's previous state is unknown: %w", t, actingweb.ErrNotFound)
		}
		vals := sp.values(prev, nil)
		r := tupleRow{types: c.types, cols: append([]tupleCol(nil), row.cols...)}
		for _, i := range unchanged {
			r.cols[i] = tupleCol{oid: r.cols[i].oid, kind: tupleValue, value: vals[i]}
		}
		return sp.scan(&r)
	}
	// Record holds the key, for the applier to find the previous state.
	key := tupleRow{types: c.types, cols: row.cols, keyOnly: true}
	rec, err := sp.scan(&key)
	if err != nil {
		return capture.Change{}, fmt.Errorf("postgres: replication slot %s: decode a change of %s: %w", c.name, t, err)
	}
	return capture.Change{Table: t, Record: rec, Fill: fill}, nil
}

// tupleValue marks a tupleCol that carries a Go value instead of text.
const tupleValue = 'v'

// tupleCol is one column of a pgoutput tuple: text data ('t'), NULL ('n'), unchanged TOAST
// ('u'), or a Go value (kind tupleValue, from a previous state) scanned through the type map.
type tupleCol struct {
	oid   uint32
	kind  uint8
	data  []byte
	value any
}

// tupleRow is a rowScanner over a pgoutput tuple in a tableSpec's column order. keyOnly
// leaves NULL and unchanged columns at their zero value (a deleted row's key).
type tupleRow struct {
	types   *pgtype.Map
	cols    []tupleCol
	keyOnly bool
}

func (r *tupleRow) Scan(dest ...any) error {
	if len(dest) != len(r.cols) {
		return fmt.Errorf("%d columns, %d destinations", len(r.cols), len(dest))
	}
	for i, col := range r.cols {
		var src []byte
		switch col.kind {
		case pglogrepl.TupleDataTypeText:
			src = col.data
		case tupleValue:
			if col.value == nil {
				break
			}
			b, err := r.types.Encode(col.oid, pgtype.TextFormatCode, col.value, nil)
			if err != nil {
				return fmt.Errorf("column %d: %w", i, err)
			}
			src = b
		default: // NULL, unchanged TOAST
			if r.keyOnly {
				continue
			}
		}
		if err := r.types.Scan(col.oid, pgtype.TextFormatCode, src, dest[i]); err != nil {
			if r.keyOnly && src == nil {
				continue
			}
			return fmt.Errorf("column %d: %w", i, err)
		}
	}
	return nil
}

// HeadPosition returns a position at or after every change committed on the server so far
// (pg_current_wal_insert_lsn, not pg_current_wal_lsn: under synchronous_commit = off a
// committed transaction's WAL may not be written yet, and the write position lies before it;
// migrate.HeadPositioner): a cut-over waits until the sync's position
// reaches it.
func (s *Store) HeadPosition(ctx context.Context) (string, error) {
	var lsn pglogrepl.LSN
	if err := s.pool.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()`).Scan(&lsn); err != nil {
		return "", fmt.Errorf("postgres: read the WAL position of %s: %w", describe(s.cfg), err)
	}
	return encodePosition(lsn), nil
}

// Behind returns how many bytes of WAL the server has written after position pos (a sync's
// applied position): the backlog of a sync that reads this server, 0 when pos is at or after
// the head. It needs no decoding, so it is what a running sync reports as its lag in volume
// (migrate.BacklogMeasurer).
func (s *Store) Behind(ctx context.Context, pos string) (int64, error) {
	p, err := decodePosition(pos)
	if err != nil {
		return 0, err
	}
	var head pglogrepl.LSN
	if err := s.pool.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()`).Scan(&head); err != nil {
		return 0, fmt.Errorf("postgres: read the WAL position of %s: %w", describe(s.cfg), err)
	}
	if head <= p {
		return 0, nil
	}
	return int64(head - p), nil
}

// PositionReached reports whether position pos is at or after head (both from this source).
func (s *Store) PositionReached(pos, head string) (bool, error) {
	p, err := decodePosition(pos)
	if err != nil {
		return false, err
	}
	h, err := decodePosition(head)
	if err != nil {
		return false, err
	}
	return p >= h, nil
}
