package blockio

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// directFlag opens table files for direct I/O (see blockFile).
const directFlag = syscall.O_DIRECT

// noFollowFlag makes OpenReader refuse a symbolic link (a bundle's table files must be
// regular files in the bundle directory).
const noFollowFlag = syscall.O_NOFOLLOW

// clearDirect turns direct I/O off on f.
func clearDirect(f *os.File) error {
	fd := int(f.Fd())
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return err
	}
	_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl&^unix.O_DIRECT)
	return err
}
