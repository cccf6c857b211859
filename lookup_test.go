package actingweb

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

const fixtureDir = "testdata/upstream-seed1"

// TestLookupKeyMatchesFixture: for every property_lookups row of the PostgreSQL truth
// (plaintext name and value), LookupKey must equal the lookup_key Python wrote to DynamoDB's
// property_lookup_v2 for the same actor and property name (§3.5, §5.4) — all 59 rows.
func TestLookupKeyMatchesFixture(t *testing.T) {
	var truth struct {
		Tables struct {
			PropertyLookups []struct {
				ActorID      string `json:"actor_id"`
				PropertyName string `json:"property_name"`
				Value        string `json:"value"`
			} `json:"property_lookups"`
		} `json:"tables"`
	}
	b, err := os.ReadFile(filepath.Join(fixtureDir, "truth-postgresql.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(fixtureDir, "dynamodb", "property_lookup_v2.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type sv struct {
		S string `json:"S"`
	}
	keys := map[[2]string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var it struct {
			ActorID      sv `json:"actor_id"`
			LookupKey    sv `json:"lookup_key"`
			PropertyName sv `json:"property_name"`
		}
		if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
			t.Fatalf("property_lookup_v2.jsonl: %v", err)
		}
		k := [2]string{it.ActorID.S, it.PropertyName.S}
		if _, dup := keys[k]; dup {
			t.Fatalf("fixture has two lookup items for actor %s name %s", k[0], k[1])
		}
		keys[k] = it.LookupKey.S
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	rows := truth.Tables.PropertyLookups
	if len(rows) != 59 || len(keys) != 59 {
		t.Fatalf("fixture: %d PostgreSQL lookup rows and %d DynamoDB items, want 59 each", len(rows), len(keys))
	}
	for _, r := range rows {
		want, ok := keys[[2]string{r.ActorID, r.PropertyName}]
		if !ok {
			t.Errorf("no DynamoDB lookup item for actor %s name %s", r.ActorID, r.PropertyName)
			continue
		}
		if got := LookupKey(r.PropertyName, r.Value); got != want {
			t.Errorf("LookupKey(%q, value of actor %s) = %s, want %s", r.PropertyName, r.ActorID, got, want)
		}
		pl := NewPropertyLookup(r.PropertyName, r.Value, r.ActorID)
		if pl.LookupKey != want || pl.Value == nil || *pl.Value != r.Value || pl.ActorID != r.ActorID || pl.Key() != want {
			t.Errorf("NewPropertyLookup(%q, ..., %s) = %+v", r.PropertyName, r.ActorID, pl)
		}
	}
}

func TestLookupKeyVectors(t *testing.T) {
	cases := []struct{ name, value, want string }{
		// sha256(b"email\x00alice@example.com") and sha256(b"\x00"), computed with Python hashlib.
		{"email", "alice@example.com", "7bbad615f82b19fbd522cd0cd2255adf97842ff4a9a57b720a6ef3e912234ba3"},
		{"", "", "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"},
	}
	for _, c := range cases {
		if got := LookupKey(c.name, c.value); got != c.want {
			t.Errorf("LookupKey(%q, %q) = %s, want %s", c.name, c.value, got, c.want)
		}
	}
	// The separator matters: ("ab", "c") and ("a", "bc") differ.
	if LookupKey("ab", "c") == LookupKey("a", "bc") {
		t.Error("LookupKey does not separate name and value")
	}
}
