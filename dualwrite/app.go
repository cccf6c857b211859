package dualwrite

// app.go: the application face. Every write goes through write (one store decides, the rows it
// changed are copied to the other); every read through read (the phase's read store, shadowed
// in read-new). Each method states the keys it affects.

import (
	"context"
	"encoding/json"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
)

// simple is a write that affects the given keys and is assumed to have changed them.
func (s *Store) simple(ctx context.Context, op, owner string, keys []actingweb.Record, fn func(p Backend) error) error {
	return s.write(ctx, op, owner, nil, func(p Backend) (bool, []actingweb.Record, error) {
		return true, keys, fn(p)
	})
}

// cond is a write that reports with its bool whether it changed anything.
func (s *Store) cond(ctx context.Context, op, owner string, keys []actingweb.Record, fn func(p Backend) (bool, error)) (bool, error) {
	var ok bool
	err := s.write(ctx, op, owner, nil, func(p Backend) (bool, []actingweb.Record, error) {
		var err error
		ok, err = fn(p)
		return ok, keys, err
	})
	return ok, err
}

// oldValues reads the stored value of (id, name) on both stores, for the lookup keys a
// property write may move (§6.3): absent reads as "".
func (s *Store) oldValues(ctx context.Context, v view, op, id, name string) ([]actingweb.Record, error) {
	if !s.lookup.Indexed(name) {
		return nil, nil
	}
	return s.onBoth(ctx, v, op, func(b actingweb.Store) ([]actingweb.Record, error) {
		val, err := b.GetProperty(ctx, id, name)
		if err != nil && !expected(err) {
			return nil, err
		}
		return s.lookupKeys(name, val), nil
	})
}

// ---- actors (§6.1) ----

// GetActor reads from the phase's read store.
func (s *Store) GetActor(ctx context.Context, id string) (actingweb.Actor, error) {
	return read(s, ctx, "GetActor", id, "actor "+id, func(b actingweb.Store) (actingweb.Actor, error) { return b.GetActor(ctx, id) }, eqRecord[actingweb.Actor])
}

// GetActorsByCreator reads from the phase's read store.
func (s *Store) GetActorsByCreator(ctx context.Context, creator string) ([]actingweb.Actor, error) {
	return read(s, ctx, "GetActorsByCreator", "", "creator", func(b actingweb.Store) ([]actingweb.Actor, error) { return b.GetActorsByCreator(ctx, creator) }, eqRecords[actingweb.Actor])
}

// CreateActor creates on the primary and copies the actor row (created_at as the primary set it).
func (s *Store) CreateActor(ctx context.Context, a actingweb.Actor) error {
	return s.simple(ctx, "CreateActor", a.ID, []actingweb.Record{actorKey(a.ID)}, func(p Backend) error { return p.CreateActor(ctx, a) })
}

// ModifyActor modifies on the primary and copies the actor row.
func (s *Store) ModifyActor(ctx context.Context, id, creator, passphrase string) error {
	return s.simple(ctx, "ModifyActor", id, []actingweb.Record{actorKey(id)}, func(p Backend) error { return p.ModifyActor(ctx, id, creator, passphrase) })
}

// DeleteActor deletes on the primary and copies the actor row and the lookup rows of the
// actor's indexed properties (both backends remove an actor's lookup rows with it), listed on
// both stores before the delete.
func (s *Store) DeleteActor(ctx context.Context, id string) error {
	return s.write(ctx, "DeleteActor", id, func(v view) ([]actingweb.Record, error) {
		keys, err := s.onBoth(ctx, v, "DeleteActor", func(b actingweb.Store) ([]actingweb.Record, error) {
			props, err := b.ListAllProperties(ctx, id)
			if err != nil {
				return nil, err
			}
			var out []actingweb.Record
			for name, val := range props {
				out = append(out, s.lookupKeys(name, val)...)
			}
			return out, nil
		})
		return append(keys, actorKey(id)), err
	}, func(p Backend) (bool, []actingweb.Record, error) { return true, nil, p.DeleteActor(ctx, id) })
}

// ListActors reads from the phase's read store.
func (s *Store) ListActors(ctx context.Context) ([]actingweb.Actor, error) {
	return read(s, ctx, "ListActors", "", "all actors", func(b actingweb.Store) ([]actingweb.Actor, error) { return b.ListActors(ctx) }, eqRecords[actingweb.Actor])
}

// ---- properties (§6.2, §6.3, §6.3a) ----

// GetProperty reads from the phase's read store.
func (s *Store) GetProperty(ctx context.Context, actorID, name string) (string, error) {
	return read(s, ctx, "GetProperty", actorID, "property "+actorID+" / "+name, func(b actingweb.Store) (string, error) { return b.GetProperty(ctx, actorID, name) }, eqValue[string])
}

// SetProperty writes on the primary and copies the property row and, for an indexed name, the
// lookup rows of the old values (as both stores held them) and of the new value, as the
// primary decided them (a collision keeps another actor's row there too).
func (s *Store) SetProperty(ctx context.Context, actorID, name, value string) error {
	return s.write(ctx, "SetProperty", actorID, func(v view) ([]actingweb.Record, error) {
		return s.oldValues(ctx, v, "SetProperty", actorID, name)
	}, func(p Backend) (bool, []actingweb.Record, error) {
		keys := append([]actingweb.Record{propKey(actorID, name)}, s.lookupKeys(name, value)...)
		return true, keys, p.SetProperty(ctx, actorID, name, value)
	})
}

// DeleteProperty deletes on the primary and copies the property row and the lookup rows of
// its old values.
func (s *Store) DeleteProperty(ctx context.Context, actorID, name string) error {
	return s.write(ctx, "DeleteProperty", actorID, func(v view) ([]actingweb.Record, error) {
		return s.oldValues(ctx, v, "DeleteProperty", actorID, name)
	}, func(p Backend) (bool, []actingweb.Record, error) {
		return true, []actingweb.Record{propKey(actorID, name)}, p.DeleteProperty(ctx, actorID, name)
	})
}

// GetActorIDFromProperty reads from the phase's read store.
func (s *Store) GetActorIDFromProperty(ctx context.Context, name, value string) (string, error) {
	return read(s, ctx, "GetActorIDFromProperty", "", "property name "+name, func(b actingweb.Store) (string, error) { return b.GetActorIDFromProperty(ctx, name, value) }, eqValue[string])
}

// GetPropertyRange reads from the phase's read store.
func (s *Store) GetPropertyRange(ctx context.Context, actorID, lower, upper string, keysOnly bool) (map[string]string, error) {
	return read(s, ctx, "GetPropertyRange", actorID, "properties of "+actorID, func(b actingweb.Store) (map[string]string, error) {
		return b.GetPropertyRange(ctx, actorID, lower, upper, keysOnly)
	}, eqNames)
}

// GetLastPropertyInRange reads from the phase's read store.
func (s *Store) GetLastPropertyInRange(ctx context.Context, actorID, lower, upper string) (string, error) {
	return read(s, ctx, "GetLastPropertyInRange", actorID, "properties of "+actorID, func(b actingweb.Store) (string, error) {
		return b.GetLastPropertyInRange(ctx, actorID, lower, upper)
	}, eqValue[string])
}

// CreatePropertyIfNotExists decides on the primary and copies the property row when created.
func (s *Store) CreatePropertyIfNotExists(ctx context.Context, actorID, name, value string) (bool, error) {
	return s.cond(ctx, "CreatePropertyIfNotExists", actorID, []actingweb.Record{propKey(actorID, name)}, func(p Backend) (bool, error) {
		return p.CreatePropertyIfNotExists(ctx, actorID, name, value)
	})
}

// DeletePropertyIfValueEquals decides on the primary and copies the property row (and the
// lookup row of value, should the backend maintain it) when deleted.
func (s *Store) DeletePropertyIfValueEquals(ctx context.Context, actorID, name, value string) (bool, error) {
	keys := append([]actingweb.Record{propKey(actorID, name)}, s.lookupKeys(name, value)...)
	return s.cond(ctx, "DeletePropertyIfValueEquals", actorID, keys, func(p Backend) (bool, error) {
		return p.DeletePropertyIfValueEquals(ctx, actorID, name, value)
	})
}

// SetPropertyIfValueEquals decides on the primary and copies the property row (and the lookup
// rows of both values, should the backend maintain them) when set.
func (s *Store) SetPropertyIfValueEquals(ctx context.Context, actorID, name, expected, value string) (bool, error) {
	keys := append([]actingweb.Record{propKey(actorID, name)}, s.lookupKeys(name, expected, value)...)
	return s.cond(ctx, "SetPropertyIfValueEquals", actorID, keys, func(p Backend) (bool, error) {
		return p.SetPropertyIfValueEquals(ctx, actorID, name, expected, value)
	})
}

// BatchDeleteProperties deletes on the primary and copies the named property rows.
func (s *Store) BatchDeleteProperties(ctx context.Context, actorID string, names []string) error {
	keys := make([]actingweb.Record, len(names))
	for i, n := range names {
		keys[i] = propKey(actorID, n)
	}
	return s.simple(ctx, "BatchDeleteProperties", actorID, keys, func(p Backend) error { return p.BatchDeleteProperties(ctx, actorID, names) })
}

// ListProperties reads from the phase's read store.
func (s *Store) ListProperties(ctx context.Context, actorID string) (map[string]string, error) {
	return read(s, ctx, "ListProperties", actorID, "properties of "+actorID, func(b actingweb.Store) (map[string]string, error) { return b.ListProperties(ctx, actorID) }, eqNames)
}

// ListAllProperties reads from the phase's read store.
func (s *Store) ListAllProperties(ctx context.Context, actorID string) (map[string]string, error) {
	return read(s, ctx, "ListAllProperties", actorID, "properties of "+actorID, func(b actingweb.Store) (map[string]string, error) { return b.ListAllProperties(ctx, actorID) }, eqNames)
}

// DeleteAllProperties deletes on the primary and copies every property row of the actor and
// the lookup rows of its indexed names, as listed on both stores before the delete.
func (s *Store) DeleteAllProperties(ctx context.Context, actorID string) error {
	return s.write(ctx, "DeleteAllProperties", actorID, func(v view) ([]actingweb.Record, error) {
		return s.onBoth(ctx, v, "DeleteAllProperties", func(b actingweb.Store) ([]actingweb.Record, error) {
			props, err := b.ListAllProperties(ctx, actorID)
			return s.propertyKeys(actorID, props), err
		})
	}, func(p Backend) (bool, []actingweb.Record, error) {
		return true, nil, p.DeleteAllProperties(ctx, actorID)
	})
}

// ---- property lookup (§6.4) ----

// GetPropertyLookup reads from the phase's read store.
func (s *Store) GetPropertyLookup(ctx context.Context, name, value string) (string, error) {
	return read(s, ctx, "GetPropertyLookup", "", "lookup "+name, func(b actingweb.Store) (string, error) { return b.GetPropertyLookup(ctx, name, value) }, eqValue[string])
}

// CreatePropertyLookup decides on the primary and copies the lookup row.
func (s *Store) CreatePropertyLookup(ctx context.Context, name, value, actorID string, overwrite bool) (bool, error) {
	return s.cond(ctx, "CreatePropertyLookup", actorID, []actingweb.Record{lookupKey(name, value)}, func(p Backend) (bool, error) {
		return p.CreatePropertyLookup(ctx, name, value, actorID, overwrite)
	})
}

// DeletePropertyLookup deletes on the primary and copies the lookup row's absence.
func (s *Store) DeletePropertyLookup(ctx context.Context, name, value string) error {
	return s.simple(ctx, "DeletePropertyLookup", "", []actingweb.Record{lookupKey(name, value)}, func(p Backend) error { return p.DeletePropertyLookup(ctx, name, value) })
}

// ---- trusts (§6.5) ----

// GetTrust reads from the phase's read store.
func (s *Store) GetTrust(ctx context.Context, actorID, peerID string) (actingweb.Trust, error) {
	return read(s, ctx, "GetTrust", actorID, "trust "+actorID+" / "+peerID, func(b actingweb.Store) (actingweb.Trust, error) { return b.GetTrust(ctx, actorID, peerID) }, eqRecord[actingweb.Trust])
}

// GetTrustBySecret reads from the phase's read store (the secret is never logged).
func (s *Store) GetTrustBySecret(ctx context.Context, actorID, secret string) (actingweb.Trust, error) {
	return read(s, ctx, "GetTrustBySecret", actorID, "trusts of "+actorID, func(b actingweb.Store) (actingweb.Trust, error) { return b.GetTrustBySecret(ctx, actorID, secret) }, eqRecord[actingweb.Trust])
}

// CreateTrust writes on the primary and copies the trust row (created_at and the defaults as
// the primary set them).
func (s *Store) CreateTrust(ctx context.Context, t actingweb.Trust) error {
	return s.simple(ctx, "CreateTrust", t.ID, []actingweb.Record{trustKey(t.ID, t.PeerID)}, func(p Backend) error { return p.CreateTrust(ctx, t) })
}

// ModifyTrust modifies on the primary and copies the trust row.
func (s *Store) ModifyTrust(ctx context.Context, actorID, peerID string, u actingweb.TrustUpdate) error {
	return s.simple(ctx, "ModifyTrust", actorID, []actingweb.Record{trustKey(actorID, peerID)}, func(p Backend) error { return p.ModifyTrust(ctx, actorID, peerID, u) })
}

// DeleteTrust deletes on the primary and copies the trust row's absence.
func (s *Store) DeleteTrust(ctx context.Context, actorID, peerID string) error {
	return s.simple(ctx, "DeleteTrust", actorID, []actingweb.Record{trustKey(actorID, peerID)}, func(p Backend) error { return p.DeleteTrust(ctx, actorID, peerID) })
}

// IsTokenInDB reads from the phase's read store.
func (s *Store) IsTokenInDB(ctx context.Context, actorID, token string) (bool, error) {
	return read(s, ctx, "IsTokenInDB", actorID, "trusts of "+actorID, func(b actingweb.Store) (bool, error) { return b.IsTokenInDB(ctx, actorID, token) }, eqValue[bool])
}

// ListTrusts reads from the phase's read store.
func (s *Store) ListTrusts(ctx context.Context, actorID string) ([]actingweb.Trust, error) {
	return read(s, ctx, "ListTrusts", actorID, "trusts of "+actorID, func(b actingweb.Store) ([]actingweb.Trust, error) { return b.ListTrusts(ctx, actorID) }, eqRecords[actingweb.Trust])
}

// DeleteAllTrusts deletes on the primary and copies the absence of every trust listed on both
// stores before the delete.
func (s *Store) DeleteAllTrusts(ctx context.Context, actorID string) error {
	return s.write(ctx, "DeleteAllTrusts", actorID, func(v view) ([]actingweb.Record, error) {
		return s.onBoth(ctx, v, "DeleteAllTrusts", listed(ctx, func(ctx context.Context, b actingweb.Store) ([]actingweb.Trust, error) {
			return b.ListTrusts(ctx, actorID)
		},
			func(t actingweb.Trust) actingweb.Record { return trustKey(t.ID, t.PeerID) }))
	}, func(p Backend) (bool, []actingweb.Record, error) { return true, nil, p.DeleteAllTrusts(ctx, actorID) })
}

// ---- peer trustees (§6.6) ----

// GetPeerTrustee reads from the phase's read store.
func (s *Store) GetPeerTrustee(ctx context.Context, actorID, peerID string) (actingweb.PeerTrustee, error) {
	return read(s, ctx, "GetPeerTrustee", actorID, "peer trustee "+actorID+" / "+peerID, func(b actingweb.Store) (actingweb.PeerTrustee, error) {
		return b.GetPeerTrustee(ctx, actorID, peerID)
	}, eqRecord[actingweb.PeerTrustee])
}

// GetPeerTrusteeByType reads from the phase's read store.
func (s *Store) GetPeerTrusteeByType(ctx context.Context, actorID, peerType string) (actingweb.PeerTrustee, error) {
	return read(s, ctx, "GetPeerTrusteeByType", actorID, "peer trustees of "+actorID, func(b actingweb.Store) (actingweb.PeerTrustee, error) {
		return b.GetPeerTrusteeByType(ctx, actorID, peerType)
	}, eqRecord[actingweb.PeerTrustee])
}

// CreatePeerTrustee creates on the primary and copies the row.
func (s *Store) CreatePeerTrustee(ctx context.Context, pt actingweb.PeerTrustee) error {
	return s.simple(ctx, "CreatePeerTrustee", pt.ID, []actingweb.Record{peerTrusteeKey(pt.ID, pt.PeerID)}, func(p Backend) error { return p.CreatePeerTrustee(ctx, pt) })
}

// ModifyPeerTrustee modifies on the primary and copies the row.
func (s *Store) ModifyPeerTrustee(ctx context.Context, actorID, peerID, peerType, baseURI, passphrase string) error {
	return s.simple(ctx, "ModifyPeerTrustee", actorID, []actingweb.Record{peerTrusteeKey(actorID, peerID)}, func(p Backend) error {
		return p.ModifyPeerTrustee(ctx, actorID, peerID, peerType, baseURI, passphrase)
	})
}

// DeletePeerTrustee deletes on the primary and copies the row's absence.
func (s *Store) DeletePeerTrustee(ctx context.Context, actorID, peerID string) error {
	return s.simple(ctx, "DeletePeerTrustee", actorID, []actingweb.Record{peerTrusteeKey(actorID, peerID)}, func(p Backend) error { return p.DeletePeerTrustee(ctx, actorID, peerID) })
}

// ListPeerTrustees reads from the phase's read store.
func (s *Store) ListPeerTrustees(ctx context.Context, actorID string) ([]actingweb.PeerTrustee, error) {
	return read(s, ctx, "ListPeerTrustees", actorID, "peer trustees of "+actorID, func(b actingweb.Store) ([]actingweb.PeerTrustee, error) {
		return b.ListPeerTrustees(ctx, actorID)
	}, eqRecords[actingweb.PeerTrustee])
}

// DeleteAllPeerTrustees deletes on the primary and copies the absence of every row listed on
// both stores before the delete.
func (s *Store) DeleteAllPeerTrustees(ctx context.Context, actorID string) error {
	return s.write(ctx, "DeleteAllPeerTrustees", actorID, func(v view) ([]actingweb.Record, error) {
		return s.onBoth(ctx, v, "DeleteAllPeerTrustees", listed(ctx, func(ctx context.Context, b actingweb.Store) ([]actingweb.PeerTrustee, error) {
			return b.ListPeerTrustees(ctx, actorID)
		},
			func(t actingweb.PeerTrustee) actingweb.Record { return peerTrusteeKey(t.ID, t.PeerID) }))
	}, func(p Backend) (bool, []actingweb.Record, error) {
		return true, nil, p.DeleteAllPeerTrustees(ctx, actorID)
	})
}

// ---- subscriptions (§6.7) ----

// GetSubscription reads from the phase's read store.
func (s *Store) GetSubscription(ctx context.Context, actorID, peerID, subID string) (actingweb.Subscription, error) {
	return read(s, ctx, "GetSubscription", actorID, "subscription "+actorID+" / "+peerID+":"+subID, func(b actingweb.Store) (actingweb.Subscription, error) {
		return b.GetSubscription(ctx, actorID, peerID, subID)
	}, eqRecord[actingweb.Subscription])
}

// CreateSubscription creates on the primary and copies the row.
func (s *Store) CreateSubscription(ctx context.Context, sub actingweb.Subscription) error {
	key := &actingweb.Subscription{ID: sub.ID, PeerSubID: sub.PeerSubID, PeerID: sub.PeerID, SubID: sub.SubID}
	if key.PeerSubID == "" {
		key.PeerSubID = sub.PeerID + ":" + sub.SubID
	}
	return s.simple(ctx, "CreateSubscription", sub.ID, []actingweb.Record{key}, func(p Backend) error { return p.CreateSubscription(ctx, sub) })
}

// ModifySubscription modifies on the primary and copies the row.
func (s *Store) ModifySubscription(ctx context.Context, actorID, peerID, subID string, u actingweb.SubscriptionUpdate) error {
	return s.simple(ctx, "ModifySubscription", actorID, []actingweb.Record{subKey(actorID, peerID, subID)}, func(p Backend) error {
		return p.ModifySubscription(ctx, actorID, peerID, subID, u)
	})
}

// DeleteSubscription deletes on the primary and copies the row's absence.
func (s *Store) DeleteSubscription(ctx context.Context, actorID, peerID, subID string) error {
	return s.simple(ctx, "DeleteSubscription", actorID, []actingweb.Record{subKey(actorID, peerID, subID)}, func(p Backend) error {
		return p.DeleteSubscription(ctx, actorID, peerID, subID)
	})
}

// ListSubscriptions reads from the phase's read store.
func (s *Store) ListSubscriptions(ctx context.Context, actorID string) ([]actingweb.Subscription, error) {
	return read(s, ctx, "ListSubscriptions", actorID, "subscriptions of "+actorID, func(b actingweb.Store) ([]actingweb.Subscription, error) {
		return b.ListSubscriptions(ctx, actorID)
	}, eqRecords[actingweb.Subscription])
}

// DeleteAllSubscriptions deletes on the primary and copies the absence of every row listed on
// both stores before the delete.
func (s *Store) DeleteAllSubscriptions(ctx context.Context, actorID string) error {
	return s.write(ctx, "DeleteAllSubscriptions", actorID, func(v view) ([]actingweb.Record, error) {
		return s.onBoth(ctx, v, "DeleteAllSubscriptions", listed(ctx, func(ctx context.Context, b actingweb.Store) ([]actingweb.Subscription, error) {
			return b.ListSubscriptions(ctx, actorID)
		},
			func(x actingweb.Subscription) actingweb.Record {
				return &actingweb.Subscription{ID: x.ID, PeerSubID: x.PeerSubID, PeerID: x.PeerID, SubID: x.SubID}
			}))
	}, func(p Backend) (bool, []actingweb.Record, error) {
		return true, nil, p.DeleteAllSubscriptions(ctx, actorID)
	})
}

// ---- subscription diffs (§6.8) ----

// AddDiff lets the primary hand out the sequence number and copies the subscription row (its
// new seqnr) and the diff row as the primary wrote them.
func (s *Store) AddDiff(ctx context.Context, actorID, peerID, subID, diff string) (actingweb.SubscriptionDiff, error) {
	var d actingweb.SubscriptionDiff
	err := s.write(ctx, "AddDiff", actorID, nil, func(p Backend) (bool, []actingweb.Record, error) {
		var err error
		d, err = p.AddDiff(ctx, actorID, peerID, subID, diff)
		keys := []actingweb.Record{subKey(actorID, peerID, subID)}
		if err == nil {
			keys = append(keys, &actingweb.SubscriptionDiff{ID: d.ID, SubIDSeqnr: d.SubIDSeqnr, SubID: d.SubID, Seqnr: d.Seqnr})
		}
		return true, keys, err
	})
	return d, err
}

// CreateDiff creates on the primary and copies the row (timestamp as the primary set it).
func (s *Store) CreateDiff(ctx context.Context, d actingweb.SubscriptionDiff) error {
	key := diffKey(d.ID, d.SubID, d.Seqnr)
	if d.SubIDSeqnr != "" {
		key = &actingweb.SubscriptionDiff{ID: d.ID, SubIDSeqnr: d.SubIDSeqnr, SubID: d.SubID, Seqnr: d.Seqnr}
	}
	return s.simple(ctx, "CreateDiff", d.ID, []actingweb.Record{key}, func(p Backend) error { return p.CreateDiff(ctx, d) })
}

// GetDiff reads from the phase's read store.
func (s *Store) GetDiff(ctx context.Context, actorID, subID string, seqnr int64) (actingweb.SubscriptionDiff, error) {
	return read(s, ctx, "GetDiff", actorID, "diffs of "+actorID+" / "+subID, func(b actingweb.Store) (actingweb.SubscriptionDiff, error) {
		return b.GetDiff(ctx, actorID, subID, seqnr)
	}, eqRecord[actingweb.SubscriptionDiff])
}

// GetLowestDiff reads from the phase's read store.
func (s *Store) GetLowestDiff(ctx context.Context, actorID, subID string) (actingweb.SubscriptionDiff, error) {
	return read(s, ctx, "GetLowestDiff", actorID, "diffs of "+actorID+" / "+subID, func(b actingweb.Store) (actingweb.SubscriptionDiff, error) {
		return b.GetLowestDiff(ctx, actorID, subID)
	}, eqRecord[actingweb.SubscriptionDiff])
}

// DeleteDiff deletes on the primary and copies the row's absence.
func (s *Store) DeleteDiff(ctx context.Context, actorID, subID string, seqnr int64) error {
	return s.simple(ctx, "DeleteDiff", actorID, []actingweb.Record{diffKey(actorID, subID, seqnr)}, func(p Backend) error {
		return p.DeleteDiff(ctx, actorID, subID, seqnr)
	})
}

// ListDiffs reads from the phase's read store.
func (s *Store) ListDiffs(ctx context.Context, actorID, subID string) ([]actingweb.SubscriptionDiff, error) {
	return read(s, ctx, "ListDiffs", actorID, "diffs of "+actorID+" / "+subID, func(b actingweb.Store) ([]actingweb.SubscriptionDiff, error) {
		return b.ListDiffs(ctx, actorID, subID)
	}, eqRecords[actingweb.SubscriptionDiff])
}

// DeleteDiffs deletes on the primary and copies the absence of every diff in the range listed
// on both stores before the delete; the count is the primary's.
func (s *Store) DeleteDiffs(ctx context.Context, actorID, subID string, upTo int64) (int64, error) {
	var n int64
	err := s.write(ctx, "DeleteDiffs", actorID, func(v view) ([]actingweb.Record, error) {
		return s.onBoth(ctx, v, "DeleteDiffs", func(b actingweb.Store) ([]actingweb.Record, error) {
			ds, err := b.ListDiffs(ctx, actorID, subID)
			var out []actingweb.Record
			for _, d := range ds {
				if upTo <= 0 || d.Seqnr <= upTo {
					out = append(out, &actingweb.SubscriptionDiff{ID: d.ID, SubIDSeqnr: d.SubIDSeqnr, SubID: d.SubID, Seqnr: d.Seqnr})
				}
			}
			return out, err
		})
	}, func(p Backend) (bool, []actingweb.Record, error) {
		var err error
		n, err = p.DeleteDiffs(ctx, actorID, subID, upTo)
		return true, nil, err
	})
	return n, err
}

// ---- attributes (§6.9) ----

// GetBucket reads from the phase's read store.
func (s *Store) GetBucket(ctx context.Context, ownerID, bucket string) (map[string]actingweb.Attribute, error) {
	return read(s, ctx, "GetBucket", ownerID, "bucket "+ownerID+" / "+bucket, func(b actingweb.Store) (map[string]actingweb.Attribute, error) {
		return b.GetBucket(ctx, ownerID, bucket)
	}, eqAttrs)
}

// GetAttribute reads from the phase's read store.
func (s *Store) GetAttribute(ctx context.Context, ownerID, bucket, name string) (actingweb.Attribute, error) {
	return read(s, ctx, "GetAttribute", ownerID, "attribute "+ownerID+" / "+bucket+":"+name, func(b actingweb.Store) (actingweb.Attribute, error) {
		return b.GetAttribute(ctx, ownerID, bucket, name)
	}, eqRecord[actingweb.Attribute])
}

// GetAttributeStrict reads from the phase's read store.
func (s *Store) GetAttributeStrict(ctx context.Context, ownerID, bucket, name string) (actingweb.Attribute, error) {
	return read(s, ctx, "GetAttributeStrict", ownerID, "attribute "+ownerID+" / "+bucket+":"+name, func(b actingweb.Store) (actingweb.Attribute, error) {
		return b.GetAttributeStrict(ctx, ownerID, bucket, name)
	}, eqRecord[actingweb.Attribute])
}

// SetAttribute writes on the primary and copies the row (ttl_timestamp as the primary computed
// it) or its absence (falsy data deletes).
func (s *Store) SetAttribute(ctx context.Context, ownerID, bucket, name string, data json.RawMessage, ts *time.Time, ttl time.Duration) error {
	return s.simple(ctx, "SetAttribute", ownerID, []actingweb.Record{attrKey(ownerID, bucket, name)}, func(p Backend) error {
		return p.SetAttribute(ctx, ownerID, bucket, name, data, ts, ttl)
	})
}

// DeleteAttribute deletes on the primary and copies the row's absence.
func (s *Store) DeleteAttribute(ctx context.Context, ownerID, bucket, name string) error {
	return s.simple(ctx, "DeleteAttribute", ownerID, []actingweb.Record{attrKey(ownerID, bucket, name)}, func(p Backend) error {
		return p.DeleteAttribute(ctx, ownerID, bucket, name)
	})
}

// DeleteAttributeConditional decides on the primary and copies the row's absence.
func (s *Store) DeleteAttributeConditional(ctx context.Context, ownerID, bucket, name string) (bool, error) {
	return s.cond(ctx, "DeleteAttributeConditional", ownerID, []actingweb.Record{attrKey(ownerID, bucket, name)}, func(p Backend) (bool, error) {
		return p.DeleteAttributeConditional(ctx, ownerID, bucket, name)
	})
}

// ConditionalUpdateAttribute decides on the primary and copies the row when updated.
func (s *Store) ConditionalUpdateAttribute(ctx context.Context, ownerID, bucket, name string, oldData, newData json.RawMessage, ts *time.Time) (bool, error) {
	return s.cond(ctx, "ConditionalUpdateAttribute", ownerID, []actingweb.Record{attrKey(ownerID, bucket, name)}, func(p Backend) (bool, error) {
		return p.ConditionalUpdateAttribute(ctx, ownerID, bucket, name, oldData, newData, ts)
	})
}

// attrKeys lists the attribute keys of a bucket.
func attrKeys(m map[string]actingweb.Attribute) []actingweb.Record {
	out := make([]actingweb.Record, 0, len(m))
	for _, a := range m {
		out = append(out, &actingweb.Attribute{ID: a.ID, BucketName: a.BucketName, Bucket: a.Bucket, Name: a.Name})
	}
	return out
}

// DeleteBucket deletes on the primary and copies the absence of every row of the bucket listed
// on both stores before the delete.
func (s *Store) DeleteBucket(ctx context.Context, ownerID, bucket string) error {
	return s.write(ctx, "DeleteBucket", ownerID, func(v view) ([]actingweb.Record, error) {
		return s.onBoth(ctx, v, "DeleteBucket", func(b actingweb.Store) ([]actingweb.Record, error) {
			m, err := b.GetBucket(ctx, ownerID, bucket)
			return attrKeys(m), err
		})
	}, func(p Backend) (bool, []actingweb.Record, error) {
		return true, nil, p.DeleteBucket(ctx, ownerID, bucket)
	})
}

// DeleteExpiredAttributes deletes on the primary, then runs the same purge with the same now on
// the secondary: the rows it removes are those whose stored ttl_timestamp is below now (in the
// listed buckets), a rule on the rows' content and the arguments alone, so on identical rows
// both stores remove the same ones and nothing is decided twice. (Listing them first would take
// a scan of the whole attributes table on each store.) The count is the primary's.
func (s *Store) DeleteExpiredAttributes(ctx context.Context, now time.Time, buckets []string) (int64, error) {
	v := s.view(ctx)
	n, err := v.primary.DeleteExpiredAttributes(ctx, now, buckets)
	if err != nil || v.secondary == nil {
		return n, err
	}
	if _, serr := v.secondary.DeleteExpiredAttributes(ctx, now, buckets); serr != nil {
		return n, s.secondaryFailed(ctx, v, "DeleteExpiredAttributes", "", nil, actingweb.TableAttributes, serr)
	}
	return n, nil
}

// DeleteAttributesByChain deletes on the primary and copies the absence (or presence) of every
// row of the listed buckets found on both stores before the delete; the count is the primary's.
func (s *Store) DeleteAttributesByChain(ctx context.Context, ownerID string, buckets []string, chainID string) (int64, error) {
	var n int64
	err := s.write(ctx, "DeleteAttributesByChain", ownerID, func(v view) ([]actingweb.Record, error) {
		return s.onBoth(ctx, v, "DeleteAttributesByChain", func(b actingweb.Store) ([]actingweb.Record, error) {
			var out []actingweb.Record
			for _, bucket := range buckets {
				m, err := b.GetBucket(ctx, ownerID, bucket)
				if err != nil {
					return nil, err
				}
				out = append(out, attrKeys(m)...)
			}
			return out, nil
		})
	}, func(p Backend) (bool, []actingweb.Record, error) {
		var err error
		n, err = p.DeleteAttributesByChain(ctx, ownerID, buckets, chainID)
		return n > 0 || err != nil, nil, err
	})
	return n, err
}

// ListAttributes reads from the phase's read store.
func (s *Store) ListAttributes(ctx context.Context, ownerID string) (map[string]map[string]actingweb.Attribute, error) {
	return read(s, ctx, "ListAttributes", ownerID, "attributes of "+ownerID, func(b actingweb.Store) (map[string]map[string]actingweb.Attribute, error) {
		return b.ListAttributes(ctx, ownerID)
	}, eqBuckets)
}

// BucketTimestamps reads from the phase's read store.
func (s *Store) BucketTimestamps(ctx context.Context, ownerID string) (map[string]time.Time, error) {
	return read(s, ctx, "BucketTimestamps", ownerID, "attributes of "+ownerID, func(b actingweb.Store) (map[string]time.Time, error) {
		return b.BucketTimestamps(ctx, ownerID)
	}, eqTimes)
}

// DeleteAllAttributes deletes on the primary and copies the absence of every row of the owner
// listed on both stores before the delete.
func (s *Store) DeleteAllAttributes(ctx context.Context, ownerID string) error {
	return s.write(ctx, "DeleteAllAttributes", ownerID, func(v view) ([]actingweb.Record, error) {
		return s.onBoth(ctx, v, "DeleteAllAttributes", func(b actingweb.Store) ([]actingweb.Record, error) {
			all, err := b.ListAttributes(ctx, ownerID)
			var out []actingweb.Record
			for _, m := range all {
				out = append(out, attrKeys(m)...)
			}
			return out, err
		})
	}, func(p Backend) (bool, []actingweb.Record, error) {
		return true, nil, p.DeleteAllAttributes(ctx, ownerID)
	})
}

// ---- suspensions (§6.10) ----

// IsSuspended reads from the phase's read store.
func (s *Store) IsSuspended(ctx context.Context, actorID, target, subtarget string) (bool, error) {
	return read(s, ctx, "IsSuspended", actorID, "suspensions of "+actorID, func(b actingweb.Store) (bool, error) {
		return b.IsSuspended(ctx, actorID, target, subtarget)
	}, eqValue[bool])
}

// Suspend decides on the primary and copies the row (suspended_at as the primary set it).
func (s *Store) Suspend(ctx context.Context, actorID, target, subtarget string) (bool, error) {
	return s.cond(ctx, "Suspend", actorID, []actingweb.Record{suspensionKey(actorID, target, subtarget)}, func(p Backend) (bool, error) {
		return p.Suspend(ctx, actorID, target, subtarget)
	})
}

// Resume decides on the primary and copies the row's absence.
func (s *Store) Resume(ctx context.Context, actorID, target, subtarget string) (bool, error) {
	return s.cond(ctx, "Resume", actorID, []actingweb.Record{suspensionKey(actorID, target, subtarget)}, func(p Backend) (bool, error) {
		return p.Resume(ctx, actorID, target, subtarget)
	})
}

// ListSuspensions reads from the phase's read store.
func (s *Store) ListSuspensions(ctx context.Context, actorID string) ([]actingweb.SubscriptionSuspension, error) {
	return read(s, ctx, "ListSuspensions", actorID, "suspensions of "+actorID, func(b actingweb.Store) ([]actingweb.SubscriptionSuspension, error) {
		return b.ListSuspensions(ctx, actorID)
	}, eqRecords[actingweb.SubscriptionSuspension])
}

// DeleteAllSuspensions deletes on the primary and copies the absence of every row listed on
// both stores before the delete.
func (s *Store) DeleteAllSuspensions(ctx context.Context, actorID string) error {
	return s.write(ctx, "DeleteAllSuspensions", actorID, func(v view) ([]actingweb.Record, error) {
		return s.onBoth(ctx, v, "DeleteAllSuspensions", listed(ctx, func(ctx context.Context, b actingweb.Store) ([]actingweb.SubscriptionSuspension, error) {
			return b.ListSuspensions(ctx, actorID)
		}, func(x actingweb.SubscriptionSuspension) actingweb.Record {
			return suspensionKey(x.ID, x.Target, x.Subtarget)
		}))
	}, func(p Backend) (bool, []actingweb.Record, error) {
		return true, nil, p.DeleteAllSuspensions(ctx, actorID)
	})
}
