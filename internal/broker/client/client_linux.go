package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/policy"
)

// Conn is one connection to the broker; it carries one request.
type Conn struct {
	c    *net.UnixConn
	Path string
	wmu  sync.Mutex
}

var _ launch.Runner = (*Conn)(nil)

// Dial connects to the broker at path (SocketPath() when empty). It
// checks the socket directory (ours, 0700) and the broker's uid (ours):
// a request carries the caller's environment and descriptors, so it goes
// only to a broker of the same user.
func Dial(path string) (*Conn, error) {
	if path == "" {
		path = wire.SocketPath()
	}
	if err := wire.CheckDir(filepath.Dir(path)); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w (%s)", wire.ErrNoBroker, path)
		}
		return nil, err
	}
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("%w (%s): %w", wire.ErrNoBroker, path, err)
	}
	cred, err := wire.PeerCred(c)
	if err != nil {
		c.Close()
		return nil, err
	}
	if int(cred.Uid) != os.Getuid() {
		c.Close()
		return nil, fmt.Errorf("%w: %s is served by uid %d", wire.ErrPeer, path, cred.Uid)
	}
	return &Conn{c: c, Path: path}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

func (c *Conn) write(b []byte, oob []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, _, err := c.c.WriteMsgUnix(b, oob, nil)
	return err
}

func (c *Conn) roundTrip(typ byte) (wire.Frame, error) {
	defer c.c.Close()
	b, err := wire.EncodeFrame(typ, nil)
	if err != nil {
		return wire.Frame{}, err
	}
	if err := c.write(b, nil); err != nil {
		if r := c.refusal(); r != nil {
			return wire.Frame{}, r
		}
		return wire.Frame{}, fmt.Errorf("send to broker: %w", err)
	}
	c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := wire.ReadFrame(c.c)
	if err != nil {
		return wire.Frame{}, fmt.Errorf("read broker reply: %w", err)
	}
	if f.Type == wire.TypeError {
		return wire.Frame{}, &wire.ErrRefused{Msg: wire.DecodeError(f.Payload)}
	}
	return f, nil
}

// refusal is the error frame a broker sent before closing a connection
// it refused at accept (busy, another uid): the request's write may fail
// with EPIPE, but the reason is still there to read.
func (c *Conn) refusal() error {
	c.c.SetReadDeadline(time.Now().Add(time.Second))
	f, err := wire.ReadFrame(c.c)
	if err != nil || f.Type != wire.TypeError {
		return nil
	}
	return &wire.ErrRefused{Msg: wire.DecodeError(f.Payload)}
}

// Status asks the broker for its state.
func (c *Conn) Status() (*wire.StatusMsg, error) {
	f, err := c.roundTrip(wire.TypeStatus)
	if err != nil {
		return nil, err
	}
	if f.Type != wire.TypeStatusOK {
		return nil, wire.Errorf("unexpected reply %q to status", f.Type)
	}
	return wire.DecodeStatus(f.Payload)
}

// List asks the broker for secret names and metadata.
func (c *Conn) List() ([]wire.ListEntry, error) {
	f, err := c.roundTrip(wire.TypeList)
	if err != nil {
		return nil, err
	}
	if f.Type != wire.TypeListOK {
		return nil, wire.Errorf("unexpected reply %q to list", f.Type)
	}
	m, err := wire.DecodeList(f.Payload)
	if err != nil {
		return nil, err
	}
	return m.Secrets, nil
}

// Policy asks the broker for the approved rules.
func (c *Conn) Policy() ([]policy.Rule, error) {
	f, err := c.roundTrip(wire.TypePolicy)
	if err != nil {
		return nil, err
	}
	if f.Type != wire.TypePolicyOK {
		return nil, wire.Errorf("unexpected reply %q to policy", f.Type)
	}
	m, err := wire.DecodePolicy(f.Payload)
	if err != nil {
		return nil, err
	}
	return m.Rules, nil
}

// Store asks the broker to have the human type a new secret's value on
// the broker's channel. It waits as long as the human takes.
func (c *Conn) Store(name, purpose string) (*wire.StoreResultMsg, error) {
	defer c.c.Close()
	b, err := wire.EncodeFrame(wire.TypeStore, &wire.StoreMsg{Name: name, Purpose: purpose})
	if err != nil {
		return nil, err
	}
	if err := c.write(b, nil); err != nil {
		if r := c.refusal(); r != nil {
			return nil, r
		}
		return nil, fmt.Errorf("send to broker: %w", err)
	}
	f, err := wire.ReadFrame(c.c)
	if err != nil {
		return nil, fmt.Errorf("read broker reply: %w", err)
	}
	if f.Type == wire.TypeError {
		return nil, &wire.ErrRefused{Msg: wire.DecodeError(f.Payload)}
	}
	if f.Type != wire.TypeStoreOK {
		return nil, wire.Errorf("unexpected reply %q to store", f.Type)
	}
	return wire.DecodeStoreResult(f.Payload)
}

// withdraw asks the broker, on a connection of its own, to withdraw this
// process's pending approvals. Best effort: a broker that is gone or
// older refuses, and the run's own connection still carries the signal.
func withdraw(path string) {
	c, err := Dial(path)
	if err != nil {
		return
	}
	c.roundTrip(wire.TypeWithdraw)
}

// Signal sends a signal frame while a run is in progress: the broker
// forwards it to the child (Run does this for the signals it catches).
func (c *Conn) Signal(sig int) error {
	fb, err := wire.EncodeFrame(wire.TypeSignal, &wire.SignalMsg{Signal: sig})
	if err != nil {
		return err
	}
	return c.write(fb, nil)
}

// Lock asks the broker to wipe its key.
func (c *Conn) Lock() error {
	f, err := c.roundTrip(wire.TypeLock)
	if err != nil {
		return err
	}
	if f.Type != wire.TypeOK {
		return wire.Errorf("unexpected reply %q to lock", f.Type)
	}
	return nil
}

// Run sends req to the broker with the caller's stdio descriptors and
// waits for the result, forwarding SIGINT, SIGTERM, SIGHUP and SIGQUIT to
// the child. Cancelling ctx closes the connection, which makes the broker
// terminate the child. Errors are *launch.Error with the codes of a direct
// run.
func (c *Conn) Run(ctx context.Context, req *launch.Request) (*launch.Result, error) {
	defer c.c.Close()
	fail := func(err error) (*launch.Result, error) {
		return nil, &launch.Error{Code: launch.ExitFailed, Err: err}
	}
	m := &wire.RunMsg{
		Argv: req.Argv, Cwd: req.Cwd, Env: req.Env, PATH: req.PATH,
		InheritEnv: req.InheritEnv, Grants: req.Grants, Sandbox: string(req.Sandbox), OnLeak: string(req.OnLeak),
		Network: req.Network, RW: req.RW, Pins: req.Pins, Templates: req.Templates,
	}
	b, err := wire.EncodeFrame(wire.TypeRun, m)
	if err != nil {
		return fail(err)
	}
	var bridges bridgeSet
	stdio, err := bridges.stdio(req)
	if err != nil {
		return fail(err)
	}
	// Catch signals before the request leaves: one that arrives while the
	// broker already asks the human must withdraw the request, not kill
	// this process before it can say so.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	err = c.write(b, unix.UnixRights(int(stdio[0].Fd()), int(stdio[1].Fd()), int(stdio[2].Fd())))
	bridges.sent() // the broker has its copies; drop the bridge ends
	if err != nil {
		bridges.abort()
		if r := c.refusal(); r != nil {
			return fail(r)
		}
		return fail(fmt.Errorf("send to broker: %w", err))
	}
	done := make(chan struct{})
	defer close(done)
	go c.forwardSignals(ctx, sigs, done)

	f, err := wire.ReadFrame(c.c)
	bridges.wait()
	if err != nil {
		if ctx.Err() != nil {
			return fail(fmt.Errorf("run cancelled: %w", ctx.Err()))
		}
		return fail(fmt.Errorf("read broker reply: %w", err))
	}
	if f.Type == wire.TypeResult {
		c.awaitClose()
	}
	return decodeRunReply(f)
}

// runRecordWait bounds how long a run's client waits, after the result,
// for the broker to say its run_finished record is written.
const runRecordWait = 2 * time.Second

// awaitClose waits until the broker closes the connection, which it does
// once the run's run_finished record is written (it is appended while the
// result frame goes out): when 'envseal run' returns, 'envseal audit show'
// has the run's end. A broker that keeps the connection open longer
// than runRecordWait is not waited for.
func (c *Conn) awaitClose() {
	if err := c.c.SetReadDeadline(time.Now().Add(runRecordWait)); err != nil {
		return
	}
	var b [64]byte
	for {
		if _, err := c.c.Read(b[:]); err != nil {
			return
		}
	}
}

// forwardSignals sends the signals caught to the broker as signal frames
// until done, and closes the connection when ctx ends.
func (c *Conn) forwardSignals(ctx context.Context, sigs <-chan os.Signal, done <-chan struct{}) {
	withdrawn := false
	for {
		select {
		case s := <-sigs:
			if n, ok := s.(syscall.Signal); ok {
				c.Signal(int(n))
				// While the run still waits for the human there is no
				// child to signal: Ctrl-C, SIGTERM and SIGHUP withdraw
				// the request (the prompt ends, nothing runs). Once the
				// program runs, the broker has no prompt of ours and
				// the signal above is what counts.
				if n != syscall.SIGQUIT && !withdrawn {
					withdrawn = true
					go withdraw(c.Path)
				}
			}
		case <-ctx.Done():
			c.c.Close()
			return
		case <-done:
			return
		}
	}
}

// decodeRunReply turns the broker's reply to a run into its result.
func decodeRunReply(f wire.Frame) (*launch.Result, error) {
	fail := func(err error) (*launch.Result, error) {
		return nil, &launch.Error{Code: launch.ExitFailed, Err: err}
	}
	switch f.Type {
	case wire.TypeError:
		return fail(&wire.ErrRefused{Msg: wire.DecodeError(f.Payload)})
	case wire.TypeResult:
	default:
		return fail(wire.Errorf("unexpected reply %q to run", f.Type))
	}
	r, err := wire.DecodeResult(f.Payload)
	if err != nil {
		return fail(err)
	}
	res := &launch.Result{ExitCode: r.ExitCode, Approval: r.Approval, RuleID: r.RuleID, Leaks: r.Leaks,
		ApprovalWait: time.Duration(r.ApprovalWaitMS) * time.Millisecond}
	if r.Error != nil {
		return res, &launch.Error{Code: r.Error.Code, Err: errors.New(r.Error.Msg), Hint: r.Error.Hint}
	}
	return res, nil
}

// bridgeSet turns stdio that are not files (a bytes.Buffer in tests) into
// pipes whose far ends are passed to the broker, copying in between.
type bridgeSet struct {
	far  []*os.File // ends handed to the broker, closed once sent
	near []*os.File
	wg   sync.WaitGroup
}

// stdio is the request's stdin, stdout and stderr as files, bridged
// where they are not; on an error nothing is left open.
func (b *bridgeSet) stdio(req *launch.Request) ([3]*os.File, error) {
	var fs [3]*os.File
	var err error
	if fs[0], err = b.reader(req.Stdin); err != nil {
		return fs, err
	}
	if fs[1], err = b.writer(req.Stdout); err != nil {
		b.abort()
		return fs, err
	}
	if fs[2], err = b.writer(req.Stderr); err != nil {
		b.abort()
		return fs, err
	}
	return fs, nil
}

func (b *bridgeSet) reader(r io.Reader) (*os.File, error) {
	if f, ok := r.(*os.File); ok && f != nil {
		return f, nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	b.far, b.near = append(b.far, pr), append(b.near, pw)
	go func() {
		if r != nil {
			io.Copy(pw, r)
		}
		pw.Close()
	}()
	return pr, nil
}

func (b *bridgeSet) writer(w io.Writer) (*os.File, error) {
	if f, ok := w.(*os.File); ok && f != nil {
		return f, nil
	}
	if w == nil {
		w = io.Discard
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	b.far, b.near = append(b.far, pw), append(b.near, pr)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		io.Copy(w, pr)
		pr.Close()
	}()
	return pw, nil
}

func (b *bridgeSet) sent() {
	for _, f := range b.far {
		f.Close()
	}
	b.far = nil
}

// wait lets output bridges drain (they end when the broker and the child
// have closed their copies), bounded so a lingering grandchild cannot
// hang the client.
func (b *bridgeSet) wait() {
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		for _, f := range b.near {
			f.Close()
		}
	}
}

func (b *bridgeSet) abort() {
	b.sent()
	for _, f := range b.near {
		f.Close()
	}
}
