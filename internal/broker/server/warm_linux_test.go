package server

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/envseal/envseal/internal/approve"
)

// warmHelpers lists this process's children that are warm helper stages.
func warmHelpers(t *testing.T) []int {
	t.Helper()
	var out []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		cmdline, _ := os.ReadFile(d + "/cmdline")
		if bytes.Contains(cmdline, []byte("__sandbox_helper\x00--warm\x00")) {
			pid, _ := strconv.Atoi(filepath.Base(d))
			out = append(out, pid)
		}
	}
	return out
}

// awaitWarm waits (on the pool's condition, no polling) until the pool
// is done filling.
func awaitWarm(s *Server) int {
	p := &s.warm
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.filling {
		p.arrived().Wait()
	}
	return len(p.ready)
}

// TestWarmPoolLockAndClose: the broker keeps pre-started helper stages
// while unlocked, none once it locks (they are killed, not left waiting),
// and none after it closes.
func TestWarmPoolLockAndClose(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce, nil)
	tb.srv.warm.fill() // what Serve does at its start (it may not have yet)
	if n := awaitWarm(tb.srv); n != warmKeep {
		t.Fatalf("unlocked broker keeps %d warm helpers, want %d", n, warmKeep)
	}
	if got := warmHelpers(t); len(got) != warmKeep {
		t.Fatalf("warm helper processes %v, want %d", got, warmKeep)
	}
	tb.srv.Lock()
	if got := warmHelpers(t); len(got) != 0 {
		t.Fatalf("after lock, warm helpers still running: %v", got)
	}
	tb.srv.warm.refill() // what the end of a run does: not while locked
	if n := awaitWarm(tb.srv); n != 0 {
		t.Fatalf("locked broker refilled %d warm helpers", n)
	}
	tb.srv.warm.take() // a run (after an unlock) resumes filling at its end
	tb.srv.warm.refill()
	if n := awaitWarm(tb.srv); n != warmKeep {
		t.Fatalf("after a run, %d warm helpers, want %d", n, warmKeep)
	}
	tb.srv.Close()
	if got := warmHelpers(t); len(got) != 0 {
		t.Fatalf("after close, warm helpers still running: %v", got)
	}
}
