package actingweb

import (
	"context"
	"encoding/json"
	"time"
)

// Store is a complete backend: the application face (per-entity operations of §6), the table
// face (whole-table streaming and batch writes for moving data) and schema management.
// postgres.Store and dynamodb.Store implement it; storetest holds the contract suite both pass.
type Store interface {
	ActorStore
	PropertyStore
	PropertyLookupStore
	TrustStore
	PeerTrusteeStore
	SubscriptionStore
	SubscriptionDiffStore
	AttributeStore
	SuspensionStore
	SchemaManager
	// Describe names the store for people (backend, host, database/schema or prefix), never
	// with a password.
	Describe() string
	// Close releases connections.
	Close() error
}

// Conventions of the application face, decided once for both backends where upstream's
// backends disagree (§8.1):
//   - a single-record read of a missing row returns an error wrapping ErrNotFound;
//   - list reads return an empty (non-nil) collection when nothing matches;
//   - creates of an existing primary key return an error wrapping ErrExists (actors, peer
//     trustees, subscriptions, diffs), except CreateTrust, which upserts and keeps created_at;
//   - deletes of missing rows succeed (idempotent) unless a bool says otherwise;
//   - every other failure is returned as an error (never swallowed into "absent").

// ActorStore holds the actors table (§6.1).
type ActorStore interface {
	// GetActor reads one actor; ErrNotFound if absent.
	GetActor(ctx context.Context, id string) (Actor, error)
	// GetActorsByCreator returns the actors whose creator equals creator, lower-cased first when
	// it contains '@'. Ordered by id. Empty slice when none.
	GetActorsByCreator(ctx context.Context, creator string) ([]Actor, error)
	// CreateActor inserts an actor. The creator is lower-cased when it contains '@'. An empty id
	// or creator fails with ErrInvalid (DynamoDB refuses an empty creator-index key), an
	// existing id with ErrExists. PostgreSQL sets created_at to the current time.
	CreateActor(ctx context.Context, a Actor) error
	// ModifyActor replaces creator and/or passphrase; empty arguments leave the stored value.
	// ErrNotFound if the actor does not exist.
	ModifyActor(ctx context.Context, id, creator, passphrase string) error
	// DeleteActor deletes the actor row only (PostgreSQL's foreign key also removes its lookup
	// rows; DynamoDB's store removes them too). Use DeleteActorCascade for the whole actor.
	DeleteActor(ctx context.Context, id string) error
	// ListActors returns every actor (admin use; whole-table read), ordered by id, without
	// passphrases.
	ListActors(ctx context.Context) ([]Actor, error)
	// ListActorsPage returns at most limit actors (limit >= 1, else ErrInvalid) without
	// passphrases, those after the actor whose id is after ("" = from the start), and next:
	// the after of the following page, "" when there is none. Order: PostgreSQL, by id in the column's collation (the
	// primary-key index's order; byte order in a database with C collation); DynamoDB, the
	// table's scan order (by a hash of the id, not by id). Either way a walk from "" to
	// next == "" returns every actor that exists throughout the walk exactly once; actors
	// created or deleted meanwhile may or may not appear.
	ListActorsPage(ctx context.Context, after string, limit int) (actors []Actor, next string, err error)
}

// PropertyStore holds the properties table (§6.2, §6.3, §6.3a). Values are stored strings;
// callers serialise non-string values as upstream does (§6.2: JSON in Python's default style).
type PropertyStore interface {
	// GetProperty reads one value; ErrNotFound if absent (a stored empty string reads as absent
	// on DynamoDB upstream; here both backends return it as ErrNotFound as well).
	GetProperty(ctx context.Context, actorID, name string) (string, error)
	// SetProperty upserts a value; an empty value deletes the row. For an indexed name (lookup
	// mode on, name in INDEXED_PROPERTIES, not "list:") the lookup table is maintained: the old
	// value's row is removed if it points to this actor, a row for the new value is added
	// without overwriting another actor's row (a collision is logged, the write still
	// succeeds). On PostgreSQL it is one transaction, the lookup statements in a savepoint.
	SetProperty(ctx context.Context, actorID, name, value string) error
	// DeleteProperty deletes a row and, for an indexed name, its lookup row if owned by actorID.
	DeleteProperty(ctx context.Context, actorID, name string) error
	// GetActorIDFromProperty is the reverse lookup (§6.3). Lookup mode: ErrNotFound when the
	// name is not indexed, or the lookup row's owner no longer has the property; a pair without
	// lookup row goes through upstream's fallbacks (DynamoDB: v1 table, GSI property-index;
	// PostgreSQL: a scan of properties). Legacy mode: any name, through the properties table
	// (§2.4). ErrNotFound when nothing matches.
	GetActorIDFromProperty(ctx context.Context, name, value string) (string, error)
	// GetPropertyRange returns all rows with lower <= name <= upper in byte order (both
	// inclusive). keysOnly gives "" values.
	GetPropertyRange(ctx context.Context, actorID, lower, upper string, keysOnly bool) (map[string]string, error)
	// GetLastPropertyInRange returns the byte-greatest name in the inclusive range; ErrNotFound
	// when the range is empty.
	GetLastPropertyInRange(ctx context.Context, actorID, lower, upper string) (string, error)
	// CreatePropertyIfNotExists creates a row only if none exists; false when one exists or
	// value is empty. No lookup maintenance (§6.3).
	CreatePropertyIfNotExists(ctx context.Context, actorID, name, value string) (bool, error)
	// DeletePropertyIfValueEquals deletes only if the stored value equals value exactly.
	DeletePropertyIfValueEquals(ctx context.Context, actorID, name, value string) (bool, error)
	// SetPropertyIfValueEquals is compare-and-set; never creates a row.
	SetPropertyIfValueEquals(ctx context.Context, actorID, name, expected, value string) (bool, error)
	// BatchDeleteProperties deletes the named rows; unknown names are fine. No lookup maintenance.
	BatchDeleteProperties(ctx context.Context, actorID string, names []string) error
	// ListProperties returns all plain properties (names not starting with "list:").
	ListProperties(ctx context.Context, actorID string) (map[string]string, error)
	// ListAllProperties returns every row of the actor, list rows included.
	ListAllProperties(ctx context.Context, actorID string) (map[string]string, error)
	// DeleteAllProperties deletes every property row of the actor and the lookup rows of its
	// indexed names that point to it.
	DeleteAllProperties(ctx context.Context, actorID string) error
}

// PropertyLookupStore is direct access to the reverse-lookup table (§6.4, §5.4).
type PropertyLookupStore interface {
	// GetPropertyLookup returns the actor id owning (name, value); ErrNotFound if none.
	GetPropertyLookup(ctx context.Context, name, value string) (string, error)
	// CreatePropertyLookup inserts (name, value) -> actorID. Without overwrite an existing row
	// of the same actor is success and one of another actor returns false (collision).
	CreatePropertyLookup(ctx context.Context, name, value, actorID string, overwrite bool) (bool, error)
	// DeletePropertyLookup deletes the row of (name, value) whoever owns it.
	DeletePropertyLookup(ctx context.Context, name, value string) error
}

// TrustStore holds the trusts table (§6.5). Secrets are never logged.
type TrustStore interface {
	// GetTrust reads a trust by peer id; ErrNotFound if absent.
	GetTrust(ctx context.Context, actorID, peerID string) (Trust, error)
	// GetTrustBySecret returns the actor's trust whose secret equals secret; ErrNotFound if none.
	GetTrustBySecret(ctx context.Context, actorID, secret string) (Trust, error)
	// CreateTrust writes a trust, replacing an existing one but keeping its created_at (§8.1).
	// created_at defaults to now, last_accessed to created_at, last_connected_via to the
	// canonical form of established_via. An empty id, peer id or secret fails with ErrInvalid.
	CreateTrust(ctx context.Context, t Trust) error
	// ModifyTrust applies the non-nil fields of u. ErrNotFound if the trust does not exist.
	ModifyTrust(ctx context.Context, actorID, peerID string, u TrustUpdate) error
	// DeleteTrust deletes one trust.
	DeleteTrust(ctx context.Context, actorID, peerID string) error
	// IsTokenInDB reports whether any trust of the actor has secret == token.
	IsTokenInDB(ctx context.Context, actorID, token string) (bool, error)
	// ListTrusts returns the actor's trusts ordered by peer id (byte order).
	ListTrusts(ctx context.Context, actorID string) ([]Trust, error)
	// DeleteAllTrusts deletes every trust of the actor.
	DeleteAllTrusts(ctx context.Context, actorID string) error
}

// TrustUpdate lists trust fields to change; nil leaves a field as stored. BaseURI, Secret, Desc
// and VerificationToken are applied only when non-empty (§6.5); LastConnectedVia is
// canonicalised (CanonicalConnectionMethod).
type TrustUpdate struct {
	BaseURI, Secret, Desc, VerificationToken                 *string
	Approved, PeerApproved, Verified                         *bool
	PeerIdentifier, EstablishedVia, LastConnectedVia         *string
	ClientName, ClientVersion, ClientPlatform, OAuthClientID *string
	AWSupported, AWVersion                                   *string
	CreatedAt, LastAccessed, CapabilitiesFetchedAt           *time.Time
}

// Apply sets on t the fields u changes, under the rules above (a LastConnectedVia that
// canonicalises to "" sets nil), and returns their names in the trusts model's order
// (Model(TableTrusts)): the columns an UPDATE sets, the attributes an UpdateItem sets (or
// removes, where the value is nil). Stores apply u to a zero Trust and write those fields.
func (u TrustUpdate) Apply(t *Trust) []string {
	set := map[string]bool{}
	str := func(name string, dst **string, v *string, nonEmpty bool) {
		if v != nil && (!nonEmpty || *v != "") {
			s := *v
			*dst, set[name] = &s, true
		}
	}
	boolean := func(name string, dst *bool, v *bool) {
		if v != nil {
			*dst, set[name] = *v, true
		}
	}
	tm := func(name string, dst **time.Time, v *time.Time) {
		if v != nil {
			x := NormalizeTime(*v)
			*dst, set[name] = &x, true
		}
	}
	if u.BaseURI != nil && *u.BaseURI != "" {
		t.BaseURI, set["baseuri"] = *u.BaseURI, true
	}
	if u.Secret != nil && *u.Secret != "" {
		t.Secret, set["secret"] = *u.Secret, true
	}
	str("desc", &t.Desc, u.Desc, true)
	str("verification_token", &t.VerificationToken, u.VerificationToken, true)
	boolean("approved", &t.Approved, u.Approved)
	boolean("peer_approved", &t.PeerApproved, u.PeerApproved)
	boolean("verified", &t.Verified, u.Verified)
	str("peer_identifier", &t.PeerIdentifier, u.PeerIdentifier, false)
	str("established_via", &t.EstablishedVia, u.EstablishedVia, false)
	if u.LastConnectedVia != nil {
		t.LastConnectedVia, set["last_connected_via"] = nil, true
		if c := CanonicalConnectionMethod(*u.LastConnectedVia); c != "" {
			t.LastConnectedVia = &c
		}
	}
	str("client_name", &t.ClientName, u.ClientName, false)
	str("client_version", &t.ClientVersion, u.ClientVersion, false)
	str("client_platform", &t.ClientPlatform, u.ClientPlatform, false)
	str("oauth_client_id", &t.OAuthClientID, u.OAuthClientID, false)
	str("aw_supported", &t.AWSupported, u.AWSupported, false)
	str("aw_version", &t.AWVersion, u.AWVersion, false)
	tm("created_at", &t.CreatedAt, u.CreatedAt)
	tm("last_accessed", &t.LastAccessed, u.LastAccessed)
	tm("capabilities_fetched_at", &t.CapabilitiesFetchedAt, u.CapabilitiesFetchedAt)
	var names []string
	for _, f := range Model(TableTrusts).Fields {
		if set[f.Name] {
			names = append(names, f.Name)
		}
	}
	return names
}

// PeerTrusteeStore holds the peertrustees table (§6.6).
type PeerTrusteeStore interface {
	// GetPeerTrustee reads by peer id; ErrNotFound if absent.
	GetPeerTrustee(ctx context.Context, actorID, peerID string) (PeerTrustee, error)
	// GetPeerTrusteeByType reads the single peer trustee of a type: ErrNotFound if none,
	// ErrAmbiguous if several.
	GetPeerTrusteeByType(ctx context.Context, actorID, peerType string) (PeerTrustee, error)
	// CreatePeerTrustee inserts; ErrExists if the key exists (§8.1: decided once, as PostgreSQL).
	CreatePeerTrustee(ctx context.Context, p PeerTrustee) error
	// ModifyPeerTrustee applies non-empty arguments. ErrNotFound if absent.
	ModifyPeerTrustee(ctx context.Context, actorID, peerID, peerType, baseURI, passphrase string) error
	DeletePeerTrustee(ctx context.Context, actorID, peerID string) error
	// ListPeerTrustees returns the actor's peer trustees ordered by peer id.
	ListPeerTrustees(ctx context.Context, actorID string) ([]PeerTrustee, error)
	DeleteAllPeerTrustees(ctx context.Context, actorID string) error
}

// SubscriptionStore holds the subscriptions table (§6.7).
type SubscriptionStore interface {
	// GetSubscription reads the row keyed peerID + ":" + subID; ErrNotFound if absent.
	GetSubscription(ctx context.Context, actorID, peerID, subID string) (Subscription, error)
	// CreateSubscription inserts; PeerSubID is built from PeerID and SubID when empty; empty
	// optional strings are stored as absent/NULL; ErrExists if the key exists.
	CreateSubscription(ctx context.Context, s Subscription) error
	// ModifySubscription applies u to the row keyed peerID:subID (the key never changes).
	ModifySubscription(ctx context.Context, actorID, peerID, subID string, u SubscriptionUpdate) error
	DeleteSubscription(ctx context.Context, actorID, peerID, subID string) error
	// ListSubscriptions returns the actor's subscriptions ordered by peer_sub_id (byte order).
	ListSubscriptions(ctx context.Context, actorID string) ([]Subscription, error)
	DeleteAllSubscriptions(ctx context.Context, actorID string) error
}

// SubscriptionUpdate lists subscription fields to change: strings only when non-empty, Seqnr
// and Callback when non-nil (§6.7).
type SubscriptionUpdate struct {
	Granularity, Target, Subtarget, Resource *string
	Seqnr                                    *int64
	Callback                                 *bool
}

// SubscriptionDiffStore holds the subscription diff table (§6.8).
type SubscriptionDiffStore interface {
	// AddDiff hands out the next sequence number of subscription peerID:subID and stores the
	// diff under it with the current time: it increments the subscription's seqnr and writes
	// the diff atomically (PostgreSQL: one transaction; DynamoDB: TransactWriteItems with a
	// condition on the old seqnr, retried), so concurrent writers never share a number.
	// ErrNotFound if the subscription does not exist.
	AddDiff(ctx context.Context, actorID, peerID, subID, diff string) (SubscriptionDiff, error)
	// CreateDiff writes one diff as given (SubIDSeqnr built when empty, Timestamp now when zero);
	// ErrExists if the key exists.
	CreateDiff(ctx context.Context, d SubscriptionDiff) error
	// GetDiff reads the diff subID:seqnr; ErrNotFound if absent.
	GetDiff(ctx context.Context, actorID, subID string, seqnr int64) (SubscriptionDiff, error)
	// GetLowestDiff returns the subscription's diff with the lowest seqnr; ErrNotFound if none.
	GetLowestDiff(ctx context.Context, actorID, subID string) (SubscriptionDiff, error)
	// DeleteDiff deletes one diff.
	DeleteDiff(ctx context.Context, actorID, subID string, seqnr int64) error
	// ListDiffs returns the actor's diffs, of one subscription when subID != "" (exact match),
	// ordered by subid then numeric seqnr.
	ListDiffs(ctx context.Context, actorID, subID string) ([]SubscriptionDiff, error)
	// ListDiffsPage returns at most limit diffs (limit >= 1, else ErrInvalid) of the one
	// subscription subID of the actor (exact match; "" gives an empty page), ordered by
	// numeric seqnr, those with seqnr > after (0 = from the first: AddDiff numbers from 1;
	// diffs with a negative seqnr are never listed), and next: the after of the following
	// page (the last seqnr returned), 0 when there is none.
	ListDiffsPage(ctx context.Context, actorID, subID string, after int64, limit int) (diffs []SubscriptionDiff, next int64, err error)
	// DeleteDiffs deletes diffs with seqnr <= upTo (inclusive) of one subscription (or all of
	// the actor when subID == ""); upTo <= 0 deletes all of them. Returns rows deleted.
	DeleteDiffs(ctx context.Context, actorID, subID string, upTo int64) (int64, error)
}

// AttributeStore holds the attributes table (§6.9). Buckets are matched exactly on both
// backends (§8.1), never by prefix.
type AttributeStore interface {
	// GetBucket returns the bucket's attributes by name (no expiry filtering).
	GetBucket(ctx context.Context, ownerID, bucket string) (map[string]Attribute, error)
	// GetBucketPage returns at most limit attributes (limit >= 1, else ErrInvalid) of the
	// bucket (exact match, no expiry filtering), ordered by name in byte order, those whose
	// name is greater than after ("" = from the first), and next: the after of the following
	// page (the last name returned), "" when there is none.
	GetBucketPage(ctx context.Context, ownerID, bucket, after string, limit int) (attrs []Attribute, next string, err error)
	// GetAttribute reads one attribute (no expiry filtering); ErrNotFound if absent.
	GetAttribute(ctx context.Context, ownerID, bucket, name string) (Attribute, error)
	// GetAttributeStrict is GetAttribute with expired rows reported as ErrNotFound.
	GetAttributeStrict(ctx context.Context, ownerID, bucket, name string) (Attribute, error)
	// SetAttribute replaces the attribute. Falsy data (nil, null, "", 0, false, [], {}) deletes
	// it (§6.9). ttl > 0 sets ttl_timestamp = now + ttl + TTLClockSkewBuffer seconds; ttl == 0
	// makes the row permanent. ts may be nil.
	SetAttribute(ctx context.Context, ownerID, bucket, name string, data json.RawMessage, ts *time.Time, ttl time.Duration) error
	// DeleteAttribute deletes the attribute (idempotent).
	DeleteAttribute(ctx context.Context, ownerID, bucket, name string) error
	// DeleteAttributeConditional returns true only if this call removed an existing row.
	DeleteAttributeConditional(ctx context.Context, ownerID, bucket, name string) (bool, error)
	// ConditionalUpdateAttribute stores newData (even falsy) only if the stored payload equals
	// oldData as JSON (key order irrelevant). ts nil leaves the stored timestamp unchanged
	// (§8.1). TTL untouched. false when the row is missing or differs.
	ConditionalUpdateAttribute(ctx context.Context, ownerID, bucket, name string, oldData, newData json.RawMessage, ts *time.Time) (bool, error)
	// DeleteBucket deletes a whole bucket (exact match).
	DeleteBucket(ctx context.Context, ownerID, bucket string) error
	// DeleteExpiredAttributes purges rows with ttl_timestamp < now, optionally only in the listed
	// buckets; returns rows deleted. (DynamoDB relies on native TTL upstream; here it deletes
	// too, by scan, so TTL cleanup works on both.)
	DeleteExpiredAttributes(ctx context.Context, now time.Time, buckets []string) (int64, error)
	// DeleteAttributesByChain deletes rows in the listed buckets whose payload is an object with
	// chain_id equal to chainID; returns rows deleted.
	DeleteAttributesByChain(ctx context.Context, ownerID string, buckets []string, chainID string) (int64, error)
	// ListAttributes returns every attribute of the owner: bucket -> name -> attribute.
	ListAttributes(ctx context.Context, ownerID string) (map[string]map[string]Attribute, error)
	// BucketTimestamps returns, per bucket, the greatest timestamp (buckets without any
	// timestamp are omitted).
	BucketTimestamps(ctx context.Context, ownerID string) (map[string]time.Time, error)
	// DeleteAllAttributes deletes every attribute of the owner.
	DeleteAllAttributes(ctx context.Context, ownerID string) error
}

// SuspensionStore holds the subscription suspension table (§6.10). Subtarget "" means none.
type SuspensionStore interface {
	// IsSuspended: without subtarget, is the whole target suspended; with one, is the target or
	// that exact subtarget suspended.
	IsSuspended(ctx context.Context, actorID, target, subtarget string) (bool, error)
	// Suspend records a suspension now; false if that exact key already existed.
	Suspend(ctx context.Context, actorID, target, subtarget string) (bool, error)
	// Resume removes that exact key; false if there was none.
	Resume(ctx context.Context, actorID, target, subtarget string) (bool, error)
	// ListSuspensions returns the actor's suspensions ordered by target, subtarget.
	ListSuspensions(ctx context.Context, actorID string) ([]SubscriptionSuspension, error)
	// DeleteAllSuspensions deletes every suspension of the actor.
	DeleteAllSuspensions(ctx context.Context, actorID string) error
}

// SchemaManager manages the physical schema: PostgreSQL tables at Alembic head, DynamoDB
// tables with their GSIs, billing mode and TTL.
type SchemaManager interface {
	// SchemaStatus reports the current state without changing anything.
	SchemaStatus(ctx context.Context) (SchemaStatus, error)
	// UpgradeSchema creates or upgrades the schema to head and returns the new state. A
	// PostgreSQL database built by Alembic below head gets the missing steps; one in an
	// unknown state is refused with ErrSchema naming what was found.
	UpgradeSchema(ctx context.Context) (SchemaStatus, error)
	// CheckSchema returns nil when the schema is at head and every table exists, else an error
	// wrapping ErrSchema that says what is missing and to run `actingweb schema upgrade`.
	CheckSchema(ctx context.Context) error
}

// SchemaStatus describes a schema.
type SchemaStatus struct {
	Backend  string   // "postgresql" or "dynamodb"
	Location string   // schema or table prefix
	Version  string   // PostgreSQL: alembic_version (""= none); DynamoDB: ""
	Head     string   // PostgreSQL: AlembicHead
	AtHead   bool     // ready for use
	Tables   []string // existing tables (physical names)
	Missing  []string // missing tables or steps
	Notes    []string // anything else worth saying (e.g. TTL disabled, PROVISIONED billing)
}
