package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/seal"
)

// Fair service (docs/ARCHITECTURE.md invariant 6): no client can starve another, and the
// human's own requests are always served. Clients are told apart by
// namespace (peer_linux.go): the human's own (unjailed) connections have
// their MaxClients slots to themselves; each jail gets a small budget of
// its own, so a flood from inside uses up that jail's budget and nothing
// else; and the one terminal the human answers on serves the human's
// requests first, withdrawing a jailed prompt that is on screen (it is
// asked again afterwards).
const (
	// MaxJailInFlight bounds the requests one jail (one user namespace)
	// has in flight at once: runs, prompts, lists, everything.
	MaxJailInFlight = 32
	// MaxJailStores bounds one jail's store requests in flight: each asks
	// the human to type a value.
	MaxJailStores = 1
	// MaxJailed bounds all jails' requests together.
	MaxJailed = 128
)

// budgets counts the jails' requests in flight.
type budgets struct {
	mu     sync.Mutex
	total  int
	flight map[string]int // by user namespace
	stores map[string]int
	peers  map[int]int // pid → requests in flight from a jailed pid
}

// enter takes one slot of p's jail, or says why not.
func (b *budgets) enter(p peer) (release func(), refusal string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.flight == nil {
		b.flight, b.stores, b.peers = map[string]int{}, map[string]int{}, map[int]int{}
	}
	switch {
	case b.flight[p.ns] >= MaxJailInFlight:
		return nil, fmt.Sprintf("%sthis jail already has %d requests in flight (the limit per jail); wait for one to finish", wire.BusyPrefix, MaxJailInFlight)
	case b.total >= MaxJailed:
		return nil, fmt.Sprintf("%sjailed clients have %d requests in flight (the limit for all jails); wait for one to finish", wire.BusyPrefix, MaxJailed)
	}
	b.flight[p.ns]++
	b.total++
	b.peers[p.pid]++
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.total--
		if b.flight[p.ns]--; b.flight[p.ns] == 0 {
			delete(b.flight, p.ns)
		}
		if b.peers[p.pid]--; b.peers[p.pid] == 0 {
			delete(b.peers, p.pid)
		}
	}, ""
}

// enterStore takes p's jail's store slot.
func (b *budgets) enterStore(p peer) (release func(), refusal string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stores == nil {
		b.flight, b.stores, b.peers = map[string]int{}, map[string]int{}, map[int]int{}
	}
	if b.stores[p.ns] >= MaxJailStores {
		return nil, fmt.Sprintf("%sa store request from this jail is already waiting for the human (the limit is %d)", wire.BusyPrefix, MaxJailStores)
	}
	b.stores[p.ns]++
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.stores[p.ns]--; b.stores[p.ns] == 0 {
			delete(b.stores, p.ns)
		}
	}, ""
}

// humanPID reports whether pid has a request in flight and none of them
// from a jail: the approver's way to find the class of a request (its
// Chain starts at the requester's pid). Unknown pids count as jailed.
func (s *Server) humanPID(pid int) bool {
	s.jails.mu.Lock()
	jailed := s.jails.peers[pid] > 0
	s.jails.mu.Unlock()
	s.mu.Lock()
	human := s.humans[pid] > 0
	s.mu.Unlock()
	return human && !jailed
}

// Causes of a withdrawn prompt.
var (
	errPreempted = errors.New("a request from outside the jail goes first; this one is asked again after it")
	errWithdrawn = errors.New("the client that asked was interrupted (Ctrl-C, SIGTERM or SIGHUP)")
)

// serialApprover asks one question at a time on the broker's one
// terminal: the human's own requests first (FIFO), then the jails' (FIFO).
// A request whose context ends while it waits or is on screen is
// withdrawn, and is a denial whatever the human answers afterwards.
type serialApprover struct {
	inner   approve.Approver
	isHuman func(pid int) bool // nil: every request is the human's
	audit   func(kind audit.Event, fields map[string]any)

	mu      sync.Mutex
	current *waiter
	human   []*waiter
	jailed  []*waiter
	all     []*waiter // every waiter, queued or current, for withdraw
}

type waiter struct {
	pid         int
	jailed      bool
	preemptible bool
	ready       chan struct{}
	cancel      context.CancelCauseFunc
}

func requesterPID(r *approve.Request) int {
	if r != nil && len(r.Chain) > 0 {
		return r.Chain[0].PID
	}
	return 0
}

func (a *serialApprover) jailedPID(pid int) bool {
	return a.isHuman != nil && !a.isHuman(pid)
}

// Approve asks the human, in turn. A jailed request is marked so on the
// screen.
func (a *serialApprover) Approve(ctx context.Context, r *approve.Request) (approve.Decision, error) {
	if a.inner == nil {
		return approve.Deny, errors.New("no approver configured")
	}
	pid := requesterPID(r)
	jailed := a.jailedPID(pid)
	if jailed {
		r.Warnings = append(r.Warnings, "asked from inside a jail (a user namespace other than the broker's): an agent wants this")
	}
	front := false
	for {
		var d approve.Decision
		var aerr error
		w, wctx, err := a.acquire(ctx, pid, jailed, true, front)
		if err == nil {
			d, aerr = a.inner.Approve(wctx, r)
			a.release(w)
		}
		cause := context.Cause(wctx)
		w.cancel(nil)
		switch {
		case ctx.Err() != nil || errors.Is(cause, errWithdrawn):
			// Withdrawn: nothing runs, even if the human said yes just now.
			why := context.Cause(ctx)
			if ctx.Err() == nil {
				why = cause
			}
			a.logCancel(r, pid, why)
			return approve.Deny, fmt.Errorf("%w: %w", approve.ErrCancelled, why)
		case err == nil && aerr == nil:
			return d, nil // answered, even if a pre-emption raced the answer
		case errors.Is(cause, errPreempted):
			front = true // keep its place at the head of the jails' queue
			continue
		}
		if err != nil {
			return approve.Deny, err
		}
		return d, aerr
	}
}

// hold takes the terminal for fn (a store request typing its value),
// without pre-emption: a value half typed is never interrupted.
func (a *serialApprover) hold(ctx context.Context, pid int, fn func(ctx context.Context)) error {
	w, wctx, err := a.acquire(ctx, pid, a.jailedPID(pid), false, true)
	defer w.cancel(nil)
	if err != nil {
		return err
	}
	defer a.release(w)
	fn(wctx)
	return nil
}

func (a *serialApprover) logCancel(r *approve.Request, pid int, why error) {
	if a.audit != nil {
		a.audit(audit.ApprovalCancelled, map[string]any{"binary": r.Path, "argv": r.Argv, "requester_pid": pid, "reason": why.Error()})
	}
}

// acquire waits for the terminal. A human request that has to wait
// behind a jailed prompt withdraws that prompt (errPreempted).
func (a *serialApprover) acquire(ctx context.Context, pid int, jailed, preemptible, front bool) (*waiter, context.Context, error) {
	wctx, cancel := context.WithCancelCause(ctx)
	w := &waiter{pid: pid, jailed: jailed, preemptible: preemptible, ready: make(chan struct{}), cancel: cancel}
	a.mu.Lock()
	a.all = append(a.all, w)
	if a.current == nil && len(a.human) == 0 && (!jailed || len(a.jailed) == 0) {
		a.current = w
		a.mu.Unlock()
		return w, wctx, nil
	}
	switch {
	case !jailed:
		a.human = append(a.human, w)
		if c := a.current; c != nil && c.jailed && c.preemptible {
			c.cancel(errPreempted)
		}
	case front:
		a.jailed = slices.Insert(a.jailed, 0, w)
	default:
		a.jailed = append(a.jailed, w)
	}
	a.mu.Unlock()
	select {
	case <-w.ready:
		return w, wctx, nil
	case <-wctx.Done():
	}
	a.mu.Lock()
	granted := a.current == w
	a.human = slices.DeleteFunc(a.human, func(x *waiter) bool { return x == w })
	a.jailed = slices.DeleteFunc(a.jailed, func(x *waiter) bool { return x == w })
	a.mu.Unlock()
	if granted {
		a.release(w)
	} else {
		a.forget(w)
	}
	return w, wctx, context.Cause(wctx)
}

// release gives the terminal to the next waiter: the human's first.
func (a *serialApprover) release(w *waiter) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.all = slices.DeleteFunc(a.all, func(x *waiter) bool { return x == w })
	if a.current != w {
		return
	}
	a.current = nil
	var next *waiter
	switch {
	case len(a.human) > 0:
		next, a.human = a.human[0], a.human[1:]
	case len(a.jailed) > 0:
		next, a.jailed = a.jailed[0], a.jailed[1:]
	}
	if next != nil {
		a.current = next
		close(next.ready)
	}
}

func (a *serialApprover) forget(w *waiter) {
	a.mu.Lock()
	a.all = slices.DeleteFunc(a.all, func(x *waiter) bool { return x == w })
	a.mu.Unlock()
}

// withdraw ends every prompt of pid, queued or on screen: its client was
// interrupted (TypeWithdraw). A run whose program already started has no
// prompt left; its signal travels on the run's own connection.
func (a *serialApprover) withdraw(pid int) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, w := range a.all {
		if w.pid == pid {
			w.cancel(errWithdrawn)
			n++
		}
	}
	return n
}

// auditEvent records a broker event that has no key at hand.
func (s *Server) auditEvent(kind audit.Event, fields map[string]any) {
	if fields != nil {
		fields["via"] = "broker"
	}
	s.cfg.Audit.Event(seal.Key{}, kind, fields)
}
