package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/launch"
)

// slowHuman takes a while to decide, or until the request is withdrawn.
type slowHuman struct {
	wait      time.Duration
	entered   chan struct{}
	withdrawn chan error // the ctx error when the request was withdrawn
	once      sync.Once
}

func newSlowHuman(wait time.Duration) *slowHuman {
	return &slowHuman{wait: wait, entered: make(chan struct{}), withdrawn: make(chan error, 1)}
}

func (h *slowHuman) Approve(ctx context.Context, _ *approve.Request) (approve.Decision, error) {
	h.once.Do(func() { close(h.entered) })
	select {
	case <-time.After(h.wait):
		return approve.AllowOnce, nil
	case <-ctx.Done():
		h.withdrawn <- ctx.Err()
		return approve.Deny, ctx.Err()
	}
}

// progressLog records the progress notifications the client receives.
type progressLog struct {
	mu sync.Mutex
	ps []*mcp.ProgressNotificationParams
}

func (p *progressLog) handler(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
	p.mu.Lock()
	p.ps = append(p.ps, r.Params)
	p.mu.Unlock()
}

func (p *progressLog) get() []*mcp.ProgressNotificationParams {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*mcp.ProgressNotificationParams(nil), p.ps...)
}

func fastProgress(t *testing.T) {
	old := progressEvery
	progressEvery = 20 * time.Millisecond
	t.Cleanup(func() { progressEvery = old })
}

// While the human takes their time at the broker, a client that sent a
// progressToken gets growing progress notifications (so its request timer
// can be reset); the result says how long the call took. A client that
// sent no token gets none.
func TestRunCommandProgressWhileApproving(t *testing.T) {
	fastProgress(t)
	tb := startBrokerWith(t, newSlowHuman(400*time.Millisecond))
	var pl progressLog
	cs := connectWith(t, brokerCfg(tb), &mcp.ClientOptions{ProgressNotificationHandler: pl.handler})
	args := map[string]any{"argv": []string{"true"}, "cwd": t.TempDir(), "secrets": map[string]string{"T": "tok"}}

	p := &mcp.CallToolParams{Name: "run_command", Arguments: args}
	p.SetProgressToken("tok-1")
	res, err := cs.CallTool(context.Background(), p)
	if err != nil || res.IsError {
		t.Fatalf("run_command: %v %v", err, res)
	}
	var out RunOutput
	decode(t, res, &out)
	if out.ExitCode != 0 || !out.ApprovalNeeded || out.ElapsedMS < 400 {
		t.Fatalf("run = exit %d, approval needed %v, elapsed %d ms", out.ExitCode, out.ApprovalNeeded, out.ElapsedMS)
	}
	// The broker measures its own prompt (the test's approver sleeps 400 ms)
	// and sends the figure back in its result frame.
	if out.ApprovalWaitMS == nil || *out.ApprovalWaitMS < 400 || *out.ApprovalWaitMS > out.ElapsedMS {
		t.Fatalf("approval_wait_ms %v for a 400 ms approval at the broker (elapsed %d ms)", out.ApprovalWaitMS, out.ElapsedMS)
	}
	ps := pl.get()
	if len(ps) < 3 {
		t.Fatalf("%d progress notifications in 400 ms at 20 ms intervals", len(ps))
	}
	for i, n := range ps {
		if n.ProgressToken != "tok-1" || !strings.Contains(n.Message, "approval at the envseal broker") {
			t.Fatalf("notification %d = %+v", i, n)
		}
		if i > 0 && n.Progress <= ps[i-1].Progress {
			t.Fatalf("progress did not grow: %v then %v", ps[i-1].Progress, n.Progress)
		}
	}

	// No token, no notifications.
	before := len(pl.get())
	if res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "run_command", Arguments: args}); err != nil || res.IsError {
		t.Fatalf("run_command without token: %v", err)
	}
	if n := len(pl.get()) - before; n != 0 {
		t.Fatalf("%d notifications without a progressToken", n)
	}
}

// notifications/cancelled withdraws the pending approval: the human's
// prompt sees its ctx end, the program never starts, and the session
// serves the next call.
func TestRunCommandCancelWithdrawsApproval(t *testing.T) {
	fastProgress(t)
	human := newSlowHuman(time.Hour)
	tb := startBrokerWith(t, human)
	var logs lockedBuf
	cfg := brokerCfg(tb)
	cfg.Logf = func(format string, args ...any) { logs.Write([]byte(fmt.Sprintf(format, args...) + "\n")) }
	cs := connect(t, cfg)

	marker := filepath.Join(t.TempDir(), "started")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		p := &mcp.CallToolParams{Name: "run_command", Arguments: map[string]any{
			"argv": []string{"touch", marker}, "cwd": t.TempDir(), "secrets": map[string]string{"T": "tok"},
		}}
		p.SetProgressToken(7)
		_, err := cs.CallTool(ctx, p)
		errc <- err
	}()
	select {
	case <-human.entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the approval was never asked")
	}
	cancel() // the SDK client sends notifications/cancelled
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call returned %v", err)
	}
	select {
	case err := <-human.withdrawn:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("prompt ended with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the pending approval was not withdrawn")
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(string(logs.Bytes()), "cancelled by the client") {
		if time.Now().After(deadline) {
			t.Fatalf("no cancellation logged: %s", logs.Bytes())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the program started after its approval was withdrawn (stat: %v)", err)
	}
	var st StatusOutput
	if res := call(t, cs, "status", nil, &st); res.IsError || !st.Broker.Up {
		t.Fatalf("session after cancel: %+v", st)
	}
}

// directHuman is a direct Runner whose approval happens in this process,
// through TimedApprover as the CLI's direct path wires it.
type directHuman struct{ ap approve.Approver }

func (d directHuman) Run(ctx context.Context, req *launch.Request) (*launch.Result, error) {
	if _, err := d.ap.Approve(ctx, &approve.Request{}); err != nil {
		return nil, &launch.Error{Code: launch.ExitDenied, Err: err}
	}
	return &launch.Result{Approval: "once"}, nil
}

// When the approval is asked in this process the result says how long the
// human took, and progress says a human is being asked.
func TestRunCommandDirectApprovalTime(t *testing.T) {
	fastProgress(t)
	var pl progressLog
	cfg := Config{Socket: noBroker(t), Direct: directHuman{TimedApprover(newSlowHuman(300 * time.Millisecond))}}
	cs := connectWith(t, cfg, &mcp.ClientOptions{ProgressNotificationHandler: pl.handler})
	p := &mcp.CallToolParams{Name: "run_command", Arguments: map[string]any{"argv": []string{"true"}, "cwd": t.TempDir(), "secrets": map[string]string{"T": "tok"}}}
	p.SetProgressToken("d")
	res, err := cs.CallTool(context.Background(), p)
	if err != nil || res.IsError {
		t.Fatalf("run_command: %v %v", err, res)
	}
	var out RunOutput
	decode(t, res, &out)
	if out.ApprovalWaitMS == nil || *out.ApprovalWaitMS < 300 || out.ElapsedMS < *out.ApprovalWaitMS || out.Via != "direct" {
		t.Fatalf("approval_wait_ms %v, elapsed_ms %d, via %s", out.ApprovalWaitMS, out.ElapsedMS, out.Via)
	}
	asked := false
	for _, n := range pl.get() {
		asked = asked || strings.Contains(n.Message, "approve true on their terminal")
	}
	if !asked {
		t.Fatalf("no progress said a human is being asked here: %+v", pl.get())
	}
}

// request_secret reports progress too while the human types the value.
func TestRequestSecretProgress(t *testing.T) {
	fastProgress(t)
	tb := startBrokerWith(t, newSlowHuman(300*time.Millisecond))
	var pl progressLog
	cs := connectWith(t, brokerCfg(tb), &mcp.ClientOptions{ProgressNotificationHandler: pl.handler})
	p := &mcp.CallToolParams{Name: "request_secret", Arguments: map[string]any{"name": "new", "purpose": "a test"}}
	p.SetProgressToken("r")
	res, err := cs.CallTool(context.Background(), p)
	if err != nil || res.IsError {
		t.Fatalf("request_secret: %v %v", err, res)
	}
	if ps := pl.get(); len(ps) < 2 || !strings.Contains(ps[0].Message, "request for new") {
		t.Fatalf("progress = %+v", ps)
	}
}

// decode checks a result holds no value and decodes its structured content.
func decode(t *testing.T, res *mcp.CallToolResult, out any) {
	t.Helper()
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	assertNoValue(t, "result", raw)
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("decode structured content: %v", err)
	}
}
