package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/postgres"
)

// TestStoreURLPasswordNeverPrinted: a postgres:// URL with a password that does not parse (a
// bad port, a bad query, bad pgx settings) gives a one-line error without the password.
func TestStoreURLPasswordNeverPrinted(t *testing.T) {
	t.Parallel()
	const pw = "hunter2-url-password"
	for _, u := range []string{
		"postgres://aw:" + pw + "@db.internal:bad/actingweb",
		"postgres://aw:" + pw + "@db.internal:5432/actingweb?schema=a%zz",
		"postgres://aw:" + pw + "@db.internal:5432/actingweb?sslmode=bogus",
		"postgres://aw:" + pw + "@db.internal:5432/actingweb?connect_timeout=soon",
		"postgres://aw:" + pw + " x@db.internal:5432/actingweb",
		"postgres://aw:" + pw + "@[::1/actingweb",
	} {
		t.Run(u, func(t *testing.T) {
			t.Parallel()
			a, out, errb := newTestApp(map[string]string{"PG_POOL_TIMEOUT": "1"})
			code := a.Execute(context.Background(), []string{"schema", "status", "--to", u})
			if code == ExitOK {
				t.Fatalf("exit 0")
			}
			all := out.String() + errb.String()
			if strings.Contains(all, pw) {
				t.Fatalf("output shows the password:\n%s", all)
			}
			if strings.Count(strings.TrimSpace(errb.String()), "actingweb: ") != 1 {
				t.Errorf("want one error line, stderr: %q", errb)
			}
		})
	}
}

// TestValidateShowsNoSecrets: two PostgreSQL schemas differing in an actor's passphrase, a
// trust's secret and verification token, OAuth token attributes and plain application data,
// with keys holding a newline and U+202E: the text output and the --report JSON show the
// secret fields as differing only, never a value, and every key escaped.
func TestValidateShowsNoSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	urlA, _ := testenv.FreshPostgresSchema(t)
	urlB, _ := testenv.FreshPostgresSchema(t)
	const (
		passA, passB = "passphrase-A-never-shown", "passphrase-B-never-shown"
		secA, secB   = "trust-secret-A-never-shown", "trust-secret-B-never-shown"
		vtA, vtB     = "verif-A-never-shown", "verif-B-never-shown"
		tokA, tokB   = "ya29.access-A-never-shown", "ya29.access-B-never-shown"
		evilActor    = "evil\nactor\u202etxt.exe"
	)
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	write := func(u, pass, sec, vt, tok, app string) {
		s, err := postgres.Open(ctx, mustPGConfig(t, u))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.UpgradeSchema(ctx); err != nil {
			t.Fatal(err)
		}
		batches := map[actingweb.Table][]actingweb.Record{
			actingweb.TableActors: {
				&actingweb.Actor{ID: "a1", Creator: "c@example.com", Passphrase: pass},
				&actingweb.Actor{ID: evilActor, Creator: "e@example.com", Passphrase: pass},
			},
			actingweb.TableTrusts: {&actingweb.Trust{ID: "a1", PeerID: "peer\u202e1", BaseURI: "https://p", Type: "t",
				Relationship: "friend", Secret: sec, VerificationToken: &vt, CreatedAt: &now, LastAccessed: &now}},
			actingweb.TableAttributes: {
				&actingweb.Attribute{ID: "a1", Bucket: "_internal", Name: "oauth_tokens:peer1", BucketName: "_internal:oauth_tokens:peer1",
					Data: json.RawMessage(`{"access_token":"` + tok + `"}`), Timestamp: &now},
				&actingweb.Attribute{ID: "_actingweb_oauth2", Bucket: "spa_access_tokens", Name: "at1", BucketName: "spa_access_tokens:at1",
					Data: json.RawMessage(`{"token":"` + tok + `"}`), Timestamp: &now},
				&actingweb.Attribute{ID: evilActor, Bucket: "app", Name: "k\n2", BucketName: "app:k\n2",
					Data: json.RawMessage(`{"v":"` + app + `"}`), Timestamp: &now},
			},
		}
		for _, tb := range []actingweb.Table{actingweb.TableActors, actingweb.TableTrusts, actingweb.TableAttributes} {
			res, err := s.WriteBatch(ctx, tb, batches[tb], bulk.ConflictFail)
			if err != nil || len(res.Rejects) > 0 {
				t.Fatalf("write %s: %v %+v", tb, err, res.Rejects)
			}
		}
	}
	write(urlA, passA, secA, vtA, tokA, "plain-A")
	write(urlB, passB, secB, vtB, tokB, "plain-B\u202e")

	report := filepath.Join(t.TempDir(), "validate.json")
	a, out, errb := newTestApp(nil)
	code := a.Execute(ctx, []string{"validate", "--from", urlA, "--to", urlB, "--report", report, "--quiet",
		"--tables", "actors,trusts,attributes"})
	if code != ExitMismatch {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitMismatch, out, errb)
	}
	rep, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	text := out.String() + errb.String()
	t.Logf("output:\n%s", text)
	for name, s := range map[string]string{"output": text, "report": string(rep)} {
		for _, secret := range []string{passA, passB, secA, secB, vtA, vtB, tokA, tokB} {
			if strings.Contains(s, secret) {
				t.Errorf("%s shows a secret (%s)", name, secret)
			}
		}
		if strings.ContainsAny(s, "\u202e") {
			t.Errorf("%s holds a raw U+202E", name)
		}
		esc := `evil\nactor\u202etxt.exe`
		if name == "report" { // in JSON, the escape's backslashes are escaped again
			esc = strings.ReplaceAll(esc, `\`, `\\`)
		}
		if !strings.Contains(s, esc) {
			t.Errorf("%s lacks the escaped key", name)
		}
	}
	// The differences are listed: secrets as <secret>, plain data by value (escaped).
	for _, w := range []string{
		"actors evil\\nactor\\u202etxt.exe: changed: passphrase A=<secret> B=<secret>",
		"trusts a1 / peer\\u202e1: changed: secret A=<secret> B=<secret>, verification_token A=<secret> B=<secret>",
		"attributes a1 / _internal:oauth_tokens:peer1: changed: data A=<secret> B=<secret>",
		"attributes _actingweb_oauth2 / spa_access_tokens:at1: changed: data A=<secret> B=<secret>",
		`attributes evil\nactor\u202etxt.exe / app:k\n2: changed: data A={"v":"plain-A"} B={"v":"plain-B\u202e"}`,
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q", w)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if strings.HasPrefix(line, "actor") && !strings.HasPrefix(line, "actors") {
			t.Errorf("a key split a line: %q", line)
		}
	}
	var parsed map[string]any
	if err := json.Unmarshal(rep, &parsed); err != nil {
		t.Errorf("report is not JSON: %v", err)
	}
}
