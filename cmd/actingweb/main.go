// Command actingweb manages ActingWeb data on PostgreSQL and DynamoDB: schema status and
// upgrade, export, import, copy and validate. See internal/cli for the commands and exit codes.
package main

import (
	"os"

	"github.com/actingweb/actingweb-go/internal/cli"
)

func main() {
	cli.RuntimeDefaults() // memory limit and GOGC, unless GOMEMLIMIT or GOGC are set
	os.Exit(cli.Main(os.Args[1:]))
}
