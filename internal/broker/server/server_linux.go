package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/exeseal"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/vault"

	"golang.org/x/sys/unix"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/sys"
)

// MaxClients bounds the human's own (unjailed) concurrent connections;
// more are refused with an error frame rather than queued without limit.
// Jailed clients have budgets of their own (fair_linux.go) and never take
// these slots.
const MaxClients = 256

// firstFrameTimeout bounds how long a connection may take to send its
// request: a client that connects and stalls holds a slot, not the broker.
const firstFrameTimeout = 10 * time.Second

// Server is the broker daemon.
type Server struct {
	cfg       Config
	hardenErr error // from sys.Harden in New; Serve refuses to serve if set

	unlockMu   sync.Mutex // serializes asking the human for the passphrase
	mu         sync.Mutex
	key        seal.Key
	lastUse    time.Time
	active     int
	served     atomic.Uint64
	refused    atomic.Uint64
	slots      chan struct{} // the human's own connections
	jails      budgets       // the jails' connections (fair_linux.go)
	holders    *holders      // the registered jails' pin holders (holders_linux.go)
	humans     map[int]int   // pid → requests in flight of an unjailed peer (under mu)
	self       selfNS        // the broker's user namespace (peer_linux.go)
	approver   *serialApprover
	cache      *exeseal.Cache      // sealed copies of unchanged binaries (no re-hash, no re-copy)
	scans      scanLimiter         // budget of value scans (scan_linux.go)
	warm       warmPool            // a pre-started helper stage for the next contained run (warm_linux.go)
	matchers   launch.MatcherCache // scrubber automata of recent secret sets, dropped on lock
	auditOrder sync.Mutex          // broker runs' records, in the order they are handed over (run_linux.go)

	conns   sync.WaitGroup
	closing chan struct{}
	once    sync.Once
}

// New returns a server. It hardens the process (non-dumpable, no core
// files) and mlocks the key; if hardening fails, Serve returns the error
// before it accepts a connection.
func New(cfg Config) *Server {
	hardenErr := sys.Harden()
	defer debug.FreeOSMemory() // the start-up unlock's Argon2id memory
	if cfg.IdleLock <= 0 {
		cfg.IdleLock = DefaultIdleLock
	}
	if cfg.Audit == nil {
		cfg.Audit = launch.NopAuditor{}
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	s := &Server{
		cfg: cfg, hardenErr: hardenErr, key: cfg.Key, lastUse: time.Now(), cache: exeseal.NewCache(64),
		slots: make(chan struct{}, MaxClients), closing: make(chan struct{}),
		humans: map[int]int{}, self: readSelfNS(), holders: newHolders(),
	}
	s.approver = &serialApprover{inner: cfg.Approver, isHuman: s.humanPID, audit: s.auditEvent}
	if err := mlockKey(s.key); err != nil {
		cfg.Logf("warning: could not mlock the key: %v", err)
	}
	go s.idleLoop()
	return s
}

// Serve accepts connections until Close. Each peer is checked with
// SO_PEERCRED before a byte of its request is read.
func (s *Server) Serve(ln *net.UnixListener) error {
	if s.hardenErr != nil {
		ln.Close()
		return fmt.Errorf("broker: harden the process before serving: %w", s.hardenErr)
	}
	go func() { <-s.closing; ln.Close() }()
	s.mu.Lock()
	unlocked := s.key.Valid()
	s.mu.Unlock()
	if unlocked {
		s.warm.fill()
	}
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			select {
			case <-s.closing:
				s.conns.Wait()
				return nil
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			// EMFILE and friends: back off instead of spinning.
			time.Sleep(50 * time.Millisecond)
			continue
		}
		// Who is asking decides which budget the connection takes: a jail
		// cannot use up the human's slots.
		cred, err := wire.PeerCred(c)
		if err != nil {
			writeError(c, "cannot identify the peer")
			c.Close()
			continue
		}
		p := s.self.classify(c, int(cred.Pid))
		var release func()
		if p.jailed {
			var refusal string
			if release, refusal = s.jails.enter(p); release == nil {
				s.refused.Add(1)
				writeError(c, refusal)
				c.Close()
				continue
			}
		} else {
			select {
			case s.slots <- struct{}{}:
				release = func() { <-s.slots }
			default:
				writeError(c, wire.BusyPrefix+"the broker has too many clients; try again")
				c.Close()
				continue
			}
		}
		s.conns.Add(1)
		go func() {
			defer s.conns.Done()
			defer release()
			defer c.Close()
			s.handle(c, cred, p)
		}()
	}
}

// Close stops accepting, waits for running requests, and wipes the key.
func (s *Server) Close() error {
	s.once.Do(func() { close(s.closing) })
	s.warm.close()
	s.Lock()
	return nil
}

// Lock wipes the cached key; the next run asks the human again.
func (s *Server) Lock() {
	s.warm.drain()
	s.matchers.Drop()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key.Valid() {
		s.key.Wipe()
		s.key = seal.Key{}
		s.cfg.Logf("locked: the key was wiped; the next run asks for the passphrase here")
	}
}

// Status reports the broker's state.
func (s *Server) Status() *wire.StatusMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &wire.StatusMsg{
		Version: wire.Version, PID: os.Getpid(), Locked: !s.key.Valid(),
		IdleLock: int64(s.cfg.IdleLock / time.Second), Active: s.active,
		Served: s.served.Load(), Approver: s.cfg.ApproverName,
	}
}

func (s *Server) idleLoop() {
	tick := min(max(s.cfg.IdleLock/10, 10*time.Millisecond), 30*time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-t.C:
			s.mu.Lock()
			idle := s.active == 0 && s.key.Valid() && time.Since(s.lastUse) >= s.cfg.IdleLock
			s.mu.Unlock()
			if idle {
				s.Lock()
			}
		}
	}
}

func (s *Server) begin() {
	s.mu.Lock()
	s.active++
	s.lastUse = time.Now()
	s.mu.Unlock()
}

func (s *Server) end() {
	s.mu.Lock()
	s.active--
	s.lastUse = time.Now()
	s.mu.Unlock()
}

// unlock returns a clone of the cached key (launch wipes what it is
// handed), asking the human for the passphrase first if locked.
func (s *Server) unlock() (seal.Key, error) {
	s.mu.Lock()
	if s.key.Valid() {
		k := s.key.Clone()
		s.mu.Unlock()
		return k, nil
	}
	s.mu.Unlock()
	if s.cfg.Unlock == nil {
		return seal.Key{}, wire.ErrLocked
	}
	s.unlockMu.Lock()
	defer s.unlockMu.Unlock()
	s.mu.Lock()
	valid := s.key.Valid()
	s.mu.Unlock()
	if !valid { // nobody unlocked while we waited
		k, err := s.cfg.Unlock()
		if err != nil {
			return seal.Key{}, err
		}
		// Argon2id just used 64 MiB; give it back to the OS rather than
		// keep an idle broker's RSS at that size.
		debug.FreeOSMemory()
		if err := mlockKey(k); err != nil {
			s.cfg.Logf("warning: could not mlock the key: %v", err)
		}
		s.mu.Lock()
		s.key = k
		s.mu.Unlock()
		s.matchers.Allow() // Lock stopped the automaton cache
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.key.Clone(), nil
}

// handle serves one connection: one request, then close.
func (s *Server) handle(c *net.UnixConn, cred *unix.Ucred, p peer) {
	if int(cred.Uid) != os.Getuid() {
		// Another user's process: it gets nothing, not even the status.
		s.refused.Add(1)
		s.cfg.Logf("refused a client of uid %d (pid %d)", cred.Uid, cred.Pid)
		writeError(c, fmt.Sprintf("refused: uid %d is not the broker's user", cred.Uid))
		return
	}
	c.SetReadDeadline(time.Now().Add(firstFrameTimeout))
	f, fds, err := readFirstFrame(c)
	if err != nil {
		closeFDs(fds)
		writeError(c, err.Error())
		return
	}
	c.SetReadDeadline(time.Time{})
	if !p.jailed {
		s.mu.Lock()
		s.humans[p.pid]++
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			if s.humans[p.pid]--; s.humans[p.pid] <= 0 {
				delete(s.humans, p.pid)
			}
			s.mu.Unlock()
		}()
	}
	switch f.Type {
	case wire.TypeStatus:
		closeFDs(fds)
		writeFrame(c, wire.TypeStatusOK, s.Status())
	case wire.TypeLock:
		closeFDs(fds)
		if p.jailed {
			// A lock makes the next run ask for the passphrase: from inside
			// the jail the agent would choose when the human types it.
			// Locking is the human's, from outside (the idle lock still
			// applies).
			s.auditEvent(audit.LockRefused, map[string]any{"requester_pid": p.pid, "reason": "jailed client"})
			s.cfg.Logf("refused envseal lock from inside a jail (pid %d)", p.pid)
			writeError(c, wire.JailPrefix+"envseal lock would make the broker ask for the passphrase when the agent chooses")
			return
		}
		s.Lock()
		writeFrame(c, wire.TypeOK, nil)
	case wire.TypeWithdraw:
		closeFDs(fds)
		n := s.approver.withdraw(p.pid)
		writeFrame(c, wire.TypeWithdrawOK, &wire.WithdrawMsg{Withdrawn: n})
	case wire.TypeRun:
		s.serveRun(c, f, fds, p)
	case wire.TypeJail:
		s.serveJail(c, f, fds, p)
	case wire.TypeList:
		closeFDs(fds)
		s.serveList(c)
	case wire.TypePolicy:
		closeFDs(fds)
		s.servePolicy(c)
	case wire.TypeStore:
		closeFDs(fds)
		if p.jailed {
			release, refusal := s.jails.enterStore(p)
			if release == nil {
				writeError(c, refusal)
				return
			}
			defer release()
		}
		s.serveStore(c, f, int(cred.Pid))
	case wire.TypeScan:
		s.serveScan(c, f, fds, int(cred.Pid))
	default:
		closeFDs(fds)
		writeError(c, fmt.Sprintf("unexpected frame type %q", f.Type))
	}
}

// readFirstFrame reads the header with recvmsg so descriptors sent with
// the frame arrive with it, then the payload. Descriptors on any later
// read are discarded by the kernel (plain read(2)).
func readFirstFrame(c *net.UnixConn) (wire.Frame, []int, error) {
	var h [wire.HeaderSize]byte
	oob := make([]byte, unix.CmsgSpace(3*4))
	got := 0
	var fds []int
	for got < wire.HeaderSize {
		n, oobn, flags, _, err := c.ReadMsgUnix(h[got:], oob)
		if oobn > 0 {
			more, perr := parseRights(oob[:oobn])
			fds = append(fds, more...)
			if perr != nil {
				return wire.Frame{}, fds, perr
			}
		}
		if flags&unix.MSG_CTRUNC != 0 {
			return wire.Frame{}, fds, wire.Errorf("too many descriptors")
		}
		if err != nil {
			return wire.Frame{}, fds, fmt.Errorf("read request: %w", err)
		}
		if n == 0 {
			return wire.Frame{}, fds, wire.Errorf("connection closed before a request")
		}
		got += n
	}
	f, err := wire.ReadPayload(c, h[:])
	return f, fds, err
}

func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, wire.Errorf("control message: %v", err)
	}
	var fds []int
	for _, m := range msgs {
		if m.Header.Level != unix.SOL_SOCKET || m.Header.Type != unix.SCM_RIGHTS {
			continue
		}
		r, err := unix.ParseUnixRights(&m)
		if err != nil {
			return fds, wire.Errorf("rights: %v", err)
		}
		fds = append(fds, r...)
	}
	return fds, nil
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

func writeFrame(c *net.UnixConn, typ byte, v any) error {
	b, err := wire.EncodeFrame(typ, v)
	if err != nil {
		return err
	}
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err = c.Write(b)
	return err
}

func writeError(c *net.UnixConn, msg string) {
	writeFrame(c, wire.TypeError, &wire.ErrorMsg{Msg: msg})
}

// serveList answers with names and metadata; a jailed client cannot read
// the vault directory itself.
func (s *Server) serveList(c *net.UnixConn) {
	ents, err := wire.ListVault(s.cfg.Vault)
	if err != nil {
		writeError(c, "list: "+err.Error())
		return
	}
	writeFrame(c, wire.TypeListOK, &wire.ListMsg{Secrets: ents})
}

// serveStore asks the human, on the broker's channel, to accept a request
// to store a new secret (with a challenge code, like a run approval: keys
// an agent injects cannot accept it) and then to type the value. The value
// goes from the broker's terminal straight into the vault; the client only
// learns stored or not.
func (s *Server) serveStore(c *net.UnixConn, f wire.Frame, peerPID int) {
	m, err := wire.DecodeStore(f.Payload)
	if err != nil {
		writeError(c, err.Error())
		return
	}
	reply := func(stored bool, reason string) {
		writeFrame(c, wire.TypeStoreOK, &wire.StoreResultMsg{Stored: stored, Reason: reason})
	}
	if reason := s.storeRefusal(m.Name); reason != "" {
		reply(false, reason)
		return
	}
	// Shown with the store template (approve.StoreAsk): nothing runs, so
	// no program, hash or "allow always" rows.
	req := &approve.Request{
		Store: &approve.StoreAsk{Name: m.Name, Purpose: m.Purpose},
		Chain: approve.ProcessChain(peerPID, 2),
	}
	sf, sfDone, err := s.storeSecondFactor() // TOTP (totp_linux.go)
	if err != nil {
		reply(false, "declined: "+err.Error())
		return
	}
	defer sfDone()
	req.SecondFactor = sf
	// The client sends nothing more: EOF means it went away, which
	// withdraws the request (the prompt ends, nothing is stored).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer watchWithdraw(c, cancel)()
	d, err := s.approver.Approve(ctx, req)
	if err != nil || d == approve.Deny || storeFactorSkipped(sf) {
		s.cfg.Audit.Event(seal.Key{}, audit.StoreRequestDeclined, map[string]any{"secret": m.Name})
		reply(false, "declined")
		return
	}
	val, reason := s.readStoreValue(ctx, peerPID, m.Name)
	if reason != "" {
		reply(false, reason)
		return
	}
	defer clear(val)
	if reason := s.storeValue(m.Name, val); reason != "" {
		reply(false, reason)
		return
	}
	reply(true, "")
}

// storeRefusal says why a store request for name is refused before the
// human is asked ("" if it is not): no terminal to type on, or a secret
// of that name exists.
func (s *Server) storeRefusal(name string) string {
	if s.cfg.ReadValue == nil {
		return "the broker has no terminal to type a value on"
	}
	if ents, err := s.cfg.Vault.List(); err == nil {
		for _, e := range ents {
			if e.Name == name {
				return "a secret named " + name + " already exists (replacing one needs the human: envseal store --force)"
			}
		}
	}
	return ""
}

// watchWithdraw cancels when the client closes its side of c; the
// function it returns stops watching and waits for the watcher.
func watchWithdraw(c *net.UnixConn, cancel context.CancelFunc) func() {
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		var b [1]byte
		c.Read(b[:])
		cancel()
	}()
	return func() { c.CloseRead(); <-watched }
}

// readStoreValue has the human type the value for name (holding the
// approver for peerPID meanwhile); without a value it says why.
func (s *Server) readStoreValue(ctx context.Context, peerPID int, name string) ([]byte, string) {
	var val []byte
	var rerr error
	herr := s.approver.hold(ctx, peerPID, func(context.Context) {
		val, rerr = s.cfg.ReadValue("Value for " + name + " (hidden): ")
	})
	if herr != nil || ctx.Err() != nil {
		clear(val)
		return nil, "withdrawn"
	}
	if rerr != nil || len(val) == 0 {
		clear(val)
		return nil, "no value was typed"
	}
	return val, ""
}

// storeValue stores val as name and audits it; on failure it says why.
func (s *Server) storeValue(name string, val []byte) string {
	k, err := s.unlock()
	if err != nil {
		return "the broker is locked"
	}
	defer k.Wipe()
	meta, err := s.cfg.Vault.Store(k, name, val, vault.StoreOptions{})
	if err != nil {
		return err.Error()
	}
	s.cfg.Audit.Event(k, audit.SecretStored, map[string]any{"secret": name, "generation": meta.Generation, "source": "broker request"})
	if meta.Weak {
		// Said to the human here, not to the agent that asked.
		s.cfg.Logf("warning: the value typed for %s looks like a placeholder or has under 64 bits of entropy; 'envseal list' marks it weak", name)
	}
	return ""
}

// servePolicy answers with the approved rules. It never asks the human to
// unlock for this: a locked broker says so.
func (s *Server) servePolicy(c *net.UnixConn) {
	s.mu.Lock()
	locked := !s.key.Valid()
	s.mu.Unlock()
	if locked {
		writeError(c, "the broker is locked: the rules are sealed until the human unlocks it (the next run asks)")
		return
	}
	k, err := s.unlock() // a copy of the cached key; no prompt when unlocked
	if err != nil {
		writeError(c, "the broker is locked")
		return
	}
	defer k.Wipe()
	p, err := policy.NewStore(s.cfg.Vault.Dir(), k).Load()
	if err != nil {
		writeError(c, "policy: "+err.Error())
		return
	}
	rules := p.Rules
	if rules == nil {
		rules = []policy.Rule{}
	}
	writeFrame(c, wire.TypePolicyOK, &wire.PolicyMsg{Rules: rules})
}
