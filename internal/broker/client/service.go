package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/vault"
)

// Service is what envseal's front ends ask of the vault: the broker's
// client and the local (direct) path both implement it, and Connect
// decides which one a caller gets. No method returns a secret's value.
type Service interface {
	// Via is "broker" or "direct".
	Via() string
	Run(ctx context.Context, req *launch.Request) (*launch.Result, error)
	// List is every secret's metadata joined with its last use.
	List() ([]wire.ListEntry, error)
	// ScanValues reports where stored values occur in content.
	ScanValues(content []byte) (*launch.ScanResult, error)
	// Store asks the human to type a new secret's value (broker only).
	Store(name, purpose string) (*wire.StoreResultMsg, error)
	// Policy is the approved rules (an unlocked broker only).
	Policy() ([]policy.Rule, error)
	// Status is the broker's state (broker only).
	Status() (*wire.StatusMsg, error)
}

// Options say how to connect.
type Options struct {
	// Socket is the broker's socket ("" is wire.SocketPath()).
	Socket string
	// Direct never uses the broker (envseal run --direct).
	Direct bool
	// Local is the direct path, taken when no broker answers (or with
	// Direct); nil means there is none.
	Local *Local
}

// Connect returns the broker when its socket answers, else the local path.
// The fallback is only for "no broker here" (no socket, or an OS without
// one): a socket directory that is not ours or a broker of another uid is
// someone interfering, and Connect returns that error rather than quietly
// running elsewhere. With neither a broker nor a local path the error is
// wire.ErrNoBroker's.
func Connect(o Options) (Service, error) {
	if o.Direct {
		if o.Local == nil {
			return nil, errors.New("no direct path here")
		}
		return o.Local, nil
	}
	c, err := Dial(o.Socket)
	if err == nil {
		return &brokerService{path: c.Path, first: c}, nil
	}
	if o.Local != nil && NoBroker(err) {
		return o.Local, nil
	}
	return nil, err
}

// NoBroker reports whether err means that no broker answers here (as
// opposed to one that refused, or a socket someone else controls).
func NoBroker(err error) bool {
	return errors.Is(err, wire.ErrNoBroker) || errors.Is(err, wire.ErrUnsupported)
}

// brokerService is the broker: one connection per request (the first is
// the one Connect dialled).
type brokerService struct {
	path  string
	first *Conn
}

func (b *brokerService) Via() string { return "broker" }

func (b *brokerService) conn() (*Conn, error) {
	if c := b.first; c != nil {
		b.first = nil
		return c, nil
	}
	return Dial(b.path)
}

// drop closes the connection Connect dialled if no request used it.
func (b *brokerService) drop() {
	if b.first != nil {
		b.first.Close()
		b.first = nil
	}
}

func (b *brokerService) Run(ctx context.Context, req *launch.Request) (*launch.Result, error) {
	c, err := b.conn()
	if err != nil {
		return nil, &launch.Error{Code: launch.ExitFailed, Err: err}
	}
	return c.Run(ctx, req)
}

func (b *brokerService) List() ([]wire.ListEntry, error) {
	c, err := b.conn()
	if err != nil {
		return nil, err
	}
	les, err := c.List()
	if err != nil {
		return nil, fmt.Errorf("list through the broker: %w", err)
	}
	return les, nil
}

// ScanValues sends content in pieces of at most wire.MaxScanSize cut at
// line ends, one connection each, and shifts the offsets back.
func (b *brokerService) ScanValues(content []byte) (*launch.ScanResult, error) {
	defer b.drop() // nothing to send: the dialled connection is not used
	out := &launch.ScanResult{}
	for off := 0; off < len(content); {
		end := min(off+wire.MaxScanSize, len(content))
		if end < len(content) {
			if i := bytes.LastIndexByte(content[off:end], '\n'); i > 0 {
				end = off + i + 1
			}
		}
		c, err := b.conn()
		if err != nil {
			return nil, err
		}
		res, err := c.ScanValues(content[off:end])
		if err != nil {
			return nil, err
		}
		for _, h := range res.Hits {
			if h.Offset < 0 || h.Offset >= end-off {
				return nil, errors.New("the broker answered nonsense: hit offset out of range")
			}
			h.Offset += off
			out.Hits = append(out.Hits, h)
		}
		out.Total += res.Total
		out.Secrets = max(out.Secrets, res.Secrets)
		if off == 0 {
			for _, n := range res.Unreadable {
				out.Unreadable = append(out.Unreadable, launch.Unreadable{Name: n})
			}
		}
		off = end
	}
	return out, nil
}

func (b *brokerService) Store(name, purpose string) (*wire.StoreResultMsg, error) {
	c, err := b.conn()
	if err != nil {
		return nil, err
	}
	return c.Store(name, purpose)
}

func (b *brokerService) Policy() ([]policy.Rule, error) {
	c, err := b.conn()
	if err != nil {
		return nil, err
	}
	return c.Policy()
}

func (b *brokerService) Status() (*wire.StatusMsg, error) {
	c, err := b.conn()
	if err != nil {
		return nil, err
	}
	return c.Status()
}

// ErrBrokerOnly is the local path's answer to what only the broker can do
// (have the human type a value on its channel, show the sealed rules,
// report its state).
var ErrBrokerOnly = fmt.Errorf("%w: this needs the broker", wire.ErrNoBroker)

// Local is the direct path: this process opens the vault and runs the
// checkpoint itself (the passphrase and the approval are asked on its own
// terminal).
type Local struct {
	// OpenVault opens the vault; nil opens vault.Home().
	OpenVault func() (*vault.Vault, error)
	// Checkpoint configures the checkpoint for v (the human's unlock
	// prompt, the approver, the auditor). Nil: Run and ScanValues fail.
	Checkpoint func(v *vault.Vault) (launch.Config, error)
	// Runner, when set, runs requests instead of a checkpoint of this
	// process (a front end's own direct runner).
	Runner launch.Runner
}

var (
	_ Service       = (*Local)(nil)
	_ launch.Runner = (*Local)(nil)
)

func (l *Local) Via() string { return "direct" }

func (l *Local) vault() (*vault.Vault, error) {
	if l.OpenVault != nil {
		return l.OpenVault()
	}
	home, err := vault.Home()
	if err != nil {
		return nil, err
	}
	return vault.Open(home)
}

func (l *Local) checkpoint() (*launch.Checkpoint, *vault.Vault, error) {
	if l.Checkpoint == nil {
		return nil, nil, ErrBrokerOnly
	}
	v, err := l.vault()
	if err != nil {
		return nil, nil, err
	}
	cfg, err := l.Checkpoint(v)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Vault == nil {
		cfg.Vault = v
	}
	return launch.New(cfg), v, nil
}

// Run runs req through a checkpoint of this process. The program is
// hidden from the vault and the runtime dirs (as in the broker), and the
// requester is this process's parent unless req names one.
func (l *Local) Run(ctx context.Context, req *launch.Request) (*launch.Result, error) {
	if l.Runner != nil {
		return l.Runner.Run(ctx, req)
	}
	cp, v, err := l.checkpoint()
	if err != nil {
		var le *launch.Error
		if errors.As(err, &le) {
			return nil, le
		}
		return nil, &launch.Error{Code: launch.ExitFailed, Err: err}
	}
	r := *req
	r.Hide = launch.HideDirs(v.Dir(), wire.SocketDir())
	if r.RequesterPID == 0 {
		r.RequesterPID = os.Getppid()
	}
	return cp.Run(ctx, &r)
}

// List reads the vault's metadata and the audit log; no passphrase.
func (l *Local) List() ([]wire.ListEntry, error) {
	v, err := l.vault()
	if err != nil {
		return nil, err
	}
	return wire.ListVault(v)
}

// ScanValues unlocks the vault (the checkpoint's Unlock) and matches every
// stored value here.
func (l *Local) ScanValues(content []byte) (*launch.ScanResult, error) {
	cp, _, err := l.checkpoint()
	if err != nil {
		return nil, err
	}
	return cp.ScanValues(content, os.Getpid())
}

func (l *Local) Store(string, string) (*wire.StoreResultMsg, error) { return nil, ErrBrokerOnly }
func (l *Local) Policy() ([]policy.Rule, error)                     { return nil, ErrBrokerOnly }
func (l *Local) Status() (*wire.StatusMsg, error)                   { return nil, ErrBrokerOnly }
