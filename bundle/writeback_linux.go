package bundle

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing f's dirty pages to disk and returns without
// waiting (sync_file_range SYNC_FILE_RANGE_WRITE): the fsync when the table is finished then
// waits only for what was written since. Failures are ignored; the fsync reports real ones.
func startWriteback(f *os.File) {
	_ = unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
}
