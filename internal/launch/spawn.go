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
	"github.com/envseal/envseal/internal/sys"
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

	r := &spawnRun{c: c, req: req, pin: pin, rc: rc, sealed: sealed,
		cmd: &exec.Cmd{Args: slices.Clone(req.Argv), Dir: rc.cwd}}
	defer r.closeFiles()
	if err := r.prepareCommand(); err != nil {
		return ExitFailed, nil, err
	}
	// The image at its real path where the run has a mount namespace (exepin.go).
	imageDone, err := c.imagePin(r)
	if err != nil {
		return ExitFailed, nil, failed(err)
	}
	defer imageDone()
	if err := r.deliverSecrets(values); err != nil {
		return ExitFailed, nil, err
	}
	cleanup, err := r.pythonCache()
	if err != nil {
		return ExitFailed, nil, err
	}
	defer cleanup()
	if err := r.newMatcher(); err != nil {
		return ExitFailed, nil, err
	}
	released, err := r.holdPins()
	if err != nil {
		return ExitFailed, nil, err
	}
	defer released()
	if err := r.openPipes(); err != nil {
		return ExitFailed, nil, err
	}
	defer r.outR.Close()
	defer r.errR.Close()
	if err := r.start(); err != nil {
		return ExitFailed, nil, err
	}
	if err := r.afterStart(); err != nil {
		return ExitFailed, nil, err
	}
	startedLogged := r.announce(key)
	defer func() { <-startedLogged }()
	// The child has its own copies now; drop ours.
	r.closeFdFiles()
	sealed.Close()
	r.feedStdin()

	p := r.startPumps()
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
	go r.watch(ctx, sigs, waited, &killedForLeak)
	code, werr := r.wait()
	close(waited)
	var tripped error
	if r.sb != nil {
		rc.leftover = r.sb.Leftover()
		tripped = r.sb.Tripped()
	}
	r.drain(p)
	if werr != nil || code < 0 {
		code = exitCode(r.cmd.ProcessState, werr)
	}
	hits := r.matcher.Hits()
	if tripped != nil {
		// The sandbox's tripwire (internal/sandbox/tripwire_linux.go):
		// a pinned path was unlinked or renamed over from outside the
		// run, and every process of the run was killed.
		var pe *sandbox.PinReplacedError
		if errors.As(tripped, &pe) {
			rc.pinReplaced = pe.Path
			if pe.Path == "" {
				rc.pinReplaced = "(unknown: the watch lost events)"
			}
		}
		return ExitFailed, hits, &Error{Code: ExitFailed, Err: tripped,
			Hint: "another process removed or renamed a file of the approved run while it ran; find out what did, then run the command again"}
	}
	if killedForLeak.Load() {
		return ExitDenied, hits, &Error{Code: ExitDenied, Err: fmt.Errorf("%w (%s)", ErrLeakKilled, leakNames(hits)), Hint: "the program printed a secret; its output was scrubbed and it was stopped (--on-leak kill)"}
	}
	return code, hits, nil
}

// spawnRun is one run of spawn: the command being built, the files it
// is handed, and the pipes of its stdio.
type spawnRun struct {
	c      *Checkpoint
	req    *Request
	pin    *exeseal.Pinned
	rc     *runContext
	sealed *exeseal.Sealed
	cmd    *exec.Cmd

	pins       []sandbox.Pin
	copies     []pinnedCopy // the served closure's files (and a script's own)
	fdFiles    []*os.File   // fd deliveries and templates
	secrets    []redact.Secret
	stdinValue []byte

	matcher *redact.Matcher
	leaked  chan struct{} // closed at the first hit with --on-leak kill

	stdinR, stdinW *os.File // a stdin delivery's pipe
	outR, outW     *os.File
	errR, errW     *os.File
	sb             *sandbox.Handle
}

func failed(err error) error { return &Error{Code: ExitFailed, Err: err} }

// closeFiles closes what spawn still holds of the child's files.
func (r *spawnRun) closeFiles() {
	r.closeFdFiles()
	for _, p := range r.copies {
		p.file.Close()
	}
}

func (r *spawnRun) closeFdFiles() {
	for _, f := range r.fdFiles {
		f.Close()
	}
	r.fdFiles = nil
}

// prepareCommand points the command at the sealed copy: served at the
// pinned paths inside the run's mount namespace, or run directly.
func (r *spawnRun) prepareCommand() error {
	if !r.rc.serves(r.pin) {
		if err := r.sealed.Prepare(r.cmd); err != nil {
			return failed(err)
		}
		return nil
	}
	// The closure's bytes, and a script's own, are served at their
	// real paths inside the run's mount namespace: the child reads
	// exactly what was hashed, and node or perl see a real file.
	if err := r.sealed.PrepareServed(r.cmd, scriptArg(r.rc.invoked, r.pin.Path)); err != nil {
		return failed(err)
	}
	copies, err := r.rc.pinFiles()
	if err != nil {
		return failed(err)
	}
	if r.sealed.IsScript() {
		sf, err := r.sealed.OpenScript()
		if err != nil {
			for _, p := range copies {
				p.file.Close()
			}
			return failed(err)
		}
		copies = append(copies, pinnedCopy{path: r.pin.Path, mode: 0o755, file: sf})
	}
	r.copies = copies
	for _, p := range copies {
		r.pins = append(r.pins, sandbox.Pin{Path: p.path, Mode: p.mode, File: p.file})
	}
	return nil
}

// deliverSecrets hands each grant's value over as approved (environment,
// stdin, an fd, a template) and builds the child's environment.
func (r *spawnRun) deliverSecrets(values map[string][]byte) error {
	var envKV []childenv.KV
	for _, g := range r.req.Grants {
		v := values[g.Secret]
		r.secrets = append(r.secrets, redact.Secret{Name: g.Secret, Value: v})
		switch g.Delivery {
		case policy.DeliverEnv:
			envKV = append(envKV, childenv.KV{Name: g.Env, Value: v})
		case policy.DeliverStdin:
			r.stdinValue = v
		case policy.DeliverFD:
			f, err := secretFile(g.Secret, v)
			if err != nil {
				return failed(err)
			}
			r.fdFiles = append(r.fdFiles, f)
			r.cmd.ExtraFiles = append(r.cmd.ExtraFiles, f)
			fd := 2 + len(r.cmd.ExtraFiles)
			if want := secretFD(r.pin, r.rc, len(r.fdFiles)-1); fd != want {
				// The human was shown /dev/fd/want.
				return failed(fmt.Errorf("secret %s would be on fd %d, approved as fd %d", g.Secret, fd, want))
			}
			envKV = append(envKV, childenv.KV{Name: g.Env, Value: fmt.Appendf(nil, "/dev/fd/%d", fd)})
		}
	}
	tf, tkv, err := r.rc.deliverTemplates(r.cmd, r.pin, r.req, values)
	if err != nil {
		return err
	}
	r.fdFiles, envKV = append(r.fdFiles, tf...), append(envKV, tkv...)
	env, err := childenv.Build(r.rc.env, true, envKV)
	if err != nil {
		return failed(err)
	}
	r.cmd.Env = env
	return nil
}

// pythonCache: Python loads __pycache__/*.pyc instead of a module's
// source when the cache looks current (and an unchecked hash-based .pyc
// always): an agent's .pyc beside a pinned module would run. The run
// reads and writes bytecode only in a cache of its own.
func (r *spawnRun) pythonCache() (func(), error) {
	if !r.rc.python {
		return func() {}, nil
	}
	dir, cleanup, err := r.c.pycachePrefix(r.req)
	if err != nil {
		return nil, failed(err)
	}
	r.cmd.Env = append(r.cmd.Env, "PYTHONPYCACHEPREFIX="+dir)
	return cleanup, nil
}

// newMatcher builds the run's scrubber once, or takes the broker's
// cached automaton for the same values (building it is most of a short
// run's CPU in the broker).
func (r *spawnRun) newMatcher() error {
	var mopts []redact.Option
	leaked := make(chan struct{})
	r.leaked = leaked
	if r.req.OnLeak.Kill() {
		var once sync.Once
		mopts = append(mopts, redact.OnHit(func(string) {
			once.Do(func() { close(leaked) })
		}))
	}
	m, err := r.c.Matchers.matcher(r.secrets, mopts...)
	if err != nil {
		e := &Error{Code: ExitFailed, Err: err}
		if errors.Is(err, redact.ErrTooLarge) {
			e.Hint = "the output could not be scrubbed of this many secrets at once; hand fewer secrets to one run"
		}
		return e
	}
	r.matcher = m
	return nil
}

// openPipes makes the child's stdio. A stdin delivery gets a pipe of our
// own rather than cmd.StdinPipe: a warm helper takes the run without
// cmd.Start, which is what would close the read end. Stdout and stderr
// are our own pipes too (not StdoutPipe): after the child exits, a
// grandchild may still hold the write ends; we must be able to stop
// reading then.
func (r *spawnRun) openPipes() error {
	var err error
	if r.stdinValue != nil {
		if r.stdinR, r.stdinW, err = os.Pipe(); err != nil {
			return failed(err)
		}
		r.cmd.Stdin = r.stdinR
	} else {
		r.cmd.Stdin = r.req.Stdin
	}
	if r.outR, r.outW, err = os.Pipe(); err != nil {
		r.closeStdinPipe()
		return failed(err)
	}
	if r.errR, r.errW, err = os.Pipe(); err != nil {
		r.outR.Close()
		r.outW.Close()
		r.closeStdinPipe()
		return failed(err)
	}
	growPipe(r.outR)
	growPipe(r.errR)
	r.cmd.Stdout, r.cmd.Stderr = r.outW, r.errW
	return nil
}

func (r *spawnRun) closeStdinPipe() {
	if r.stdinR != nil {
		r.stdinR.Close()
		r.stdinW.Close()
	}
}

// start wraps the command in the sandbox when the run has one and starts
// it; the write ends of the stdio pipes are the child's alone afterwards.
func (r *spawnRun) start() error {
	if err := r.wrap(); err != nil {
		return err
	}
	err := r.startChild()
	r.outW.Close()
	r.errW.Close()
	if r.stdinR != nil {
		r.stdinR.Close() // the child has its copy
	}
	if err != nil {
		if r.cmd.Process != nil { // started, but envseal could not re-harden itself
			r.cmd.Process.Kill()
			r.cmd.Wait()
		}
		if r.stdinW != nil {
			r.stdinW.Close()
		}
		if r.sb != nil {
			r.sb.Close()
		}
		return failed(fmt.Errorf("start %s: %w", r.pin.Path, err))
	}
	return nil
}

// holdPins holds the served paths in every registered jail
// (Request.HoldPins) before the sandbox mounts their copies.
func (r *spawnRun) holdPins() (func(), error) {
	if r.req.HoldPins == nil || len(r.pins) == 0 {
		return func() {}, nil
	}
	paths := make([]string, len(r.pins))
	for i, p := range r.pins {
		paths[i] = p.Path
	}
	release, err := r.req.HoldPins(paths)
	if err != nil {
		return nil, &Error{Code: ExitFailed, Err: fmt.Errorf("hold the pinned files in place: %w", err),
			Hint: "nothing ran; if envseal jail was started by an older envseal, restart it"}
	}
	return release, nil
}

// wrap: hardened and lockdown go through the sandbox helper (a re-exec of
// envseal that sets up namespaces, mounts, Landlock and seccomp, then
// execs the pinned memfd). Wrap comes last: it must see every fd.
func (r *spawnRun) wrap() error {
	opts := r.c.sandboxOptions(r.req, r.rc, r.pins)
	if opts.Tier == sandbox.Standard && len(opts.Pins) == 0 {
		return nil
	}
	sb, err := sandbox.Wrap(r.cmd, "/proc/self/exe", opts)
	if err != nil {
		r.outW.Close()
		r.errW.Close()
		r.closeStdinPipe()
		return &Error{Code: ExitFailed, Err: err, Hint: sandboxHint(err)}
	}
	r.sb = sb
	// argv[0] of the helper stage: the name envseal was invoked by
	// (multi-call test binaries dispatch on it; the path is fixed).
	r.cmd.Args[0] = os.Args[0]
	return nil
}

// startChild: a contained run takes a pre-started helper stage when one
// is ready (the same namespaces, then exactly this helper's arguments,
// environment and descriptors); otherwise, or if it cannot take the run
// (it is then killed first), the helper starts here.
func (r *spawnRun) startChild() error {
	var warm *sandbox.Warm
	if r.sb != nil && r.c.Contain && r.c.Warm != nil {
		warm = r.c.Warm()
	}
	switch {
	case warm != nil && warm.Start(r.cmd) == nil:
		return nil
	case r.sb != nil && os.Geteuid() != 0:
		// The kernel lets an unprivileged parent write its child's
		// uid_map/gid_map only while the child (a fork of us, so
		// non-dumpable too) is dumpable; see startDumpable.
		return startDumpable(func() error { return startNoNewPrivs(r.cmd) })
	default:
		return startNoNewPrivs(r.cmd)
	}
}

// afterStart: the helper failed before exec'ing the target: nothing of
// the program ran. Reap the helper and report envseal's failure.
func (r *spawnRun) afterStart() error {
	if r.sb == nil {
		return nil
	}
	err := r.sb.AfterStart()
	if err == nil {
		return nil
	}
	go io.Copy(io.Discard, r.outR)
	go io.Copy(io.Discard, r.errR)
	r.cmd.Wait()
	return &Error{Code: ExitFailed, Err: fmt.Errorf("sandbox %s: %w", tierOrDefault(r.req.Sandbox), err),
		Hint: "the sandbox could not be set up; run with --sandbox standard, or see 'envseal run --help'"}
}

// announce tells whoever forwards signals the pid now (Request.Started),
// not when the record is written (a signal sent meanwhile would be lost).
// The record (written and fsynced) goes while the program runs, not
// before we wait for it: a short program is not kept waiting on the
// disk. The returned channel closes once it is written; spawn waits for
// it before returning, so every later record of the run follows it.
func (r *spawnRun) announce(key seal.Key) <-chan struct{} {
	if r.req.Started != nil {
		r.req.Started(r.cmd.Process.Pid)
	}
	startedLogged := make(chan struct{})
	go func(fields map[string]any) {
		defer close(startedLogged)
		r.c.audit(key, audit.RunStarted, fields)
	}(map[string]any{"binary": r.pin.Path, "pid": r.cmd.Process.Pid, "argv": r.req.Argv, "cwd": r.req.Cwd, "secrets": grantSecrets(r.req.Grants)})
	return startedLogged
}

// wait returns the run's status. A run whose helper reports how it ended
// (lockdown, every contained run, and any run with pinned files) takes it
// from that report, sent once every process of the run is gone: the
// teardown of the helper's namespaces at its exit is then off the run's
// path — with files pinned that includes the release of the tripwire's
// inotify descriptor, which waits for an SRCU grace period (≈ 10 ms
// here) — and the helper is reaped in the background. Otherwise, or
// without a report, cmd.Wait's (code -1: from cmd.ProcessState).
func (r *spawnRun) wait() (int, error) {
	if r.sb != nil {
		if code, ok := r.sb.Ended(); ok {
			go r.cmd.Wait()
			return code, nil
		}
	}
	return -1, r.cmd.Wait()
}

// feedStdin writes a stdin delivery's value to the child and closes it.
func (r *spawnRun) feedStdin() {
	if r.stdinW == nil {
		return
	}
	go func() {
		r.stdinW.Write(r.stdinValue)
		r.stdinW.Close()
	}()
}

// pumps are the two goroutines copying the child's stdout and stderr
// through the scrubber.
type pumps struct {
	wg       sync.WaitGroup
	progress atomic.Int64 // bytes read by the pumps, to tell a quiet pipe from a busy one
}

func (r *spawnRun) startPumps() *pumps {
	p := &pumps{}
	p.wg.Add(2)
	go r.pump(p, r.outR, r.req.Stdout)
	go r.pump(p, r.errR, r.req.Stderr)
	return p
}

func (r *spawnRun) pump(p *pumps, src io.Reader, dst io.Writer) {
	defer p.wg.Done()
	if dst == nil {
		dst = io.Discard
	}
	w := r.matcher.NewWriter(dst)
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
	if _, err := io.CopyBuffer(w, countingReader{src, &p.progress, &mine}, buf); err != nil {
		// Our stdout is gone (EPIPE…): keep draining so the child is
		// never blocked on a full pipe.
		io.Copy(io.Discard, src)
	}
	w.Close()
}

// watch forwards signals to the child and stops it at a leak (with
// --on-leak kill) or when ctx ends, until the child was waited for.
func (r *spawnRun) watch(ctx context.Context, sigs <-chan os.Signal, waited <-chan struct{}, killedForLeak *atomic.Bool) {
	leakCh := r.leaked
	for {
		select {
		case s := <-sigs:
			r.cmd.Process.Signal(s)
		case <-leakCh:
			killedForLeak.Store(true)
			terminate(r.cmd.Process, r.c.leakGrace(), waited)
			leakCh = nil
		case <-ctx.Done():
			terminate(r.cmd.Process, r.c.leakGrace(), waited)
			return
		case <-waited:
			return
		}
	}
}

// drain: all output scrubbed and written before the status. The pumps
// end at EOF, i.e. when every holder of the write ends is gone. If the
// child left a grandchild holding them, keep reading while data still
// flows (nothing the child wrote is lost, however slow we are scheduled),
// and stop once the pipes have been quiet for outputGrace, or after
// outputMax in all (what a lingering grandchild prints later is dropped).
func (r *spawnRun) drain(p *pumps) {
	pumped := make(chan struct{})
	go func() { p.wg.Wait(); close(pumped) }()
	deadline := time.Now().Add(outputMax)
	for last := int64(-1); ; {
		select {
		case <-pumped:
		case <-time.After(outputGrace):
			if n := p.progress.Load(); n != last && time.Now().Before(deadline) {
				last = n
				continue
			}
			r.outR.Close()
			r.errR.Close()
			<-pumped
		}
		break
	}
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
	return sys.ProcessStatus(ps)
}
