package actingweb

import "context"

// ControlStore keeps small named values beside the nine tables, in a bookkeeping table of the
// store's own that is not part of upstream's schema (PostgreSQL: actingweb_go_control in the
// store's schema; DynamoDB: <prefix>_actingweb_go_control, the table that also holds the
// migration locks). The table is created on first use, never by UpgradeSchema. Each value has
// a version that every successful write increases by one; writes are compare-and-set, so
// several processes can change a value without losing each other's updates. dualwrite keeps
// its phase here.
type ControlStore interface {
	// ReadControl returns the value stored under key and its version; an absent key reads as
	// ("", 0, nil).
	ReadControl(ctx context.Context, key string) (value string, version int64, err error)
	// WriteControl stores value under key if the stored version equals expectVersion (0: the
	// key must be absent); the new version is expectVersion+1. Another version fails with an
	// error wrapping ErrConflict that names the key: read again and decide again.
	WriteControl(ctx context.Context, key, value string, expectVersion int64) error
}

// ControlEntry is one named value of a ControlStore, as ControlLister lists it.
type ControlEntry struct {
	Key     string
	Value   string
	Version int64
}

// ControlLister lists and removes the named values of a ControlStore, for values kept as a
// queue under a key prefix (dualwrite's repair journal, "dualwrite/repair/..."). Values are
// added with WriteControl at version 0.
type ControlLister interface {
	// ListControl returns up to limit values (limit <= 0: all) whose key starts with prefix,
	// in key order. An absent table lists nothing.
	ListControl(ctx context.Context, prefix string, limit int) ([]ControlEntry, error)
	// DeleteControl removes the value under key if its version is version (0: whatever its
	// version); an absent key (or table) is no error. Another version fails with an error
	// wrapping ErrConflict.
	DeleteControl(ctx context.Context, key string, version int64) error
}
