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

// TestJailCloneErrorKeepsItsCause: a failed clone is matched as
// ErrJailClone and still names what the kernel said — 'envseal jail
// --best-effort' prints that cause in its warning (errors.Unwrap of a
// two-%w error gave nil there, and the warning read "<nil>").
func TestJailCloneErrorKeepsItsCause(t *testing.T) {
	cause := errors.New("fork/exec /proc/self/exe: operation not permitted")
	var err error = &JailCloneError{Cause: cause}
	if !errors.Is(err, ErrJailClone) || !errors.Is(err, cause) {
		t.Fatalf("errors.Is does not match ErrJailClone and the cause: %v", err)
	}
	var ce *JailCloneError
	if !errors.As(err, &ce) || ce.Cause != cause {
		t.Fatalf("errors.As: %v", err)
	}
	if want := ErrJailClone.Error() + ": " + cause.Error(); err.Error() != want {
		t.Fatalf("message %q, want %q", err.Error(), want)
	}
}
