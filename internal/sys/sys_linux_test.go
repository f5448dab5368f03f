package sys

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
)

func TestRetryRepeatsOnlyEINTR(t *testing.T) {
	calls := 0
	v, err := Retry(func() (int, error) {
		calls++
		if calls < 3 {
			return 0, syscall.EINTR
		}
		return 7, nil
	})
	if v != 7 || err != nil || calls != 3 {
		t.Fatalf("Retry = %d, %v after %d calls; want 7, nil after 3", v, err, calls)
	}
	calls = 0
	err = RetryErr(func() error { calls++; return syscall.EAGAIN })
	if !errors.Is(err, syscall.EAGAIN) || calls != 1 {
		t.Fatalf("RetryErr = %v after %d calls; want EAGAIN after 1", err, calls)
	}
}

func TestHardenClearsDumpable(t *testing.T) {
	if err := SetDumpable(true); err != nil {
		t.Fatal(err)
	}
	if on, err := Dumpable(); err != nil || !on {
		t.Fatalf("control: dumpable = %v, %v; want true", on, err)
	}
	if err := Harden(); err != nil {
		t.Fatal(err)
	}
	if on, err := Dumpable(); err != nil || on {
		t.Fatalf("after Harden: dumpable = %v, %v; want false", on, err)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &lim); err != nil || lim.Cur != 0 || lim.Max != 0 {
		t.Fatalf("after Harden: RLIMIT_CORE = %+v, %v; want 0/0", lim, err)
	}
}

func TestUnsupportedMatchesTheStandardSentinel(t *testing.T) {
	var err error = Unsupported("envseal run is not supported on this OS yet")
	wrapped := fmt.Errorf("run: %w", err)
	if !errors.Is(wrapped, errors.ErrUnsupported) || !errors.Is(wrapped, err) {
		t.Fatalf("%v does not match errors.ErrUnsupported and itself", wrapped)
	}
	if errors.Is(wrapped, Unsupported("something else")) {
		t.Fatal("two different Unsupported errors match")
	}
	if err.Error() != "envseal run is not supported on this OS yet" {
		t.Fatalf("message %q", err)
	}
}
