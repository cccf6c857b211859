package cli

import (
	"os"
	"runtime/debug"
)

// defaultMemoryLimit is the Go runtime's soft memory limit when GOMEMLIMIT is not set. A run
// keeps 30–40 MiB live (bounded queues, whatever the table size); without a limit the heap may
// grow to twice that before a collection and the runtime returns freed pages lazily, so the
// resident size wandered up to 130 MB in 8-writer DynamoDB imports. The limit makes the
// collector and the scavenger keep the total near 100 MiB. GOMEMLIMIT overrides it.
const defaultMemoryLimit = 100 << 20

// defaultGCPercent is the collector's GOGC when GOGC is not set: a collection when the heap
// has grown by three times the live data, instead of once, or at the memory limit, whichever
// comes first. With the limit in place this costs no more memory than the limit allows and
// saves most of the collections of a run whose live data is small (an export keeps 20–30 MiB:
// measured 0.2 CPU-s less of about 1.9 on the bench's PostgreSQL export, peak RSS 50 -> 77 MB).
// GOGC overrides it.
const defaultGCPercent = 300

// RuntimeDefaults sets the collector's memory limit and GOGC for a run of the command
// (defaultMemoryLimit, defaultGCPercent) unless GOMEMLIMIT or GOGC say otherwise. The
// actingweb binary calls it first thing, and so does awbench cli, so profiles see the same
// collector.
func RuntimeDefaults() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
}
