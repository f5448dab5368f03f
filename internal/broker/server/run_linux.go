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
func (s *Server) serveRun(c *net.UnixConn, f wire.Frame, fds []int, p peer) {
	peerPID := p.pid
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
	readerDone := make(chan struct{})
	go readSignals(c, child, cancel, readerDone)

	req := &launch.Request{
		Argv: m.Argv, Cwd: m.Cwd, Env: m.Env, PATH: m.PATH,
		InheritEnv: m.InheritEnv, Grants: m.Grants, Sandbox: sandbox.Tier(m.Sandbox), OnLeak: launch.OnLeak(m.OnLeak),
		Network: m.Network, RW: m.RW, Hide: launch.HideDirs(s.cfg.Vault.Dir(), wire.SocketDir()), Pins: m.Pins, Templates: m.Templates,
		Stdin: stdin, Stdout: stdout, Stderr: stderr,
		RequesterPID: peerPID, Started: child.started,
		HoldPins: func(paths []string) (func(), error) { return s.holders.hold(p, paths) },
	}
	ra := &runAudit{inner: s.cfg.Audit, order: &s.auditOrder}
	res, err := s.checkpoint(ra).Run(ctx, req)
	out := resultMsg(res, err)
	// Our copies of the client's descriptors go before the status, so a
	// client reading its own pipe to EOF is not kept waiting by us.
	stdin.Close()
	stdout.Close()
	stderr.Close()
	writeFrame(c, wire.TypeResult, out)
	ra.wait()       // run_finished, appended while the result went out, is durable
	s.warm.refill() // the next run's helper stage, off this run's path
	// Unblock the reader (the client closes after the result anyway).
	c.CloseRead()
	<-readerDone
}

// readSignals reads signal frames while the run lasts; anything else,
// or EOF, ends the run (a client that disconnects gets its child
// terminated). It closes done when it returns.
func readSignals(c *net.UnixConn, child *childHandle, cancel func(), done chan<- struct{}) {
	defer close(done)
	for {
		fr, err := wire.ReadFrame(c)
		if err != nil || fr.Type != wire.TypeSignal {
			cancel()
			return
		}
		sig, err := wire.DecodeSignal(fr.Payload)
		if err != nil {
			continue // not forwarded; the run goes on
		}
		child.signal(sig)
	}
}

// checkpoint is the checkpoint a broker run goes through.
func (s *Server) checkpoint(ra *runAudit) *launch.Checkpoint {
	return launch.New(launch.Config{
		Vault:    s.cfg.Vault,
		Unlock:   s.unlock,
		Approver: s.approver,
		Audit:    ra,
		Cache:    s.cache,
		Matchers: &s.matchers,
		// Every program the broker starts is contained (its own
		// namespaces, no terminal, read-only /, the vault and control
		// sockets hidden) and gets PATH, HOME, … from the broker's side:
		// the requester is the agent.
		Contain:  true,
		HumanEnv: startEnv,
		Warm:     s.warm.take,
	})
}

// resultMsg is the result frame of a run that returned res and err.
func resultMsg(res *launch.Result, err error) *wire.ResultMsg {
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
	return out
}

// childHandle is the running child, as a pidfd: signals go to exactly
// that process even after its pid is reused. A signal frame that comes
// before the pid is known is held and sent once it is: the program may
// already run by then (Started comes after the sandbox reported the
// target started, and a fast target acts before that), so dropping it
// would leave a run the client interrupted running.
type childHandle struct {
	mu      sync.Mutex
	pidfd   int
	set     bool
	closed  bool
	pending []unix.Signal // at most maxPendingSignals, in order
}

const maxPendingSignals = 8

func (h *childHandle) started(pid int) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.set || h.closed {
		unix.Close(fd)
		return
	}
	h.pidfd, h.set = fd, true
	for _, sig := range h.pending {
		unix.PidfdSendSignal(h.pidfd, sig, nil, 0)
	}
	h.pending = nil
}

func (h *childHandle) signal(sig int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.set:
		unix.PidfdSendSignal(h.pidfd, unix.Signal(sig), nil, 0)
	case !h.closed && len(h.pending) < maxPendingSignals:
		h.pending = append(h.pending, unix.Signal(sig))
	}
}

func (h *childHandle) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed, h.pending = true, nil
	if h.set {
		unix.Close(h.pidfd)
		h.set = false
	}
}

// runAudit marks the broker's run events (via=broker). A run's last
// record, run_finished, is appended while the result frame goes out (it
// records no decision, so the client decodes the result meanwhile), and
// serveRun closes the connection only once it is written (wait); the
// client returns after that close (client's awaitClose), so a run that
// has returned is in the log. The log's order is
// kept: order is taken when a record is handed over and held until it is
// written, so every later record of any broker run waits for it.
type runAudit struct {
	inner    launch.Auditor
	order    *sync.Mutex   // the server's (Server.auditOrder)
	finished chan struct{} // closed once this run's run_finished is written
}

func (r *runAudit) Event(key seal.Key, kind audit.Event, fields map[string]any) {
	if fields != nil {
		fields["via"] = "broker"
	}
	r.order.Lock()
	if kind != audit.RunFinished || r.finished != nil {
		defer r.order.Unlock()
		r.inner.Event(key, kind, fields)
		return
	}
	k := key.Clone() // the run wipes its key when it returns
	done := make(chan struct{})
	r.finished = done
	go func() {
		defer close(done)
		defer r.order.Unlock()
		defer k.Wipe()
		r.inner.Event(k, kind, fields)
	}()
}

// wait returns once the run's run_finished record is written (at once if
// there was none).
func (r *runAudit) wait() {
	if r.finished != nil {
		<-r.finished
	}
}

// startEnv is the broker's environment as the human started it: the
// child's PATH, HOME, USER, LANG, TERM, TZ and TMPDIR come from here.
var startEnv = os.Environ()
