package sys

import (
	"errors"
	"os/exec"
	"runtime"
	"testing"
)

// TestProcessStatus: a program's own exit code comes back as it is, and
// one killed by signal N as 128+N (the shell's convention).
func TestProcessStatus(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no signals")
	}
	for _, c := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 3", 3},
		{"kill -TERM $$", 128 + 15},
		{"kill -KILL $$", 128 + 9},
	} {
		cmd := exec.Command("/bin/sh", "-c", c.script)
		var ee *exec.ExitError
		if err := cmd.Run(); err != nil && !errors.As(err, &ee) {
			t.Fatalf("%s: %v", c.script, err)
		}
		if got := ProcessStatus(cmd.ProcessState); got != c.want {
			t.Errorf("%s: status %d, want %d", c.script, got, c.want)
		}
	}
}
