package mcpserver

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/envseal/envseal/internal/approve"
)

// progressEvery is how often run_command and request_secret tell the
// client they are still waiting. Clients end a request after a fixed time
// (60 s in the TypeScript SDK) unless progress resets the timer, and a
// human reading an approval screen often takes longer. A variable so tests
// need not wait seconds.
var progressEvery = 5 * time.Second

// approvalClock measures the time a human spends on an approval, when the
// approver runs in this process (the direct path); the broker's approver
// runs in the broker, whose result does not carry the time.
type approvalClock struct {
	mu      sync.Mutex
	since   time.Time // zero when no approval is pending
	waited  time.Duration
	counted bool
}

type clockKey struct{}

func withClock(ctx context.Context) (context.Context, *approvalClock) {
	c := &approvalClock{}
	return context.WithValue(ctx, clockKey{}, c), c
}

func (c *approvalClock) start() {
	c.mu.Lock()
	c.since = time.Now()
	c.mu.Unlock()
}

func (c *approvalClock) stop() {
	c.mu.Lock()
	if !c.since.IsZero() {
		c.waited += time.Since(c.since)
		c.since, c.counted = time.Time{}, true
	}
	c.mu.Unlock()
}

// pending says whether a human is being asked now, and since when.
func (c *approvalClock) pending() (bool, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.since.IsZero() {
		return false, 0
	}
	return true, time.Since(c.since)
}

// measured is the time spent on approvals, if one was asked here.
func (c *approvalClock) measured() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waited, c.counted
}

// TimedApprover wraps the approver of a direct run so that run_command
// can report, while waiting and in its result, the time the human took.
// Outside a run_command call it only delegates.
func TimedApprover(a approve.Approver) approve.Approver { return timedApprover{a} }

type timedApprover struct{ inner approve.Approver }

func (t timedApprover) Approve(ctx context.Context, r *approve.Request) (approve.Decision, error) {
	if c, ok := ctx.Value(clockKey{}).(*approvalClock); ok {
		c.start()
		defer c.stop()
	}
	return t.inner.Approve(ctx, r)
}

// reportProgress sends a progress notification every progressEvery until
// the returned stop is called, if the client asked for progress (sent a
// progressToken). what(elapsed) is the message.
func reportProgress(ctx context.Context, req *mcp.CallToolRequest, what func(time.Duration) string) (stop func()) {
	if req == nil || req.Params == nil || req.Session == nil {
		return func() {}
	}
	token := req.Params.GetProgressToken()
	if token == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	start, every := time.Now(), progressEvery
	go func() {
		defer close(finished)
		tk := time.NewTicker(every)
		defer tk.Stop()
		for n := 1; ; n++ {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tk.C:
			}
			el := time.Since(start)
			// Progress must grow with every notification; the total is
			// unknown (a human decides).
			req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
				ProgressToken: token, Progress: float64(n), Message: what(el),
			})
		}
	}()
	return func() {
		close(done)
		<-finished // no notification after the response
	}
}

// seconds renders d for a progress message.
func seconds(d time.Duration) string {
	return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
}
