package migrate_test

import (
	"context"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/migrate"
)

// TestRecheckLive: of two differences found by a scan, the one that is gone when read again
// (a change in flight) is counted apart; the one that persists is reported and keeps the
// stores unequal.
func TestRecheckLive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := openPG(t), openPG(t)
	for _, s := range []bulk.Backend{a, b} {
		if err := s.CreateActor(ctx, actingweb.Actor{ID: "x", Creator: "c", Passphrase: "p"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.SetProperty(ctx, "x", "inflight", "1"); err != nil { // B gets it "later"
		t.Fatal(err)
	}
	if err := a.SetProperty(ctx, "x", "stuck", "1"); err != nil { // B never gets it
		t.Fatal(err)
	}
	rep, err := migrate.Validate(ctx, a, b, migrate.ValidateOptions{SkipLookup: true})
	if err != nil || rep.Equal {
		t.Fatalf("validate: equal %v, %v; want two differences", rep != nil && rep.Equal, err)
	}
	if err := b.SetProperty(ctx, "x", "inflight", "1"); err != nil {
		t.Fatal(err)
	}
	if err := migrate.RecheckLive(ctx, a, b, rep, 0); err != nil {
		t.Fatal(err)
	}
	var props *migrate.TableValidation
	for i := range rep.Tables {
		if rep.Tables[i].Table == actingweb.TableProperties {
			props = &rep.Tables[i]
		}
	}
	if rep.Equal || props.InFlight != 1 || props.OnlyInA != 1 || len(props.Differences) != 1 {
		t.Fatalf("after the recheck: equal %v, in flight %d, only in A %d, listed %v", rep.Equal, props.InFlight, props.OnlyInA, props.Differences)
	}
	if err := b.SetProperty(ctx, "x", "stuck", "1"); err != nil {
		t.Fatal(err)
	}
	if err := migrate.RecheckLive(ctx, a, b, rep, 0); err != nil || !rep.Equal {
		t.Fatalf("after the second recheck: equal %v, %v", rep.Equal, err)
	}
}
