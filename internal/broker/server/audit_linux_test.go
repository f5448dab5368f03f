package server

import (
	"context"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/seal"
)

// slowLog takes its time over run_finished, the record a broker appends
// while the result goes out, and notes whether the key it was handed was
// still the real one by then.
type slowLog struct {
	mu     sync.Mutex
	want   seal.Key
	kinds  []string
	badKey bool
}

func (l *slowLog) Event(key seal.Key, kind audit.Event, f map[string]any) {
	if kind == audit.RunFinished {
		time.Sleep(100 * time.Millisecond)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !key.Equal(l.want) {
		l.badKey = true
	}
	l.kinds = append(l.kinds, string(kind)+"/"+f["via"].(string))
}

// A broker run's run_finished is written with the run's key (not the
// wiped one), before any record of the next run, and before the broker
// is done with the connection; two runs back to back keep the log's
// order.
func TestRunFinishedOrderAndKey(t *testing.T) {
	log := &slowLog{}
	tb := startBroker(t, approve.AllowOnce, func(c *Config) {
		log.want = c.Key.Clone()
		c.Audit = log
	})
	for range 2 {
		c, err := client.Dial(tb.sock)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := c.Run(context.Background(), runReq("true")); err != nil || res.ExitCode != 0 {
			t.Fatalf("run: %+v %v", res, err)
		}
	}
	tb.srv.Close()
	<-tb.done
	tb.done <- nil // for the cleanup's wait
	log.mu.Lock()
	defer log.mu.Unlock()
	var runs []string
	for _, k := range log.kinds {
		if strings.HasPrefix(k, "run_") {
			runs = append(runs, k)
		}
	}
	want := "run_started/broker run_finished/broker run_started/broker run_finished/broker"
	if got := strings.Join(runs, " "); got != want {
		t.Errorf("run records %q, want %q", got, want)
	}
	if log.badKey {
		t.Error("a record was appended with a key other than the broker's (wiped?)")
	}
}

// TestRunReturnsAfterItsRecord: when a client's Run returns, the run's
// run_finished is in the log, though the broker appends it while the
// result goes out (slowLog takes 100 ms over it): the client waits for the
// broker to close the connection. Control: a bare read of the result
// frame, without that wait, returns before the record is there.
func TestRunReturnsAfterItsRecord(t *testing.T) {
	log := &slowLog{}
	tb := startBroker(t, approve.AllowOnce, func(c *Config) {
		log.want = c.Key.Clone()
		c.Audit = log
	})
	finished := func() int {
		log.mu.Lock()
		defer log.mu.Unlock()
		n := 0
		for _, k := range log.kinds {
			if k == "run_finished/broker" {
				n++
			}
		}
		return n
	}
	c, err := client.Dial(tb.sock)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := c.Run(context.Background(), runReq("true")); err != nil || res.ExitCode != 0 {
		t.Fatalf("run: %+v %v", res, err)
	}
	if n := finished(); n != 1 {
		t.Fatalf("Run returned with %d run_finished records in the log, want 1", n)
	}

	// The control: the same run, the result frame read by hand.
	raw := rawRunUntilResult(t, tb.sock)
	if n := finished(); n != 1 {
		t.Fatalf("control: %d run_finished records right after the raw result frame, want 1 (the record is still being written)", n)
	}
	raw.Close()
	time.Sleep(300 * time.Millisecond)
	if n := finished(); n != 2 {
		t.Fatalf("control: %d run_finished records in the end, want 2", n)
	}
}

// rawRunUntilResult starts a run of true by hand and reads frames up to
// the result; the connection stays open.
func rawRunUntilResult(t *testing.T, sock string) *net.UnixConn {
	t.Helper()
	n := devNull(t)
	c := rawRun(t, sock, testCwd, []string{"true"}, [3]*os.File{n, n, n})
	for {
		f, err := wire.ReadFrame(c)
		if err != nil {
			t.Fatal(err)
		}
		if f.Type == wire.TypeResult {
			return c
		}
	}
}

// lockingApprover locks the broker while its first prompt is up (the
// human runs 'envseal lock'), then allows the run; later prompts only
// allow.
type lockingApprover struct {
	srv    atomic.Pointer[Server] // set after the broker starts (the socket is no happens-before edge)
	locked atomic.Bool
}

func (a *lockingApprover) Approve(ctx context.Context, r *approve.Request) (approve.Decision, error) {
	if !a.locked.Swap(true) {
		a.srv.Load().Lock()
	}
	return approve.AllowOnce, nil
}

// TestLockedBrokerKeepsNoAutomaton: a run approved after the broker locked
// scrubs, but its automaton (made of the values' bytes) is not kept while
// the broker is locked; once it is unlocked again the cache fills as
// before (the control).
func TestLockedBrokerKeepsNoAutomaton(t *testing.T) {
	la := &lockingApprover{}
	tb := startBroker(t, approve.AllowOnce, func(c *Config) { c.Approver = la })
	la.srv.Store(tb.srv)
	srv := tb.srv
	run := func() {
		t.Helper()
		c, err := client.Dial(tb.sock)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := c.Run(context.Background(), runReq("true")); err != nil || res.ExitCode != 0 {
			t.Fatalf("run: %+v %v", res, err)
		}
	}
	run()
	if n := srv.matchers.Len(); n != 0 {
		t.Fatalf("broker locked during the prompt, yet %d automata kept", n)
	}
	// The control: unlocked again, no lock during the prompt.
	if _, err := srv.unlock(); err != nil {
		t.Fatal(err)
	}
	run()
	if n := srv.matchers.Len(); n != 1 {
		t.Fatalf("unlocked broker kept %d automata after a run, want 1", n)
	}
}
