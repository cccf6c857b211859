package testenv

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// CheckpointedRows sums the rows recorded in the checkpoint files (*.checkpoint.json) of a
// migration run's state directory: every segment's position, that is the rows durably on the
// target. Checkpoint files are replaced by rename, so a read sees a whole one; a file that
// cannot be read counts 0. Tests use it as the run's progress signal.
func CheckpointedRows(stateDir string) int64 {
	var n int64
	cps, _ := filepath.Glob(filepath.Join(stateDir, "*.checkpoint.json"))
	for _, f := range cps {
		var cp struct {
			Segs map[string]struct {
				Rows int64 `json:"rows"`
			} `json:"segs"`
		}
		if b, err := os.ReadFile(f); err == nil && json.Unmarshal(b, &cp) == nil {
			for _, s := range cp.Segs {
				n += s.Rows
			}
		}
	}
	return n
}
