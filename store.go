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
	TableStore
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
	// RebuildPropertyLookup derives lookup rows from the properties table for the given names
	// (list: rows excluded): on a key already owned by another actor the first row is kept and a
	// collision counted; rows whose owner has no actor row are skipped on PostgreSQL (the
	// foreign key) and counted as orphans. Keys held by more than one actor are listed in
	// LookupRebuild.Contested, so a migration can give them the source's owner (upstream keeps
	// the first writer, which the properties table cannot tell). Idempotent.
	RebuildPropertyLookup(ctx context.Context, names []string) (LookupRebuild, error)
}

// MaxLookupContests caps LookupRebuild.Contested (about 200 bytes each, so at most ~20 MB);
// keys beyond it are counted in Collisions but not listed, and ContestedTruncated is set.
const MaxLookupContests = 100000

// LookupRebuild reports a RebuildPropertyLookup run.
type LookupRebuild struct {
	Scanned    int64    // property rows considered (indexed names only)
	Written    int64    // lookup rows created
	Existing   int64    // rows already present for the same actor
	Collisions int64    // rows owned by another actor (first kept)
	Orphans    int64    // owners without an actor row, skipped
	Samples    []string // first few collisions/orphans, "name / actor" (values never shown)
	// Contested lists the lookup keys that more than one actor contends for after the rebuild:
	// the row's owner (Kept) and every other actor whose property row holds the same value
	// (Others). It holds property values, which may be e-mail addresses: it is for the
	// migration engine only, never marshalled (json:"-"), printed or logged. At most
	// MaxLookupContests entries, ordered by property name and lookup key.
	Contested []LookupContest `json:"-"`
	// ContestedTruncated is true when more keys were contested than Contested lists.
	ContestedTruncated bool
}

// LookupFeed builds property lookup rows from property rows while they are being written, so a
// migration need not rescan the properties table afterwards (DynamoDB has no index on the
// property name: the rescan reads every property item). The rows it is given must be exactly
// the rows that were written to the properties table (a table that was empty when the feed
// started); its result is the LookupRebuild that RebuildPropertyLookup would report for the
// same rows. Add may be called from several goroutines and blocks while the feed's bounded
// queues are full; Close is called once, after the last Add, and waits for every lookup row to
// be written. After an error from Add, Close returns that error too.
type LookupFeed interface {
	// Add derives the lookup rows of the properties of indexed names (list: names ignored).
	Add(ctx context.Context, props []*Property) error
	// Close finishes the feed: every lookup row written, the counts final.
	Close() (LookupRebuild, error)
}

// LookupContest is one lookup key (property name, value) claimed by several actors (§5.4): Kept
// owns the lookup row now, Others hold the same value in their property rows (sorted, Kept
// excluded). Value is the property value in clear text: internal, never shown.
type LookupContest struct {
	PropertyName string
	Value        string
	LookupKey    string // LookupKey(PropertyName, Value)
	Kept         string
	Others       []string
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

// ConflictPolicy decides what a batch write does with a row whose primary key exists on the
// target.
type ConflictPolicy int

const (
	// ConflictFail refuses the batch with ErrConflict, naming the first existing key.
	ConflictFail ConflictPolicy = iota
	// ConflictSkip keeps the existing row and counts the new one as skipped.
	ConflictSkip
	// ConflictOverwrite replaces the existing row.
	ConflictOverwrite
)

// String returns fail, skip or overwrite.
func (p ConflictPolicy) String() string {
	switch p {
	case ConflictSkip:
		return "skip"
	case ConflictOverwrite:
		return "overwrite"
	}
	return "fail"
}

// ScanOptions shape a table scan.
type ScanOptions struct {
	// Segment and TotalSegments split the table into TotalSegments disjoint parts (a DynamoDB
	// parallel scan; PostgreSQL hashes the owner id). TotalSegments <= 1 scans everything.
	Segment, TotalSegments int
	// Cursor resumes after the position a previous Page.Cursor returned; "" starts at the top.
	Cursor string
	// PageSize is the number of rows per page (a hint; default 1000). Sources also end a page
	// once its rows hold about MaxPageBytes.
	PageSize int
	// Consistent asks DynamoDB for strongly consistent reads (§5.5 item 11).
	Consistent bool
	// AnyOrder says the caller takes the rows in any order, and can start the table again
	// from its top when a Cursor is refused with ErrStaleCursor. PostgreSQL then reads the
	// table in physical order (a sequential scan, as pg_dump does; 35-65 % less server CPU
	// than walking the primary-key index; docs/migration.md) and refuses every resumption of
	// such a scan with ErrStaleCursor: rows written since may lie on either side of a physical
	// position (postgres.Store.Scan). A caller must resume at page boundaries: a count of rows
	// to skip inside a page would pass over other rows once some were deleted. A key-order
	// Cursor resumes in key order, whatever AnyOrder says. DynamoDB scans are unordered anyway,
	// resume from any of their cursors and ignore it.
	AnyOrder bool
	// Retain says the caller keeps some records after it is done with their page (validate's
	// drill-down keeps the rows of the partitions that differ). Sources that share memory
	// between the records of a page (string chunks, record slabs: internal/arena) then give
	// each record its own, so a kept record does not keep its neighbours' memory alive.
	Retain bool
}

// MaxPageBytes is about the most a page of a scan holds (row bytes as stored or as read), so
// that PageSize rows of DynamoDB's 400 KB maximum do not hold gigabytes (DynamoDB ends its own
// pages at 1 MB). A page holds at least one row.
const MaxPageBytes = 4 << 20

// Page is one page of a table scan.
type Page struct {
	Records []Record
	// Rejects are rows read from the table that cannot be turned into canonical records
	// (e.g. a timestamp not in PynamoDB form, attribute data that is not JSON). They are
	// reported, never dropped silently.
	Rejects []Reject
	// Cursor is the resume position after this page (opaque, JSON-safe). Only the last page
	// may have an empty Cursor (the migrate engine reads an empty cursor with rows behind it
	// as the end of the segment).
	Cursor string
	// Last is true on the final page of the segment.
	Last bool
}

// Reject is a row that could not be read or written, with the reason.
type Reject struct {
	Table  Table
	Key    string // Record.Key when known
	Reason string
	Record Record // the canonical row when it could be built, else nil
	Raw    string // the physical row as text when Record is nil (secrets included: 0600 files only)
}

// WriteResult reports a batch write.
type WriteResult struct {
	Written int      // rows inserted or replaced
	Skipped int      // rows that existed (ConflictSkip)
	Rejects []Reject // rows the target cannot store (too long, too large, NUL, bad JSON, empty key)
}

// TableStore is the table face used to move data (architecture.md): stream every row, write
// batches with a conflict policy, count rows. Rows cross it in canonical form.
type TableStore interface {
	// Scan streams table t page by page to fn, in an order stable across resumptions (with
	// ScanOptions.AnyOrder, a resumption may instead fail with ErrStaleCursor). An error from
	// fn stops the scan and is returned.
	Scan(ctx context.Context, t Table, opts ScanOptions, fn func(Page) error) error
	// WriteBatch writes recs (all of table t) under policy. Rows the target cannot store are
	// returned as rejects, not as errors; the others are written. The batch is written
	// completely or, on error, the caller may retry it whole (writes are idempotent under skip
	// and overwrite). For the lookup table, recs without Value cannot be written to PostgreSQL
	// (rejected); use RebuildPropertyLookup.
	WriteBatch(ctx context.Context, t Table, recs []Record, policy ConflictPolicy) (WriteResult, error)
	// Count returns the number of rows in t (DynamoDB: a counting scan, exact).
	Count(ctx context.Context, t Table) (int64, error)
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

// Locker is implemented by stores that can hold a named lock for the length of a run, so that
// two migrations never write into the same store at once (PostgreSQL: a session advisory
// lock on a connection of its own; DynamoDB: a lease item in the bookkeeping table,
// renewed while the lock is held). name says what is locked ("migrate", or "migrate share K
// of N" for a scan shared between machines); holder describes the run for the refusal another
// run gets (host, pid, operation, start time; never a secret); runID names the run, so a
// resume of a run killed with SIGKILL takes over a lease the dead process still appears to
// hold instead of waiting for it to expire. A lock held by another run fails with an error
// wrapping ErrLocked that names its holder.
type Locker interface {
	Lock(ctx context.Context, name, holder, runID string) (Lock, error)
}

// Lock is a lock a Locker granted.
type Lock interface {
	// Lost is closed when the lock was lost while held (connection gone, lease taken over
	// after it expired); Err then says why.
	Lost() <-chan struct{}
	Err() error
	// Release gives the lock up; later calls do nothing.
	Release(ctx context.Context) error
}
