package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at release build time with
// -ldflags "-X github.com/envseal/envseal/internal/cli.version=v1.2.3";
// without it the module version and VCS revision Go recorded are used, so
// a bug report always says which bytes were running.
var version = ""

func versionString() string {
	v, rev := version, ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = s.Value[:12]
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if rev != "" {
		v += " " + rev
	}
	return fmt.Sprintf("%s (%s, %s/%s)", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// setVersion gives the root command --version (cobra's flag; the template
// keeps the output one line a script can parse: "envseal VERSION (...)").
func setVersion(root *cobra.Command) {
	root.Version = versionString()
	root.SetVersionTemplate("envseal {{.Version}}\n")
}
