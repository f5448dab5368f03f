package server

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/sandbox"
	"github.com/envseal/envseal/internal/seal"
)

// serveRun runs one request through the checkpoint. The child's stdio are
// the client's own descriptors (received with the frame); the broker
// scrubs output on its way to them. While the run lasts the connection
// carries signal frames from the client; EOF (the client went away)
// cancels the run, which terminates the child.
func (s *Server) serveRun(c *net.UnixConn, f wire.Frame, fds []int, peerPID int) {
	if len(fds) != 3 {
		closeFDs(fds)
		writeError(c, "a run request carries exactly 3 descriptors (stdin, stdout, stderr)")
		return
	}
	m, err := wire.DecodeRun(f.Payload)
	if err != nil {
		closeFDs(fds)
		writeError(c, err.Error())
		return
	}
	stdin := os.NewFile(uintptr(fds[0]), "client-stdin")
	stdout := os.NewFile(uintptr(fds[1]), "client-stdout")
	stderr := os.NewFile(uintptr(fds[2]), "client-stderr")
	defer stdin.Close()
	defer stdout.Close()
	defer stderr.Close()

	s.begin()
	defer s.end()
	s.served.Add(1)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	child := &childHandle{}
	defer child.close()

	// Reader: signal frames while the run lasts; anything else, or EOF,
	// ends the run (a client that disconnects gets its child terminated).
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			fr, err := wire.ReadFrame(c)
			if err != nil {
				cancel()
				return
			}
			if fr.Type != wire.TypeSignal {
				cancel()
				return
			}
			sig, err := wire.DecodeSignal(fr.Payload)
			if err != nil {
				continue // not forwarded; the run goes on
			}
			child.signal(sig)
		}
	}()

	cp := launch.New(launch.Config{
		Vault:    s.cfg.Vault,
		Unlock:   s.unlock,
		Approver: s.approver,
		Audit:    &runAudit{inner: s.cfg.Audit},
		Cache:    s.cache,
		// Every program the broker starts is contained (its own
		// namespaces, no terminal, read-only /, the vault and control
		// sockets hidden) and gets PATH, HOME, … from the broker's side:
		// the requester is the agent.
		Contain:  true,
		HumanEnv: startEnv,
		Warm:     s.warm.take,
	})
	req := &launch.Request{
		Argv: m.Argv, Cwd: m.Cwd, Env: m.Env, PATH: m.PATH,
		InheritEnv: m.InheritEnv, Grants: m.Grants, Sandbox: sandbox.Tier(m.Sandbox), OnLeak: launch.OnLeak(m.OnLeak),
		Network: m.Network, RW: m.RW, Hide: launch.HideDirs(s.cfg.Vault.Dir(), wire.SocketDir()), Pins: m.Pins, Templates: m.Templates,
		Stdin: stdin, Stdout: stdout, Stderr: stderr,
		RequesterPID: peerPID, Started: child.started,
	}
	res, err := cp.Run(ctx, req)
	out := &wire.ResultMsg{}
	if res != nil {
		out.ExitCode, out.Approval, out.RuleID, out.Leaks = res.ExitCode, res.Approval, res.RuleID, res.Leaks
		out.ApprovalWaitMS = res.ApprovalWait.Milliseconds()
	}
	if err != nil {
		var le *launch.Error
		if errors.As(err, &le) {
			out.Error = &wire.WireError{Code: le.Code, Msg: le.Err.Error(), Hint: le.Hint}
		} else {
			out.Error = &wire.WireError{Code: launch.ExitFailed, Msg: err.Error()}
		}
		out.ExitCode = out.Error.Code
	}
	// Our copies of the client's descriptors go before the status, so a
	// client reading its own pipe to EOF is not kept waiting by us.
	stdin.Close()
	stdout.Close()
	stderr.Close()
	writeFrame(c, wire.TypeResult, out)
	s.warm.refill() // the next run's helper stage, off this run's path
	// Unblock the reader (the client closes after the result anyway).
	c.CloseRead()
	<-readerDone
}

// childHandle is the running child, as a pidfd: signals go to exactly
// that process even after its pid is reused.
type childHandle struct {
	mu    sync.Mutex
	pidfd int
	set   bool
}

func (h *childHandle) started(pid int) {
	h.mu.Lock()
	set := h.set
	h.mu.Unlock()
	if set {
		return // known already (RunPID, then run_started)
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	h.mu.Lock()
	h.pidfd, h.set = fd, true
	h.mu.Unlock()
}

func (h *childHandle) signal(sig int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.set {
		unix.PidfdSendSignal(h.pidfd, unix.Signal(sig), nil, 0)
	}
}

func (h *childHandle) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.set {
		unix.Close(h.pidfd)
		h.set = false
	}
}

// runAudit marks the broker's run events (via=broker).
type runAudit struct {
	inner launch.Auditor
}

func (r *runAudit) Event(key seal.Key, kind audit.Event, fields map[string]any) {
	if fields != nil {
		fields["via"] = "broker"
	}
	r.inner.Event(key, kind, fields)
}

// startEnv is the broker's environment as the human started it: the
// child's PATH, HOME, USER, LANG, TERM, TZ and TMPDIR come from here.
var startEnv = os.Environ()
