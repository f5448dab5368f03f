//go:build !linux

package launch

import (
	"fmt"
	"os"
	"os/exec"

	"github.com/envseal/envseal/internal/sandbox"
	"github.com/envseal/envseal/internal/sys"
)

func secretFile(name string, value []byte) (*os.File, error) {
	return nil, fmt.Errorf("%w: fd delivery of %s needs Linux", ErrUnsupported, name)
}

func startNoNewPrivs(cmd *exec.Cmd) error { return cmd.Start() }

func growPipe(*os.File) {}

func startDumpable(start func() error) error { return start() }

func harden() error { return sys.Harden() }

// StartDumpable is start (see sys_linux.go).
func StartDumpable(start func() error) error { return start() }

// userWritable is not asked outside Linux: everything counts as writable.
func userWritable(string) bool { return true }

// PrestartContained refuses: contained runs need Linux.
func PrestartContained() (*sandbox.Warm, error) {
	return nil, fmt.Errorf("%w: contained runs need Linux", ErrUnsupported)
}
