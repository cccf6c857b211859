package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	actingweb "github.com/actingweb/actingweb-go"
)

// Version is the release version, set at build time with
// -ldflags "-X github.com/actingweb/actingweb-go/internal/cli.Version=v1.2.3". When it is not
// set, VersionString takes the module version that `go install ...@version` records.
var Version = "dev"

// VersionString describes the build: module version, VCS revision (when built from a
// checkout), Go version, and the upstream library and schema it matches.
func VersionString() string {
	rev, dirty, version := "", "", Version
	if bi, ok := debug.ReadBuildInfo(); ok {
		if version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
				if len(rev) > 12 {
					rev = rev[:12]
				}
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
	}
	v := "actingweb " + version
	if rev != "" {
		v += " (" + rev + dirty + ")"
	}
	return fmt.Sprintf("%s %s %s/%s; ActingWeb 3.14.0 storage, Alembic head %s",
		v, runtime.Version(), runtime.GOOS, runtime.GOARCH, actingweb.AlembicHead)
}

func (a *App) newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(a.Stdout, VersionString())
			return failed(err)
		},
	}
}
