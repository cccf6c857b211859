package actingweb

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// DefaultIndexedProperties is upstream's default INDEXED_PROPERTIES (§2.4).
var DefaultIndexedProperties = []string{"oauthId", "email", "externalUserId"}

// LookupConfig is the reverse-lookup configuration both backends apply on property writes (§2.4).
type LookupConfig struct {
	// UseLookupTable is lookup-table mode (USE_PROPERTY_LOOKUP_TABLE, default true).
	UseLookupTable bool
	// IndexedProperties are the property names that get lookup rows.
	IndexedProperties []string
}

// DefaultLookupConfig is lookup mode with the default indexed names.
func DefaultLookupConfig() LookupConfig {
	return LookupConfig{UseLookupTable: true, IndexedProperties: append([]string(nil), DefaultIndexedProperties...)}
}

// Indexed reports whether property name gets a lookup row: lookup mode on, the name in the
// list and not a "list:" row (§6.3).
func (c LookupConfig) Indexed(name string) bool {
	if !c.UseLookupTable || strings.HasPrefix(name, "list:") {
		return false
	}
	for _, n := range c.IndexedProperties {
		if n == name {
			return true
		}
	}
	return false
}

// LookupConfigFromEnv reads USE_PROPERTY_LOOKUP_TABLE and INDEXED_PROPERTIES through getenv
// (os.Getenv in production). INDEXED_PROPERTIES is comma-separated, items trimmed, empty items
// dropped; an empty variable keeps the default (§2.4). USE_PROPERTY_LOOKUP_TABLE accepts one
// documented set of spellings (§8.1): true/1/yes/on and false/0/no/off, case-insensitive;
// anything else is an error.
func LookupConfigFromEnv(getenv func(string) string) (LookupConfig, error) {
	c := DefaultLookupConfig()
	if v := strings.TrimSpace(getenv("USE_PROPERTY_LOOKUP_TABLE")); v != "" {
		b, err := ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("USE_PROPERTY_LOOKUP_TABLE: %w", err)
		}
		c.UseLookupTable = b
	}
	if v := getenv("INDEXED_PROPERTIES"); strings.TrimSpace(v) != "" {
		c.IndexedProperties = ParseNameList(v)
	}
	return c, nil
}

// ParseNameList splits a comma-separated list, trimming items and dropping empty ones.
func ParseNameList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ParseBool accepts true/1/yes/on and false/0/no/off, case-insensitive, surrounding space ignored.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (use true or false)", s)
}

// NormalizeCreator lower-cases a creator that contains '@' (§6.1), exactly as Python's
// str.lower() does (so Go and Python store and probe the same creator): Unicode lower-case
// mapping including the two full mappings Python applies beyond Go's strings.ToLower, U+0130
// (İ) -> "i̇" and the final-sigma rule (Σ -> ς at the end of a word).
func NormalizeCreator(creator string) string {
	if strings.Contains(creator, "@") {
		return pythonLower(creator)
	}
	return creator
}

// pythonLower is CPython's str.lower(): strings.ToLower plus U+0130 -> U+0069 U+0307 and
// Final_Sigma (unicodeobject.c handle_capital_sigma).
func pythonLower(s string) string {
	if !strings.ContainsRune(s, '\u0130') && !strings.ContainsRune(s, '\u03a3') {
		return strings.ToLower(s)
	}
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		switch r {
		case '\u0130':
			b.WriteString("i\u0307")
		case '\u03a3':
			if finalSigma(rs, i) {
				b.WriteRune('\u03c2')
			} else {
				b.WriteRune('\u03c3')
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma: \p{cased} \p{case-ignorable}* Σ !(\p{case-ignorable}* \p{cased}).
func finalSigma(rs []rune, i int) bool {
	j := i - 1
	for j >= 0 && caseIgnorable(rs[j]) {
		j--
	}
	if j < 0 || !cased(rs[j]) {
		return false
	}
	j = i + 1
	for j < len(rs) && caseIgnorable(rs[j]) {
		j++
	}
	return j == len(rs) || !cased(rs[j])
}

func cased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

// caseIgnorable is Unicode's Case_Ignorable: Mn, Me, Cf, Lm, Sk, and Word_Break MidLetter,
// MidNumLet and Single_Quote.
func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '\u00b7', '\u0387', '\u055f', '\u05f4', '\u2018', '\u2019', '\u2024', '\u2027',
		'\ufe13', '\ufe52', '\ufe55', '\uff07', '\uff0e', '\uff1a':
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// CanonicalConnectionMethod is upstream's canonical connection method (trust.py:9-56, §6.5):
// null/empty/whitespace -> "" (none); lower-cased and trimmed, anything starting with "oauth" ->
// "oauth"; exactly oauth/trust/subscription/mcp -> itself; anything else -> the original input.
func CanonicalConnectionMethod(s string) string {
	t := strings.ToLower(strings.TrimSpace(s))
	switch {
	case t == "":
		return ""
	case strings.HasPrefix(t, "oauth"):
		return "oauth"
	case t == "trust" || t == "subscription" || t == "mcp":
		return t
	}
	return s
}

// DeleteActorCascade deletes an actor and everything it owns, in upstream's order (§6.12),
// plus its subscription suspensions, which upstream leaves behind (§8.1): a deletion
// tombstone (owner _actingweb_deleted, bucket _deleted_actors, 30-day TTL), peer trustees,
// properties and their lookup rows, diffs, subscriptions, trusts, attributes, suspensions, and
// the actor row last. Calls to peers (reciprocal trust deletion) are the server's business.
func DeleteActorCascade(ctx context.Context, s Store, actorID string, now time.Time) error {
	// json.Marshal, not %q: Go quoting is not JSON quoting for control characters.
	tomb, err := json.Marshal(struct {
		ActorID   string `json:"actor_id"`
		DeletedAt string `json:"deleted_at"`
	}{actorID, now.UTC().Format(time.RFC3339)})
	if err != nil {
		return fmt.Errorf("delete actor %s: tombstone payload: %w", actorID, err)
	}
	steps := []struct {
		what string
		do   func() error
	}{
		{"write deletion tombstone", func() error {
			return s.SetAttribute(ctx, ReservedOwnerPrefix+"deleted", "_deleted_actors", actorID, tomb, &now, 30*24*time.Hour)
		}},
		{"delete peer trustees", func() error { return s.DeleteAllPeerTrustees(ctx, actorID) }},
		{"delete properties", func() error { return s.DeleteAllProperties(ctx, actorID) }},
		{"delete diffs", func() error { _, err := s.DeleteDiffs(ctx, actorID, "", 0); return err }},
		{"delete subscriptions", func() error { return s.DeleteAllSubscriptions(ctx, actorID) }},
		{"delete trusts", func() error { return s.DeleteAllTrusts(ctx, actorID) }},
		{"delete attributes", func() error { return s.DeleteAllAttributes(ctx, actorID) }},
		{"delete suspensions", func() error { return s.DeleteAllSuspensions(ctx, actorID) }},
		{"delete actor row", func() error { return s.DeleteActor(ctx, actorID) }},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			return fmt.Errorf("delete actor %s: %s: %w", actorID, st.what, err)
		}
	}
	return nil
}
