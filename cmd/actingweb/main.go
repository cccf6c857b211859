// Command actingweb manages ActingWeb data on PostgreSQL and DynamoDB: schema status and
// upgrade, export, import, copy and validate. See internal/cli for the commands and exit codes.
package main

import (
	"os"
	"runtime/debug"

	"github.com/actingweb/actingweb-go/internal/cli"
)

// defaultMemoryLimit is the Go runtime's soft memory limit when GOMEMLIMIT is not set. A run
// keeps 30–40 MiB live (bounded queues, whatever the table size); without a limit the heap may
// grow to twice that before a collection and the runtime returns freed pages lazily, so the
// resident size wandered up to 130 MB in 8-writer DynamoDB imports. The limit makes the
// collector and the scavenger keep the total near 100 MiB. GOMEMLIMIT overrides it.
const defaultMemoryLimit = 100 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	os.Exit(cli.Main(os.Args[1:]))
}
