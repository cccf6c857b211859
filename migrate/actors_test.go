package migrate_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/migrate"
)

// TestPilotActors: a copy limited to a few actors (--actors FILE) moves their rows in every
// table and nobody else's (reserved owners only when listed); validate with the same list says
// equal, without it says different; a resume with another list is refused.
func TestPilotActors(t *testing.T) {
	t.Parallel()
	seedDir, _ := seedBundle(t, 40)
	src := openPG(t)
	ctx := context.Background()
	if _, err := migrate.Import(ctx, seedDir, src, migrate.Options{StateDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "pilot.txt")
	if err := os.WriteFile(file, []byte("# pilot\na00003\n\n  a00017  \n_actingweb_system\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pilot, err := migrate.ReadActorsFile(file)
	if err != nil || len(pilot) != 3 {
		t.Fatalf("ReadActorsFile: %v %v", pilot, err)
	}
	dst := openPG(t)
	if _, err := migrate.Copy(ctx, src, dst, migrate.Options{Actors: pilot, StateDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	for _, tb := range actingweb.Tables {
		err := dst.Scan(ctx, tb, bulk.ScanOptions{}, func(p bulk.Page) error {
			for _, r := range p.Records {
				if !pilot[r.Owner()] {
					t.Errorf("%s: row of %s copied, not in the pilot", tb, r.Owner())
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := dst.Count(ctx, actingweb.TableActors); n != 2 {
		t.Errorf("actors copied: %d, want 2", n)
	}
	if n, _ := dst.Count(ctx, actingweb.TableAttributes); n != 3 {
		t.Errorf("attributes copied: %d, want 3 (two actors' and the listed reserved owner's)", n)
	}
	rep, err := migrate.Validate(ctx, src, dst, migrate.ValidateOptions{Actors: pilot})
	if err != nil || !rep.Equal {
		t.Fatalf("validate of the pilot: equal %v, %v", rep != nil && rep.Equal, err)
	}
	rep, err = migrate.Validate(ctx, src, dst, migrate.ValidateOptions{})
	if err != nil || rep.Equal {
		t.Fatalf("validate of everything after a pilot: equal %v, %v; want different", rep != nil && rep.Equal, err)
	}
	state, next := t.TempDir(), openPG(t)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if _, err := migrate.Copy(cctx, src, next, migrate.Options{Actors: pilot, StateDir: state, BatchSize: 1,
		Progress: &cancelAfter{n: 3, cancel: cancel}}); err == nil {
		t.Fatal("the interrupted copy finished")
	}
	_, err = migrate.Copy(ctx, src, next, migrate.Options{Actors: migrate.ActorSet{"a00001": true}, StateDir: state, Resume: true})
	if !errors.Is(err, migrate.ErrRunMismatch) {
		t.Fatalf("a resume with another actors list: %v, want ErrRunMismatch", err)
	}
}
