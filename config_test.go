package actingweb

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLookupConfigFromEnv(t *testing.T) {
	def := DefaultIndexedProperties
	cases := []struct {
		name    string
		env     map[string]string
		use     bool
		indexed []string
		wantErr bool
	}{
		{"defaults", nil, true, def, false},
		{"empty-keeps-default", map[string]string{"USE_PROPERTY_LOOKUP_TABLE": "", "INDEXED_PROPERTIES": ""}, true, def, false},
		{"blank-keeps-default", map[string]string{"USE_PROPERTY_LOOKUP_TABLE": "  ", "INDEXED_PROPERTIES": "  "}, true, def, false},
		{"off", map[string]string{"USE_PROPERTY_LOOKUP_TABLE": "false"}, false, def, false},
		{"OFF-upper", map[string]string{"USE_PROPERTY_LOOKUP_TABLE": " OFF "}, false, def, false},
		{"zero", map[string]string{"USE_PROPERTY_LOOKUP_TABLE": "0"}, false, def, false},
		{"yes", map[string]string{"USE_PROPERTY_LOOKUP_TABLE": "Yes"}, true, def, false},
		{"list", map[string]string{"INDEXED_PROPERTIES": " email , ,phone,, oauthId "}, true, []string{"email", "phone", "oauthId"}, false},
		{"single", map[string]string{"INDEXED_PROPERTIES": "externalUserId"}, true, []string{"externalUserId"}, false},
		{"bad-bool", map[string]string{"USE_PROPERTY_LOOKUP_TABLE": "maybe"}, true, def, true},
		{"bad-bool-t", map[string]string{"USE_PROPERTY_LOOKUP_TABLE": "t"}, true, def, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := LookupConfigFromEnv(envOf(c.env))
			if c.wantErr {
				if err == nil || !strings.Contains(err.Error(), "USE_PROPERTY_LOOKUP_TABLE") {
					t.Fatalf("err = %v, want an error naming USE_PROPERTY_LOOKUP_TABLE", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.UseLookupTable != c.use || !reflect.DeepEqual(got.IndexedProperties, c.indexed) {
				t.Fatalf("LookupConfigFromEnv = %+v, want use %v indexed %v", got, c.use, c.indexed)
			}
		})
	}
	// The default list is a copy: changing a config does not change the package default.
	c := DefaultLookupConfig()
	c.IndexedProperties[0] = "changed"
	if DefaultIndexedProperties[0] != "oauthId" {
		t.Fatal("DefaultLookupConfig shares its slice with DefaultIndexedProperties")
	}
}

func TestParseBool(t *testing.T) {
	for _, s := range []string{"true", "TRUE", "True", "1", "yes", "on", " on "} {
		if b, err := ParseBool(s); err != nil || !b {
			t.Errorf("ParseBool(%q) = %v, %v; want true", s, b, err)
		}
	}
	for _, s := range []string{"false", "False", "0", "no", "NO", "off", "\toff\n"} {
		if b, err := ParseBool(s); err != nil || b {
			t.Errorf("ParseBool(%q) = %v, %v; want false", s, b, err)
		}
	}
	for _, s := range []string{"", "2", "y", "n", "enabled", "truee", "-1"} {
		if _, err := ParseBool(s); err == nil {
			t.Errorf("ParseBool(%q) accepted", s)
		}
	}
}

func TestParseNameList(t *testing.T) {
	cases := map[string][]string{
		"":                nil,
		" , ,":            nil,
		"a":               {"a"},
		" a ,b,, c ":      {"a", "b", "c"},
		"list:x, e-mail ": {"list:x", "e-mail"},
	}
	for in, want := range cases {
		if got := ParseNameList(in); !reflect.DeepEqual(got, want) {
			t.Errorf("ParseNameList(%q) = %#v, want %#v", in, got, want)
		}
	}
}

func TestLookupConfigIndexed(t *testing.T) {
	c := LookupConfig{UseLookupTable: true, IndexedProperties: []string{"email", "list:x"}}
	for name, want := range map[string]bool{"email": true, "Email": false, "emails": false, "list:x": false, "": false} {
		if c.Indexed(name) != want {
			t.Errorf("Indexed(%q) != %v", name, want)
		}
	}
	c.UseLookupTable = false
	if c.Indexed("email") {
		t.Error("Indexed with lookup mode off")
	}
}

func TestNormalizeCreator(t *testing.T) {
	// Expected values are CPython 3 str.lower() results.
	cases := []struct{ in, want string }{
		{"Alice@Example.COM", "alice@example.com"},
		{"ServiceBot_Heidi26", "ServiceBot_Heidi26"},
		{"creator", "creator"},
		{"Mixed Case No At", "Mixed Case No At"},
		{"ÅNGSTRÖM@EXÄMPLE.NO", "ångström@exämple.no"},
		{"ǅUNGLA@X", "ǆungla@x"},
		{"İSTANBUL@EXAMPLE.TR", "i\u0307stanbul@example.tr"},
		{"ΟΔΥΣΣΕΑΣ@EXAMPLE.GR", "οδυσσεας@example.gr"},
		{"ΣΑΣ.Σ@X.GR", "σασ.ς@x.gr"},
		{"Σ@X", "σ@x"},
		{"AΣ@X", "aς@x"},
		{"AΣ.B@X", "aσ.b@x"},
		{"AΣ'@X", "aς'@x"},
		{"ΑΣ\u0301Β@X", "ασ\u0301β@x"},
		{"ΑΣ\u0301@X", "ας\u0301@x"},
		{"ΟΔΥΣΣΕΑΣ without at", "ΟΔΥΣΣΕΑΣ without at"},
	}
	for _, c := range cases {
		if got := NormalizeCreator(c.in); got != c.want {
			t.Errorf("NormalizeCreator(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestNormalizeCreatorFixture: the probes of the fixture's view_actors_by_creator were
// normalised by upstream into the stored creators.
func TestNormalizeCreatorFixture(t *testing.T) {
	var truth struct {
		Tables struct {
			View []struct {
				Creator string `json:"creator"`
				Probe   string `json:"probe"`
			} `json:"view_actors_by_creator"`
			Actors []struct {
				Creator string `json:"creator"`
			} `json:"actors"`
		} `json:"tables"`
	}
	b, err := os.ReadFile(filepath.Join(fixtureDir, "truth-postgresql.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	if len(truth.Tables.View) < 30 {
		t.Fatalf("fixture has %d view_actors_by_creator rows", len(truth.Tables.View))
	}
	for _, v := range truth.Tables.View {
		if got := NormalizeCreator(v.Probe); got != v.Creator {
			t.Errorf("NormalizeCreator(%q) = %q, want %q", v.Probe, got, v.Creator)
		}
	}
	for _, a := range truth.Tables.Actors {
		if got := NormalizeCreator(a.Creator); got != a.Creator {
			t.Errorf("stored creator %q is not a fixed point: %q", a.Creator, got)
		}
	}
}

func TestCanonicalConnectionMethod(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""}, {"   ", ""}, {"\t\n", ""},
		{"oauth", "oauth"}, {"OAuth", "oauth"}, {"OAuth2_Interactive", "oauth"}, {"oauth2_client", "oauth"},
		{" oauth2 ", "oauth"}, {"oauthx", "oauth"},
		{"trust", "trust"}, {"TRUST", "trust"}, {" Trust ", "trust"},
		{"subscription", "subscription"}, {"Subscription", "subscription"},
		{"mcp", "mcp"}, {" MCP ", "mcp"},
		{"custom-Channel", "custom-Channel"}, {" Custom ", " Custom "}, {"actingweb", "actingweb"},
		{"trusted", "trusted"}, {"mcp2", "mcp2"}, {"o-auth", "o-auth"},
	}
	for _, c := range cases {
		if got := CanonicalConnectionMethod(c.in); got != c.want {
			t.Errorf("CanonicalConnectionMethod(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
