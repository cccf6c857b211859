package actingweb

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPrintable(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain key", "plain key"},
		{"", ""},
		{"émoji 👨‍👩‍👧 عربي 中文", "émoji 👨‍👩‍👧 عربي 中文"}, // printable Unicode kept, joiners too
		{"a\nb", `a\nb`},
		{"a\r\tb", `a\r\tb`},
		{"nul\x00esc\x1bdel\x7f", `nul\x00esc\x1bdel\x7f`},
		{"c1\u0085\u009b", `c1\u0085\u009b`},
		{"rlo\u202egnp.exe", `rlo\u202egnp.exe`},
		{"\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069", `\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069`},
		{"ls\u2028ps\u2029", `ls\u2028ps\u2029`},
		{"bad\xffutf8", `bad\xffutf8`},
		{`back\slash`, `back\slash`},
	}
	for _, tc := range tests {
		got := Printable(tc.in)
		if got != tc.want {
			t.Errorf("Printable(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if again := Printable(got); again != got {
			t.Errorf("Printable not idempotent on %q: %q", got, again)
		}
	}
}

func TestKeyStringEscapes(t *testing.T) {
	t.Parallel()
	got := KeyString("actor\n1" + KeySep + "evil\u202etxt")
	if want := `actor\n1 / evil\u202etxt`; got != want {
		t.Errorf("KeyString = %q, want %q", got, want)
	}
}

func TestRedactPasswords(t *testing.T) {
	t.Parallel()
	const pw = "s3cr3t-pw"
	tests := []string{
		`parse "postgres://user:` + pw + `@host:bad/db": invalid port ":bad" after host`,
		"cannot parse `postgresql://user:" + pw + "@h/db?sslmode=bogus`",
		"cannot parse `host=h password=" + pw + " user=u`",
		"cannot parse `host=h password='" + pw + " x' user=u`",
		"postgres://h/db?sslpassword=" + pw + "&sslmode=disable",
		"PG_DB_PASSWORD=" + pw,
	}
	for _, s := range tests {
		if got := RedactPasswords(s); strings.Contains(got, pw) || !strings.Contains(got, "xxxxx") {
			t.Errorf("RedactPasswords(%q) = %q", s, got)
		}
	}
	for _, s := range []string{"postgres://user@host:5432/db", "dynamodb://?endpoint=http://127.0.0.1:8000&prefix=p", "bypass: ok"} {
		if got := RedactPasswords(s); got != s {
			t.Errorf("RedactPasswords(%q) = %q, want it unchanged", s, got)
		}
	}
}

func TestCompareRecordsHidesSecretAttributeData(t *testing.T) {
	t.Parallel()
	const tok = "ya29.token-value-never-shown"
	for _, tc := range []struct{ owner, bucket, name string }{
		{"a1", "_internal", "oauth_tokens:peer1"},
		{"_actingweb_oauth2", "spa_refresh_tokens", "rt_1"},
		{"a1", "_access_token_index", "x"},
		{"a1", "_oauth_sessions", "s"},
		{"a1", "_client_index", "c"},
		{"a1", "MyCredentials", "c"},
		{"a1", "app", "Password"},
	} {
		a := &Attribute{ID: tc.owner, Bucket: tc.bucket, Name: tc.name, BucketName: tc.bucket + ":" + tc.name,
			Data: json.RawMessage(`{"access_token":"` + tok + `"}`)}
		b := *a
		b.Data = json.RawMessage(`{"access_token":"other"}`)
		d := CompareRecords(a, &b)
		if len(d) != 1 || d[0].Field != "data" || d[0].A != "<secret>" || d[0].B != "<secret>" {
			t.Errorf("%s/%s/%s: diffs %+v, want data <secret>", tc.owner, tc.bucket, tc.name, d)
		}
	}
	// Ordinary application data is shown, escaped.
	a := &Attribute{ID: "a1", Bucket: "app", Name: "settings", BucketName: "app:settings", Data: json.RawMessage(`{"x":"a` + "\u202e" + `b"}`)}
	b := *a
	b.Data = json.RawMessage(`{"x":1}`)
	d := CompareRecords(a, &b)
	if len(d) != 1 || d[0].A != `{"x":"a\u202eb"}` || d[0].B != `{"x":1}` {
		t.Errorf("app data diffs %+v", d)
	}
}
