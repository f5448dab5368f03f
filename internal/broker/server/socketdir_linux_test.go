package server

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/envseal/envseal/internal/broker/wire"
)

// A test binary without XDG_RUNTIME_DIR never reaches the developer's
// real broker: not /run/user/UID (unset, or inherited from the session)
// nor the $TMPDIR/envseal-UID fallback.
func TestSocketDirInTestsIsNeverTheRealOne(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "")
	uid := strconv.Itoa(os.Getuid())
	d := wire.SocketDir()
	if strings.HasPrefix(d, "/run/user/") || d == filepath.Join(os.TempDir(), "envseal-"+uid) {
		t.Fatalf("SocketDir() = %s: the user's real broker directory", d)
	}
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/"+uid) // inherited from a login shell
	if d := wire.SocketDir(); strings.HasPrefix(d, "/run/user/") {
		t.Fatalf("SocketDir() = %s with the session's XDG_RUNTIME_DIR: the real broker", d)
	}
	t.Setenv("XDG_RUNTIME_DIR", "/x/run")
	if d := wire.SocketDir(); d != "/x/run/envseal" {
		t.Fatalf("SocketDir() = %s, want /x/run/envseal", d)
	}
}
