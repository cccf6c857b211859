package compat_test

// compat_test.go: TestMain and unit tests of the comparison helpers the compatibility tests
// rely on (a comparison that cannot fail would make every test above pass vacuously).

import (
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	actingweb "github.com/actingweb/actingweb-go"
)

// TestMain gives the AWS SDK static credentials when none are set, so that opening a store on
// DynamoDB Local never probes the EC2 instance-metadata service (slow or hanging off AWS).
// DynamoDB Local checks no signatures.
func TestMain(m *testing.M) {
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" && os.Getenv("AWS_PROFILE") == "" {
		os.Setenv("AWS_ACCESS_KEY_ID", "local")
		os.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	}
	os.Exit(m.Run())
}

func TestCompareAV(t *testing.T) {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	b := func(v bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: v} }
	tests := []struct {
		name      string
		want, got types.AttributeValue
		json      bool
		equal     bool
	}{
		{"same string", s("ä"), s("ä"), false, true},
		{"string differs by a byte", s("a"), s("a "), false, false},
		{"type differs", s("1"), n("1"), false, false},
		{"numbers equal as decimals", n("12"), n("12.0"), false, true},
		{"numbers differ", n("12"), n("13"), false, false},
		{"bool differs", b(true), b(false), false, false},
		{"json key order irrelevant", s(`{"a": 1, "b": 2}`), s(`{"b": 2, "a": 1}`), true, true},
		{"json value differs", s(`{"a": 1}`), s(`{"a": 2}`), true, false},
		{"json not Python-shaped (separators)", s(`{"a": 1, "b": 2}`), s(`{"a":1,"b":2}`), true, false},
		{"json not Python-shaped (non-ASCII unescaped)", s(`{"a": "\u00fc"}`), s(`{"a": "ü"}`), true, false},
		{"json compared as text when not flagged", s(`{"a": 1, "b": 2}`), s(`{"b": 2, "a": 1}`), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := compareAV(tc.want, tc.got, tc.json)
			if (d == "") != tc.equal {
				t.Errorf("compareAV(%v, %v, json=%v) = %q, want equal=%v", avText(tc.want), avText(tc.got), tc.json, d, tc.equal)
			}
		})
	}
}

func TestOverMatch(t *testing.T) {
	row := &actingweb.Attribute{}
	exact := map[string]map[string]*actingweb.Attribute{
		"a\x00oauth_tokens":     {"tok": row},
		"a\x00oauth_tokens_spa": {"spa": row},
		"b\x00oauth_tokens_spa": {"other": row},
	}
	tests := []struct {
		names []string
		want  bool
	}{
		{[]string{"tok", "spa"}, true},    // DynamoDB's begins_with over-match of the same owner
		{[]string{"tok"}, true},           // exact (caller only asks when names differ)
		{[]string{"spa"}, false},          // a name of the exact bucket is missing
		{[]string{"tok", "other"}, false}, // a row of another owner
		{[]string{"tok", "zzz"}, false},   // a name no bucket has
	}
	for _, tc := range tests {
		v := tBucketView{ActorID: "a", Bucket: "oauth_tokens", Names: tc.names}
		if got := overMatch(v, exact["a\x00oauth_tokens"], exact); got != tc.want {
			t.Errorf("overMatch(%v) = %v, want %v", tc.names, got, tc.want)
		}
	}
}

func TestAttrNamesDiff(t *testing.T) {
	s := &types.AttributeValueMemberS{Value: "x"}
	if d := attrNamesDiff(wireItem{"a": s, "b": s}, wireItem{"b": s, "a": s}); d != "" {
		t.Errorf("same names: %q", d)
	}
	if d := attrNamesDiff(wireItem{"a": s}, wireItem{"b": s}); d == "" {
		t.Error("different names reported equal")
	}
}
