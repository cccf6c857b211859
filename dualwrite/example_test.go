package dualwrite_test

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/dualwrite"
	"github.com/actingweb/actingweb-go/dynamodb"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/postgres"
	"github.com/prometheus/client_golang/prometheus"
)

// Move an application from PostgreSQL (the old store, from upstream's PG_DB_* variables) to
// DynamoDB (the new one, from AWS_DB_*), both with their schemas ready (`actingweb schema
// upgrade`). The phase moves here in code, as `actingweb phase set` moves it for every
// running instance; Refresh takes it up at once instead of within PhaseCacheTTL. It needs the
// two services, so `go test` only compiles it; TestExample runs it on the test services. It
// prints:
//
//	write-both: wrote ada
//	read-new: displayname = Ada Lovelace
//	shadow reads 1, mismatches 0
//	rolled back to write-both
func Example() {
	ctx := context.Background()
	pgCfg, err := postgres.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Println(err)
		return
	}
	old, err := postgres.Open(ctx, pgCfg) // the store the application uses today
	if err != nil {
		fmt.Println(err)
		return
	}
	ddbCfg, err := dynamodb.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Println(err)
		return
	}
	nw, err := dynamodb.Open(ctx, ddbCfg) // the store it moves to
	if err != nil {
		fmt.Println(err)
		return
	}
	reg := prometheus.NewRegistry() // serve it with promhttp.HandlerFor(reg, ...)
	store, err := dualwrite.New(ctx, old, nw, dualwrite.Options{ShadowPercent: 100, Registerer: reg})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close() // closes both stores

	// moveTo sets the phase in the control record, which lives in the old store.
	moveTo := func(p dualwrite.Phase) error {
		if _, err := dualwrite.SetPhase(ctx, old, dualwrite.DefaultControlKey, p); err != nil {
			return err
		}
		return store.Refresh(ctx)
	}

	// write-both: PostgreSQL decides every write, the rows are copied to DynamoDB.
	if err := moveTo(dualwrite.PhaseWriteBoth); err != nil {
		fmt.Println(err)
		return
	}
	if err := store.CreateActor(ctx, actingweb.Actor{ID: "ada", Creator: "ada@example.com", Passphrase: "secret"}); err != nil {
		fmt.Println(err)
		return
	}
	if err := store.SetProperty(ctx, "ada", "displayname", "Ada Lovelace"); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("write-both: wrote ada")

	// read-new: DynamoDB answers; each read also runs on PostgreSQL and is compared.
	if err := moveTo(dualwrite.PhaseReadNew); err != nil {
		fmt.Println(err)
		return
	}
	name, err := store.GetProperty(ctx, "ada", "displayname")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("read-new: displayname =", name)

	// Watch the shadow reads: a mismatch means the stores differ (the log names key and fields).
	counter := func(name string) (n float64) {
		families, _ := reg.Gather()
		for _, f := range families {
			if f.GetName() == name {
				for _, m := range f.GetMetric() {
					n += m.GetCounter().GetValue()
				}
			}
		}
		return n
	}
	fmt.Printf("shadow reads %.0f, mismatches %.0f\n",
		counter("actingweb_dualwrite_shadow_reads_total"), counter("actingweb_dualwrite_shadow_mismatches_total"))

	// Roll back one step: PostgreSQL decides again, and still gets every write.
	if err := moveTo(dualwrite.PhaseWriteBoth); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("rolled back to write-both")
}

// TestExample runs Example on the test services, through the variables it reads (a fresh
// PostgreSQL schema and DynamoDB prefix with their schemas upgraded), and checks what it
// prints against its doc comment.
func TestExample(t *testing.T) {
	pgURL, schema := testenv.FreshPostgresSchema(t)
	endpoint := testenv.DynamoDBEndpoint(t)
	prefix := testenv.UniqueDynamoPrefix(t)
	u, err := url.Parse(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := u.User.Password()
	for k, v := range map[string]string{
		"PG_DB_HOST": u.Hostname(), "PG_DB_PORT": u.Port(), "PG_DB_NAME": strings.TrimPrefix(u.Path, "/"),
		"PG_DB_USER": u.User.Username(), "PG_DB_PASSWORD": pw, "PG_DB_PREFIX": "", "PG_DB_SCHEMA": schema,
		"AWS_DB_HOST": endpoint, "AWS_DB_PREFIX": prefix, "AWS_PROFILE": "", "AWS_ACCESS_KEY_ID": "",
		"AWS_EC2_METADATA_DISABLED": "true", "USE_PROPERTY_LOOKUP_TABLE": "", "INDEXED_PROPERTIES": "",
	} {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pgCfg, err := postgres.ConfigFromEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := postgres.Open(ctx, pgCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	ddbCfg, err := dynamodb.ConfigFromEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	ddb, err := dynamodb.Open(ctx, ddbCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := ddb.DropTables(ctx); err != nil {
			t.Errorf("DropTables %s: %v", prefix, err)
		}
		_ = ddb.Close()
	})
	for _, s := range []bulk.Backend{pg, ddb} {
		if _, err := s.UpgradeSchema(ctx); err != nil {
			t.Fatalf("UpgradeSchema %s: %v", s.Describe(), err)
		}
	}

	got := captureStdout(t, Example)
	want := "write-both: wrote ada\nread-new: displayname = Ada Lovelace\nshadow reads 1, mismatches 0\nrolled back to write-both\n"
	if got != want {
		t.Errorf("Example printed:\n%s\nwant:\n%s", got, want)
	}
	// The rows went to both stores, and the phase stayed where the example left it.
	for _, s := range []bulk.Backend{pg, ddb} {
		if v, err := s.GetProperty(ctx, "ada", "displayname"); err != nil || v != "Ada Lovelace" {
			t.Errorf("%s: displayname = %q, %v; want Ada Lovelace", s.Describe(), v, err)
		}
	}
	if p, _, err := dualwrite.ReadPhase(ctx, pg, dualwrite.DefaultControlKey); err != nil || p != dualwrite.PhaseWriteBoth {
		t.Errorf("phase = %s, %v; want write-both", p, err)
	}
}

// captureStdout runs fn with os.Stdout going to a pipe and returns what it wrote.
func captureStdout(t *testing.T, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	stdout := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = stdout }()
	fn()
	os.Stdout = stdout
	w.Close()
	return <-done
}
