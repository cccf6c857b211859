//go:build !unix

package migrate

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("locked")

// flock is not available here: runs into one state directory cannot be kept apart.
func flock(*os.File) error {
	return errors.New("state directory locks need flock(2), which this platform lacks")
}
