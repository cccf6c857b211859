//go:build !linux

package blockio

import "os"

// directFlag is 0 where O_DIRECT does not exist: table files are written through the page
// cache.
const directFlag = 0

// noFollowFlag is 0 here: the bundle reader's own Lstat check refuses symbolic links.
const noFollowFlag = 0

// clearDirect is never needed without O_DIRECT.
func clearDirect(*os.File) error { return nil }
