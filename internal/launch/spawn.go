package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/childenv"
	"github.com/envseal/envseal/internal/exeseal"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/redact"
	"github.com/envseal/envseal/internal/sandbox"
	"github.com/envseal/envseal/internal/seal"
)

// spawn delivers the secrets and runs the sealed copy of the pinned
// program, scrubbing its output, forwarding signals, and returning its exit
// status (128+N for a signal).
func (c *Checkpoint) spawn(ctx context.Context, req *Request, pin *exeseal.Pinned, rc *runContext, key seal.Key, values map[string][]byte) (int, map[string]int, error) {
	sealed, err := pin.Seal()
	if err != nil {
		if errors.Is(err, exeseal.ErrChanged) {
			return ExitDenied, nil, &Error{Code: ExitDenied, Err: fmt.Errorf("%w: %w", ErrDenied, err), Hint: "the file changed after it was hashed; run the command again"}
		}
		return ExitFailed, nil, &Error{Code: ExitFailed, Err: fmt.Errorf("seal %s: %w", pin.Path, err)}
	}
	defer sealed.Close()

	cmd := &exec.Cmd{Args: slices.Clone(req.Argv), Dir: rc.cwd}
	serve := rc.serves(pin)
	var pins []sandbox.Pin
	if serve {
		// The closure's bytes, and a script's own, are served at their
		// real paths inside the run's mount namespace: the child reads
		// exactly what was hashed, and node or perl see a real file.
		if err := sealed.PrepareServed(cmd, scriptArg(rc.invoked, pin.Path)); err != nil {
			return ExitFailed, nil, &Error{Code: ExitFailed, Err: err}
		}
		copies, err := rc.pinFiles()
		if err != nil {
			return ExitFailed, nil, &Error{Code: ExitFailed, Err: err}
		}
		if sealed.IsScript() {
			sf, err := sealed.OpenScript()
			if err != nil {
				for _, p := range copies {
					p.file.Close()
				}
				return ExitFailed, nil, &Error{Code: ExitFailed, Err: err}
			}
			copies = append(copies, pinnedCopy{path: pin.Path, mode: 0o755, file: sf})
		}
		defer func() {
			for _, p := range copies {
				p.file.Close()
			}
		}()
		for _, p := range copies {
			pins = append(pins, sandbox.Pin{Path: p.path, Mode: p.mode, File: p.file})
		}
	} else if err := sealed.Prepare(cmd); err != nil {
		return ExitFailed, nil, &Error{Code: ExitFailed, Err: err}
	}

	var envKV []childenv.KV
	var stdinValue []byte
	var fdFiles []*os.File
	defer func() {
		for _, f := range fdFiles {
			f.Close()
		}
	}()
	var secrets []redact.Secret
	for _, g := range req.Grants {
		v := values[g.Secret]
		secrets = append(secrets, redact.Secret{Name: g.Secret, Value: v})
		switch g.Delivery {
		case policy.DeliverEnv:
			envKV = append(envKV, childenv.KV{Name: g.Env, Value: v})
		case policy.DeliverStdin:
			stdinValue = v
		case policy.DeliverFD:
			f, err := secretFile(g.Secret, v)
			if err != nil {
				return ExitFailed, nil, &Error{Code: ExitFailed, Err: err}
			}
			fdFiles = append(fdFiles, f)
			cmd.ExtraFiles = append(cmd.ExtraFiles, f)
			fd := 2 + len(cmd.ExtraFiles)
			if want := secretFD(pin, rc, len(fdFiles)-1); fd != want {
				// The human was shown /dev/fd/want.
				return ExitFailed, nil, &Error{Code: ExitFailed, Err: fmt.Errorf("secret %s would be on fd %d, approved as fd %d", g.Secret, fd, want)}
			}
			envKV = append(envKV, childenv.KV{Name: g.Env, Value: fmt.Appendf(nil, "/dev/fd/%d", fd)})
		}
	}
	tf, tkv, err := rc.deliverTemplates(cmd, pin, req, values)
	if err != nil {
		return ExitFailed, nil, err
	}
	fdFiles, envKV = append(fdFiles, tf...), append(envKV, tkv...)
	env, err := childenv.Build(rc.env, true, envKV)
	if err != nil {
		return ExitFailed, nil, &Error{Code: ExitFailed, Err: err}
	}
	if rc.python {
		// Python loads __pycache__/*.pyc instead of a module's source
		// when the cache looks current (and an unchecked hash-based .pyc
		// always): an agent's .pyc beside a pinned module would run. The
		// run reads and writes bytecode only in a cache of its own.
		dir, cleanup, err := c.pycachePrefix(req)
		if err != nil {
			return ExitFailed, nil, &Error{Code: ExitFailed, Err: err}
		}
		defer cleanup()
		env = append(env, "PYTHONPYCACHEPREFIX="+dir)
	}
	cmd.Env = env

	var (
		leakOnce sync.Once
		leaked   = make(chan struct{})
		mopts    []redact.Option
	)
	if req.OnLeak == "kill" {
		mopts = append(mopts, redact.OnHit(func(string) {
			leakOnce.Do(func() { close(leaked) })
		}))
	}
	// Built once (the automaton is most of a short run's CPU in the broker).
	matcher, err := redact.NewMatcher(secrets, mopts...)
	if err != nil {
		e := &Error{Code: ExitFailed, Err: err}
		if errors.Is(err, redact.ErrTooLarge) {
			e.Hint = "the output could not be scrubbed of this many secrets at once; hand fewer secrets to one run"
		}
		return ExitFailed, nil, e
	}

	// A pipe of our own rather than cmd.StdinPipe: a warm helper takes
	// the run without cmd.Start, which is what would close the read end.
	var stdinR, stdinW *os.File
	if stdinValue != nil {
		stdinR, stdinW, err = os.Pipe()
		if err != nil {
			return ExitFailed, nil, &Error{Code: ExitFailed, Err: err}
		}
		cmd.Stdin = stdinR
	} else {
		cmd.Stdin = req.Stdin
	}
	closeStdinPipe := func() {
		if stdinR != nil {
			stdinR.Close()
			stdinW.Close()
		}
	}
	// Our own pipes (not StdoutPipe): after the child exits, a grandchild
	// may still hold the write ends; we must be able to stop reading then.
	outR, outW, err := os.Pipe()
	if err != nil {
		closeStdinPipe()
		return ExitFailed, nil, &Error{Code: ExitFailed, Err: err}
	}
	defer outR.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		outW.Close()
		closeStdinPipe()
		return ExitFailed, nil, &Error{Code: ExitFailed, Err: err}
	}
	defer errR.Close()
	growPipe(outR)
	growPipe(errR)
	cmd.Stdout, cmd.Stderr = outW, errW
	// Hardened and lockdown go through the sandbox helper (a re-exec of
	// envseal that sets up namespaces, mounts, Landlock and seccomp, then
	// execs the pinned memfd). Wrap comes last: it must see every fd.
	var sb *sandbox.Handle
	if opts := c.sandboxOptions(req, rc, pins); opts.Tier != sandbox.Standard || len(opts.Pins) > 0 {
		sb, err = sandbox.Wrap(cmd, "/proc/self/exe", opts)
		if err != nil {
			outW.Close()
			errW.Close()
			closeStdinPipe()
			return ExitFailed, nil, &Error{Code: ExitFailed, Err: err, Hint: sandboxHint(err)}
		}
		// argv[0] of the helper stage: the name envseal was invoked by
		// (multi-call test binaries dispatch on it; the path is fixed).
		cmd.Args[0] = os.Args[0]
	}
	// A contained run takes a pre-started helper stage when one is ready
	// (the same namespaces, then exactly this helper's arguments,
	// environment and descriptors); otherwise, or if it cannot take the
	// run (it is then killed first), the helper starts here.
	var warm *sandbox.Warm
	// Not for a stdin delivery: through a warm helper the child read an
	// empty stdin (mcpserver TestRunCommandDeliveries, 5 runs in 8; the
	// cause is not found yet), so such a run starts its helper here.
	if sb != nil && c.Contain && c.Warm != nil && stdinValue == nil {
		warm = c.Warm()
	}
	switch {
	case warm != nil && warm.Start(cmd) == nil:
		err = nil
	case sb != nil && os.Geteuid() != 0:
		// The kernel lets an unprivileged parent write its child's
		// uid_map/gid_map only while the child (a fork of us, so
		// non-dumpable too) is dumpable; see startDumpable.
		err = startDumpable(func() error { return startNoNewPrivs(cmd) })
	default:
		err = startNoNewPrivs(cmd)
	}
	outW.Close()
	errW.Close()
	if stdinR != nil {
		stdinR.Close() // the child has its copy
	}
	if err != nil {
		if cmd.Process != nil { // started, but envseal could not re-harden itself
			cmd.Process.Kill()
			cmd.Wait()
		}
		if stdinW != nil {
			stdinW.Close()
		}
		if sb != nil {
			sb.Close()
		}
		return ExitFailed, nil, &Error{Code: ExitFailed, Err: fmt.Errorf("start %s: %w", pin.Path, err)}
	}
	if sb != nil {
		if err := sb.AfterStart(); err != nil {
			// The helper failed before exec'ing the target: nothing of the
			// program ran. Reap the helper and report envseal's failure.
			go io.Copy(io.Discard, outR)
			go io.Copy(io.Discard, errR)
			cmd.Wait()
			return ExitFailed, nil, &Error{Code: ExitFailed, Err: fmt.Errorf("sandbox %s: %w", tierOrDefault(req.Sandbox), err),
				Hint: "the sandbox could not be set up; run with --sandbox standard, or see 'envseal run --help'"}
		}
	}
	// Whoever forwards signals learns the pid now (Request.Started), not
	// when the record is written (a signal sent meanwhile would be lost).
	if req.Started != nil {
		req.Started(cmd.Process.Pid)
	}
	// The record (written and fsynced) goes while the program runs, not
	// before we wait for it: a short program is not kept waiting on the
	// disk. It is complete before spawn returns, so every later record
	// of the run follows it in the log.
	startedLogged := make(chan struct{})
	go func(fields map[string]any) {
		defer close(startedLogged)
		c.audit(key, audit.RunStarted, fields)
	}(map[string]any{"binary": pin.Path, "pid": cmd.Process.Pid, "argv": req.Argv, "cwd": req.Cwd, "secrets": grantSecrets(req.Grants)})
	defer func() { <-startedLogged }()
	// The child has its own copies now; drop ours.
	for _, f := range fdFiles {
		f.Close()
	}
	fdFiles = nil
	sealed.Close()

	if stdinW != nil {
		go func() {
			stdinW.Write(stdinValue)
			stdinW.Close()
		}()
	}

	var wg sync.WaitGroup
	var progress atomic.Int64 // bytes read by the pumps, to tell a quiet pipe from a busy one
	pump := func(r io.Reader, dst io.Writer) {
		defer wg.Done()
		if dst == nil {
			dst = io.Discard
		}
		w := matcher.NewWriter(dst)
		// A large buffer (and large pipes, see growPipe) keeps the syscall
		// count per GiB low; the scrubber itself runs at several GB/s. It
		// is pooled: zeroing 2 MiB per run was a measurable part of a
		// broker run of /bin/true. What was read is cleared before reuse.
		bp := pumpBufs.Get().(*[]byte)
		buf := *bp
		var mine atomic.Int64
		defer func() {
			clear(buf[:min(mine.Load(), int64(len(buf)))])
			pumpBufs.Put(bp)
		}()
		if _, err := io.CopyBuffer(w, countingReader{r, &progress, &mine}, buf); err != nil {
			// Our stdout is gone (EPIPE…): keep draining so the child is
			// never blocked on a full pipe.
			io.Copy(io.Discard, r)
		}
		w.Close()
	}
	wg.Add(2)
	go pump(outR, req.Stdout)
	go pump(errR, req.Stderr)

	// In direct mode envseal's own SIGINT/SIGTERM/SIGHUP go to the child. A
	// broker forwards its clients' signals itself and must not hand its
	// own to whichever child happens to be running.
	sigs := make(chan os.Signal, 4)
	if c.ForwardSignals {
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
		defer signal.Stop(sigs)
	}
	waited := make(chan struct{})
	var killedForLeak atomic.Bool
	go func() {
		leakCh := leaked
		for {
			select {
			case s := <-sigs:
				cmd.Process.Signal(s)
			case <-leakCh:
				killedForLeak.Store(true)
				terminate(cmd.Process, c.leakGrace(), waited)
				leakCh = nil
			case <-ctx.Done():
				terminate(cmd.Process, c.leakGrace(), waited)
				return
			case <-waited:
				return
			}
		}
	}()
	werr := cmd.Wait()
	close(waited)
	if sb != nil {
		rc.leftover = sb.Leftover()
	}
	// All output scrubbed and written before the status. The pumps end at
	// EOF, i.e. when every holder of the write ends is gone. If the child
	// left a grandchild holding them, keep reading while data still flows
	// (nothing the child wrote is lost, however slow we are scheduled), and
	// stop once the pipes have been quiet for outputGrace, or after
	// outputMax in all (what a lingering grandchild prints later is
	// dropped).
	pumped := make(chan struct{})
	go func() { wg.Wait(); close(pumped) }()
	deadline := time.Now().Add(outputMax)
	for last := int64(-1); ; {
		select {
		case <-pumped:
		case <-time.After(outputGrace):
			if n := progress.Load(); n != last && time.Now().Before(deadline) {
				last = n
				continue
			}
			outR.Close()
			errR.Close()
			<-pumped
		}
		break
	}
	code := exitCode(cmd.ProcessState, werr)
	hits := matcher.Hits()
	if killedForLeak.Load() {
		return ExitDenied, hits, &Error{Code: ExitDenied, Err: fmt.Errorf("%w (%s)", ErrLeakKilled, leakNames(hits)), Hint: "the program printed a secret; its output was scrubbed and it was stopped (--on-leak kill)"}
	}
	return code, hits, nil
}

// pycachePrefix is a bytecode cache private to the run: inside a
// contained or lockdown run's own /tmp (a fresh tmpfs), otherwise a new
// 0700 directory removed after the run.
func (c *Checkpoint) pycachePrefix(req *Request) (string, func(), error) {
	if c.Contain || tierOrDefault(req.Sandbox) == sandbox.Lockdown {
		return "/tmp/envseal-pycache", func() {}, nil
	}
	d, err := os.MkdirTemp("", "envseal-pycache-")
	if err != nil {
		return "", nil, fmt.Errorf("python bytecode cache: %w", err)
	}
	return d, func() { os.RemoveAll(d) }, nil
}

// sandboxOptions: the tier's sandbox, or for a contained run (the
// broker's) the lockdown layout with the network kept unless the tier is
// lockdown, and no terminal.
func (c *Checkpoint) sandboxOptions(req *Request, rc *runContext, pins []sandbox.Pin) sandbox.Options {
	o := sandbox.Options{Tier: tierOrDefault(req.Sandbox), Network: req.Network, RW: req.RW, Cwd: rc.cwd, Hide: req.Hide, Pins: pins}
	if c.Contain {
		o.Tier, o.Network, o.NoTTY = sandbox.Lockdown, c.network(req), true
	}
	return o
}

// After the child exited while something else keeps its stdout or stderr
// open: stop reading once the pipes were quiet for outputGrace, and in any
// case after outputMax.
const (
	outputGrace = 500 * time.Millisecond
	outputMax   = 10 * time.Second
)

// countingReader counts the bytes read through it.
// countingReader adds what it reads to both counters: progress (shared by
// the pumps) and this pump's own total.
type countingReader struct {
	r       io.Reader
	n, mine *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	c.mine.Add(int64(n))
	return n, err
}

// pumpBufs holds the 1 MiB output buffers of finished runs.
var pumpBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

func (c *Checkpoint) leakGrace() time.Duration {
	if c.LeakGrace > 0 {
		return c.LeakGrace
	}
	return 2 * time.Second
}

// terminate sends SIGTERM to the exact child pid, then SIGKILL after the
// grace period unless the child has been waited for. Never a process group
// envseal did not create.
func terminate(p *os.Process, grace time.Duration, waited <-chan struct{}) {
	p.Signal(syscall.SIGTERM)
	go func() {
		select {
		case <-waited:
		case <-time.After(grace):
			p.Signal(syscall.SIGKILL)
		}
	}()
}

func leakNames(h map[string]int) string {
	var names []string
	for n, c := range h {
		if c > 0 {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return fmt.Sprint(names)
}

func exitCode(ps *os.ProcessState, err error) int {
	if ps == nil {
		return ExitFailed
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}
