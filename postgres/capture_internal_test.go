package postgres

import (
	"errors"
	"testing"

	"github.com/actingweb/actingweb-go/capture"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestReplicationErrHistoryLost: the server's refusals of a slot whose WAL is gone (PostgreSQL
// 15's wording) wrap ErrHistoryLost; other failures do not.
func TestReplicationErrHistoryLost(t *testing.T) {
	c := &pgCapture{name: "s"}
	for _, msg := range []string{
		`can no longer get changes from replication slot "s"`,
		`requested WAL segment 000000010000000000000001 has already been removed`,
		`cannot read from logical replication slot "s"`,
	} {
		pe := &pgconn.PgError{Code: "55000", Message: msg, Detail: "This slot has been invalidated because it exceeded the maximum reserved size."}
		if err := c.replicationErr(pe); !errors.Is(err, capture.ErrHistoryLost) {
			t.Errorf("%q: %v, want ErrHistoryLost", msg, err)
		}
	}
	if err := c.replicationErr(&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}); errors.Is(err, capture.ErrHistoryLost) {
		t.Errorf("a lost connection is not lost history: %v", err)
	}
}
