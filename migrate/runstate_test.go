package migrate_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/bundle"
	"github.com/actingweb/actingweb-go/internal/testenv"
	"github.com/actingweb/actingweb-go/migrate"
	"github.com/aws/aws-sdk-go-v2/aws"
	ddbsdk "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// interrupted runs f with a context cancelled after n Rows callbacks and wants it stopped by
// that cancellation. It returns the stopped run's report.
func interrupted(t *testing.T, n int64, f func(ctx context.Context, p migrate.Progress) (*migrate.Report, error)) *migrate.Report {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rep, err := f(ctx, &cancelAfter{n: n, cancel: cancel})
	if !errors.Is(err, context.Canceled) || rep == nil {
		t.Fatalf("first run: %v, want it cancelled with a report", err)
	}
	return rep
}

func countAll(t *testing.T, s bulk.TableStore) int64 {
	t.Helper()
	var n int64
	for _, tb := range actingweb.Tables {
		c, err := s.Count(context.Background(), tb)
		if err != nil {
			t.Fatal(err)
		}
		n += c
	}
	return n
}

// TestResumeRefusesAnotherRun: checkpoints are bound to their run. A resumed copy, import or
// export whose source, target, conflict policy, segments or tables differ from the
// interrupted run's is refused with ErrRunMismatch naming what differs, before it writes
// anything; the same command then resumes and finishes with equal data.
func TestResumeRefusesAnotherRun(t *testing.T) {
	testenv.PostgresURL(t)
	ctx := context.Background()
	seedDir, seed := seedBundle(t, 200)
	otherDir, _ := seedBundle(t, 150)
	pgA, pgB := openPG(t), openPG(t)
	for _, s := range []bulk.Sink{pgA, pgB} {
		if _, err := migrate.Import(ctx, seedDir, s, migrate.Options{StateDir: t.TempDir()}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("copy", func(t *testing.T) {
		t.Parallel()
		dst, other := openPG(t), openPG(t)
		state := t.TempDir()
		o := migrate.Options{StateDir: state, BatchSize: 50}
		rep := interrupted(t, 6, func(ctx context.Context, p migrate.Progress) (*migrate.Report, error) {
			o := o
			o.Progress = p
			return migrate.Copy(ctx, pgA, dst, o)
		})
		before := countAll(t, dst)
		lookup, err := dst.Count(ctx, actingweb.TablePropertyLookup) // built alongside, not a moved table
		if err != nil {
			t.Fatal(err)
		}
		if w := rep.Totals().Written; w != before-lookup || w == 0 {
			t.Fatalf("the stopped run reports %d rows written, the target holds %d (and %d lookup rows)", w, before-lookup, lookup)
		}
		for _, c := range []struct {
			name     string
			src      bulk.Source
			dst      bulk.Sink
			o        migrate.Options
			mentions string
		}{
			{"another source", pgB, dst, o, "source postgres schema"},
			{"another target", pgA, other, o, "target postgres schema"},
			{"another policy", pgA, dst, migrate.Options{StateDir: state, BatchSize: 50, Policy: bulk.ConflictOverwrite}, "--on-conflict overwrite"},
			{"a shared scan", pgA, dst, migrate.Options{StateDir: state, BatchSize: 50, TotalSegments: 2}, "share 0 of 2"},
		} {
			c.o.Resume = true
			_, err := migrate.Copy(ctx, c.src, c.dst, c.o)
			if !errors.Is(err, migrate.ErrRunMismatch) || !strings.Contains(err.Error(), c.mentions) {
				t.Fatalf("%s: %v; want ErrRunMismatch naming %q", c.name, err, c.mentions)
			}
		}
		if got := countAll(t, dst); got != before {
			t.Fatalf("the refused resumes wrote: %d rows, %d before", got, before)
		}
		if n := countAll(t, other); n != 0 {
			t.Fatalf("the refused resume wrote %d rows into another target", n)
		}
		o.Resume = true
		if _, err := migrate.Copy(ctx, pgA, dst, o); err != nil {
			t.Fatal(err)
		}
		mustEqual(t, seed, dst)
		if left, _ := filepath.Glob(filepath.Join(state, "*.json")); len(left) != 0 {
			t.Fatalf("state left after the run finished: %v", left)
		}
	})

	t.Run("import of another bundle", func(t *testing.T) {
		t.Parallel()
		dst := openPG(t)
		state := t.TempDir()
		o := migrate.Options{StateDir: state, BatchSize: 50}
		interrupted(t, 6, func(ctx context.Context, p migrate.Progress) (*migrate.Report, error) {
			o := o
			o.Progress = p
			return migrate.Import(ctx, seedDir, dst, o)
		})
		before := countAll(t, dst)
		o.Resume = true
		if _, err := migrate.Import(ctx, otherDir, dst, o); !errors.Is(err, migrate.ErrRunMismatch) || !strings.Contains(err.Error(), "bundle") {
			t.Fatalf("resume from another bundle: %v", err)
		}
		if got := countAll(t, dst); got != before {
			t.Fatalf("the refused resume wrote: %d rows, %d before", got, before)
		}
		if _, err := migrate.Import(ctx, seedDir, dst, o); err != nil {
			t.Fatal(err)
		}
		mustEqual(t, seed, dst)
	})

	t.Run("export from another source", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "out")
		o := migrate.Options{BatchSize: 50, PageSize: 50}
		interrupted(t, 6, func(ctx context.Context, p migrate.Progress) (*migrate.Report, error) {
			o := o
			o.Progress = p
			return migrate.Export(ctx, pgA, out, o)
		})
		o.Resume = true
		if _, err := migrate.Export(ctx, pgB, out, o); !errors.Is(err, migrate.ErrRunMismatch) || !strings.Contains(err.Error(), "source postgres schema") {
			t.Fatalf("resume from another source: %v", err)
		}
		if _, err := migrate.Export(ctx, pgA, out, o); err != nil {
			t.Fatal(err)
		}
		mustEqual(t, seed, openBundle(t, out))
	})
}

// TestResumeRefusesAnotherPrefix: an export from DynamoDB resumed with another table prefix
// as its source is refused naming the prefix, and the bundle is not mixed from two sources.
func TestResumeRefusesAnotherPrefix(t *testing.T) {
	testenv.DynamoDBEndpoint(t)
	ctx := context.Background()
	a, seed := seededDDB(t, 120)
	b, _ := seededDDB(t, 60)
	out := filepath.Join(t.TempDir(), "out")
	o := migrate.Options{BatchSize: 25, PageSize: 25, Segments: 1}
	interrupted(t, 6, func(ctx context.Context, p migrate.Progress) (*migrate.Report, error) {
		o := o
		o.Progress = p
		return migrate.Export(ctx, a, out, o)
	})
	o.Resume = true
	if _, err := migrate.Export(ctx, b, out, o); !errors.Is(err, migrate.ErrRunMismatch) || !strings.Contains(err.Error(), "source dynamodb prefix") {
		t.Fatalf("resume from another prefix: %v", err)
	}
	if _, err := migrate.Export(ctx, a, out, o); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, seed, openBundle(t, out))
}

// TestPartialResume: a resume limited to some tables keeps the progress of the others, and
// the full resume after it finishes under the default policy (no conflicts from tables
// written twice); the state goes only when every table of the run is done.
func TestPartialResume(t *testing.T) {
	testenv.PostgresURL(t)
	ctx := context.Background()
	seedDir, seed := seedBundle(t, 200)
	src, dst := openPG(t), openPG(t)
	if _, err := migrate.Import(ctx, seedDir, src, migrate.Options{StateDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	o := migrate.Options{StateDir: state, BatchSize: 50, TableParallelism: 1}
	interrupted(t, 8, func(ctx context.Context, p migrate.Progress) (*migrate.Report, error) {
		o := o
		o.Progress = p
		return migrate.Copy(ctx, src, dst, o)
	})
	o.Resume = true
	for range 2 { // twice: the second finds both tables done and does nothing
		part := o
		part.Tables = []actingweb.Table{actingweb.TableActors, actingweb.TableSubscriptions}
		rep, err := migrate.Copy(ctx, src, dst, part)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Tables) != 2 {
			t.Fatalf("partial resume moved %d tables", len(rep.Tables))
		}
		if _, err := os.Stat(filepath.Join(state, "run.json")); err != nil {
			t.Fatalf("the partial resume removed the run's state: %v", err)
		}
	}
	part := o
	part.Tables = []actingweb.Table{actingweb.TableActors, "nonsense"}
	if _, err := migrate.Copy(ctx, src, dst, part); err == nil {
		t.Fatal("resume with a table outside the run accepted")
	}
	rep, err := migrate.Copy(ctx, src, dst, o)
	if err != nil {
		t.Fatalf("full resume after a partial one: %v", err)
	}
	if len(rep.Tables) != 8 {
		t.Fatalf("full resume reported %d tables", len(rep.Tables))
	}
	mustEqual(t, seed, dst)
	if left, _ := filepath.Glob(filepath.Join(state, "*.json")); len(left) != 0 {
		t.Fatalf("state left after the run finished: %v", left)
	}
}

// blockFirstRows is a Progress whose first Rows call signals started and waits for release:
// the run then holds its locks until the test lets it go on.
type blockFirstRows struct {
	once    sync.Once
	started chan struct{}
	release chan struct{}
}

func newBlockFirstRows() *blockFirstRows {
	return &blockFirstRows{started: make(chan struct{}), release: make(chan struct{})}
}

func (b *blockFirstRows) TableStarted(actingweb.Table, int64) {}
func (b *blockFirstRows) Rows(actingweb.Table, int) {
	b.once.Do(func() { close(b.started); <-b.release })
}
func (b *blockFirstRows) TableDone(actingweb.Table, migrate.TableSummary) {}

// TestOneRunPerTarget: while one copy runs into a target, a second copy from another source
// into the same target (PostgreSQL: advisory lock; DynamoDB: lease item), and a second run
// into the same state directory (flock), are refused with ErrLocked naming the running run;
// the first run finishes unharmed, and afterwards the target takes a new run at once.
func TestOneRunPerTarget(t *testing.T) {
	testenv.PostgresURL(t)
	testenv.DynamoDBEndpoint(t)
	ctx := context.Background()
	seedDir, seed := seedBundle(t, 100)
	otherDir, _ := seedBundle(t, 50)
	for _, c := range []struct {
		name string
		dst  func() bulk.Backend
	}{
		{"postgres", func() bulk.Backend { return openPG(t) }},
		{"dynamodb", func() bulk.Backend { return openDDB(t) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dst := c.dst()
			b := newBlockFirstRows()
			state := t.TempDir()
			errc := make(chan error, 1)
			go func() {
				_, err := migrate.Import(ctx, seedDir, dst, migrate.Options{StateDir: state, Progress: b})
				errc <- err
			}()
			select {
			case <-b.started:
			case err := <-errc:
				t.Fatalf("first run ended before its first rows: %v", err)
			}
			_, err := migrate.Import(ctx, otherDir, dst, migrate.Options{StateDir: t.TempDir()})
			if !errors.Is(err, actingweb.ErrLocked) || !strings.Contains(err.Error(), "import on host") {
				t.Errorf("second run into the same target: %v; want ErrLocked naming the first", err)
			}
			_, err = migrate.Import(ctx, seedDir, dst, migrate.Options{StateDir: state, Resume: true})
			if !errors.Is(err, actingweb.ErrLocked) || !strings.Contains(err.Error(), "pid") {
				t.Errorf("second run into the same state directory: %v; want ErrLocked naming the first", err)
			}
			close(b.release)
			if err := <-errc; err != nil {
				t.Fatalf("first run: %v", err)
			}
			mustEqual(t, seed, dst)
			if _, err := migrate.Import(ctx, seedDir, dst, migrate.Options{StateDir: t.TempDir(), Policy: bulk.ConflictSkip}); err != nil {
				t.Fatalf("a run after the first finished: %v", err)
			}
		})
	}
}

// TestLeaseOfAKilledRun: a lease item left by a run killed with SIGKILL (never released,
// not expired) refuses other runs, naming its holder and when it runs out, and is taken over
// at once by the resume of the same run (the same run id), and by anyone once it expired.
func TestLeaseOfAKilledRun(t *testing.T) {
	ddb := openDDB(t)
	ctx := context.Background()
	l, err := ddb.Lock(ctx, "migrate", "first", "run-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Release(ctx); err != nil { // the table exists now
		t.Fatal(err)
	}
	put := func(expires time.Time) {
		_, err := ddb.Client().PutItem(ctx, &ddbsdk.PutItemInput{TableName: aws.String(ddb.ControlTable()),
			Item: map[string]types.AttributeValue{
				"id":         &types.AttributeValueMemberS{Value: "lock/migrate"},
				"holder":     &types.AttributeValueMemberS{Value: "copy on host dead-host, pid 4242"},
				"run_id":     &types.AttributeValueMemberS{Value: "run-1"},
				"expires_at": &types.AttributeValueMemberN{Value: strconv.FormatInt(expires.UnixMilli(), 10)},
			}})
		if err != nil {
			t.Fatal(err)
		}
	}
	put(time.Now().Add(time.Minute))
	if _, err := ddb.Lock(ctx, "migrate", "second", "run-2"); !errors.Is(err, actingweb.ErrLocked) ||
		!strings.Contains(err.Error(), "dead-host, pid 4242") || !strings.Contains(err.Error(), "runs out in") {
		t.Fatalf("another run: %v", err)
	}
	l, err = ddb.Lock(ctx, "migrate", "resumed", "run-1")
	if err != nil {
		t.Fatalf("the resume of the killed run: %v", err)
	}
	l.Release(ctx)
	put(time.Now().Add(-time.Second))
	l, err = ddb.Lock(ctx, "migrate", "third", "run-3")
	if err != nil {
		t.Fatalf("an expired lease: %v", err)
	}
	l.Release(ctx)
}

func openBundle(t *testing.T, dir string) *bundle.Reader {
	t.Helper()
	r, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
