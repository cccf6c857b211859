package compat_test

// truth_test.go: the truth files of the upstream fixture (what upstream's read APIs returned,
// README.md of testdata/upstream-seed1) decoded strictly into typed records, and their
// conversion into canonical records (actingweb.Actor, ...) for the table-face checks and the
// write direction.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
)

// fixtureDir is the upstream fixture relative to this package's directory.
var fixtureDir = filepath.Join("..", "testdata", "upstream-seed1")

// Backend names as used in the truth files and in failure reports.
const (
	backendPG  = "postgresql"
	backendDDB = "dynamodb"
)

// truthMeta is the "meta" object of a truth file (only the fields the tests use).
type truthMeta struct {
	Backend        string           `json:"backend"`
	Format         string           `json:"format"`
	Counts         map[string]int   `json:"counts"`
	RawCounts      map[string]int64 `json:"raw_counts"`
	DeletedActorID []string         `json:"deleted_actor_ids"`
	Returning      []any            `json:"upstream_calls_returning_false"`
}

// Truth records, one type per table of the truth file. Field names are upstream's read-API
// names; the owner is always actor_id. Unknown fields fail the decoding, so a field of the
// fixture can never be ignored silently.

type tActor struct {
	ID          string `json:"id"`
	Creator     string `json:"creator"`
	Passphrase  string `json:"passphrase"`
	InActorList bool   `json:"in_actor_list"`
}

type tProperty struct {
	ActorID      string `json:"actor_id"`
	Name         string `json:"name"`
	Value        string `json:"value"`
	GetOK        bool   `json:"get_ok"`
	InPlainFetch bool   `json:"in_plain_fetch"`
}

type tLookup struct {
	ActorID         string `json:"actor_id"`
	PropertyName    string `json:"property_name"`
	Value           string `json:"value"`
	ReverseLookupOK bool   `json:"reverse_lookup_ok"`
}

type tAttribute struct {
	ActorID      string          `json:"actor_id"`
	Bucket       string          `json:"bucket"`
	Name         string          `json:"name"`
	Data         json.RawMessage `json:"data"`
	GetOK        bool            `json:"get_ok"`
	Timestamp    *string         `json:"timestamp"`
	TTLTimestamp *int64          `json:"ttl_timestamp"`
}

type tTrust struct {
	ActorID               string  `json:"actor_id"`
	PeerID                string  `json:"peerid"`
	BaseURI               string  `json:"baseuri"`
	Type                  string  `json:"type"`
	Relationship          string  `json:"relationship"`
	Secret                string  `json:"secret"`
	Desc                  *string `json:"desc"`
	Approved              bool    `json:"approved"`
	PeerApproved          bool    `json:"peer_approved"`
	Verified              bool    `json:"verified"`
	VerificationToken     *string `json:"verification_token"`
	PeerIdentifier        *string `json:"peer_identifier"`
	EstablishedVia        *string `json:"established_via"`
	CreatedAt             *string `json:"created_at"`
	LastAccessed          *string `json:"last_accessed"`
	LastConnectedAt       *string `json:"last_connected_at"` // derived by upstream's reader, not stored
	LastConnectedVia      *string `json:"last_connected_via"`
	ClientName            *string `json:"client_name"`
	ClientVersion         *string `json:"client_version"`
	ClientPlatform        *string `json:"client_platform"`
	OAuthClientID         *string `json:"oauth_client_id"`
	AWSupported           *string `json:"aw_supported"`
	AWVersion             *string `json:"aw_version"`
	CapabilitiesFetchedAt *string `json:"capabilities_fetched_at"`
	GetOK                 bool    `json:"get_ok"`
	SecretLookupPeerID    *string `json:"secret_lookup_peerid"`
	TokenInDB             bool    `json:"token_in_db"`
}

type tPeerTrustee struct {
	ActorID    string `json:"actor_id"`
	PeerID     string `json:"peerid"`
	BaseURI    string `json:"baseuri"`
	Type       string `json:"type"`
	Passphrase string `json:"passphrase"`
	GetOK      bool   `json:"get_ok"`
}

type tSubscription struct {
	ActorID            string `json:"actor_id"`
	PeerID             string `json:"peerid"`
	SubscriptionID     string `json:"subscriptionid"`
	Granularity        string `json:"granularity"`
	Target             string `json:"target"`
	Subtarget          string `json:"subtarget"`
	Resource           string `json:"resource"`
	Sequence           int64  `json:"sequence"`
	Callback           bool   `json:"callback"`
	GetOK              bool   `json:"get_ok"`
	LowestDiffSequence *int64 `json:"lowest_diff_sequence"`
}

type tDiff struct {
	ActorID        string `json:"actor_id"`
	SubscriptionID string `json:"subscriptionid"`
	Diff           string `json:"diff"`
	Sequence       int64  `json:"sequence"`
	Timestamp      string `json:"timestamp"`
	GetOK          bool   `json:"get_ok"`
}

type tSuspension struct {
	ActorID     string  `json:"actor_id"`
	Target      string  `json:"target"`
	Subtarget   *string `json:"subtarget"`
	SuspendedAt string  `json:"suspended_at"`
	IsSuspended bool    `json:"is_suspended"`
}

type tCreatorView struct {
	Creator string   `json:"creator"`
	Probe   string   `json:"probe"`
	IDs     []string `json:"ids"`
}

type tBucketView struct {
	ActorID string   `json:"actor_id"`
	Bucket  string   `json:"bucket"`
	Names   []string `json:"names"`
}

// tListView is what upstream's ListProperty returned. Only the item count is checked here
// (decoding list semantics is not the store's business); the other fields are declared so
// that strict decoding accepts them.
type tListView struct {
	ActorID     string            `json:"actor_id"`
	ListName    string            `json:"list_name"`
	Format      int               `json:"format"`
	Length      int               `json:"length"`
	Description string            `json:"description"`
	Explanation string            `json:"explanation"`
	Items       []json.RawMessage `json:"items"`
}

// truth is one decoded truth file.
type truth struct {
	Backend       string
	Meta          truthMeta
	Actors        []tActor
	Properties    []tProperty
	Lookups       []tLookup
	Attributes    []tAttribute
	Trusts        []tTrust
	PeerTrustees  []tPeerTrustee
	Subscriptions []tSubscription
	Diffs         []tDiff
	Suspensions   []tSuspension
	CreatorViews  []tCreatorView
	BucketViews   []tBucketView
	ListViews     []tListView
}

// truthTableNames maps the truth file's table names to the store's tables.
var truthTableNames = map[string]actingweb.Table{
	"actors":                   actingweb.TableActors,
	"properties":               actingweb.TableProperties,
	"property_lookups":         actingweb.TablePropertyLookup,
	"attributes":               actingweb.TableAttributes,
	"trusts":                   actingweb.TableTrusts,
	"peertrustees":             actingweb.TablePeerTrustees,
	"subscriptions":            actingweb.TableSubscriptions,
	"subscription_diffs":       actingweb.TableSubscriptionDiffs,
	"subscription_suspensions": actingweb.TableSubscriptionSuspensions,
}

// loadTruth decodes truth-<backend>.json strictly (unknown fields and tables fail) and checks
// its record counts against meta.counts.
func loadTruth(t testing.TB, backend string) *truth {
	t.Helper()
	path := filepath.Join(fixtureDir, "truth-"+backend+".json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var file struct {
		Meta   truthMeta                  `json:"meta"`
		Tables map[string]json.RawMessage `json:"tables"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	tr := &truth{Backend: backend, Meta: file.Meta}
	if file.Meta.Backend != backend || file.Meta.Format != "actingweb-upstream-truth/1" {
		t.Fatalf("%s: meta backend %q format %q, want %q actingweb-upstream-truth/1", path, file.Meta.Backend, file.Meta.Format, backend)
	}
	if len(file.Meta.Returning) != 0 {
		t.Fatalf("%s: upstream calls returned false while the fixture was written: %v", path, file.Meta.Returning)
	}
	targets := map[string]any{
		"actors": &tr.Actors, "properties": &tr.Properties, "property_lookups": &tr.Lookups,
		"attributes": &tr.Attributes, "trusts": &tr.Trusts, "peertrustees": &tr.PeerTrustees,
		"subscriptions": &tr.Subscriptions, "subscription_diffs": &tr.Diffs,
		"subscription_suspensions": &tr.Suspensions, "view_actors_by_creator": &tr.CreatorViews,
		"view_attribute_buckets": &tr.BucketViews, "view_list_properties": &tr.ListViews,
	}
	for name, body := range file.Tables {
		dst, ok := targets[name]
		if !ok {
			t.Fatalf("%s: unknown truth table %q (the compat tests must learn it)", path, name)
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(dst); err != nil {
			t.Fatalf("%s: table %s: %v", path, name, err)
		}
	}
	counts := map[string]int{
		"actors": len(tr.Actors), "properties": len(tr.Properties), "property_lookups": len(tr.Lookups),
		"attributes": len(tr.Attributes), "trusts": len(tr.Trusts), "peertrustees": len(tr.PeerTrustees),
		"subscriptions": len(tr.Subscriptions), "subscription_diffs": len(tr.Diffs),
		"subscription_suspensions": len(tr.Suspensions), "view_actors_by_creator": len(tr.CreatorViews),
		"view_attribute_buckets": len(tr.BucketViews), "view_list_properties": len(tr.ListViews),
	}
	for name, n := range counts {
		if n == 0 || file.Meta.Counts[name] != n {
			t.Fatalf("%s: table %s has %d records, meta.counts says %d", path, name, n, file.Meta.Counts[name])
		}
	}
	return tr
}

// parseTime parses a truth timestamp (ISO-8601 UTC with microseconds).
func parseTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("truth timestamp %q: %v", s, err)
	}
	return v.UTC()
}

func parseTimePtr(t testing.TB, s *string) *time.Time {
	if s == nil {
		return nil
	}
	v := parseTime(t, *s)
	return &v
}

func strPtr(s string) *string { return &s }

// nilIfEmpty turns "" into nil: the truth returns "" for both SQL NULL/absent and a stored
// empty string of the optional subscription strings (§6.7), so "" is taken as absent.
func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// records converts the truth into canonical records per table, deriving the composite keys
// from their parts (the fixture has no key drift: checked here).
func (tr *truth) records(t testing.TB) map[actingweb.Table][]actingweb.Record {
	t.Helper()
	out := map[actingweb.Table][]actingweb.Record{}
	add := func(r actingweb.Record) {
		if d := actingweb.Drift(r); d != "" {
			t.Fatalf("truth %s: %s %s: %s", tr.Backend, r.Table(), actingweb.KeyString(r.Key()), d)
		}
		out[r.Table()] = append(out[r.Table()], r)
	}
	for _, a := range tr.Actors {
		add(&actingweb.Actor{ID: a.ID, Creator: a.Creator, Passphrase: a.Passphrase})
	}
	for _, p := range tr.Properties {
		add(&actingweb.Property{ID: p.ActorID, Name: p.Name, Value: p.Value})
	}
	for _, l := range tr.Lookups {
		r := actingweb.NewPropertyLookup(l.PropertyName, l.Value, l.ActorID)
		add(&r)
	}
	for _, a := range tr.Attributes {
		r := &actingweb.Attribute{ID: a.ActorID, BucketName: a.Bucket + ":" + a.Name, Bucket: a.Bucket,
			Name: a.Name, Timestamp: parseTimePtr(t, a.Timestamp), TTLTimestamp: a.TTLTimestamp}
		if len(a.Data) > 0 && string(a.Data) != "null" {
			r.Data = append(json.RawMessage(nil), a.Data...)
		}
		add(r)
	}
	for _, x := range tr.Trusts {
		add(&actingweb.Trust{ID: x.ActorID, PeerID: x.PeerID, BaseURI: x.BaseURI, Type: x.Type,
			Relationship: x.Relationship, Secret: x.Secret, Desc: x.Desc, Approved: x.Approved,
			PeerApproved: x.PeerApproved, Verified: x.Verified, VerificationToken: x.VerificationToken,
			PeerIdentifier: x.PeerIdentifier, EstablishedVia: x.EstablishedVia,
			CreatedAt: parseTimePtr(t, x.CreatedAt), LastAccessed: parseTimePtr(t, x.LastAccessed),
			LastConnectedVia: x.LastConnectedVia, ClientName: x.ClientName, ClientVersion: x.ClientVersion,
			ClientPlatform: x.ClientPlatform, OAuthClientID: x.OAuthClientID, AWSupported: x.AWSupported,
			AWVersion: x.AWVersion, CapabilitiesFetchedAt: parseTimePtr(t, x.CapabilitiesFetchedAt)})
	}
	for _, p := range tr.PeerTrustees {
		add(&actingweb.PeerTrustee{ID: p.ActorID, PeerID: p.PeerID, BaseURI: p.BaseURI, Type: p.Type, Passphrase: p.Passphrase})
	}
	for _, s := range tr.Subscriptions {
		add(&actingweb.Subscription{ID: s.ActorID, PeerSubID: s.PeerID + ":" + s.SubscriptionID, PeerID: s.PeerID,
			SubID: s.SubscriptionID, Granularity: nilIfEmpty(s.Granularity), Target: nilIfEmpty(s.Target),
			Subtarget: nilIfEmpty(s.Subtarget), Resource: nilIfEmpty(s.Resource), Seqnr: s.Sequence, Callback: s.Callback})
	}
	for _, d := range tr.Diffs {
		add(&actingweb.SubscriptionDiff{ID: d.ActorID, SubIDSeqnr: d.SubscriptionID + ":" + strconv.FormatInt(d.Sequence, 10),
			SubID: d.SubscriptionID, Timestamp: parseTime(t, d.Timestamp), Diff: d.Diff, Seqnr: d.Sequence})
	}
	for _, s := range tr.Suspensions {
		sub := ""
		if s.Subtarget != nil {
			sub = *s.Subtarget
		}
		add(&actingweb.SubscriptionSuspension{ID: s.ActorID, Target: s.Target, Subtarget: sub, SuspendedAt: parseTime(t, s.SuspendedAt)})
	}
	for name, tab := range truthTableNames {
		if int64(len(out[tab])) != tr.Meta.RawCounts[name] {
			t.Fatalf("truth %s: %d %s records, meta.raw_counts says %d", tr.Backend, len(out[tab]), name, tr.Meta.RawCounts[name])
		}
	}
	return out
}

// secretFields lists the truth fields never printed in failure messages (brief: never log
// passphrases or trust secrets).
var secretFields = map[string]bool{"passphrase": true, "secret": true, "verification_token": true}

// mismatch reports one difference in the shape the final report uses: backend, table, key,
// field, expected, actual. Secret values are masked.
func mismatch(t testing.TB, backend, table, key, field string, want, got any) {
	t.Helper()
	w, g := render(want), render(got)
	if secretFields[field] {
		w, g = "<secret>", "<secret differs>"
	}
	t.Errorf("MISMATCH backend=%s table=%s key=%s field=%s\n\texpected: %s\n\tactual:   %s", backend, table, key, field, w, g)
}

// failure reports an operation that failed outright on a record.
func failure(t testing.TB, backend, table, key, op string, err error) {
	t.Helper()
	t.Errorf("FAILURE backend=%s table=%s key=%s op=%s: %v", backend, table, key, op, err)
}

func render(v any) string {
	switch x := v.(type) {
	case nil:
		return "<absent>"
	case *string:
		if x == nil {
			return "<absent>"
		}
		return strconv.Quote(*x)
	case string:
		return strconv.Quote(x)
	case *time.Time:
		if x == nil {
			return "<absent>"
		}
		return x.UTC().Format(time.RFC3339Nano)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case *int64:
		if x == nil {
			return "<absent>"
		}
		return strconv.FormatInt(*x, 10)
	case []byte:
		return string(x)
	case json.RawMessage:
		if x == nil {
			return "<absent>"
		}
		return string(x)
	case []string:
		return "[" + strings.Join(quoteAll(x), ", ") + "]"
	}
	return fmt.Sprint(v)
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

func sortedCopy(ss []string) []string {
	out := append([]string{}, ss...)
	sort.Strings(out)
	return out
}

func keyOf(parts ...string) string { return strings.Join(parts, " / ") }

// TestTruthFiles checks the fixture itself: both truth files decode strictly, agree with their
// meta counts, carry no composite-key drift, and their canonical records have unique keys.
func TestTruthFiles(t *testing.T) {
	for _, b := range []string{backendPG, backendDDB} {
		t.Run(b, func(t *testing.T) {
			tr := loadTruth(t, b)
			for tab, recs := range tr.records(t) {
				seen := map[string]bool{}
				for _, r := range recs {
					if seen[r.Key()] {
						t.Errorf("truth %s: table %s: duplicate key %s", b, tab, actingweb.KeyString(r.Key()))
					}
					seen[r.Key()] = true
				}
			}
		})
	}
}
