package sandbox

import (
	"errors"
	"os/exec"
	"testing"
)

// TestExitStatusOfAgent: the agent's own code passes through; a signal
// becomes 128+N, as a shell reports it; only a failed wait is an error.
func TestExitStatusOfAgent(t *testing.T) {
	for _, c := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 3", 3},
		{"kill -KILL $$", 128 + 9},
		{"kill -TERM $$", 128 + 15},
	} {
		got, err := exitStatus(exec.Command("/bin/sh", "-c", c.script).Run())
		if err != nil || got != c.want {
			t.Errorf("%q: exitStatus = %d, %v; want %d, nil", c.script, got, err, c.want)
		}
	}
	if _, err := exitStatus(errors.New("no child")); err == nil {
		t.Error("a failed wait gave no error")
	}
}
