package migrate

import "time"

// SetCheckpointEvery sets how often checkpoints are written and returns the old value (tests
// that stop a run at a chosen batch need a checkpoint after every batch).
func SetCheckpointEvery(d time.Duration) time.Duration {
	old := checkpointEvery
	checkpointEvery = d
	return old
}
