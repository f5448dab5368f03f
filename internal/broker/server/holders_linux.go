package server

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/sandbox"
)

// holders are the pin holders of the registered jails
// (sandbox/holder_linux.go says why they exist): every pinned file of
// every run in progress is held in every registered jail, so no jailed
// agent can unlink or rename it while the run may still load it. A jail
// registers before its agent starts and is given the holds of the runs
// already going; a run's holds are taken before its sandbox mounts the
// copies and given back once its processes are gone.
type holders struct {
	mu     sync.Mutex
	jails  map[string]*sandbox.Holder // user namespace → its jail's holder
	active map[*runHold]struct{}
	joined chan struct{} // closed and replaced at each registration
}

// runHold is one run's paths and, per jail, how to release them there.
type runHold struct {
	paths    []string
	releases map[*sandbox.Holder]func()
}

func newHolders() *holders {
	return &holders{jails: map[string]*sandbox.Holder{}, active: map[*runHold]struct{}{}, joined: make(chan struct{})}
}

// registerWait is how long a pinned run from a jail that has not
// registered yet waits for it (its `envseal jail` retries every 200 ms
// after the broker starts).
const registerWait = 2 * time.Second

// errNoHolder: a jailed client's jail is not registered, so nothing
// would keep its agent from swapping the run's pinned files.
var errNoHolder = errors.New("the jail this request comes from is not registered with the broker, so its agent could swap the run's pinned files; restart `envseal jail` with this envseal (older jails do not register)")

// hold holds paths in every registered jail for one run. A request from
// a jail must find that jail registered (waiting up to registerWait).
func (hs *holders) hold(p peer, paths []string) (func(), error) {
	if len(paths) == 0 {
		return func() {}, nil
	}
	deadline := time.Now().Add(registerWait)
	hs.mu.Lock()
	for p.jailed && hs.jails[p.ns] == nil {
		joined := hs.joined
		hs.mu.Unlock()
		wait := time.Until(deadline)
		if wait <= 0 {
			return nil, errNoHolder
		}
		select {
		case <-joined:
		case <-time.After(wait):
		}
		hs.mu.Lock()
	}
	defer hs.mu.Unlock()
	rh := &runHold{paths: paths, releases: map[*sandbox.Holder]func(){}}
	for ns, h := range hs.jails {
		rel, err := h.Hold(paths)
		if err != nil {
			rh.release()
			return nil, fmt.Errorf("jail %s: %w", ns, err)
		}
		rh.releases[h] = rel
	}
	hs.active[rh] = struct{}{}
	return func() {
		hs.mu.Lock()
		defer hs.mu.Unlock()
		if _, ok := hs.active[rh]; ok {
			delete(hs.active, rh)
			rh.release()
		}
	}, nil
}

func (rh *runHold) release() {
	for _, rel := range rh.releases {
		rel()
	}
	rh.releases = nil
}

// register adds a jail's holder, holding there what the runs in progress
// hold; the holder that registered for ns before is dropped.
func (hs *holders) register(ns string, h *sandbox.Holder) error {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for rh := range hs.active {
		rel, err := h.Hold(rh.paths)
		if err != nil {
			return err // closing h releases what it took
		}
		rh.releases[h] = rel
	}
	if old := hs.jails[ns]; old != nil {
		hs.dropLocked(old)
	}
	hs.jails[ns] = h
	close(hs.joined)
	hs.joined = make(chan struct{})
	return nil
}

// unregister drops h (its jail ended or the registration closed).
func (hs *holders) unregister(ns string, h *sandbox.Holder) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.jails[ns] == h {
		delete(hs.jails, ns)
	}
	hs.dropLocked(h)
}

func (hs *holders) dropLocked(h *sandbox.Holder) {
	for rh := range hs.active {
		delete(rh.releases, h)
	}
	h.Close() // the holder releases everything held through it
}

// serveJail registers a jail for as long as c stays open. Only a client
// outside every jail may register one: the agent could otherwise
// register a holder that holds nothing.
func (s *Server) serveJail(c *net.UnixConn, f wire.Frame, fds []int, p peer) {
	if p.jailed || len(fds) != 1 {
		closeFDs(fds)
		s.cfg.Logf("refused a jail registration from inside a jail (pid %d)", p.pid)
		writeError(c, wire.JailPrefix+"a jail is registered by `envseal jail` from outside")
		return
	}
	m, err := wire.DecodeJail(f.Payload)
	if err != nil || m.UserNS == "" {
		closeFDs(fds)
		writeError(c, "bad jail registration")
		return
	}
	h, err := sandbox.NewHolder(fds[0])
	if err != nil {
		writeError(c, err.Error())
		return
	}
	if err := s.holders.register(m.UserNS, h); err != nil {
		h.Close()
		writeError(c, err.Error())
		return
	}
	defer s.holders.unregister(m.UserNS, h)
	writeFrame(c, wire.TypeOK, nil)
	gone := make(chan struct{})
	go func() { c.Read(make([]byte, 1)); close(gone) }()
	select {
	case <-gone:
	case <-s.closing:
		c.Close()
	}
}
