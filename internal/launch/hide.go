package launch

import (
	"os"
	"path/filepath"
)

// HideDirs lists what a contained or lockdown child must not see: the
// vault, the per-user runtime dirs (the broker's socket, the D-Bus session
// bus, ssh-agent, gpg-agent and editors' IPC sockets live there), screen's
// socket dir, and more (the broker's socket dir when it is elsewhere).
// tmux, X11 and most agents' sockets under /tmp are gone with the private
// /tmp; abstract sockets are scoped away by Landlock.
func HideDirs(vaultDir string, more ...string) []string {
	out := []string{vaultDir, "/run/user", "/run/screen", "/var/run/screen"}
	for _, d := range more {
		if d != "" {
			out = append(out, d)
		}
	}
	if x := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(x) {
		out = append(out, x)
	}
	return out
}
