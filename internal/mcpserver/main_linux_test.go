package mcpserver

import (
	"os"
	"syscall"
	"testing"

	"github.com/envseal/envseal/internal/sandbox"
)

// TestMain: the broker contains every run through the sandbox's helper
// stage, a re-exec of /proc/self/exe — this test binary here; dispatch it
// exactly as cmd/envseal does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == sandbox.HelperArg {
		// syscall.Exit: os.Exit's exit hooks would print "GOCOVERDIR not set" from a -cover build into the output tests compare.
		syscall.Exit(sandbox.HelperMain(os.Args[2:]))
	}
	os.Exit(m.Run())
}
