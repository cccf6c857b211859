package migrate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/migrate"
	"github.com/actingweb/actingweb-go/postgres"
	"github.com/jackc/pgx/v5"
)

// freshDatabase creates a database with the given server encoding in the test cluster (C
// locale, dropped when the test ends) and returns its URL.
func freshDatabase(t *testing.T, encoding string) string {
	t.Helper()
	base, _, err := testenv.SplitSchemaParam(testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("t_enc_%s_%d", strings.ToLower(encoding), time.Now().UnixNano())
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" ENCODING '"+encoding+"' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Error(err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// TestExportTextEncodings: an export from a UTF8 database (whose strings the bundle encoder
// trusts to be valid UTF-8, Capabilities.Validated) and from a SQL_ASCII database (which stores any bytes,
// so the encoder checks them) writes exactly json.Marshal's bytes for every property, with
// values long enough for the vector loop and dense in everything JSON escapes.
func TestExportTextEncodings(t *testing.T) {
	ctx := context.Background()
	values := []string{
		`{"café_17":"piñata budget","größe":[1,2,"x\"y"],"k":"<b>&amp;</b>"}`,
		strings.Repeat(`""\\`, 20) + "Überblick 会議 😀 ✅ \u2028 \u2029 end",
		"tab\there\nnewline\x01\x1f control characters in a long enough value é",
		strings.Repeat("abcdefghijklmnop", 5),
		strings.Repeat("é", 40) + `"`,
		"",
	}
	for _, enc := range []string{"UTF8", "SQL_ASCII"} {
		t.Run(enc, func(t *testing.T) {
			dbURL := freshDatabase(t, enc)
			s := openURL(t, dbURL)
			if _, err := s.UpgradeSchema(ctx); err != nil {
				t.Fatal(err)
			}
			if got := s.Capabilities(ctx).Validated; got != (enc == "UTF8") {
				t.Fatalf("Capabilities().Validated = %v on a %s database", got, enc)
			}
			vals := values
			if enc == "SQL_ASCII" { // bytes a UTF8 database refuses
				vals = append(vals, "invalid \xff\xfe bytes in a value of some length \xc3", "\xe2\x80 cut sequence at the start of a long value")
			}
			var recs []actingweb.Record
			for i, v := range vals {
				recs = append(recs, &actingweb.Property{ID: "actor1", Name: fmt.Sprintf("p%02d", i), Value: v})
			}
			// not WriteBatch, which refuses invalid UTF-8 in any database, nor the store's
			// connections, whose client_encoding UTF8 has the server check what it is sent
			cc, err := pgx.ParseConfig(dbURL)
			if err != nil {
				t.Fatal(err)
			}
			cc.RuntimeParams["client_encoding"] = enc
			conn, err := pgx.ConnectConfig(ctx, cc)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			for _, r := range recs {
				p := r.(*actingweb.Property)
				if _, err := conn.Exec(ctx, "INSERT INTO properties (id, name, value) VALUES ($1, $2, $3)", p.ID, p.Name, p.Value); err != nil {
					t.Fatalf("insert %q: %v", p.Value, err)
				}
			}
			// payloads through jsonb (which sends them with spaces after ':' and ','), dense in
			// what the compaction keeps, drops and escapes
			var attrs []actingweb.Record
			for i, d := range []string{
				`{"a": "x y", "b": [1, 2, {"c": "\" \\ \n"}], "d": "é 中 😀 ’"}`,
				`{"k": "<b>&amp;</b>", "l": "  "}`,
				`[` + strings.Repeat(`"spaced out value", `, 10) + `true]`,
				`"just a string with \"quotes\" and spaces"`,
				`12.5`,
			} {
				attrs = append(attrs, &actingweb.Attribute{ID: "actor1", BucketName: fmt.Sprintf("b:n%d", i), Bucket: "b", Name: fmt.Sprintf("n%d", i), Data: json.RawMessage(d)})
			}
			if res, err := s.WriteBatch(ctx, actingweb.TableAttributes, attrs, bulk.ConflictFail); err != nil || len(res.Rejects) > 0 {
				t.Fatalf("write attributes: %v %v", err, res.Rejects)
			}
			dir := filepath.Join(t.TempDir(), "bundle")
			if _, err := migrate.Export(ctx, s, dir, migrate.Options{Tables: []actingweb.Table{actingweb.TableProperties, actingweb.TableAttributes}, NoSync: true}); err != nil {
				t.Fatal(err)
			}
			var wantAttrs []byte
			err = s.Scan(ctx, actingweb.TableAttributes, bulk.ScanOptions{}, func(p bulk.Page) error {
				for _, r := range p.Records {
					b, err := json.Marshal(r)
					if err != nil {
						return err
					}
					wantAttrs = append(append(wantAttrs, b...), '\n')
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got, err := os.ReadFile(filepath.Join(dir, "attributes.jsonl")); err != nil || !bytes.Equal(got, wantAttrs) {
				t.Fatalf("attributes.jsonl (%v):\n%s\nwant (json.Marshal of the scanned records):\n%s", err, got, wantAttrs)
			}
			got, err := os.ReadFile(filepath.Join(dir, "properties.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			var want []byte
			for _, r := range recs { // the scan's order: primary key (id, name)
				b, err := json.Marshal(r)
				if err != nil {
					t.Fatal(err)
				}
				want = append(append(want, b...), '\n')
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("properties.jsonl:\n%s\nwant (json.Marshal):\n%s", got, want)
			}
			if enc == "UTF8" {
				// a payload column of another type than json/jsonb takes any text: no promise
				if _, err := s.Pool().Exec(ctx, "CREATE SCHEMA alt; CREATE TABLE alt.attributes (id text, data text)"); err != nil {
					t.Fatal(err)
				}
				u, _ := url.Parse(dbURL)
				u.RawQuery = "schema=alt"
				if openURL(t, u.String()).Capabilities(ctx).Validated {
					t.Fatal("Capabilities().Validated with attributes.data of type text")
				}
				return
			}
			// The promise reaches the bundle writer: a source that claims it for the
			// SQL_ASCII database's invalid bytes gets them written as they are (json.Marshal
			// writes \ufffd), which is why only a source that can keep it may claim it.
			dir2 := filepath.Join(t.TempDir(), "bundle")
			if _, err := migrate.Export(ctx, claimValidated{s}, dir2, migrate.Options{Tables: []actingweb.Table{actingweb.TableProperties}, NoSync: true}); err != nil {
				t.Fatal(err)
			}
			if got, err := os.ReadFile(filepath.Join(dir2, "properties.jsonl")); err != nil || !bytes.Contains(got, []byte("invalid \xff\xfe bytes")) {
				t.Fatalf("export with the promise claimed (%v):\n%q", err, got)
			}
		})
	}
}

// openURL opens a PostgreSQL store on url, closed when the test ends.
func openURL(t *testing.T, url string) *postgres.Store {
	t.Helper()
	cfg, err := postgres.ConfigFromURL(url, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// claimValidated is a store that claims bulk.Capabilities.Validated's promise whatever it holds.
type claimValidated struct{ *postgres.Store }

func (c claimValidated) Capabilities(ctx context.Context) bulk.Capabilities {
	caps := c.Store.Capabilities(ctx)
	caps.Validated = true
	return caps
}
