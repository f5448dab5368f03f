//go:build !linux || !(amd64 || arm64)

package sandbox

import (
	"errors"
	"os/exec"
)

// JailCommand refuses: the jail needs Linux namespaces, Landlock and
// seccomp.
func JailCommand(self, path string, argv, env []string, o JailOptions) (*exec.Cmd, *Handle, error) {
	return nil, nil, errors.New("envseal jail is not supported on this OS yet (it needs Linux namespaces, Landlock and seccomp)")
}
