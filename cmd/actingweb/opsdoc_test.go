package main

import (
	"bufio"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/actingweb/actingweb-go/internal/testenv"
)

// docBlock is a fenced code block of a Markdown document: its language and text, and the
// line its fence opens on.
type docBlock struct {
	lang, text string
	line       int
}

// readDocBlocks returns the fenced code blocks of the Markdown file at path, in order.
func readDocBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []docBlock
	var cur *docBlock
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(l, "```"):
			cur = &docBlock{lang: strings.TrimSpace(strings.TrimPrefix(l, "```")), line: n}
		case cur != nil && strings.TrimSpace(l) == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += l + "\n"
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s:%d: a fenced block is not closed", path, cur.line)
	}
	return blocks
}

// TestOperationsDoc runs every command of docs/operations.md, in document order, against the
// test services: a `sh` block by bash (-e -u -o pipefail) with the actingweb binary on PATH
// and the environment of a deployment on PostgreSQL (DATABASE_BACKEND=postgresql, PG_DB_*
// naming a fresh schema that holds synthetic data; AWS_DB_HOST and a fresh AWS_DB_PREFIX for
// DynamoDB Local), a `sql` block on that schema. A block that fails fails the test with its
// file:line. Blocks in other languages are examples and are not run; a document without
// runnable blocks fails too.
func TestOperationsDoc(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const doc = "../../docs/operations.md"
	blocks := readDocBlocks(t, doc)
	pgURL, schema := testenv.FreshPostgresSchema(t)
	endpoint := testenv.DynamoDBEndpoint(t)
	prefix := testenv.UniqueDynamoPrefix(t)
	dropDynamoTablesAtCleanup(t, dynamoURL(endpoint, prefix))
	loadSyntheticPostgres(ctx, t, pgURL)
	bin := buildCLI(t)

	connURL, _, err := testenv.SplitSchemaParam(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(connURL)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := pgx.ParseConfig(connURL)
	if err != nil {
		t.Fatal(err)
	}
	cc.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// the schemas the document's examples create (section 3's move off legacy mode, section
	// 5's restore drill), in case a run died before dropping them
	const scratch = "DROP SCHEMA IF EXISTS actingweb_drill CASCADE; DROP SCHEMA IF EXISTS legacy_moved CASCADE"
	if _, err := conn.Exec(ctx, scratch); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Exec(context.Background(), scratch) })

	env := append(os.Environ(),
		"PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"DATABASE_BACKEND=postgresql", "PG_DB_HOST="+u.Hostname(), "PG_DB_PORT="+u.Port(),
		"PG_DB_NAME="+strings.TrimPrefix(u.Path, "/"), "PG_DB_USER="+u.User.Username(),
		"PG_DB_SCHEMA="+schema, "PG_DB_PREFIX=",
		"AWS_DB_HOST="+endpoint, "AWS_DB_PREFIX="+prefix, "AWS_DEFAULT_REGION=us-west-1")
	work := t.TempDir()
	ran := 0
	for _, b := range blocks {
		where := doc[len("../../"):] + ":" + strconv.Itoa(b.line)
		switch b.lang {
		case "sh":
			cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", b.text)
			cmd.Dir, cmd.Env = work, env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: sh block failed: %v\n%s\n--- output:\n%s", where, err, b.text, out)
			}
		case "sql":
			if _, err := conn.Exec(ctx, b.text); err != nil {
				t.Fatalf("%s: sql block failed: %v\n%s", where, err, b.text)
			}
		default:
			continue
		}
		ran++
	}
	if ran == 0 {
		t.Fatalf("%s has no sh or sql block", doc)
	}
	t.Logf("%d blocks of %s ran", ran, doc)
}
