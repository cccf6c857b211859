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
