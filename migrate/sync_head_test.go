package migrate_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/actingweb/actingweb-go/internal/fixture"
	"github.com/actingweb/actingweb-go/migrate"
)

// TestSyncHeadMeansApplied: once the sync's position reaches the source's head, read right
// after the writer stopped, everything the writer did is on the target (PostgreSQL to
// DynamoDB). The test server commits asynchronously (synchronous_commit = off): a head taken
// from pg_current_wal_lsn, the write position, lay before the last commits, and this failed in
// about one run of four. Four runs.
func TestSyncHeadMeansApplied(t *testing.T) {
	t.Parallel()
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			seedDir, _ := seedBundle(t, 45)
			src := openPG(t)
			ctx := context.Background()
			if _, err := migrate.Import(ctx, seedDir, src, migrate.Options{StateDir: t.TempDir()}); err != nil {
				t.Fatal(err)
			}
			dst := openDDB(t)
			existing := []string{"nobody"}
			for j := range 45 {
				existing = append(existing, fmt.Sprintf("a%05d", j))
			}
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { // the writer starts before the sync, as in the demo
				defer wg.Done()
				for r := range 40 {
					if err := fixture.LiveRound(ctx, src, "live-", r, existing[r%len(existing)]); err != nil {
						t.Error(err)
						return
					}
				}
			}()
			t.Cleanup(func() { // runs after startSync's cleanup has stopped the sync
				id, _ := dst.Identity(context.Background())
				src.DropCapture(context.Background(), migrate.DefaultSyncName(id))
			})
			r := startSync(t, src, dst, t.TempDir())
			wg.Wait()
			r.waitApplied(t, src)
			mustEqual(t, src, dst)
		})
	}
}
