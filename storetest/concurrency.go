package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
)

// raceN runs fn(i) for i in [0, n) concurrently, released together, and returns how many
// calls won (true, nil) and every unexpected error. lose classifies an error as an expected
// losing outcome (e.g. ErrExists).
func raceN(t *testing.T, n int, fn func(i int) (bool, error), lose func(error) bool) int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	start := make(chan struct{})
	wins := 0
	var errs []error
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			ok, err := fn(i)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && lose != nil && lose(err):
			case err != nil:
				errs = append(errs, err)
			case ok:
				wins++
			}
		}(i)
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		t.Errorf("concurrent call: %v", err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	return wins
}

// raceWinner is raceN for n calls that each try to store their own value(i): it returns the
// number of true results and the value of the (last) call that returned true.
func raceWinner(t *testing.T, n int, value func(i int) string, try func(v string) (bool, error)) (int, string) {
	t.Helper()
	var mu sync.Mutex
	winner := ""
	wins := raceN(t, n, func(i int) (bool, error) {
		v := value(i)
		ok, err := try(v)
		if ok {
			mu.Lock()
			winner = v
			mu.Unlock()
		}
		return ok, err
	}, nil)
	return wins, winner
}

func isExists(err error) bool { return errors.Is(err, actingweb.ErrExists) }

// testConcurrency checks that the single-winner operations have exactly one winner when
// called concurrently on one key: conditional creates, compare-and-set, single-use deletes.
func testConcurrency(t *testing.T, open Opener) {
	s := open(t)
	const n = 8

	t.Run("CreateActor", func(t *testing.T) {
		ctx := ctxOf(t)
		id := newID(t)
		wins := raceN(t, n, func(i int) (bool, error) {
			err := s.CreateActor(ctx, actingweb.Actor{ID: id, Creator: fmt.Sprintf("c%d@example.com", i), Passphrase: fmt.Sprintf("p%d", i)})
			return err == nil, err
		}, isExists)
		eq(t, wins, 1, "concurrent CreateActor of one id: successes (others ErrExists)")
		a, err := s.GetActor(ctx, id)
		must(t, err, "GetActor")
		if a.Creator[1:] != a.Passphrase[1:]+"@example.com" {
			t.Fatalf("actor row mixes writers: creator %q passphrase %q", a.Creator, a.Passphrase)
		}
	})

	t.Run("CreatePropertyIfNotExists", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "c@example.com")
		wins, winner := raceWinner(t, n, func(i int) string { return fmt.Sprintf("v%d", i) }, func(v string) (bool, error) {
			return s.CreatePropertyIfNotExists(ctx, a, "once", v)
		})
		eq(t, wins, 1, "concurrent CreatePropertyIfNotExists: true results")
		v, err := s.GetProperty(ctx, a, "once")
		must(t, err, "GetProperty")
		eq(t, v, winner, "stored value is the winner's")
	})

	t.Run("SetPropertyIfValueEquals", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "c@example.com")
		must(t, s.SetProperty(ctx, a, "cas", "v0"), "SetProperty")
		wins, winner := raceWinner(t, n, func(i int) string { return fmt.Sprintf("w%d", i) }, func(v string) (bool, error) {
			return s.SetPropertyIfValueEquals(ctx, a, "cas", "v0", v)
		})
		eq(t, wins, 1, "concurrent SetPropertyIfValueEquals from one expected value: true results")
		v, err := s.GetProperty(ctx, a, "cas")
		must(t, err, "GetProperty")
		eq(t, v, winner, "stored value is the winner's")
	})

	t.Run("DeleteAttributeConditional", func(t *testing.T) {
		ctx := ctxOf(t)
		o := "_actingweb_oauth2"
		name := "code-" + newID(t)
		setAttr(t, s, o, "_auth_code_index", name, `{"actor_id": "x"}`, nil, 0)
		wins := raceN(t, n, func(int) (bool, error) {
			return s.DeleteAttributeConditional(ctx, o, "_auth_code_index", name)
		}, nil)
		eq(t, wins, 1, "concurrent DeleteAttributeConditional (single-use consumption): true results")
		attrGone(t, s, o, "_auth_code_index", name, "consumed attribute")
	})

	t.Run("ConditionalUpdateAttribute", func(t *testing.T) {
		ctx := ctxOf(t)
		o := newID(t)
		setAttr(t, s, o, "b", "n", `{"used": false}`, nil, 0)
		wins, winner := raceWinner(t, n, func(i int) string { return fmt.Sprintf(`{"used": true, "by": %d}`, i) }, func(nd string) (bool, error) {
			return s.ConditionalUpdateAttribute(ctx, o, "b", "n", json.RawMessage(`{"used": false}`), json.RawMessage(nd), nil)
		})
		eq(t, wins, 1, "concurrent ConditionalUpdateAttribute from one old payload: true results")
		jsonEq(t, getAttr(t, s, o, "b", "n").Data, json.RawMessage(winner), "stored payload is the winner's")
	})

	t.Run("CreateSubscriptionPeerTrusteeDiff", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "c@example.com")
		wins := raceN(t, n, func(int) (bool, error) {
			err := s.CreateSubscription(ctx, sub(a, "peer", "s"))
			return err == nil, err
		}, isExists)
		eq(t, wins, 1, "concurrent CreateSubscription of one key: successes")
		wins = raceN(t, n, func(int) (bool, error) {
			err := s.CreatePeerTrustee(ctx, actingweb.PeerTrustee{ID: a, PeerID: "p", Type: "t", BaseURI: "u", Passphrase: "x"})
			return err == nil, err
		}, isExists)
		eq(t, wins, 1, "concurrent CreatePeerTrustee of one key: successes")
		wins = raceN(t, n, func(i int) (bool, error) {
			err := s.CreateDiff(ctx, actingweb.SubscriptionDiff{ID: a, SubID: "s", Seqnr: 1, Diff: fmt.Sprint(i)})
			return err == nil, err
		}, isExists)
		eq(t, wins, 1, "concurrent CreateDiff of one key: successes")
	})

	t.Run("CreatePropertyLookup", func(t *testing.T) {
		ctx := ctxOf(t)
		a := newID(t)
		createActor(t, s, a, "c@example.com")
		wins := raceN(t, n, func(int) (bool, error) {
			return s.CreatePropertyLookup(ctx, "email", "race-"+a, a, false)
		}, nil)
		eq(t, wins, n, "concurrent CreatePropertyLookup by the same actor: all succeed (idempotent)")
		others := make([]string, n)
		for i := range others {
			others[i] = newID(t)
			createActor(t, s, others[i], "o@example.com")
		}
		v := "contested-" + a
		wins, winner := raceWinner(t, n, func(i int) string { return others[i] }, func(id string) (bool, error) {
			return s.CreatePropertyLookup(ctx, "email", v, id, false)
		})
		eq(t, wins, 1, "concurrent CreatePropertyLookup by different actors: true results")
		lookupOwner(t, s, "email", v, winner, "contested lookup row")
	})
}
