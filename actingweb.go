// Package actingweb holds the domain of actingweb-go: the record types of ActingWeb's nine
// tables, the store interfaces every backend implements, the table names of both physical
// models and the sentinel errors. It imports no database driver; the backends live in the
// postgres and dynamodb packages, the data-moving engine in migrate.
//
// The physical models are those of the Python ActingWeb library 3.14.0; the rules quoted in
// doc comments refer to docs/storage-model.md ("§N").
package actingweb

import (
	"errors"
	"fmt"
	"strings"
)

// AlembicHead is the Alembic revision the PostgreSQL schema must be at (§4.5). Python
// ActingWeb 3.14.0 refuses nothing else, and the migration tool refuses to import below it.
const AlembicHead = "e5f6a7b8c9d0"

// DefaultDynamoDBPrefix is upstream's default AWS_DB_PREFIX (§2.2).
const DefaultDynamoDBPrefix = "demo_actingweb"

// DefaultRegion is upstream's default AWS_DEFAULT_REGION (§2.2).
const DefaultRegion = "us-west-1"

// ReservedOwnerPrefix starts the owner ids of global stores that need no actor row
// (_actingweb_system, _actingweb_oauth2, _actingweb_deleted; §1).
const ReservedOwnerPrefix = "_actingweb_"

// IsReservedOwner reports whether id is a reserved global owner id (§1): rows under such ids
// are kept even though no actor row exists for them.
func IsReservedOwner(id string) bool { return strings.HasPrefix(id, ReservedOwnerPrefix) }

// TTLClockSkewBuffer is added to every attribute TTL: ttl_timestamp = now + ttl + 3600 s
// (constants.py:222, §3.7).
const TTLClockSkewBuffer = 3600

// Table names one of the nine logical tables. Its string value is the PostgreSQL table name,
// which is also the table's name in bundles and reports.
type Table string

// The nine tables, in the order a migration writes them: actors first (the only foreign key
// points at it), property lookup after properties (it is rebuilt from them, §5.4, §5.6).
const (
	TableActors                  Table = "actors"
	TableProperties              Table = "properties"
	TablePropertyLookup          Table = "property_lookup"
	TableAttributes              Table = "attributes"
	TableTrusts                  Table = "trusts"
	TablePeerTrustees            Table = "peertrustees"
	TableSubscriptions           Table = "subscriptions"
	TableSubscriptionDiffs       Table = "subscription_diffs"
	TableSubscriptionSuspensions Table = "subscription_suspensions"
)

// Tables lists the nine tables in migration order.
var Tables = []Table{
	TableActors, TableProperties, TablePropertyLookup, TableAttributes, TableTrusts,
	TablePeerTrustees, TableSubscriptions, TableSubscriptionDiffs, TableSubscriptionSuspensions,
}

// DataTables lists the eight tables that are copied row by row; the property lookup table is
// derived data, rebuilt on the target from properties (§5.4).
var DataTables = []Table{
	TableActors, TableProperties, TableAttributes, TableTrusts, TablePeerTrustees,
	TableSubscriptions, TableSubscriptionDiffs, TableSubscriptionSuspensions,
}

// ParseTable returns the Table named s (PostgreSQL name or DynamoDB suffix), or an error
// wrapping ErrUnknownTable.
func ParseTable(s string) (Table, error) {
	for _, t := range Tables {
		if string(t) == s || t.DynamoDBSuffix() == s {
			return t, nil
		}
	}
	return "", fmt.Errorf("%w: %q (known: %s)", ErrUnknownTable, s, tableList())
}

func tableList() string {
	var b strings.Builder
	for i, t := range Tables {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(t))
	}
	return b.String()
}

// DynamoDBSuffix is the table's DynamoDB name without the prefix (§3): the diff table is
// "subscriptiondiffs", the lookup table "property_lookup_v2"; the others equal the
// PostgreSQL names.
func (t Table) DynamoDBSuffix() string {
	switch t {
	case TableSubscriptionDiffs:
		return "subscriptiondiffs"
	case TablePropertyLookup:
		return "property_lookup_v2"
	}
	return string(t)
}

// DynamoDBName is the physical DynamoDB table name prefix + "_" + suffix (§3.1). A prefix
// that already ends in "_" gives a double underscore, exactly as upstream does.
func (t Table) DynamoDBName(prefix string) string { return prefix + "_" + t.DynamoDBSuffix() }

// Sentinel errors. Backends wrap them with %w and add the table and key.
var (
	// ErrNotFound: the record does not exist (or, for strict attribute reads, has expired).
	ErrNotFound = errors.New("not found")
	// ErrExists: a create found a row under the same primary key.
	ErrExists = errors.New("already exists")
	// ErrConflict: a batch write under the fail policy met rows that already exist.
	ErrConflict = errors.New("conflicting row already exists on target")
	// ErrAmbiguous: a lookup by a non-unique field matched more than one row
	// (peer trustee by type, §6.6).
	ErrAmbiguous = errors.New("more than one row matches")
	// ErrInvalid: a record or argument breaks a rule of the physical model (empty key, too long
	// for a column, too large for an item, NUL character, JSON PostgreSQL cannot store, ...).
	ErrInvalid = errors.New("invalid record")
	// ErrSchema: the target schema is missing, below Alembic head, or tables do not exist.
	ErrSchema = errors.New("schema not ready")
	// ErrUnknownTable: a name that is none of the nine tables.
	ErrUnknownTable = errors.New("unknown table")
	// ErrStaleCursor: a scan cursor of an AnyOrder scan no longer names a position in the
	// table (rows were written or the table was rewritten since it was taken); the table
	// must be scanned again from its start (bulk.ScanOptions.AnyOrder).
	ErrStaleCursor = errors.New("stale scan cursor")
	// ErrLocked: a lock on a store or a state directory is held by another run (Locker).
	ErrLocked = errors.New("another run is in progress")
)
