package mcpserver

import (
	"os"
	"testing"

	"github.com/envseal/envseal/internal/sandbox"
)

// TestMain: the broker contains every run through the sandbox's helper
// stage, a re-exec of /proc/self/exe — this test binary here; dispatch it
// exactly as cmd/envseal does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == sandbox.HelperArg {
		os.Exit(sandbox.HelperMain(os.Args[2:]))
	}
	os.Exit(m.Run())
}
