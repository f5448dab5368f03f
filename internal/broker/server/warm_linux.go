package server

import (
	"sync"

	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/sandbox"
)

// warmPool keeps pre-started helper stages of a contained run ready
// (sandbox.Warm: cloned into the run's namespaces, envseal exec'd, the Go
// runtime up, waiting for its run), so that a run does only its own work
// — mounts, pins, Landlock, seccomp, exec — on the way to the program.
// Each helper serves one run and is never reused; after a run the pool is
// topped up again. None is kept while the broker is locked (the next run
// after the unlock starts cold and refills), and every one is killed when
// the broker closes. The zero value is ready to use.
type warmPool struct {
	mu      sync.Mutex
	ready   []*sandbox.Warm
	filling bool // one goroutine tops the pool up, one helper at a time
	closed  bool
	paused  bool // locked: none is kept until the next run
	wg      sync.WaitGroup
	cond    *sync.Cond // broadcast when a fill ends (under mu)
	gen     uint64     // bumped by drain: a fill started before it is discarded
	fails   int        // consecutive failed starts; filling stops at maxWarmFails
}

const (
	maxWarmFails = 3
	// warmKeep helpers are kept ready: runs that follow each other with
	// no gap (an agent's MCP calls) would otherwise outrun a single
	// helper's start (≈ 5 ms) and wait for it.
	warmKeep = 2
)

// take hands out a ready helper (nil if none). The pool is topped up by
// refill once the run is over: started at once the next helper would
// compete for the CPU with the run it was taken for.
//
// A helper still starting is waited for when none is ready: what is left
// of its start is less than a cold start (a blocking wait on its
// arrival, no polling).
func (p *warmPool) take() *sandbox.Warm {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = false // a run is being started: the broker is unlocked
	for len(p.ready) == 0 && p.filling {
		p.arrived().Wait()
	}
	if len(p.ready) == 0 {
		return nil
	}
	w := p.ready[0]
	p.ready = p.ready[1:]
	return w
}

func (p *warmPool) arrived() *sync.Cond {
	if p.cond == nil {
		p.cond = sync.NewCond(&p.mu)
	}
	return p.cond
}

// refill tops the pool up after a run (unless locked meanwhile).
func (p *warmPool) refill() { p.fill() }

// fill starts topping the pool up in the background unless it is full or
// already being filled.
func (p *warmPool) fill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.paused || len(p.ready) >= warmKeep || p.filling || p.fails >= maxWarmFails {
		return
	}
	p.filling = true
	gen := p.gen
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			w, err := launch.PrestartContained()
			p.mu.Lock()
			if err != nil {
				p.fails++
			} else {
				p.fails = 0
			}
			keep := err == nil && !p.closed && !p.paused && gen == p.gen && len(p.ready) < warmKeep
			if keep {
				p.ready = append(p.ready, w)
			}
			more := keep && len(p.ready) < warmKeep
			if !more {
				p.filling = false
			}
			p.arrived().Broadcast()
			p.mu.Unlock()
			if err == nil && !keep {
				w.Close()
			}
			if !more {
				return
			}
		}
	}()
}

// drain kills the ready helpers (the broker locked); none is started
// again until the next take.
func (p *warmPool) drain() {
	p.mu.Lock()
	ws := p.ready
	p.ready = nil
	p.gen++
	p.paused = true
	p.mu.Unlock()
	for _, w := range ws {
		w.Close()
	}
}

// close kills the ready helpers and keeps none from now on.
func (p *warmPool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.drain()
	p.wg.Wait() // a helper being started is killed as it arrives
}
