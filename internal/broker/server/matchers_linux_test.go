package server

import (
	"context"
	"testing"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/broker/client"
)

// The scrubber automaton of a run's secrets is kept for the next run of
// the same secrets while the broker is unlocked, and dropped when it
// locks.
func TestMatchersDroppedOnLock(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce, nil)
	for range 2 {
		c, err := client.Dial(tb.sock)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := c.Run(context.Background(), runReq("true")); err != nil || res.ExitCode != 0 {
			t.Fatalf("run: %+v %v", res, err)
		}
	}
	if n := tb.srv.matchers.Len(); n != 1 {
		t.Fatalf("after two runs of one secret set, %d automata kept, want 1", n)
	}
	tb.srv.Lock()
	if n := tb.srv.matchers.Len(); n != 0 {
		t.Fatalf("after lock, %d automata kept", n)
	}
}
