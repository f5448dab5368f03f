package approve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The real pinentry-curses, on a pty standing in for the human's terminal,
// through the real root-owned check: the conversation works end to end.
// The code is fixed by the test's randomness, so the test types it without
// parsing curses output.
func TestRealPinentryCurses(t *testing.T) {
	prog, err := exec.LookPath("pinentry-curses")
	if err != nil {
		t.Skip("pinentry-curses is not installed (apt-get install pinentry-curses)")
	}
	for _, tc := range []struct {
		typed    string
		injected bool // pushed with TIOCSTI by the "agent" instead of typed
		want     Decision
		err      error
	}{
		{"AAAAAA\r", false, AllowOnce, nil},
		{"AAAAAA!\r", false, AllowAlways, nil},
		{"AAAAAB\r", false, Deny, ErrWrongCode},
		// A blind Enter would press a CONFIRM button; here it submits an
		// empty code and denies.
		{"\r", true, Deny, nil},
	} {
		t.Run(strings.TrimSpace(fmt.Sprintf("%q", tc.typed)), func(t *testing.T) {
			tt := newTestTTY(t)
			t.Setenv("TERM", "xterm")
			a, err := New(KindPinentry, WithPinentry(prog), withTTYName(tt.slave.Name()),
				withRand(bytes.NewReader(make([]byte, 64))), WithTimeout(10*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			ch := make(chan result, 1)
			go func() { d, err := a.Approve(context.Background(), testRequest()); ch <- result{d, err} }()
			tt.waitScreen(t, "Code:")
			time.Sleep(100 * time.Millisecond) // let curses finish drawing and start reading
			if tc.injected {
				inject(t, tt.slave, tc.typed)
			} else {
				tt.typeIn(t, tc.typed)
			}
			if r := wait(t, ch); r.d != tc.want || !errors.Is(r.err, tc.err) || (tc.err == nil && r.err != nil) {
				t.Fatalf("got (%v, %v), want %v; screen:\n%q", r.d, r.err, tc.want, tt.screen())
			}
		})
	}
}
