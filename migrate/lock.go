package migrate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
)

// holder describes this process for lock refusals: host, pid, operation and start time.
func holder(op string) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s on host %s, pid %d, started %s", op, host, os.Getpid(), time.Now().UTC().Format(time.RFC3339))
}

// stateLockFile is the lock file of a state directory (flock; the holder's description inside).
const stateLockFile = "actingweb.lock"

// dirLock is an exclusive flock on a file in a directory, released by Close or by the
// process's death (kill -9 included), so a crash never leaves it stuck.
type dirLock struct{ f *os.File }

// lockDir takes the lock of directory dir (file name inside it) for op, or fails with
// actingweb.ErrLocked naming the running holder.
func lockDir(dir, name, op string) (*dirLock, error) {
	p := filepath.Join(dir, name)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	if err := flock(f); err != nil {
		b, _ := os.ReadFile(p)
		f.Close()
		who := strings.TrimSpace(string(b))
		if who == "" {
			who = "a process that has not written its name yet"
		}
		if errors.Is(err, errWouldBlock) {
			return nil, fmt.Errorf("%w: %s is held by %s: wait for it to finish or stop it (then --resume)", actingweb.ErrLocked, dir, who)
		}
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(holder(op)+"\n"), 0)
	}
	return &dirLock{f: f}, nil
}

// Close releases the lock.
func (l *dirLock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	l.f.Truncate(0)
	err := l.f.Close()
	l.f = nil
	return err
}
