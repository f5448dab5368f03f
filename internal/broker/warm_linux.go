package broker

import (
	"sync"

	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/sandbox"
)

// warmPool keeps one pre-started helper stage of a contained run ready
// (sandbox.Warm: cloned into the run's namespaces, envseal exec'd, the Go
// runtime up, waiting for its run), so that a run does only its own work
// — mounts, pins, Landlock, seccomp, exec — on the way to the program.
// Each helper serves one run and is never reused; after a run the next
// one is started. None is kept while the broker is locked (the next run after the
// unlock starts cold and refills), and every one is killed when the
// broker closes. The zero value is ready to use.
type warmPool struct {
	mu      sync.Mutex
	ready   *sandbox.Warm
	filling bool
	closed  bool
	paused  bool // locked: none is kept until the next run
	wg      sync.WaitGroup
	cond    *sync.Cond // broadcast when a fill ends (under mu)
	gen     uint64     // bumped by drain: a fill started before it is discarded
	fails   int        // consecutive failed starts; filling stops at maxWarmFails
}

const maxWarmFails = 3

// take hands out the ready helper (nil if none). The next one is started
// by refill once the run is over: started at once it would compete for
// the CPU with the run it was taken for.
//
// A helper still starting is waited for: what is left of its start is
// less than a cold start (a blocking wait on its arrival, no polling).
func (p *warmPool) take() *sandbox.Warm {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = false // a run is being started: the broker is unlocked
	for p.ready == nil && p.filling {
		p.arrived().Wait()
	}
	w := p.ready
	p.ready = nil
	return w
}

func (p *warmPool) arrived() *sync.Cond {
	if p.cond == nil {
		p.cond = sync.NewCond(&p.mu)
	}
	return p.cond
}

// refill starts the next helper after a run (unless locked meanwhile).
func (p *warmPool) refill() { p.fill() }

// fill starts a helper in the background unless one is ready or coming.
func (p *warmPool) fill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.paused || p.ready != nil || p.filling || p.fails >= maxWarmFails {
		return
	}
	p.filling = true
	gen := p.gen
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		w, err := launch.PrestartContained()
		p.mu.Lock()
		p.filling = false
		defer p.arrived().Broadcast()
		if err != nil {
			p.fails++
			p.mu.Unlock()
			return
		}
		p.fails = 0
		if p.closed || p.paused || gen != p.gen || p.ready != nil {
			p.mu.Unlock()
			w.Close()
			return
		}
		p.ready = w
		p.mu.Unlock()
	}()
}

// drain kills the ready helper (the broker locked); none is started
// again until the next take.
func (p *warmPool) drain() {
	p.mu.Lock()
	w := p.ready
	p.ready = nil
	p.gen++
	p.paused = true
	p.mu.Unlock()
	w.Close()
}

// close kills the ready helper and keeps none from now on.
func (p *warmPool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.drain()
	p.wg.Wait() // a helper being started is killed as it arrives
}
