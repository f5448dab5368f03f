package sandbox

// The jail (`envseal jail -- CMD`) is how the human starts an AI agent: CMD
// and everything it starts run where the vault, the broker's terminal and
// every process outside cannot be reached. JailCommand builds the command
// on the human's side and RunJail starts and supervises it (runjail.go);
// the helper binary, started as
// `envseal __sandbox_helper --jail …`, sets the layers up and execs CMD
// (jail_linux.go, jailhelper_linux.go).

import (
	"fmt"
	"os"
	"path/filepath"
)

// JailExitCode is `envseal jail`'s status when a layer cannot be set up
// and --best-effort was not given (env(1)'s "envseal itself failed").
const JailExitCode = 125

// jailFlag, as the helper's first argument, selects the jail stage.
const jailFlag = "--jail"

// JailOptions says what the jail hides and what stays writable.
type JailOptions struct {
	// VaultDir is covered by an empty read-only tmpfs. It must exist: a
	// vault created after the jail started would be visible inside it.
	VaultDir string

	// BrokerDir is the broker's runtime directory (broker.SocketDir());
	// inside the jail it is a read-only tmpfs holding only SocketName,
	// bound to the real socket. Created 0700 if missing, so the agent
	// cannot create it first and listen there as a fake broker.
	BrokerDir  string
	SocketName string

	// Register, when set, is called before the agent starts: it makes
	// the jail known to the broker (if one answers) before it returns,
	// and keeps it known (in a goroutine of its own) until stop closes,
	// handing each broker a channel to the jail's pin holder
	// (sandbox/holder_linux.go) made by channel. userNS names the jail's
	// user namespace as /proc/PID/ns/user does ("user:[N]").
	Register func(userNS string, channel func() (*os.File, error), stop <-chan struct{})

	// RW, when not empty, are the only directories the agent may write
	// beneath (Landlock); without it writes are not restricted.
	RW []string

	// AllowDisplay binds exactly the display's sockets into the jail:
	// /tmp/.X11-unix/X<N> for $DISPLAY, $XDG_RUNTIME_DIR/$WAYLAND_DISPLAY
	// and the $XAUTHORITY file, and keeps DISPLAY, WAYLAND_DISPLAY and
	// XAUTHORITY. Without it all three are unset and the sockets hidden.
	AllowDisplay bool

	// AllowSSHAgent binds exactly the socket $SSH_AUTH_SOCK names into the
	// jail and keeps SSH_AUTH_SOCK (the agent can then use, not read, the
	// user's ssh keys). Without it the variable is unset and the socket
	// hidden.
	AllowSSHAgent bool

	// Cwd is the agent's working directory ("" = this process's). Beneath
	// a private dir (/tmp, /var/tmp, /dev/shm) it is bound into the fresh
	// one; beneath a hidden dir it is refused.
	Cwd string

	// BestEffort runs the agent even when a layer cannot be set up; the
	// helper names each missing layer on stderr.
	BestEffort bool

	// NoNamespaces starts the helper without new namespaces (only with
	// BestEffort, after starting with them failed): no mount layers.
	NoNamespaces bool
}

// VaultCover is the directory a jail covers to hide the vault at dir
// (JailOptions.VaultDir): its real path, as a vault reached through a
// symlink is hidden by covering its target, and one that exists now, as a
// vault created after the jail started would be visible inside it.
func VaultCover(dir string) (string, error) {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("no vault directory at %s", dir)
	}
	return dir, nil
}
