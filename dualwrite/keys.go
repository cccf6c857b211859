package dualwrite

import (
	"context"
	"fmt"
	"strconv"

	actingweb "github.com/actingweb/actingweb-go"
)

// Key records: a record with the table's key fields set, as GetRecord and ApplyChanges' deletes
// take them.

func actorKey(id string) actingweb.Record { return &actingweb.Actor{ID: id} }

func propKey(id, name string) actingweb.Record { return &actingweb.Property{ID: id, Name: name} }

// lookupKey carries the clear value (PostgreSQL's key) and the digest (DynamoDB's).
func lookupKey(name, value string) actingweb.Record {
	l := actingweb.NewPropertyLookup(name, value, "")
	return &l
}

func attrKey(owner, bucket, name string) actingweb.Record {
	return &actingweb.Attribute{ID: owner, BucketName: bucket + ":" + name, Bucket: bucket, Name: name}
}

func trustKey(id, peer string) actingweb.Record { return &actingweb.Trust{ID: id, PeerID: peer} }

func peerTrusteeKey(id, peer string) actingweb.Record {
	return &actingweb.PeerTrustee{ID: id, PeerID: peer}
}

func subKey(id, peer, sub string) actingweb.Record {
	return &actingweb.Subscription{ID: id, PeerSubID: peer + ":" + sub, PeerID: peer, SubID: sub}
}

func diffKey(id, sub string, seqnr int64) actingweb.Record {
	return &actingweb.SubscriptionDiff{ID: id, SubIDSeqnr: sub + ":" + strconv.FormatInt(seqnr, 10), SubID: sub, Seqnr: seqnr}
}

func suspensionKey(id, target, subtarget string) actingweb.Record {
	return &actingweb.SubscriptionSuspension{ID: id, Target: target, Subtarget: subtarget}
}

// lookupKeys returns the lookup keys of (name, v) for each non-empty v when name is indexed.
func (s *Store) lookupKeys(name string, values ...string) []actingweb.Record {
	if !s.lookup.Indexed(name) {
		return nil
	}
	var out []actingweb.Record
	for _, v := range values {
		if v != "" {
			out = append(out, lookupKey(name, v))
		}
	}
	return out
}

// propertyKeys returns the property rows of props and the lookup keys of their indexed names.
func (s *Store) propertyKeys(id string, props map[string]string) []actingweb.Record {
	var out []actingweb.Record
	for name, v := range props {
		out = append(out, propKey(id, name))
		out = append(out, s.lookupKeys(name, v)...)
	}
	return out
}

// onBoth runs list on the primary and the secondary and returns the union of the keys, so that
// a delete-all also removes rows only the secondary holds. A failure on the primary fails the
// call (nothing written yet); one on the secondary too under FailCall, while under
// ReportAndSucceed the primary's keys are used and the failure logged and counted.
func (s *Store) onBoth(ctx context.Context, v view, op string, list func(b actingweb.Store) ([]actingweb.Record, error)) ([]actingweb.Record, error) {
	// both stores are listed at the same time
	type listing struct {
		recs []actingweb.Record
		err  error
	}
	sec := make(chan listing, 1)
	go func() {
		b, err := list(v.secondary)
		sec <- listing{b, err}
	}()
	a, err := list(v.primary)
	sl := <-sec
	if err != nil {
		return nil, err
	}
	b, err := sl.recs, sl.err
	if err != nil {
		if s.o.Secondary == FailCall {
			return nil, fmt.Errorf("dualwrite: %s: list the rows to delete on the secondary %s (nothing written): %w", op, v.secondary.Describe(), err)
		}
		s.m.secondaryFailures.WithLabelValues(op).Inc()
		s.log.Error("dualwrite: cannot list the rows to delete on the secondary; rows only it holds stay there",
			"op", op, "secondary", v.secondary.Describe(), "error", err)
		return a, nil
	}
	return append(a, b...), nil
}

// listed adapts a list read to onBoth: the key records of what it returns.
func listed[T any](ctx context.Context, fn func(ctx context.Context, b actingweb.Store) ([]T, error), key func(T) actingweb.Record) func(b actingweb.Store) ([]actingweb.Record, error) {
	return func(b actingweb.Store) ([]actingweb.Record, error) {
		xs, err := fn(ctx, b)
		if err != nil {
			return nil, err
		}
		out := make([]actingweb.Record, len(xs))
		for i, x := range xs {
			out[i] = key(x)
		}
		return out, nil
	}
}
