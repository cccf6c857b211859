package actingweb

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Record is one row of one of the nine tables in the canonical, backend-neutral form: the
// form rows take on the table face of a store, in bundle files (one JSON object per line, the
// JSON names below) and in validation. Field names are the physical column names shared by
// both backends; the owner is always "id" (actor_id for the lookup table). Timestamps are UTC
// with microsecond precision; optional values are nil pointers (SQL NULL, DynamoDB absent).
type Record interface {
	// Table is the table the record belongs to.
	Table() Table
	// Key is the primary key as stored (composite keys verbatim, never rebuilt from parts),
	// its parts joined by KeySep. It identifies the row within its table on both backends.
	Key() string
	// Owner is the owning actor id, or a reserved _actingweb_* id.
	Owner() string
}

// KeySep joins the parts of Record.Key.
const KeySep = "\x1f"

// NewRecord returns an empty record of table t for decoding, or nil for an unknown table.
func NewRecord(t Table) Record {
	switch t {
	case TableActors:
		return &Actor{}
	case TableProperties:
		return &Property{}
	case TablePropertyLookup:
		return &PropertyLookup{}
	case TableAttributes:
		return &Attribute{}
	case TableTrusts:
		return &Trust{}
	case TablePeerTrustees:
		return &PeerTrustee{}
	case TableSubscriptions:
		return &Subscription{}
	case TableSubscriptionDiffs:
		return &SubscriptionDiff{}
	case TableSubscriptionSuspensions:
		return &SubscriptionSuspension{}
	}
	return nil
}

// Actor is a row of the actors table (§3.3, §4.2).
type Actor struct {
	ID         string `json:"id"`
	Creator    string `json:"creator"`    // e-mail (lower-cased when it contains '@') or free text
	Passphrase string `json:"passphrase"` // basic-auth secret: never logged
	// CreatedAt exists only in PostgreSQL (set to NOW() on create, never read back, §5.3);
	// DynamoDB drops it, validation ignores it.
	CreatedAt *time.Time `json:"created_at,omitempty"`
}

// Property is a row of the properties table (§3.4): value is an opaque string, copied
// byte-for-byte; list-property rows use the "list:" name namespace (§6.13).
type Property struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

// PropertyLookup is a reverse-lookup row (§3.5, §5.4). PostgreSQL stores the value in clear
// text; DynamoDB stores only LookupKey, the SHA-256 digest of name, a NUL byte and value. Value
// is therefore nil on rows read from DynamoDB; LookupKey is always set.
type PropertyLookup struct {
	PropertyName string  `json:"property_name"`
	Value        *string `json:"value,omitempty"`
	LookupKey    string  `json:"lookup_key"`
	ActorID      string  `json:"actor_id"`
}

// NewPropertyLookup builds the lookup row of (name, value) owned by actorID, digest included.
func NewPropertyLookup(name, value, actorID string) PropertyLookup {
	v := value
	return PropertyLookup{PropertyName: name, Value: &v, LookupKey: LookupKey(name, value), ActorID: actorID}
}

// Attribute is a row of the attributes table (§3.7). BucketName (bucket + ":" + name) is the
// stored key, carried verbatim; Bucket and Name are carried separately because names contain ':'.
type Attribute struct {
	ID         string `json:"id"`
	BucketName string `json:"bucket_name"`
	Bucket     string `json:"bucket"`
	Name       string `json:"name"`
	// Data is the JSON payload, nil when absent (SQL NULL / no DynamoDB attribute). Falsy
	// payloads (0, false, "", [], {}) are data and never turned into nil (§5.3).
	Data      json.RawMessage `json:"data,omitempty"`
	Timestamp *time.Time      `json:"timestamp,omitempty"`
	// TTLTimestamp is the expiry in Unix epoch seconds; nil = never expires.
	TTLTimestamp *int64 `json:"ttl_timestamp,omitempty"`
}

// Expired reports whether the attribute has expired at now under the strict-read rule
// (ttl_timestamp set and <= now, §6.9).
func (a Attribute) Expired(now time.Time) bool {
	return a.TTLTimestamp != nil && *a.TTLTimestamp <= now.Unix()
}

// Trust is a row of the trusts table (§3.8). Secret is a bearer secret: never logged.
type Trust struct {
	ID                    string     `json:"id"`
	PeerID                string     `json:"peerid"`
	BaseURI               string     `json:"baseuri"`
	Type                  string     `json:"type"`
	Relationship          string     `json:"relationship"`
	Secret                string     `json:"secret"`
	Desc                  *string    `json:"desc,omitempty"` // NULL allowed in PostgreSQL only; "" on DynamoDB
	Approved              bool       `json:"approved"`
	PeerApproved          bool       `json:"peer_approved"`
	Verified              bool       `json:"verified"`
	VerificationToken     *string    `json:"verification_token,omitempty"` // as Desc
	PeerIdentifier        *string    `json:"peer_identifier,omitempty"`
	EstablishedVia        *string    `json:"established_via,omitempty"`
	CreatedAt             *time.Time `json:"created_at,omitempty"`
	LastAccessed          *time.Time `json:"last_accessed,omitempty"`
	LastConnectedVia      *string    `json:"last_connected_via,omitempty"`
	ClientName            *string    `json:"client_name,omitempty"`
	ClientVersion         *string    `json:"client_version,omitempty"`
	ClientPlatform        *string    `json:"client_platform,omitempty"`
	OAuthClientID         *string    `json:"oauth_client_id,omitempty"`
	AWSupported           *string    `json:"aw_supported,omitempty"`
	AWVersion             *string    `json:"aw_version,omitempty"`
	CapabilitiesFetchedAt *time.Time `json:"capabilities_fetched_at,omitempty"`
}

// PeerTrustee is a row of the peertrustees table (§3.9). Passphrase is a credential: never logged.
type PeerTrustee struct {
	ID         string `json:"id"`
	PeerID     string `json:"peerid"`
	BaseURI    string `json:"baseuri"`
	Type       string `json:"type"`
	Passphrase string `json:"passphrase"`
}

// Subscription is a row of the subscriptions table (§3.10). PeerSubID (peerid + ":" + subid)
// is the stored key, carried verbatim even when it disagrees with PeerID and SubID (§5.1).
type Subscription struct {
	ID          string  `json:"id"`
	PeerSubID   string  `json:"peer_sub_id"`
	PeerID      string  `json:"peerid"`
	SubID       string  `json:"subid"`
	Granularity *string `json:"granularity,omitempty"`
	Target      *string `json:"target,omitempty"`
	Subtarget   *string `json:"subtarget,omitempty"`
	Resource    *string `json:"resource,omitempty"`
	// Seqnr is the number of the last diff handed out; 0 on creation (§6.8).
	Seqnr    int64 `json:"seqnr"`
	Callback bool  `json:"callback"`
}

// SubscriptionDiff is a row of the subscription diff table (§3.11). SubIDSeqnr
// (subid + ":" + decimal seqnr) is the stored key, carried verbatim.
type SubscriptionDiff struct {
	ID         string    `json:"id"`
	SubIDSeqnr string    `json:"subid_seqnr"`
	SubID      string    `json:"subid"`
	Timestamp  time.Time `json:"timestamp"`
	Diff       string    `json:"diff"`
	Seqnr      int64     `json:"seqnr"`
}

// SubscriptionSuspension is a row of the subscription suspension table (§3.12). Subtarget ""
// means a whole-target suspension (PostgreSQL stores ”; DynamoDB omits the attribute). The
// DynamoDB range key target_key is derived: see TargetKey.
type SubscriptionSuspension struct {
	ID          string    `json:"id"`
	Target      string    `json:"target"`
	Subtarget   string    `json:"subtarget"`
	SuspendedAt time.Time `json:"suspended_at"`
}

// TargetKey is the DynamoDB range key: target, or target + ":" + subtarget (§3.12).
func (s SubscriptionSuspension) TargetKey() string {
	if s.Subtarget == "" {
		return s.Target
	}
	return s.Target + ":" + s.Subtarget
}

// The table model of each record type (model.go): fields in PostgreSQL column order, then the
// fields that are not columns; the DynamoDB key attributes; the owner field.
var (
	_ = describe[Actor]("id", "", "id",
		col("id", "varchar(255)", func(r *Actor) any { return &r.ID }, pkey),
		col("creator", "varchar(255)", func(r *Actor) any { return &r.Creator }),
		col("passphrase", "text", func(r *Actor) any { return &r.Passphrase }, secret),
		col("created_at", "timestamp", func(r *Actor) any { return &r.CreatedAt }, ddbNone))
	_ = describe[Property]("id", "name", "id",
		col("id", "varchar(255)", func(r *Property) any { return &r.ID }, pkey),
		col("name", "text", func(r *Property) any { return &r.Name }, pkey), // text at head (§4.5 #7)
		col("value", "text", func(r *Property) any { return &r.Value }))
	_ = describe[PropertyLookup]("lookup_key", "", "actor_id",
		col("property_name", "varchar(255)", func(r *PropertyLookup) any { return &r.PropertyName }, pkey),
		col("value", "text", func(r *PropertyLookup) any { return &r.Value }, pkeyMayBeEmpty, ddbNone),
		col("actor_id", "varchar(255)", func(r *PropertyLookup) any { return &r.ActorID }, required),
		col("lookup_key", "", func(r *PropertyLookup) any { return &r.LookupKey }, required))
	_ = describe[Attribute]("id", "bucket_name", "id",
		col("id", "varchar(255)", func(r *Attribute) any { return &r.ID }, pkey),
		col("bucket_name", "varchar(255)", func(r *Attribute) any { return &r.BucketName }, pkey),
		col("bucket", "varchar(255)", func(r *Attribute) any { return &r.Bucket }),
		col("name", "varchar(255)", func(r *Attribute) any { return &r.Name }),
		col("data", "jsonb", func(r *Attribute) any { return &r.Data }, ddbPythonJSON),
		col("timestamp", "timestamp", func(r *Attribute) any { return &r.Timestamp }),
		col("ttl_timestamp", "bigint", func(r *Attribute) any { return &r.TTLTimestamp }))
	_ = describe[Trust]("id", "peerid", "id",
		col("id", "varchar(255)", func(r *Trust) any { return &r.ID }, pkey),
		col("peerid", "varchar(255)", func(r *Trust) any { return &r.PeerID }, pkey),
		col("baseuri", "text", func(r *Trust) any { return &r.BaseURI }),
		col("type", "varchar(255)", func(r *Trust) any { return &r.Type }),
		col("relationship", "varchar(255)", func(r *Trust) any { return &r.Relationship }),
		col("secret", "varchar(255)", func(r *Trust) any { return &r.Secret }, secret),
		col("desc", "text", func(r *Trust) any { return &r.Desc }, ddbNilAsEmpty),
		col("approved", "boolean", func(r *Trust) any { return &r.Approved }),
		col("peer_approved", "boolean", func(r *Trust) any { return &r.PeerApproved }),
		col("verified", "boolean", func(r *Trust) any { return &r.Verified }),
		col("verification_token", "varchar(255)", func(r *Trust) any { return &r.VerificationToken }, ddbNilAsEmpty, secret),
		col("peer_identifier", "varchar(255)", func(r *Trust) any { return &r.PeerIdentifier }),
		col("established_via", "varchar(255)", func(r *Trust) any { return &r.EstablishedVia }),
		col("created_at", "timestamp", func(r *Trust) any { return &r.CreatedAt }),
		col("last_accessed", "timestamp", func(r *Trust) any { return &r.LastAccessed }),
		col("last_connected_via", "varchar(255)", func(r *Trust) any { return &r.LastConnectedVia }),
		col("client_name", "varchar(255)", func(r *Trust) any { return &r.ClientName }),
		col("client_version", "varchar(255)", func(r *Trust) any { return &r.ClientVersion }),
		col("client_platform", "varchar(255)", func(r *Trust) any { return &r.ClientPlatform }),
		col("oauth_client_id", "varchar(255)", func(r *Trust) any { return &r.OAuthClientID }),
		col("aw_supported", "text", func(r *Trust) any { return &r.AWSupported }),
		col("aw_version", "varchar(50)", func(r *Trust) any { return &r.AWVersion }),
		col("capabilities_fetched_at", "timestamptz", func(r *Trust) any { return &r.CapabilitiesFetchedAt }))
	_ = describe[PeerTrustee]("id", "peerid", "id",
		col("id", "varchar(255)", func(r *PeerTrustee) any { return &r.ID }, pkey),
		col("peerid", "varchar(255)", func(r *PeerTrustee) any { return &r.PeerID }, pkey),
		col("baseuri", "text", func(r *PeerTrustee) any { return &r.BaseURI }),
		col("type", "varchar(255)", func(r *PeerTrustee) any { return &r.Type }),
		col("passphrase", "text", func(r *PeerTrustee) any { return &r.Passphrase }, secret))
	_ = describe[Subscription]("id", "peer_sub_id", "id",
		col("id", "varchar(255)", func(r *Subscription) any { return &r.ID }, pkey),
		col("peer_sub_id", "varchar(255)", func(r *Subscription) any { return &r.PeerSubID }, pkey),
		col("peerid", "varchar(255)", func(r *Subscription) any { return &r.PeerID }),
		col("subid", "varchar(255)", func(r *Subscription) any { return &r.SubID }),
		col("granularity", "varchar(255)", func(r *Subscription) any { return &r.Granularity }, ddbEmptyAbsent),
		col("target", "varchar(255)", func(r *Subscription) any { return &r.Target }, ddbEmptyAbsent),
		col("subtarget", "varchar(255)", func(r *Subscription) any { return &r.Subtarget }, ddbEmptyAbsent),
		col("resource", "varchar(255)", func(r *Subscription) any { return &r.Resource }, ddbEmptyAbsent),
		col("seqnr", "integer", func(r *Subscription) any { return &r.Seqnr }),
		col("callback", "boolean", func(r *Subscription) any { return &r.Callback }))
	_ = describe[SubscriptionDiff]("id", "subid_seqnr", "id",
		col("id", "varchar(255)", func(r *SubscriptionDiff) any { return &r.ID }, pkey),
		col("subid_seqnr", "varchar(255)", func(r *SubscriptionDiff) any { return &r.SubIDSeqnr }, pkey),
		col("subid", "varchar(255)", func(r *SubscriptionDiff) any { return &r.SubID }),
		col("timestamp", "timestamp", func(r *SubscriptionDiff) any { return &r.Timestamp }, required, absentIsNow),
		col("diff", "text", func(r *SubscriptionDiff) any { return &r.Diff }),
		col("seqnr", "integer", func(r *SubscriptionDiff) any { return &r.Seqnr }, absentOne))
	_ = describe[SubscriptionSuspension]("id", "target_key", "id",
		col("id", "varchar(255)", func(r *SubscriptionSuspension) any { return &r.ID }, pkey),
		col("target", "varchar(255)", func(r *SubscriptionSuspension) any { return &r.Target }, pkey),
		col("subtarget", "varchar(255)", func(r *SubscriptionSuspension) any { return &r.Subtarget }, pkeyMayBeEmpty, ddbEmptyAbsent),
		col("suspended_at", "timestamptz", func(r *SubscriptionSuspension) any { return &r.SuspendedAt }, required))
)

func (*Actor) Table() Table                  { return TableActors }
func (*Property) Table() Table               { return TableProperties }
func (*PropertyLookup) Table() Table         { return TablePropertyLookup }
func (*Attribute) Table() Table              { return TableAttributes }
func (*Trust) Table() Table                  { return TableTrusts }
func (*PeerTrustee) Table() Table            { return TablePeerTrustees }
func (*Subscription) Table() Table           { return TableSubscriptions }
func (*SubscriptionDiff) Table() Table       { return TableSubscriptionDiffs }
func (*SubscriptionSuspension) Table() Table { return TableSubscriptionSuspensions }

func (r *Actor) Key() string          { return r.ID }
func (r *Property) Key() string       { return r.ID + KeySep + r.Name }
func (r *PropertyLookup) Key() string { return r.LookupKey }
func (r *Attribute) Key() string      { return r.ID + KeySep + r.BucketName }
func (r *Trust) Key() string          { return r.ID + KeySep + r.PeerID }
func (r *PeerTrustee) Key() string    { return r.ID + KeySep + r.PeerID }
func (r *Subscription) Key() string   { return r.ID + KeySep + r.PeerSubID }
func (r *SubscriptionDiff) Key() string {
	return r.ID + KeySep + r.SubIDSeqnr
}
func (r *SubscriptionSuspension) Key() string {
	return r.ID + KeySep + r.Target + KeySep + r.Subtarget
}

func (r *Actor) Owner() string                  { return r.ID }
func (r *Property) Owner() string               { return r.ID }
func (r *PropertyLookup) Owner() string         { return r.ActorID }
func (r *Attribute) Owner() string              { return r.ID }
func (r *Trust) Owner() string                  { return r.ID }
func (r *PeerTrustee) Owner() string            { return r.ID }
func (r *Subscription) Owner() string           { return r.ID }
func (r *SubscriptionDiff) Owner() string       { return r.ID }
func (r *SubscriptionSuspension) Owner() string { return r.ID }

// KeyString renders a Record.Key for people: parts joined by ' / ', control, line-separator
// and bidirectional formatting characters escaped (Printable), so a key never splits a line
// or reorders what a terminal shows.
func KeyString(key string) string { return Printable(strings.ReplaceAll(key, KeySep, " / ")) }

// Drift describes a composite key that disagrees with the fields it was built from
// (bucket_name vs bucket:name, peer_sub_id vs peerid:subid, subid_seqnr vs subid:seqnr, §5.1),
// or "" when the key agrees. Drift is reported, never fixed: the key is carried as stored.
func Drift(r Record) string {
	// compared in place: Drift runs for every row a migration moves
	switch r := r.(type) {
	case *Attribute:
		if !isJoined(r.BucketName, r.Bucket, r.Name) {
			return fmt.Sprintf("bucket_name %q differs from bucket:name %q", r.BucketName, r.Bucket+":"+r.Name)
		}
	case *Subscription:
		if !isJoined(r.PeerSubID, r.PeerID, r.SubID) {
			return fmt.Sprintf("peer_sub_id %q differs from peerid:subid %q", r.PeerSubID, r.PeerID+":"+r.SubID)
		}
	case *SubscriptionDiff:
		var b [20]byte
		seq := strconv.AppendInt(b[:0], r.Seqnr, 10)
		if s, a := r.SubIDSeqnr, r.SubID; !(len(s) == len(a)+1+len(seq) && s[:len(a)] == a && s[len(a)] == ':' && s[len(a)+1:] == string(seq)) {
			return fmt.Sprintf("subid_seqnr %q differs from subid:seqnr %q", r.SubIDSeqnr, r.SubID+":"+string(seq))
		}
	}
	return ""
}

// isJoined reports whether s == a + ":" + b, without building the right side.
func isJoined(s, a, b string) bool {
	return len(s) == len(a)+1+len(b) && s[:len(a)] == a && s[len(a)] == ':' && s[len(a)+1:] == b
}
