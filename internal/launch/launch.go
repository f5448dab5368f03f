// Package launch is THE checkpoint: every path by which a plaintext value
// leaves the vault goes through Checkpoint.Run, in this order —
//
//	guard own environment → resolve the command → open and pin its bytes →
//	hash → policy → human approval (if no rule covers it) → decrypt →
//	deliver → spawn from a sealed copy → supervise → audit
//
// The CLI, the broker and the MCP server are only transports onto it
// (Runner).
package launch

import (
	"context"
	"io"
	"time"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/exeseal"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/sandbox"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

// Request is one run: what to execute, with which secrets, and where its
// stdio goes.
type Request struct {
	Argv       []string // the command as typed (Argv[0] is resolved on PATH)
	Cwd        string   // absolute working directory
	Env        []string // the caller's environment, filtered by childenv.Build
	PATH       string   // the PATH used to resolve Argv[0]
	InheritEnv bool     // keep the caller's environment (minus injection variables)
	Grants     []policy.Grant
	Sandbox    sandbox.Tier // sandbox tier; "" means standard
	Network    bool         // lockdown: keep the host network (the rule must allow it)
	RW         []string     // lockdown: extra writable directories (the rule must allow them)
	Hide       []string     // lockdown: directories hidden from the program (vault, broker socket)
	OnLeak     OnLeak       // "" or LeakScrub (scrub and count), or LeakKill
	Pins       []string     // --pin: more files (or directory trees) the rule pins and the run is served
	// Templates (--template-file) are rendered for the child only
	// (template.go); the secrets they use become grants.
	Templates []policy.Template

	Stdin          io.Reader
	Stdout, Stderr io.Writer

	// RequesterPID is the process asking (envseal's parent in direct mode,
	// the client in broker mode); its chain is shown to the human.
	RequesterPID int

	// Started, when set, is called with the child's pid once it has
	// started (the sandbox set up) and before it is waited for, so the pid
	// cannot have been reused yet: the broker opens a pidfd on it to
	// forward the client's signals.
	Started func(pid int)
	// HoldPins, when set (the broker), holds the run's served paths in
	// place before the sandbox mounts their copies: every registered jail
	// then refuses to unlink or rename them (sandbox/holder_linux.go).
	// release is called once the run's processes are gone.
	HoldPins func(paths []string) (release func(), err error)
}

// Result is how a run ended.
type Result struct {
	ExitCode int            // the child's status, or 128+N if killed by signal N
	Approval string         // "rule", "once", "always" or "for PERIOD" (e.g. "for 8h")
	RuleID   string         // the rule that allowed the run
	Leaks    map[string]int // scrubbed occurrences per secret name
	Duration time.Duration
	// ApprovalWait is how long the human took to answer (zero when a rule
	// covered the run).
	ApprovalWait time.Duration
}

// Runner runs a Request through the checkpoint. The direct Checkpoint and
// (later) the broker client both implement it.
type Runner interface {
	Run(ctx context.Context, req *Request) (*Result, error)
}

// Auditor receives the checkpoint's decisions. key is the master key when
// it is available and the zero Key before unlock (an event recorded then
// is chained, and covered by the next keyed record).
type Auditor interface {
	Event(key seal.Key, kind audit.Event, fields map[string]any)
}

// NopAuditor discards events.
type NopAuditor struct{}

// Event implements Auditor.
func (NopAuditor) Event(seal.Key, audit.Event, map[string]any) {}

// Checkpoint is the one place a stored value is decrypted and delivered:
// runs (Run) and value scans (ScanValues), direct or in the broker. It is
// made only by New (test/checkpoint fails on a package that builds one
// by hand, sets its fields, or decrypts with vault.Get).
type Checkpoint struct {
	Config
}

// New returns the checkpoint configured by cfg (a nil Audit records
// nothing).
func New(cfg Config) *Checkpoint {
	if cfg.Audit == nil {
		cfg.Audit = NopAuditor{}
	}
	return &Checkpoint{Config: cfg}
}

// Config is what a Checkpoint needs.
type Config struct {
	Vault    *vault.Vault
	Unlock   func() (seal.Key, error) // asked once the command is pinned
	Approver approve.Approver
	Audit    Auditor
	Now      func() time.Time
	// Cache, when set, keeps sealed copies of unchanged binaries between
	// runs (the broker), so a second run neither re-hashes nor re-copies.
	Cache *exeseal.Cache
	// Matchers, when set, keeps the scrubber's automata of recent secret
	// sets between runs (the broker); nil builds one per run.
	Matchers *MatcherCache
	// ForwardSignals sends this process's SIGINT, SIGTERM and SIGHUP to
	// the child during a run (direct `envseal run`; not the broker).
	ForwardSignals bool
	// Direct is set when the checkpoint runs in the caller's own process
	// (not the broker): the approval then warns that a sandboxed child in a
	// user namespace the caller owns can still be ptraced by the same uid.
	Direct bool
	// LeakGrace is how long a child gets between SIGTERM and SIGKILL under
	// --on-leak kill.
	LeakGrace time.Duration
	// HumanEnv is the environment of the human's side, from which the
	// child's PATH, HOME, USER, LANG, TERM, TZ and TMPDIR are taken: the
	// broker's own (captured at its start). Nil means this process's own
	// environment (direct mode, where the caller is the only side).
	HumanEnv []string
	// Contain runs every program in the contained sandbox (the broker's
	// default): its own user, mount, PID and IPC namespaces; / read-only
	// with only the cwd and approved --rw dirs writable; private /tmp;
	// the vault, runtime dir, control sockets and the human's terminals
	// hidden; no controlling terminal; seccomp and Landlock. The tier then
	// only decides the network: lockdown cuts it unless --network.
	Contain bool
	// Warm, when set with Contain, hands out a pre-started helper stage
	// for a contained run (PrestartContained; the broker keeps one
	// ready), or nil when none is ready. Each is used for one run; one
	// that cannot take the run is killed and a helper is started cold.
	Warm func() *sandbox.Warm
}

var _ Runner = (*Checkpoint)(nil)

func (c *Checkpoint) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Checkpoint) audit(key seal.Key, kind audit.Event, f map[string]any) {
	if c.Audit != nil {
		c.Audit.Event(key, kind, f)
	}
}
