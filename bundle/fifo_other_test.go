//go:build !unix

package bundle

import "testing"

func mkfifo(t *testing.T, _ string) { t.Skip("no FIFOs on this system") }
