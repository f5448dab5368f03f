// Package policy holds the human's decisions: which program (pinned by
// path and SHA-256, and for scripts the interpreter's and the script's
// hashes), with which exact arguments, may receive which secrets, delivered
// how, in which sandbox tier, until when.
//
// The rules are stored sealed under the policy subkey of the master key
// (policy.seal in the vault directory). Editing, truncating or deleting the
// file is an error that names it — never a silent empty policy, because an
// empty policy would only mean "ask again", while a forged one would mean
// "hand the secret over".
//
// How the rules are shown to the human (`envseal policy list`, as a table
// or JSON) lives here too (show.go), so the command holds only its flags.
package policy

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/envseal/envseal/internal/sandbox"
)

// Delivery is how a secret reaches the child.
type Delivery string

// The deliveries.
const (
	DeliverEnv   Delivery = "env"   // environment variable Env
	DeliverStdin Delivery = "stdin" // written to the child's stdin once, then closed
	DeliverFD    Delivery = "fd"    // sealed read-only memfd; Env holds /dev/fd/N
	// DeliverTemplate: the secret is one of those a --template-file uses;
	// the rendered file is a sealed read-only memfd, Env holds /dev/fd/N.
	// The template's bytes are pinned by hash in the rule's Files.
	DeliverTemplate Delivery = "template"
)

// Template is one --template-file: a file with {{ secret "NAME" }}
// placeholders (internal/inject), rendered for the child only.
type Template struct {
	Env  string `json:"env"`  // the variable that holds /dev/fd/N of the rendered file
	Path string `json:"path"` // absolute path of the template
}

// Grant is one secret a rule hands over.
type Grant struct {
	Secret   string   `json:"secret"`
	Delivery Delivery `json:"delivery"`
	Env      string   `json:"env,omitempty"`      // for env, fd and template delivery
	Template string   `json:"template,omitempty"` // for template delivery: the template's canonical path
}

// String renders the grant for humans.
func (g Grant) String() string {
	switch g.Delivery {
	case DeliverStdin:
		return g.Secret + " → stdin"
	case DeliverFD:
		return g.Secret + " → " + g.Env + "=/dev/fd/N"
	case DeliverTemplate:
		return g.Secret + " → " + g.Env + "=/dev/fd/N rendered from " + g.Template
	}
	return g.Secret + " → $" + g.Env
}

// Rule is one "allow always" decision.
type Rule struct {
	ID                string   `json:"id"`
	Binary            string   `json:"binary"` // canonical path of what was named on the command line
	SHA256            string   `json:"sha256"` // of Binary's bytes (the script itself for #! scripts)
	Interpreter       string   `json:"interpreter,omitempty"`
	InterpreterSHA256 string   `json:"interpreter_sha256,omitempty"`
	Argv              []string `json:"argv"` // exact arguments after argv[0]
	// AnyArg, when not 0, is the one argument position (1 = Argv[0], as
	// the approval screen numbers argv) the human widened to any value
	// internal/widen allows (widen.go). Never set by default.
	AnyArg  int          `json:"any_arg,omitempty"`
	Grants  []Grant      `json:"grants"`
	Sandbox sandbox.Tier `json:"sandbox"`
	Network bool         `json:"network,omitempty"` // lockdown: the host network was allowed
	RW      []string     `json:"rw,omitempty"`      // lockdown: extra writable directories allowed
	Created time.Time    `json:"created"`
	Expires *time.Time   `json:"expires,omitempty"`

	// The run's context (context.go): the canonical working directory,
	// the child's whole environment apart from the secrets, and every file
	// the run reads from a place the agent can write, with its hash. A
	// rule from before these fields existed has an empty Cwd and matches
	// nothing: it is asked again once.
	Cwd   string   `json:"cwd,omitempty"`
	Env   []string `json:"env,omitempty"`   // sorted NAME=VALUE, secrets excluded
	Files []File   `json:"files,omitempty"` // sorted by Path
}

// Expired reports whether the rule has expired at now.
func (r *Rule) Expired(now time.Time) bool {
	return r.Expires != nil && !now.Before(*r.Expires)
}

// Policy is the whole rule set.
type Policy struct {
	// Generation increases with every write; it is authenticated with the
	// rules and lets the audit log notice a rolled-back file.
	Generation uint64 `json:"generation"`
	Rules      []Rule `json:"rules"`
	// TOTP: approvals also need a code from the human's authenticator
	// (internal/totp). Sealed here so deleting totp.seal cannot turn it off.
	TOTP bool `json:"totp,omitempty"`
}

// NewID returns a fresh rule id.
func NewID() string {
	var b [4]byte
	rand.Read(b[:])
	return "r" + hex.EncodeToString(b[:])
}

// Query is what a run asks for.
type Query struct {
	Binary            string
	SHA256            string
	Interpreter       string
	InterpreterSHA256 string
	Argv              []string
	Grants            []Grant
	Sandbox           sandbox.Tier
	Network           bool
	RW                []string
	Cwd               string
	Env               []string // sorted NAME=VALUE, secrets excluded
	Files             []File   // sorted by Path
	Now               time.Time
}

// Verdict is the outcome of a lookup.
type Verdict int

// Verdicts. Anything but Allowed needs a human.
const (
	NoRule         Verdict = iota // nothing covers this binary and argv
	Allowed                       // a live rule covers every requested grant
	HashChanged                   // a rule for this path and argv exists, but for other bytes
	Expired                       // the covering rule has expired
	NotCovered                    // a rule matches the program but not every grant, the network or the writable dirs
	WeakerTier                    // a rule matches, but asks for a stronger sandbox than the run: refused outright
	ContextChanged                // a rule for this program and argv exists, but for another cwd, environment or file contents
)

func (v Verdict) String() string {
	return [...]string{"no rule", "allowed", "binary changed", "rule expired", "not covered", "weaker sandbox than the rule", "context changed"}[v]
}

// Match is the result of Lookup.
type Match struct {
	Verdict Verdict
	Rule    *Rule // the covering rule (Allowed) or the closest one
}

// Lookup finds the rule covering q. A changed binary is never run under an
// old rule: it comes back as HashChanged with the old rule, so the
// approval can say "hash changed from … to …".
func (p *Policy) Lookup(q Query) Match {
	best := Match{Verdict: NoRule}
	for i := range p.Rules {
		r := &p.Rules[i]
		if r.Binary != q.Binary || !r.argvMatches(q.Argv) {
			continue
		}
		if r.SHA256 != q.SHA256 || r.Interpreter != q.Interpreter || r.InterpreterSHA256 != q.InterpreterSHA256 {
			best = Match{Verdict: HashChanged, Rule: r}
			continue
		}
		if !r.SameContext(q) {
			// Another directory, environment or file content is another
			// program: what the human approved does not cover it.
			if best.Verdict == NoRule || best.Verdict == NotCovered {
				best = Match{Verdict: ContextChanged, Rule: r}
			}
			continue
		}
		if q.Sandbox.Rank() < r.Sandbox.Rank() {
			// The human chose this tier for this program: a run that asks
			// for less is refused, not offered for re-approval.
			return Match{Verdict: WeakerTier, Rule: r}
		}
		if !covers(r.Grants, q.Grants) || (q.Network && !r.Network) || !subset(q.RW, r.RW) {
			if best.Verdict == NoRule {
				best = Match{Verdict: NotCovered, Rule: r}
			}
			continue
		}
		if r.Expired(q.Now) {
			best = Match{Verdict: Expired, Rule: r}
			continue
		}
		return Match{Verdict: Allowed, Rule: r}
	}
	return best
}

func subset(want, have []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

func covers(have, want []Grant) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// Put adds r, replacing rules for the same binary path, argv and working
// directory (an old
// hash or a narrower grant set is superseded by the human's new decision).
func (p *Policy) Put(r Rule) {
	p.Rules = slices.DeleteFunc(p.Rules, func(o Rule) bool {
		return o.Binary == r.Binary && slices.Equal(o.Argv, r.Argv) && o.AnyArg == r.AnyArg && o.Cwd == r.Cwd
	})
	p.Rules = append(p.Rules, r)
}

// ErrNoSuchRule is returned by Remove for an unknown id.
var ErrNoSuchRule = errors.New("no such rule")

// Remove deletes the rule with the given id.
func (p *Policy) Remove(id string) error {
	n := len(p.Rules)
	p.Rules = slices.DeleteFunc(p.Rules, func(r Rule) bool { return r.ID == id })
	if len(p.Rules) == n {
		return fmt.Errorf("%w: %q", ErrNoSuchRule, id)
	}
	return nil
}
