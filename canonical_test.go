package actingweb

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCanonicalJSONEqualities(t *testing.T) {
	cases := []struct{ name, a, b string }{
		{"key-order", `{"b": 1, "a": 2}`, `{"a":2,"b":1}`},
		{"nested-key-order", `{"x": {"d": [1, {"z": 0, "y": 1}], "c": null}}`, `{"x":{"c":null,"d":[1,{"y":1,"z":0}]}}`},
		{"whitespace", " [ 1 ,\n\t2 ] ", `[1,2]`},
		{"duplicate-last-wins", `{"a": 1, "a": 2}`, `{"a": 2}`},
		{"one-point-zero", `1.0`, `1`},
		{"exponent", `1e2`, `100`},
		{"exponent-upper-plus", `1E+2`, `100`},
		{"negative-exponent", `1e-1`, `0.1`},
		{"trailing-zeros", `2.50`, `2.5`},
		{"negative-zero", `-0`, `0`},
		{"zero-float", `0.0`, `0`},
		{"in-object", `{"n": 1.500e1}`, `{"n": 15}`},
		{"unicode-escape", `"\u00fc\ud83d\ude80"`, `"ü🚀"`},
		{"escaped-slash", `"a\/b"`, `"a/b"`},
		{"escaped-key", `{"\u00e9": 1}`, `{"é": 1}`},
		{"big-integer", `123456789012345678901234567890`, `1.2345678901234567890123456789e29`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := CanonicalJSON([]byte(c.a))
			if err != nil {
				t.Fatalf("CanonicalJSON(%s): %v", c.a, err)
			}
			b, err := CanonicalJSON([]byte(c.b))
			if err != nil {
				t.Fatalf("CanonicalJSON(%s): %v", c.b, err)
			}
			if string(a) != string(b) {
				t.Fatalf("CanonicalJSON(%s) = %s, CanonicalJSON(%s) = %s; want equal", c.a, a, c.b, b)
			}
			if !json.Valid(a) {
				t.Fatalf("CanonicalJSON(%s) = %s is not valid JSON", c.a, a)
			}
		})
	}
}

func TestCanonicalJSONInequalities(t *testing.T) {
	cases := []struct{ name, a, b string }{
		{"array-order", `[1, 2]`, `[2, 1]`},
		{"string-vs-number", `"1"`, `1`},
		{"false-vs-zero", `false`, `0`},
		{"null-vs-empty-object", `null`, `{}`},
		{"empty-array-vs-object", `[]`, `{}`},
		{"close-numbers", `0.1`, `0.10000000000000001`},
		{"precomposed-vs-combining", `"\u00e9"`, `"e\u0301"`},
		{"missing-vs-null-member", `{}`, `{"a": null}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := CanonicalJSON([]byte(c.a))
			if err != nil {
				t.Fatal(err)
			}
			b, err := CanonicalJSON([]byte(c.b))
			if err != nil {
				t.Fatal(err)
			}
			if string(a) == string(b) {
				t.Fatalf("CanonicalJSON(%s) == CanonicalJSON(%s) == %s; want different", c.a, c.b, a)
			}
		})
	}
}

func TestCanonicalJSONForms(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"b": [1.50, -2e-3, 10E0], "a": "x"}`, `{"a":"x","b":[1.5,-0.002,10]}`},
		{`0.1`, `0.1`},
		{`-0.5`, `-0.5`},
		{`1e-101`, `1e-101`},
		{`12.5e-200`, `125e-201`},
		{`true`, `true`},
		{`null`, `null`},
		{`""`, `""`},
	}
	for _, c := range cases {
		got, err := CanonicalJSON([]byte(c.in))
		if err != nil {
			t.Fatalf("CanonicalJSON(%s): %v", c.in, err)
		}
		if string(got) != c.want {
			t.Errorf("CanonicalJSON(%s) = %s, want %s", c.in, got, c.want)
		}
		if !json.Valid(got) {
			t.Errorf("CanonicalJSON(%s) = %s is not JSON", c.in, got)
		}
	}
}

func TestCanonicalJSONRejects(t *testing.T) {
	for _, in := range []string{"", "NaN", "Infinity", "-Infinity", `{"a": NaN}`, `[1, Infinity]`, "{", `{"a":1}}`, "[1]]", "1 2", `{"a":1} {}`, "'x'", "01", "1.", ".5", "+1"} {
		t.Run(in, func(t *testing.T) {
			got, err := CanonicalJSON([]byte(in))
			if err == nil {
				t.Fatalf("CanonicalJSON(%q) = %s, want an error", in, got)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestCanonicalAndCompareRecords(t *testing.T) {
	ts := time.Date(2025, 6, 1, 8, 0, 0, 123456789, time.FixedZone("X", 7200))
	tsUTC := NormalizeTime(ts)
	cases := []struct {
		name       string
		a, b       Record
		wantFields []string // differing fields, in declaration order
	}{
		{"actor-created-at-ignored",
			&Actor{ID: "a", Creator: "c", Passphrase: "p", CreatedAt: &ts}, &Actor{ID: "a", Creator: "c", Passphrase: "p"}, nil},
		{"actor-passphrase-masked",
			&Actor{ID: "a", Creator: "c", Passphrase: "p1"}, &Actor{ID: "a", Creator: "c", Passphrase: "p2"}, []string{"passphrase"}},
		{"trust-desc-nil-equals-empty",
			&Trust{ID: "a", PeerID: "p", Desc: nil, VerificationToken: nil}, &Trust{ID: "a", PeerID: "p", Desc: ptrTo(""), VerificationToken: ptrTo("")}, nil},
		{"trust-desc-differs",
			&Trust{ID: "a", PeerID: "p", Desc: ptrTo("x")}, &Trust{ID: "a", PeerID: "p", Desc: ptrTo("")}, []string{"desc"}},
		{"trust-secret-and-token-masked",
			&Trust{ID: "a", PeerID: "p", Secret: "s1", VerificationToken: ptrTo("v1")}, &Trust{ID: "a", PeerID: "p", Secret: "s2", VerificationToken: ptrTo("v2")}, []string{"secret", "verification_token"}},
		{"trust-optional-nil-vs-empty-differs",
			&Trust{ID: "a", PeerID: "p", ClientName: nil}, &Trust{ID: "a", PeerID: "p", ClientName: ptrTo("")}, []string{"client_name"}},
		{"trust-time-zone-and-nanos",
			&Trust{ID: "a", PeerID: "p", CreatedAt: &ts}, &Trust{ID: "a", PeerID: "p", CreatedAt: &tsUTC}, nil},
		{"trust-time-differs",
			&Trust{ID: "a", PeerID: "p", LastAccessed: &ts}, &Trust{ID: "a", PeerID: "p", LastAccessed: ptrTo(tsUTC.Add(time.Microsecond))}, []string{"last_accessed"}},
		{"peertrustee-passphrase-masked",
			&PeerTrustee{ID: "a", PeerID: "p", Passphrase: "x"}, &PeerTrustee{ID: "a", PeerID: "p", Passphrase: "y"}, []string{"passphrase"}},
		{"subscription-empty-equals-absent",
			&Subscription{ID: "a", PeerSubID: "p:s", Granularity: ptrTo(""), Target: ptrTo(""), Subtarget: ptrTo(""), Resource: ptrTo("")},
			&Subscription{ID: "a", PeerSubID: "p:s"}, nil},
		{"subscription-value-differs",
			&Subscription{ID: "a", PeerSubID: "p:s", Target: ptrTo("x")}, &Subscription{ID: "a", PeerSubID: "p:s"}, []string{"target"}},
		{"attribute-json-semantic",
			&Attribute{ID: "a", BucketName: "b:n", Data: json.RawMessage(`{"b": 1.0, "a": [1e2]}`), Timestamp: &ts},
			&Attribute{ID: "a", BucketName: "b:n", Data: json.RawMessage(`{"a":[100],"b":1}`), Timestamp: &tsUTC}, nil},
		{"attribute-null-equals-absent",
			&Attribute{ID: "a", BucketName: "b:n", Data: json.RawMessage(`null`)}, &Attribute{ID: "a", BucketName: "b:n"}, nil},
		{"attribute-falsy-is-data",
			&Attribute{ID: "a", BucketName: "b:n", Data: json.RawMessage(`0`)}, &Attribute{ID: "a", BucketName: "b:n"}, []string{"data"}},
		{"attribute-empty-object-vs-array",
			&Attribute{ID: "a", BucketName: "b:n", Data: json.RawMessage(`{}`)}, &Attribute{ID: "a", BucketName: "b:n", Data: json.RawMessage(`[]`)}, []string{"data"}},
		{"attribute-ttl-differs",
			&Attribute{ID: "a", BucketName: "b:n", TTLTimestamp: ptrTo(int64(5))}, &Attribute{ID: "a", BucketName: "b:n"}, []string{"ttl_timestamp"}},
		{"attribute-invalid-json-kept",
			&Attribute{ID: "a", BucketName: "b:n", Data: json.RawMessage(`NaN`)}, &Attribute{ID: "a", BucketName: "b:n", Data: json.RawMessage(`NaN`)}, nil},
		{"lookup-value-ignored",
			&PropertyLookup{PropertyName: "email", Value: ptrTo("x"), LookupKey: "k", ActorID: "a"}, &PropertyLookup{PropertyName: "email", LookupKey: "k", ActorID: "a"}, nil},
		{"diff-timestamp-normalised",
			&SubscriptionDiff{ID: "a", SubIDSeqnr: "s:1", Timestamp: ts}, &SubscriptionDiff{ID: "a", SubIDSeqnr: "s:1", Timestamp: tsUTC}, nil},
		{"suspension-subtarget-differs",
			&SubscriptionSuspension{ID: "a", Target: "t", Subtarget: "x", SuspendedAt: ts}, &SubscriptionSuspension{ID: "a", Target: "t", SuspendedAt: tsUTC}, []string{"subtarget"}},
		{"property-value-exact",
			&Property{ID: "a", Name: "n", Value: "e\u0301"}, &Property{ID: "a", Name: "n", Value: "\u00e9"}, []string{"value"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			diffs := CompareRecords(c.a, c.b)
			var got []string
			for _, d := range diffs {
				got = append(got, d.Field)
			}
			if strings.Join(got, ",") != strings.Join(c.wantFields, ",") {
				t.Fatalf("CompareRecords fields = %v, want %v (%+v)", got, c.wantFields, diffs)
			}
			secrets := SecretFields[c.a.Table()]
			for _, d := range diffs {
				if secrets[d.Field] {
					if d.A != "<secret>" || d.B != "<secret>" {
						t.Fatalf("secret field %s rendered as %q / %q", d.Field, d.A, d.B)
					}
				} else if d.A == d.B {
					t.Fatalf("field %s reported with equal renderings %q", d.Field, d.A)
				}
			}
			// Symmetric.
			if n := len(CompareRecords(c.b, c.a)); n != len(diffs) {
				t.Fatalf("CompareRecords(b, a) found %d differences, (a, b) %d", n, len(diffs))
			}
		})
	}
}

func TestCompareRecordsRendersNonSecrets(t *testing.T) {
	d := CompareRecords(&Property{ID: "a", Name: "n", Value: "x"}, &Property{ID: "a", Name: "n", Value: "y"})
	if len(d) != 1 || d[0].A != `"x"` || d[0].B != `"y"` {
		t.Fatalf("CompareRecords = %+v", d)
	}
	d = CompareRecords(&Subscription{ID: "a", Target: ptrTo("t")}, &Subscription{ID: "a"})
	if len(d) != 1 || d[0].B != "<absent>" {
		t.Fatalf("CompareRecords absent = %+v", d)
	}
}

func TestCanonicalDoesNotModifyInput(t *testing.T) {
	ts := time.Date(2025, 6, 1, 8, 0, 0, 123456789, time.FixedZone("X", 7200))
	tr := &Trust{ID: "a", PeerID: "p", CreatedAt: &ts}
	_ = Canonical(tr)
	if tr.Desc != nil || tr.CreatedAt.Nanosecond() != 123456789 {
		t.Fatalf("Canonical modified its input: %+v", tr)
	}
	at := &Attribute{ID: "a", Data: json.RawMessage(`{"b":1,"a":2}`)}
	_ = Canonical(at)
	if string(at.Data) != `{"b":1,"a":2}` {
		t.Fatalf("Canonical modified the attribute payload: %s", at.Data)
	}
}

// TestCanonicalRecordMarshals: a canonical record is valid JSON for every table (the
// validator digests json.Marshal(Canonical(r))), non-integer numbers included.
func TestCanonicalRecordMarshals(t *testing.T) {
	r := Canonical(&Attribute{ID: "a", BucketName: "b:n", Bucket: "b", Name: "n", Data: json.RawMessage(`{"x": 0.25, "y": 1.5e-3}`)})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("json.Marshal(Canonical(attribute)): %v", err)
	}
	if !strings.Contains(string(b), `"data":{"x":0.25,"y":0.0015}`) {
		t.Fatalf("marshalled canonical attribute = %s", b)
	}
}
