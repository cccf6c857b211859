package migrate

import (
	"encoding/json"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
)

// TestDigestNonJSONPayload: an attribute payload that is not JSON (NaN, Infinity: DynamoDB can
// hold Python's output) still contributes its content to the validation digest.
func TestDigestNonJSONPayload(t *testing.T) {
	attr := func(data string) actingweb.Record {
		return &actingweb.Attribute{ID: "a", BucketName: "b:n", Bucket: "b", Name: "n", Data: json.RawMessage(data)}
	}
	cases := []struct {
		a, b  string
		equal bool
	}{
		{"NaN", "NaN", true},
		{"NaN", "Infinity", false},
		{`{"x": NaN}`, `{"x": Infinity}`, false},
		{`"NaN"`, "NaN", false},
		{`{"a":1,"b":2}`, `{"b": 2, "a": 1.0}`, true},
		{`{"a":1}`, `{"a":2}`, false},
	}
	for _, c := range cases {
		x1, x2 := digest(attr(c.a))
		y1, y2 := digest(attr(c.b))
		if got := x1 == y1 && x2 == y2; got != c.equal {
			t.Errorf("digest(%s) == digest(%s): %v, want %v", c.a, c.b, got, c.equal)
		}
	}
}
