// Package benchdata generates the synthetic data set of the whole-run benchmark
// (scripts/bench.sh, cmd/awbench gen): actors with properties, attributes, trusts, a peer
// trustee, subscriptions, diffs and a suspension each, in realistic proportions, value sizes and
// character sets (unicode names, JSON payloads of a few hundred bytes), plus the property lookup
// rows of the indexed properties (email, oauthId) an export would carry and a few rows under
// reserved owners (_actingweb_*).
//
// The data set is deterministic: the rows of actor i depend only on the seed and i, so a table
// can be generated alone, in any order, and twice gives the same rows.
package benchdata

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
)

// Config sizes the data set. Per-actor counts apply to every actor.
type Config struct {
	Actors         int    // number of actors
	Properties     int    // properties per actor (>= 2: email and oauthId are always there)
	Attributes     int    // attributes per actor
	Trusts         int    // trusts per actor
	PeerTrustees   int    // peer trustees per actor
	Subscriptions  int    // subscriptions per actor
	Diffs          int    // subscription diffs per actor (spread over its subscriptions)
	Suspensions    int    // suspensions per actor
	ReservedOwners int    // attribute rows under reserved _actingweb_* owners (no actor row)
	Seed           uint64 // seed of the pseudo-random values
}

// FullActors is the number of actors of the full-scale data set (× 50 properties = 1,000,000
// property rows).
const FullActors = 20000

// Default returns the benchmark's data set at scale (1 = 20,000 actors × 50 properties =
// 1,000,000 property rows, ~1.5 million rows in all). The actor count is scaled and is at
// least 1.
func Default(scale float64) Config {
	n := int(float64(FullActors)*scale + 0.5)
	if n < 1 {
		n = 1
	}
	return Config{Actors: n, Properties: 50, Attributes: 10, Trusts: 3, PeerTrustees: 1,
		Subscriptions: 3, Diffs: 5, Suspensions: 1, ReservedOwners: max(10, n/100), Seed: 20250601}
}

// Validate reports a configuration the generator cannot honour.
func (c Config) Validate() error {
	switch {
	case c.Actors < 1:
		return fmt.Errorf("benchdata: %w: %d actors (need at least 1)", actingweb.ErrInvalid, c.Actors)
	case c.Properties < 2:
		return fmt.Errorf("benchdata: %w: %d properties per actor (need at least 2: email and oauthId)", actingweb.ErrInvalid, c.Properties)
	case c.Properties > len(propertyNames)+9999:
		return fmt.Errorf("benchdata: %w: %d properties per actor (at most %d)", actingweb.ErrInvalid, c.Properties, len(propertyNames)+9999)
	case c.Trusts > 64 || c.Subscriptions > 64:
		return fmt.Errorf("benchdata: %w: at most 64 trusts and 64 subscriptions per actor", actingweb.ErrInvalid)
	case c.Diffs > 0 && c.Subscriptions < 1:
		return fmt.Errorf("benchdata: %w: diffs need at least one subscription", actingweb.ErrInvalid)
	case c.Subscriptions > 0 && c.Trusts < 1:
		return fmt.Errorf("benchdata: %w: subscriptions need at least one trust (their peer)", actingweb.ErrInvalid)
	case c.Attributes < 0 || c.Trusts < 0 || c.PeerTrustees < 0 || c.Subscriptions < 0 || c.Diffs < 0 ||
		c.Suspensions < 0 || c.ReservedOwners < 0:
		return fmt.Errorf("benchdata: %w: negative count", actingweb.ErrInvalid)
	}
	return nil
}

// Rows returns the number of rows Table(t) generates.
func (c Config) Rows(t actingweb.Table) int64 {
	n := int64(c.Actors)
	switch t {
	case actingweb.TableActors:
		return n
	case actingweb.TableProperties:
		return n * int64(c.Properties)
	case actingweb.TablePropertyLookup:
		return n * 2
	case actingweb.TableAttributes:
		return n*int64(c.Attributes) + int64(c.ReservedOwners)
	case actingweb.TableTrusts:
		return n * int64(c.Trusts)
	case actingweb.TablePeerTrustees:
		return n * int64(c.PeerTrustees)
	case actingweb.TableSubscriptions:
		return n * int64(c.Subscriptions)
	case actingweb.TableSubscriptionDiffs:
		return n * int64(c.Diffs)
	case actingweb.TableSubscriptionSuspensions:
		return n * int64(c.Suspensions)
	}
	return 0
}

// TotalRows is the sum of Rows over the nine tables.
func (c Config) TotalRows() int64 {
	var s int64
	for _, t := range actingweb.Tables {
		s += c.Rows(t)
	}
	return s
}

// base is the instant the generated timestamps count from (microsecond precision, UTC).
var base = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)

// ttlBase is the epoch second the TTLs count from: far enough ahead that DynamoDB Local's TTL
// sweeper never deletes rows during a run.
var ttlBase = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

// ActorID is the id of actor i: 32 lower-case hex digits, as ActingWeb's uuid4().hex.
func (c Config) ActorID(i int) string {
	r := c.rng(i, "id")
	return fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64())
}

// rng returns the generator of actor i's rows of one kind.
func (c Config) rng(i int, kind string) *rand.Rand {
	var h uint64 = 14695981039346656037
	for _, b := range []byte(kind) {
		h = (h ^ uint64(b)) * 1099511628211
	}
	return rand.New(rand.NewPCG(c.Seed^h, uint64(i)*0x9E3779B97F4A7C15+1))
}

// Table emits every row of table t, actor by actor, to emit; an error from emit stops it.
func (c Config) Table(t actingweb.Table, emit func(actingweb.Record) error) error {
	if err := c.Validate(); err != nil {
		return err
	}
	gen := map[actingweb.Table]func(int, func(actingweb.Record) error) error{
		actingweb.TableActors:                  c.actor,
		actingweb.TableProperties:              c.properties,
		actingweb.TablePropertyLookup:          c.lookups,
		actingweb.TableAttributes:              c.attributes,
		actingweb.TableTrusts:                  c.trusts,
		actingweb.TablePeerTrustees:            c.peerTrustees,
		actingweb.TableSubscriptions:           c.subscriptions,
		actingweb.TableSubscriptionDiffs:       c.diffs,
		actingweb.TableSubscriptionSuspensions: c.suspensions,
	}[t]
	if gen == nil {
		return fmt.Errorf("benchdata: %w: %q", actingweb.ErrUnknownTable, t)
	}
	for i := 0; i < c.Actors; i++ {
		if err := gen(i, emit); err != nil {
			return err
		}
	}
	if t == actingweb.TableAttributes {
		return c.reserved(emit)
	}
	return nil
}

// Words and names with realistic character sets (ASCII, Latin accents, CJK, emoji).
var (
	firstNames = []string{"Anna", "Björn", "Chloé", "Dmitri", "Eitan", "Françoise", "Grete", "Hiroshi", "Ingrid",
		"José", "Kåre", "Łukasz", "Maëlle", "Nguyễn", "Øystein", "Priya", "Quentin", "Renée", "Søren", "Tomás",
		"Ülkü", "Vera", "Wojciech", "Xiùlán", "Yusuf", "Zoë", "美咲", "翔太", "Σοφία", "Алексей"}
	lastNames = []string{"Andersen", "Bäcker", "Castaño", "Dvořák", "Eriksen", "Fernández", "Grønli", "Håkonsen",
		"Ibáñez", "Jørgensen", "Kowalczyk", "Lindqvist", "Müller", "Nakamura", "O'Brien", "Pérez", "Quiñones",
		"Rasmussen", "Schröder", "Tanaka", "Ułanowski", "Vásquez", "Wiśniewski", "山田", "Παπαδόπουλος", "Иванов"}
	words = []string{"calendar", "meeting", "notes", "réunion", "projet", "Überblick", "größe", "café", "naïve",
		"東京", "会議", "メモ", "ünïcödé", "weekly", "sync", "budget", "roadmap", "🚀", "✅", "📅", "retro",
		"sprint", "deadline", "kickoff", "résumé", "smörgåsbord", "piñata", "jalapeño", "Ελλάδα", "Москва"}
	// propertyNames are the fixed names of an actor's properties after email and oauthId; more
	// properties than listed become "list:" rows (ActingWeb list properties, §6.13).
	propertyNames = []string{"displayname", "locale", "timezone", "avatar_url", "settings", "notification_prefs",
		"theme", "language", "phone", "address", "bio", "company", "title", "website", "last_login",
		"login_count", "mcp_client_info", "oauth_scopes", "consent", "tos_version", "marketing_opt_in",
		"profile_json", "calendar_sync", "default_view", "keyboard_shortcuts"}
	buckets = []string{"oauth_tokens", "trust_types", "_mcp_sessions", "client_registry", "auth_codes",
		"refresh_tokens", "devices", "webhooks", "cache", "_internal"}
	relationships = []string{"friend", "partner", "admin", "mcp_client", "associate"}
	peerTypes     = []string{"urn:actingweb:actingweb.org:actingwebdemo", "urn:actingweb:example.com:calendar",
		"urn:actingweb:example.org:mcp"}
)

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func hex32(r *rand.Rand) string { return fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64()) }

func secret(r *rand.Rand, n int) string {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, n)
	for i := range b {
		b[i] = alpha[r.IntN(len(alpha))]
	}
	return string(b)
}

// sentence is n words separated by spaces.
func sentence(r *rand.Rand, n int) string {
	var b strings.Builder
	for k := 0; k < n; k++ {
		if k > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(pick(r, words))
	}
	return b.String()
}

// jsonObject returns a JSON object of about size bytes (encoding/json form, keys sorted).
func jsonObject(r *rand.Rand, size int) string {
	m := map[string]any{}
	n := 0
	for k := 0; n < size; k++ {
		key := fmt.Sprintf("%s_%d", pick(r, words[:9]), k)
		var v any
		switch r.IntN(5) {
		case 0:
			v = r.IntN(100000)
		case 1:
			v = r.IntN(2) == 0
		case 2:
			v = []string{pick(r, words), pick(r, words)}
		default:
			v = sentence(r, 2+r.IntN(5))
		}
		m[key] = v
		b, _ := json.Marshal(v)
		n += len(key) + len(b) + 4
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func ts(r *rand.Rand, i int) time.Time {
	return base.Add(time.Duration(i)*time.Second + time.Duration(r.Int64N(int64(400*24*time.Hour))).Truncate(time.Microsecond))
}

func (c Config) email(i int) string {
	r := c.rng(i, "email")
	return fmt.Sprintf("%s.%s.%d@example.org", strings.ToLower(pick(r, []string{"anna", "bjorn", "chloe", "dmitri",
		"eitan", "grete", "hiroshi", "jose", "priya", "zoe"})), strings.ToLower(pick(r, []string{"andersen",
		"muller", "tanaka", "perez", "rasmussen", "lindqvist"})), i)
}

func (c Config) oauthID(i int) string { return "google-oauth2|" + strconv.Itoa(100000000+i*7919) }

func (c Config) actor(i int, emit func(actingweb.Record) error) error {
	r := c.rng(i, "actor")
	created := ts(r, i)
	return emit(&actingweb.Actor{ID: c.ActorID(i), Creator: c.email(i), Passphrase: secret(r, 40), CreatedAt: &created})
}

// propertyValue returns the value of the k-th property name: short text, unicode names, JSON
// documents of a few hundred bytes to a few kilobytes.
func propertyValue(r *rand.Rand, name string) string {
	switch name {
	case "displayname":
		return pick(r, firstNames) + " " + pick(r, lastNames)
	case "locale":
		return pick(r, []string{"en-US", "nb-NO", "de-DE", "ja-JP", "fr-FR", "pt-BR"})
	case "timezone":
		return pick(r, []string{"Europe/Oslo", "America/New_York", "Asia/Tokyo", "UTC", "Europe/Berlin"})
	case "avatar_url", "website":
		return "https://cdn.example.com/u/" + hex32(r) + "/" + pick(r, []string{"avatar.png", "index.html", "me"})
	case "settings", "notification_prefs", "profile_json", "mcp_client_info", "calendar_sync":
		return jsonObject(r, 200+r.IntN(1800))
	case "bio":
		return sentence(r, 10+r.IntN(40))
	case "login_count":
		return strconv.Itoa(r.IntN(5000))
	case "last_login":
		return time.Unix(1700000000+r.Int64N(60000000), 0).UTC().Format(time.RFC3339)
	}
	if strings.HasPrefix(name, "list:") {
		return jsonObject(r, 80+r.IntN(400))
	}
	return sentence(r, 1+r.IntN(6))
}

func (c Config) propertyName(k int) string {
	if k < len(propertyNames) {
		return propertyNames[k]
	}
	k -= len(propertyNames)
	// list properties: items "list:<name>-#NNNN" (§6.13)
	lists := []string{"notes", "todo", "bookmarks", "contacts"}
	l := lists[k%len(lists)]
	return fmt.Sprintf("list:%s-#%04d", l, k/len(lists))
}

func (c Config) properties(i int, emit func(actingweb.Record) error) error {
	id := c.ActorID(i)
	if err := emit(&actingweb.Property{ID: id, Name: "email", Value: c.email(i)}); err != nil {
		return err
	}
	if err := emit(&actingweb.Property{ID: id, Name: "oauthId", Value: c.oauthID(i)}); err != nil {
		return err
	}
	r := c.rng(i, "properties")
	for k := 0; k < c.Properties-2; k++ {
		name := c.propertyName(k)
		if err := emit(&actingweb.Property{ID: id, Name: name, Value: propertyValue(r, name)}); err != nil {
			return err
		}
	}
	return nil
}

func (c Config) lookups(i int, emit func(actingweb.Record) error) error {
	id := c.ActorID(i)
	l := actingweb.NewPropertyLookup("email", c.email(i), id)
	if err := emit(&l); err != nil {
		return err
	}
	o := actingweb.NewPropertyLookup("oauthId", c.oauthID(i), id)
	return emit(&o)
}

func (c Config) attributes(i int, emit func(actingweb.Record) error) error {
	id := c.ActorID(i)
	r := c.rng(i, "attributes")
	for k := 0; k < c.Attributes; k++ {
		bucket := buckets[k%len(buckets)]
		name := fmt.Sprintf("%s:%s", pick(r, []string{"token", "client", "session", "code"}), hex32(r)[:16])
		if k >= len(buckets) {
			name = fmt.Sprintf("%s-%d", name, k)
		}
		t := ts(r, i)
		a := &actingweb.Attribute{ID: id, BucketName: bucket + ":" + name, Bucket: bucket, Name: name,
			Data: json.RawMessage(jsonObject(r, 100+r.IntN(700))), Timestamp: &t}
		if k%3 == 0 {
			ttl := ttlBase + r.Int64N(30*24*3600)
			a.TTLTimestamp = &ttl
		}
		if err := emit(a); err != nil {
			return err
		}
	}
	return nil
}

func (c Config) reserved(emit func(actingweb.Record) error) error {
	owners := []string{"_actingweb_system", "_actingweb_oauth2", "_actingweb_deleted"}
	for k := 0; k < c.ReservedOwners; k++ {
		r := c.rng(k, "reserved")
		bucket := pick(r, []string{"client_index", "token_index", "deleted_actors"})
		name := fmt.Sprintf("entry:%06d", k)
		t := ts(r, k)
		if err := emit(&actingweb.Attribute{ID: owners[k%len(owners)], BucketName: bucket + ":" + name, Bucket: bucket,
			Name: name, Data: json.RawMessage(jsonObject(r, 150)), Timestamp: &t}); err != nil {
			return err
		}
	}
	return nil
}

// peerID is the peer of actor i's k-th trust.
func (c Config) peerID(i, k int) string {
	return hex32(c.rng(i*64+k, "peer"))
}

func sp(s string) *string { return &s }

func (c Config) trusts(i int, emit func(actingweb.Record) error) error {
	id := c.ActorID(i)
	r := c.rng(i, "trusts")
	for k := 0; k < c.Trusts; k++ {
		peer := c.peerID(i, k)
		created := ts(r, i)
		accessed := created.Add(time.Duration(r.Int64N(int64(90 * 24 * time.Hour)))).Truncate(time.Microsecond)
		tr := &actingweb.Trust{ID: id, PeerID: peer, BaseURI: "https://peer.example.net/" + peer,
			Type: pick(r, peerTypes), Relationship: pick(r, relationships), Secret: secret(r, 40),
			Desc: sp("Trust with " + pick(r, firstNames) + " — " + sentence(r, 3)), Approved: true,
			PeerApproved: r.IntN(4) != 0, Verified: r.IntN(3) != 0, VerificationToken: sp(secret(r, 32)),
			PeerIdentifier: sp(c.email(i + 1 + k)), EstablishedVia: sp(pick(r, []string{"trust", "oauth2_interactive", "mcp"})),
			CreatedAt: &created, LastAccessed: &accessed, LastConnectedVia: sp("trust")}
		if k == 0 {
			tr.ClientName, tr.ClientVersion, tr.ClientPlatform = sp("Claude Desktop"), sp("1.0.3"), sp("macOS 15.1")
			tr.OAuthClientID = sp("mcp_" + hex32(r))
			tr.AWSupported, tr.AWVersion = sp("www,oauth,callbacks,trust,onewaytrust,subscriptions,actions,resources,methods,sessions,nestedproperties"), sp("1.0")
			cf := accessed.Add(time.Minute)
			tr.CapabilitiesFetchedAt = &cf
		}
		if err := emit(tr); err != nil {
			return err
		}
	}
	return nil
}

func (c Config) peerTrustees(i int, emit func(actingweb.Record) error) error {
	id := c.ActorID(i)
	r := c.rng(i, "peertrustees")
	for k := 0; k < c.PeerTrustees; k++ {
		peer := hex32(r)
		if err := emit(&actingweb.PeerTrustee{ID: id, PeerID: peer, BaseURI: "https://trustee.example.net/" + peer,
			Type: peerTypes[k%len(peerTypes)], Passphrase: secret(r, 40)}); err != nil {
			return err
		}
	}
	return nil
}

// subID is the id of actor i's k-th subscription.
func (c Config) subID(i, k int) string { return hex32(c.rng(i*64+k, "subid")) }

// diffsOf is the number of diffs of subscription k (diffs spread round-robin).
func (c Config) diffsOf(k int) int {
	n := c.Diffs / c.Subscriptions
	if k < c.Diffs%c.Subscriptions {
		n++
	}
	return n
}

func (c Config) subscriptions(i int, emit func(actingweb.Record) error) error {
	id := c.ActorID(i)
	r := c.rng(i, "subscriptions")
	for k := 0; k < c.Subscriptions; k++ {
		peer, sub := c.peerID(i, k%c.Trusts), c.subID(i, k)
		s := &actingweb.Subscription{ID: id, PeerSubID: peer + ":" + sub, PeerID: peer, SubID: sub,
			Granularity: sp(pick(r, []string{"high", "low", "none"})), Target: sp("properties"),
			Seqnr: int64(c.diffsOf(k)), Callback: r.IntN(2) == 0}
		if k%2 == 1 {
			s.Subtarget = sp(pick(r, propertyNames))
		}
		if err := emit(s); err != nil {
			return err
		}
	}
	return nil
}

func (c Config) diffs(i int, emit func(actingweb.Record) error) error {
	id := c.ActorID(i)
	r := c.rng(i, "diffs")
	for k := 0; k < c.Subscriptions; k++ {
		sub := c.subID(i, k)
		for n := 1; n <= c.diffsOf(k); n++ {
			if err := emit(&actingweb.SubscriptionDiff{ID: id, SubIDSeqnr: sub + ":" + strconv.Itoa(n), SubID: sub,
				Timestamp: ts(r, i), Diff: jsonObject(r, 100+r.IntN(900)), Seqnr: int64(n)}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c Config) suspensions(i int, emit func(actingweb.Record) error) error {
	id := c.ActorID(i)
	r := c.rng(i, "suspensions")
	for k := 0; k < c.Suspensions; k++ {
		sub := ""
		if k > 0 || r.IntN(2) == 0 {
			sub = fmt.Sprintf("%s-%d", pick(r, propertyNames), k)
		}
		if err := emit(&actingweb.SubscriptionSuspension{ID: id, Target: "properties", Subtarget: sub,
			SuspendedAt: ts(r, i)}); err != nil {
			return err
		}
	}
	return nil
}
