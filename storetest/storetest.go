// Package storetest is the contract suite every bulk.Backend backend must pass: the
// application face of docs/storage-model.md §6 with the conventions decided in §8.1 and in the comment
// at the top of store.go, plus the basics of the table face (WriteBatch, Scan, Count) and of
// schema management.
//
// A backend runs it from a test of its own:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) bulk.Backend { ... fresh, empty, upgraded store ... })
//	}
//
// open must return a fresh, empty, schema-ready store (its own schema or table prefix) and
// register its cleanup on t. Run calls it once per operation group (cases in a group use their
// own random actor ids) and once more for every case that needs a globally empty store
// (ListActors, Count, DeleteExpiredAttributes, RebuildPropertyLookup, the cascade, the table
// face).
//
// What the suite covers (group / cases):
//
//   - Schema: CheckSchema nil and SchemaStatus.AtHead after open; UpgradeSchema idempotent;
//     Describe non-empty.
//
//   - Actors (§6.1): create/get round trip; e-mail creators lower-cased, non-e-mail creators
//     (mixed case, unicode, RTL) untouched; Python str.lower() rules (final sigma, U+0130);
//     ErrNotFound on a missing id; ErrExists on a duplicate id (original kept); ErrInvalid on empty id or creator; GetActorsByCreator
//     (case-folded e-mail probe, exact non-e-mail probe, ordered by id, empty non-nil slice);
//     ModifyActor partial updates and ErrNotFound; DeleteActor idempotent and removing the
//     actor's lookup rows; ListActors ordered by id, no passphrases, empty non-nil slice.
//
//   - Properties (§6.2, §6.3, §6.3a): set/get/overwrite; ErrNotFound; empty value deletes;
//     unicode names and values (emoji, ZWJ sequences, combining characters, RTL); 100 KB value;
//     names containing ':'; GetPropertyRange inclusive byte-order bounds, list: rows, keysOnly,
//     empty range; GetLastPropertyInRange byte order and ErrNotFound; CreatePropertyIfNotExists
//     (new/existing/empty, no lookup maintenance); DeletePropertyIfValueEquals;
//     SetPropertyIfValueEquals (never creates); BatchDeleteProperties; ListProperties vs
//     ListAllProperties (list: exclusion exact); DeleteAllProperties with lookup rows and other
//     actors untouched; DeleteProperty idempotent.
//
//   - Lookup (§6.3, §6.4, §5.4): indexed SetProperty creates the row (case-sensitive value);
//     changing the value moves it; same value twice; another actor's same value is a collision
//     (first owner kept, the write succeeds); collider changing or deleting its value leaves the
//     first owner's row; DeleteProperty removes its own row only; empty value removes the row;
//     non-indexed names get no row and GetActorIDFromProperty gives ErrNotFound (even with a
//     lookup row under that name);
//     GetActorIDFromProperty ErrNotFound for a lookup row whose property is gone, a property
//     without lookup row found only with WithPropertyFallback (then also: smallest id of
//     several holders, name matched, a lookup row of an owner without the property hides the
//     fallback), and resolving a stale row while the property exists;
//     CreatePropertyLookup (new, idempotent same actor, collision, overwrite);
//     DeletePropertyLookup; unicode and 2 KB values; RebuildPropertyLookup counts (scanned,
//     written, existing, collisions), list: names excluded, idempotent, no values in samples,
//     orphans.
//
//   - Trusts (§6.5, §8.1): full round trip (CompareRecords); defaults (created_at now,
//     last_accessed = created_at, last_connected_via = canonical(established_via));
//     last_connected_via canonicalised on create; re-create keeps created_at; ErrInvalid on
//     empty id/peer id/secret; ErrNotFound; desc nil/"" equivalence; GetTrustBySecret (own
//     actor only); IsTokenInDB; ModifyTrust partial updates (empty strings ignored for
//     baseuri/secret/desc/verification_token, other optional strings cleared by "", booleans,
//     timestamps incl. created_at, LastConnectedVia canonicalisation "OAuth2_Interactive" ->
//     "oauth", " MCP " -> "mcp", unknown kept), ErrNotFound; DeleteTrust idempotent; ListTrusts byte order; DeleteAllTrusts scoped.
//
//   - PeerTrustees (§6.6): round trip; ErrNotFound; ErrExists (original kept);
//     GetPeerTrusteeByType single/none/ErrAmbiguous; ModifyPeerTrustee partial and
//     ErrNotFound; delete idempotent; list order; DeleteAllPeerTrustees scoped.
//
//   - Subscriptions (§6.7): round trip with PeerSubID built; optional "" stored as absent
//     (nil on read, also on the table face); ErrExists; keyed by peer_sub_id ("p:x"+"y" and
//     "p"+"x:y" are the same key); ModifySubscription partial updates, key unchanged,
//     ErrNotFound; delete idempotent; list in byte order of peer_sub_id; DeleteAll scoped.
//
//   - Diffs (§6.8, §8.1): AddDiff hands out 1, 2, 3 and bumps the subscription seqnr;
//     ErrNotFound on a missing subscription; 16 concurrent writers get exactly 1..N;
//     CreateDiff (key built, timestamp now or as given, ErrExists); GetDiff ErrNotFound;
//     GetLowestDiff numeric (10 vs 2) and exact subid (s vs s1), ErrNotFound; ListDiffs order
//     (subid, numeric seqnr) and exact filter; DeleteDiffs inclusive upper bound, upTo 0, whole
//     actor, counts, other subscriptions/actors untouched; DeleteDiff idempotent.
//
//   - Attributes (§6.9, §8.1): round trip (JSON semantic equality, exact numbers, timestamp at
//     microsecond precision); names containing ':' ("oauth_tokens:peer", "list:x:3"); exact bucket
//     semantics (foo vs foobar vs fo) for GetBucket and DeleteBucket; SetAttribute with falsy
//     data (nil, null, "", 0, false, [], {}) deletes, truthy look-alikes ("0", [0], {"a":null},
//     " ", 0.5) are kept; ConditionalUpdateAttribute (falsy new data kept as data, key order
//     irrelevant, mismatch/missing false, ts nil keeps timestamp, TTL untouched); TTL
//     arithmetic (now + ttl + 3600), rewrite without TTL (permanent) and without ts (timestamp
//     cleared); expired rows: GetAttribute returns
//     them, GetAttributeStrict ErrNotFound, DeleteExpiredAttributes purges (< now, bucket
//     filter, count); reserved _actingweb_* owners without actor row; DeleteAttribute
//     idempotent; DeleteAttributeConditional single use; DeleteAttributesByChain;
//     ListAttributes; BucketTimestamps (maximum, buckets without timestamp omitted);
//     DeleteAllAttributes scoped; unicode and 100 KB payloads.
//
//   - Suspensions (§6.10, §8.1): suspend/resume return values; target covers subtargets;
//     subtarget alone does not cover the target or other subtargets; resuming the target does
//     not lift a subtarget suspension; target prefixes (prop vs properties) are not matched;
//     ListSuspensions order and suspended_at; DeleteAllSuspensions scoped.
//
//   - Cascade (§6.12, §8.1): DeleteActorCascade removes every row of the actor in all nine
//     tables (suspensions and lookup rows included), writes the _actingweb_deleted tombstone
//     with its 30-day TTL, and leaves other actors and reserved owners untouched (row counts
//     per table before/after).
//
//   - TableFace: per table, WriteBatch then Scan round trip equal under CompareRecords, Count;
//     rows with an empty key are rejects (not errors) and the rest of the batch is written;
//     ConflictFail (ErrConflict), ConflictSkip (Skipped), ConflictOverwrite (replaced); Scan
//     paging with resumption by cursor; segmented scans disjoint and complete.
//
//   - Paged lists (parallel cases in Actors, Diffs, Attributes): ListActorsPage, ListDiffsPage
//     and GetBucketPage walked in pages smaller than the rows (25 actors by 7, 18 diffs with
//     seqnrs of 1 to 10 digits by 4, 23 attributes by 5): every row once, nothing else
//     (neighbouring subscriptions and buckets sharing the key prefix), pages full until the
//     last, next = the last key of the page and empty (0) exactly at the end, diffs in
//     numeric and attributes in byte order, an exclusive after; limit 0 is ErrInvalid.
//
//   - Concurrency (8 goroutines on one key): CreateActor, CreateSubscription,
//     CreatePeerTrustee, CreateDiff (one success, the rest ErrExists);
//     CreatePropertyIfNotExists, SetPropertyIfValueEquals, ConditionalUpdateAttribute,
//     DeleteAttributeConditional (exactly one true; the winner's value stored);
//     CreatePropertyLookup (same actor: all true; different actors: exactly one owner).
//
//   - Legacy lookup (RunLegacyLookup, USE_PROPERTY_LOOKUP_TABLE=false): any name resolves by
//     name and value, exact match; no lookup rows written; several holders give the smallest
//     id; changes, deletes, compare-and-set and the cascade are followed.
//
// Where store.go leaves room, the suite takes the reading closest to docs/storage-model.md §6/§8.1;
// each such decision is marked "Reading:" next to the case.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

// Opener returns a fresh, empty, schema-ready store whose cleanup is registered on t.
type Opener func(t *testing.T) bulk.Backend

// Groups lists the operation groups Run executes (one parallel t.Run each).
var Groups = []string{
	"Schema", "Actors", "Properties", "Lookup", "Trusts", "PeerTrustees", "Subscriptions",
	"Diffs", "Attributes", "Suspensions", "Cascade", "TableFace", "Concurrency",
}

// Option adapts the suite to a backend's documented differences.
type Option func(*options)

type options struct {
	propertyFallback bool
	groups           []string
}

// WithPropertyFallback states that the stores resolve an indexed property without lookup row
// through the properties table in lookup mode (§6.3, upstream's fallback: PostgreSQL always,
// DynamoDB when the properties table has the legacy GSI property-index). Without it the suite
// expects such a property not to be found.
func WithPropertyFallback() Option { return func(o *options) { o.propertyFallback = true } }

// OnlyGroups restricts Run to the named groups (of Groups).
func OnlyGroups(names ...string) Option { return func(o *options) { o.groups = names } }

// Run executes the whole contract suite against the stores open returns, its groups in
// parallel (each on stores of its own). The stores are in lookup mode with the default
// indexed names (DefaultLookupConfig); RunLegacyLookup covers legacy mode.
func Run(t *testing.T, open func(t *testing.T) bulk.Backend, opts ...Option) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	groups := map[string]func(*testing.T, Opener){
		"Schema":        testSchema,
		"Actors":        testActors,
		"Properties":    testProperties,
		"Lookup":        func(t *testing.T, open Opener) { testLookup(t, open, o) },
		"Trusts":        testTrusts,
		"PeerTrustees":  testPeerTrustees,
		"Subscriptions": testSubscriptions,
		"Diffs":         testDiffs,
		"Attributes":    testAttributes,
		"Suspensions":   testSuspensions,
		"Cascade":       testCascade,
		"TableFace":     testTableFace,
		"Concurrency":   testConcurrency,
	}
	names := Groups
	if o.groups != nil {
		names = o.groups
	}
	for _, name := range names {
		fn := groups[name]
		if fn == nil {
			t.Fatalf("storetest: unknown group %q", name)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel() // each group opens stores of its own
			fn(t, open)
		})
	}
}

// ---- helpers ----

func ctxOf(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newID returns a random 32-character lowercase hex id, like library-generated actor ids.
func newID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func ptr[T any](v T) *T { return &v }

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

// wantEmptySlice fails unless err is nil (call names the call) and got is an empty, non-nil
// slice, the "empty when none" contract of the list operations; what names the result.
func wantEmptySlice[T any](t *testing.T, got []T, err error, call, what string) {
	t.Helper()
	must(t, err, call)
	if got == nil || len(got) != 0 {
		t.Fatalf("%s = %#v, want an empty non-nil slice", what, got)
	}
}

// wantEmptyMap is wantEmptySlice for operations that return maps.
func wantEmptyMap[K comparable, V any](t *testing.T, got map[K]V, err error, call, what string) {
	t.Helper()
	must(t, err, call)
	if got == nil || len(got) != 0 {
		t.Fatalf("%s = %v, want an empty non-nil map", what, got)
	}
}

func mustBool(t *testing.T, got bool, err error, want bool, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func wantErr(t *testing.T, err, sentinel error, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got nil error, want one wrapping %q", what, sentinel)
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("%s: got error %q, want one wrapping %q", what, err, sentinel)
	}
}

func eq[T comparable](t *testing.T, got, want T, what string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %#v, want %#v", what, got, want)
	}
}

func deepEq(t *testing.T, got, want any, what string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s =\n  %#v\nwant\n  %#v", what, got, want)
	}
}

// sameRecord fails when CompareRecords finds any differing field.
func sameRecord(t *testing.T, got, want actingweb.Record, what string) {
	t.Helper()
	if d := actingweb.CompareRecords(got, want); len(d) > 0 {
		var b strings.Builder
		for _, f := range d {
			fmt.Fprintf(&b, "\n  %s: got %s, want %s", f.Field, f.A, f.B)
		}
		t.Fatalf("%s differs:%s", what, b.String())
	}
}

// jsonEq compares two JSON documents semantically (CanonicalJSON).
func jsonEq(t *testing.T, got, want json.RawMessage, what string) {
	t.Helper()
	if got == nil || want == nil {
		if (got == nil) != (want == nil) {
			t.Fatalf("%s = %s, want %s", what, strOrAbsent(got), strOrAbsent(want))
		}
		return
	}
	g, err := actingweb.CanonicalJSON(got)
	if err != nil {
		t.Fatalf("%s: stored payload %q is not JSON: %v", what, got, err)
	}
	w, err := actingweb.CanonicalJSON(want)
	if err != nil {
		t.Fatalf("%s: expected payload %q is not JSON: %v", what, want, err)
	}
	if string(g) != string(w) {
		t.Fatalf("%s = %s, want %s", what, got, want)
	}
}

func strOrAbsent(b []byte) string {
	if b == nil {
		return "<absent>"
	}
	return string(b)
}

// within fails unless got lies in [lo-slack, hi+slack].
func within(t *testing.T, got, lo, hi time.Time, what string) {
	t.Helper()
	const slack = 3 * time.Second
	if got.Before(lo.Add(-slack)) || got.After(hi.Add(slack)) {
		t.Fatalf("%s = %s, want between %s and %s", what, got.UTC().Format(time.RFC3339Nano),
			lo.UTC().Format(time.RFC3339Nano), hi.UTC().Format(time.RFC3339Nano))
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func createActor(t *testing.T, s bulk.Backend, id, creator string) {
	t.Helper()
	must(t, s.CreateActor(ctxOf(t), actingweb.Actor{ID: id, Creator: creator, Passphrase: "pw-" + id}), "CreateActor "+id)
}

// microTime returns a fixed UTC time with microsecond precision, offset by d.
func microTime(d time.Duration) time.Time {
	return time.Date(2025, 6, 1, 8, 0, 0, 123456000, time.UTC).Add(d)
}

// Unicode samples used in names and values.
const (
	uniEmoji     = "rocket 🚀 family 👨‍👩‍👧‍👦 flag 🇳🇴"
	uniCombining = "e\u0301 (e + combining acute) vs \u00e9, a\u030a, n\u0303"
	uniRTL       = "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 \u200fRTL\u200f"
	uniMixed     = "ünïcödé — 日本語 — Ελληνικά"
)

var unicodeSamples = []struct{ name, value string }{
	{"emoji", uniEmoji},
	{"combining", uniCombining},
	{"rtl", uniRTL},
	{"mixed", uniMixed},
}

func bigString(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[(i*7+i/64)%len(alphabet)]
	}
	return string(b)
}
