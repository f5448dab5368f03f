package launch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/childenv"
	"github.com/envseal/envseal/internal/exeseal"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/redact"
	"github.com/envseal/envseal/internal/sandbox"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
	"github.com/envseal/envseal/internal/widen"
)

// Run is the checkpoint. Every error it returns is an *Error carrying the
// exit code for `envseal run`.
func (c *Checkpoint) Run(ctx context.Context, req *Request) (*Result, error) {
	start := c.now()
	// 1. Guard our own process, check the request, take its context.
	rc, err := c.preflight(req)
	if err != nil {
		return nil, err
	}
	// 2–4. Resolve, pin, hash.
	pin, req, err := c.pinProgram(req, rc)
	if err != nil {
		return nil, err
	}
	defer pin.Close()

	// 5. Policy (needs the key: the policy is sealed).
	key, err := c.Unlock()
	if err != nil {
		return nil, &Error{Code: ExitFailed, Err: err}
	}
	defer key.Wipe()
	lens, err := c.checkSecretsExist(req.Grants)
	if err != nil {
		return nil, err
	}
	store := policy.NewStore(c.Vault.Dir(), key)
	pol, err := store.Load()
	if err != nil {
		c.audit(key, audit.PolicyTampered, map[string]any{"error": err.Error()})
		return nil, &Error{Code: ExitFailed, Err: err, Hint: "restore policy.seal from a backup, or run 'envseal policy reset' to start with no rules (asks the passphrase)"}
	}

	// 6. Approval, unless a live rule covers exactly this.
	res, err := c.authorize(ctx, req, pin, rc, key, lens, store, pol)
	if err != nil {
		return nil, err
	}
	// A requester that went away (Ctrl-C, a closed connection, a cancelled
	// MCP call) while the human answered: nothing starts.
	if err := ctx.Err(); err != nil {
		c.audit(key, audit.ApprovalCancelled, map[string]any{"binary": pin.Path, "after": "approval"})
		return nil, &Error{Code: ExitDenied, Err: fmt.Errorf("%w: the request was withdrawn: %w", ErrDenied, err)}
	}

	// 7–10. Decrypt, only now; deliver, spawn from the sealed copy, supervise.
	return c.execute(ctx, req, pin, rc, key, res, start)
}

// preflight guards envseal's own process, checks the request and takes
// its context (cwd, environment).
func (c *Checkpoint) preflight(req *Request) (*runContext, error) {
	// A preloaded library already runs inside this process, so nothing it
	// says can be trusted.
	if err := childenv.Guard(os.Environ()); err != nil {
		c.audit(seal.Key{}, audit.EnvRefused, map[string]any{"error": err.Error()})
		var re *childenv.RefusedError
		hint := "unset the variable and run envseal again"
		if errors.As(err, &re) {
			hint = re.Hint()
		}
		return nil, &Error{Code: ExitFailed, Err: fmt.Errorf("%w: %v", ErrRefusedEnv, err), Hint: hint}
	}
	if err := harden(); err != nil {
		return nil, &Error{Code: ExitFailed, Err: fmt.Errorf("harden envseal's process: %w", err),
			Hint: "envseal needs prctl(PR_SET_DUMPABLE) and setrlimit(RLIMIT_CORE) before it decrypts anything"}
	}
	if err := c.validate(req); err != nil {
		return nil, err
	}
	rc, err := c.newContext(req)
	if err != nil {
		return nil, err
	}
	if c.Contain {
		if err := containedCwd(rc.cwd, envValue(rc.env, "HOME"), c.Vault.Dir()); err != nil {
			return nil, err
		}
	}
	return rc, nil
}

// pinProgram resolves the program, pins and hashes it (and a script's
// interpreter), learns and reads its closure and the template files. It
// returns the request with the templates in place; the caller closes the
// pin.
func (c *Checkpoint) pinProgram(req *Request, rc *runContext) (*exeseal.Pinned, *Request, error) {
	childPATH := envValue(rc.env, "PATH")
	path, err := resolve(req.Argv[0], req.Cwd, req.PATH)
	if err != nil {
		return nil, nil, &Error{Code: ExitNotFound, Err: err, Hint: "check the command name and PATH"}
	}
	rc.invoked, _ = lookup(req.Argv[0], req.Cwd, req.PATH)
	var pin *exeseal.Pinned
	if c.Cache != nil {
		pin, err = c.Cache.Open(path, exeseal.SearchPath(childPATH))
	} else {
		pin, err = exeseal.Open(path, exeseal.SearchPath(childPATH))
	}
	if err != nil {
		return nil, nil, pinError(path, err)
	}
	if err := rc.discover(req, pin, c.Vault.Dir()); err != nil {
		pin.Close()
		return nil, nil, err
	}
	if req, err = rc.withTemplates(req, c.Vault.Dir()); err != nil {
		pin.Close()
		return nil, nil, err
	}
	return pin, req, nil
}

// query is what the policy is asked about this run.
func (c *Checkpoint) query(req *Request, pin *exeseal.Pinned, rc *runContext) policy.Query {
	q := policy.Query{
		Binary: pin.Path, SHA256: pin.SHA256, Argv: req.Argv[1:],
		Grants: req.Grants, Sandbox: tierOrDefault(req.Sandbox), Network: req.Network, RW: req.RW, Now: c.now(),
		Cwd: rc.cwd, Env: rc.env, Files: rc.queryFiles(),
	}
	if pin.Interpreter != nil {
		q.Interpreter, q.InterpreterSHA256 = pin.Interpreter.Path, pin.Interpreter.SHA256
	}
	return q
}

// authorize looks the run up in the policy and, unless a live rule covers
// exactly this, asks the human (saving the rule an "always" makes).
func (c *Checkpoint) authorize(ctx context.Context, req *Request, pin *exeseal.Pinned, rc *runContext, key seal.Key, lens map[string]int, store *policy.Store, pol *policy.Policy) (*Result, error) {
	q := c.query(req, pin, rc)
	m := pol.Lookup(q)
	res := &Result{Approval: "rule"}
	switch m.Verdict {
	case policy.WeakerTier:
		return nil, &Error{Code: ExitDenied,
			Err:  fmt.Errorf("%w: rule %s runs this program in the %s sandbox, and this run asks for %s", ErrDenied, m.Rule.ID, m.Rule.Sandbox, tierOrDefault(req.Sandbox)),
			Hint: fmt.Sprintf("run it with --sandbox %s", m.Rule.Sandbox)}
	case policy.Allowed:
		res.RuleID = m.Rule.ID
		return res, nil
	case policy.HashChanged:
		c.audit(key, audit.BinaryChanged, map[string]any{"binary": pin.Path, "old_sha256": m.Rule.SHA256, "new_sha256": pin.SHA256})
	case policy.ContextChanged:
		c.audit(key, audit.ContextChanged, map[string]any{"binary": pin.Path, "rule": m.Rule.ID, "changed": contextChangeNames(m.Rule.DiffContext(q))})
	}
	asked := c.now()
	d, err := c.approve(ctx, req, pin, m, q, rc, key, lens, pol.TOTP)
	res.ApprovalWait = c.now().Sub(asked)
	if err != nil {
		return nil, err
	}
	switch {
	case d == approve.AllowOnce:
		res.Approval = "once"
	case d.SavesRule():
		if err := c.saveRule(req, q, rc, d, store, key, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// saveRule stores the rule an "allow always" (or "for a period", or with
// a widened argument) makes of q, and records it in res.
func (c *Checkpoint) saveRule(req *Request, q policy.Query, rc *runContext, d approve.Decision, store *policy.Store, key seal.Key, res *Result) error {
	res.Approval = "always"
	r := policy.Rule{
		ID: policy.NewID(), Binary: q.Binary, SHA256: q.SHA256,
		Interpreter: q.Interpreter, InterpreterSHA256: q.InterpreterSHA256,
		Argv: slices.Clone(q.Argv), Grants: slices.Clone(q.Grants),
		Sandbox: tierOrDefault(req.Sandbox), Network: req.Network, RW: slices.Clone(req.RW), Created: c.now().UTC(),
		Cwd: rc.cwd, Env: slices.Clone(rc.env), Files: rc.ruleFiles(),
	}
	if p, ok := d.For(); ok { // "allow for 8h": the rule expires, then asks again
		exp := r.Created.Add(p)
		r.Expires, res.Approval = &exp, "for "+approve.FormatPeriod(p)
	}
	if n := d.Widened(); n > 0 {
		// The human widened argument [n] (policy/widen.go); the
		// approver checked it can be, and so does this.
		if err := widen.Check(req.Argv, n); err != nil {
			return &Error{Code: ExitDenied, Err: fmt.Errorf("%w: %w", ErrDenied, err)}
		}
		r.AnyArg = n
		res.Approval += fmt.Sprintf(", argument [%d] any value", n)
	}
	if _, err := store.Update(func(p *policy.Policy) error { p.Put(r); return nil }); err != nil {
		return &Error{Code: ExitFailed, Err: fmt.Errorf("save rule: %w", err)}
	}
	c.audit(key, audit.PolicyChanged, map[string]any{"action": "add", "rule": r.ID, "binary": r.Binary})
	res.RuleID = r.ID
	return nil
}

// execute decrypts the granted values, runs the program with them and
// records how it ended.
func (c *Checkpoint) execute(ctx context.Context, req *Request, pin *exeseal.Pinned, rc *runContext, key seal.Key, res *Result, start time.Time) (*Result, error) {
	values, err := c.decrypt(key, req.Grants)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, v := range values {
			clear(v)
		}
	}()
	code, leaks, err := c.spawn(ctx, req, pin, rc, key, values)
	res.ExitCode, res.Leaks, res.Duration = code, leaks, c.now().Sub(start)
	fin := map[string]any{"binary": pin.Path, "exit": code, "leaks": leaks, "duration_ms": res.Duration.Milliseconds()}
	if rc.leftover >= 0 {
		// Processes the program left behind, killed with its PID namespace.
		fin["killed"] = rc.leftover
	}
	if rc.pinReplaced != "" {
		// The sandbox's tripwire stopped the run (spawn).
		fin["pin_replaced"] = rc.pinReplaced
	}
	c.audit(key, audit.RunFinished, fin)
	if err != nil {
		return res, err
	}
	return res, nil
}

func tierOrDefault(t sandbox.Tier) sandbox.Tier {
	if t == "" {
		return sandbox.Standard
	}
	return t
}

// sandboxLabel names the sandbox on the approval screen.
func (c *Checkpoint) sandboxLabel(req *Request) string {
	if c.Contain {
		return "contained (" + string(tierOrDefault(req.Sandbox)) + ")"
	}
	return string(tierOrDefault(req.Sandbox))
}

// network is whether the child keeps the host network: a contained run
// keeps it unless its tier is lockdown (deploys need the network), other
// runs only with --network.
func (c *Checkpoint) network(req *Request) bool {
	if c.Contain {
		return req.Network || tierOrDefault(req.Sandbox) != sandbox.Lockdown
	}
	return req.Network
}

func (c *Checkpoint) validate(req *Request) error {
	bad := func(format string, args ...any) error {
		return &Error{Code: ExitFailed, Err: fmt.Errorf("%w: "+format, append([]any{ErrBadRequest}, args...)...)}
	}
	if len(req.Argv) == 0 {
		return bad("no command given")
	}
	t := tierOrDefault(req.Sandbox)
	if !t.Valid() {
		return &Error{Code: ExitFailed, Err: fmt.Errorf("%w: unknown sandbox tier %q", ErrBadRequest, t), Hint: "use --sandbox standard, hardened or lockdown"}
	}
	if err := sandbox.Check(t); err != nil {
		return &Error{Code: ExitFailed, Err: err, Hint: sandboxHint(err)}
	}
	if !c.Contain && t != sandbox.Lockdown && (req.Network || len(req.RW) > 0) {
		return bad("--network and --rw only apply to --sandbox lockdown")
	}
	for _, d := range req.RW {
		if !filepath.IsAbs(d) {
			return bad("--rw %q is not an absolute path", d)
		}
	}
	for _, p := range req.Pins {
		if !filepath.IsAbs(p) {
			return bad("--pin %q is not an absolute path", p)
		}
	}
	if !filepath.IsAbs(req.Cwd) {
		return bad("working directory %q is not absolute", req.Cwd)
	}
	if !req.OnLeak.Valid() {
		return bad("--on-leak %q (want scrub or kill)", req.OnLeak)
	}
	envs := map[string]bool{}
	stdin := 0
	for _, g := range req.Grants {
		if err := vault.ValidName(g.Secret); err != nil {
			return &Error{Code: ExitFailed, Err: err}
		}
		switch g.Delivery {
		case policy.DeliverStdin:
			if stdin++; stdin > 1 {
				return bad("only one secret can be delivered on stdin")
			}
			continue
		case policy.DeliverEnv, policy.DeliverFD:
		default:
			return bad("unknown delivery %q", g.Delivery)
		}
		if err := childenv.ValidName(g.Env); err != nil {
			return &Error{Code: ExitFailed, Err: fmt.Errorf("%w: %w", ErrBadRequest, err), Hint: "use a POSIX variable name that is not a loader or interpreter hook (LD_*, NODE_OPTIONS, …)"}
		}
		if envs[g.Env] {
			return bad("two secrets mapped to $%s", g.Env)
		}
		envs[g.Env] = true
	}
	return validateTemplates(req, envs)
}

func sandboxHint(err error) string {
	var ue *sandbox.UnsupportedError
	if errors.As(err, &ue) && ue.Hint != "" {
		return ue.Hint
	}
	return "run with --sandbox standard, or enable what the error names"
}

func pinError(path string, err error) *Error {
	switch {
	case errors.Is(err, exeseal.ErrSymlink):
		return &Error{Code: ExitDenied, Err: fmt.Errorf("%w: %s became a symlink while being opened: %v", ErrDenied, path, err)}
	case errors.Is(err, exeseal.ErrNotExecutable):
		return &Error{Code: ExitDenied, Err: err, Hint: "the file is not an executable regular file"}
	case errors.Is(err, exeseal.ErrUnsupported):
		return &Error{Code: ExitFailed, Err: fmt.Errorf("%w: %v", ErrUnsupported, err)}
	}
	return &Error{Code: ExitFailed, Err: fmt.Errorf("pin %s: %w", path, err)}
}

// checkSecretsExist looks the requested secrets up by metadata only (no
// decryption before approval) and returns their value lengths.
func (c *Checkpoint) checkSecretsExist(grants []policy.Grant) (map[string]int, error) {
	lens := map[string]int{}
	for _, g := range grants {
		if _, ok := lens[g.Secret]; ok {
			continue
		}
		m, err := c.Vault.Stat(g.Secret)
		if errors.Is(err, vault.ErrNotFound) {
			return nil, &Error{Code: ExitFailed, Err: fmt.Errorf("%w: %q", vault.ErrNotFound, g.Secret), Hint: fmt.Sprintf("store it first with 'envseal store %s'", g.Secret)}
		}
		if err != nil {
			return nil, &Error{Code: ExitFailed, Err: err}
		}
		lens[g.Secret] = m.Len
	}
	return lens, nil
}

// secretFD is the descriptor the program gets its k-th fd-delivered secret
// on: after 0-2 (stdio) and the sealed image, plus the script for a #!
// script that is not served at its path (exeseal.Prepare passes it as a
// descriptor; PrepareServed does not). The approval screen shows it and
// spawn refuses to deliver on any other number.
func secretFD(pin *exeseal.Pinned, rc *runContext, k int) int {
	fd := 4 + k
	if pin.IsScript() && !rc.serves(pin) {
		fd++
	}
	return fd
}

// approve shows the human what this run is and asks; the decision comes
// back only once the approver (and a second factor, if enrolled) said yes.
func (c *Checkpoint) approve(ctx context.Context, req *Request, pin *exeseal.Pinned, m policy.Match, q policy.Query, rc *runContext, key seal.Key, lens map[string]int, totpFlag bool) (approve.Decision, error) {
	ar := &approve.Request{
		Path: pin.Path, SHA256: pin.SHA256,
		Argv: req.Argv, Cwd: rc.cwd, Sandbox: c.sandboxLabel(req),
		Chain: approve.ProcessChain(req.RequesterPID, 2),
	}
	if pin.Interpreter != nil {
		ar.Interpreter, ar.InterpreterSHA256 = pin.Interpreter.Path, pin.Interpreter.SHA256
	}
	verdictNotes(ar, m, q, rc)
	ar.Context = append(ar.Context, rc.templateRows(pin, req)...)
	ar.Context = append(ar.Context, c.contextRows(req, pin, rc)...)
	ar.Warnings = append(ar.Warnings, c.runWarnings(req, pin, rc)...)
	ar.Secrets, ar.ShortSecrets = secretRows(req, pin, rc, lens)
	return c.ask(ctx, ar, req, pin, key, totpFlag)
}

// verdictNotes say why an existing rule does not cover this run.
func verdictNotes(ar *approve.Request, m policy.Match, q policy.Query, rc *runContext) {
	switch m.Verdict {
	case policy.HashChanged:
		ar.PrevSHA256 = m.Rule.SHA256
		ar.PrevInterpreterSHA256 = m.Rule.InterpreterSHA256
	case policy.Expired:
		ar.Warnings = append(ar.Warnings, fmt.Sprintf("rule %s for this command expired at %s", m.Rule.ID, m.Rule.Expires.Format(time.RFC3339)))
	case policy.ContextChanged:
		ar.Warnings = append(ar.Warnings, fmt.Sprintf("rule %s covers this program and argv %s, but not this context (changes below)", m.Rule.ID, m.Rule.ArgvString()))
		// With the new texts (the query has hashes only), so the screen
		// shows both sides of an edited file's diff.
		qt := q
		qt.Files = rc.ruleFiles()
		ar.Context = append(ar.Context, changeRows(m.Rule.DiffContext(qt))...)
	case policy.NotCovered:
		ar.Warnings = append(ar.Warnings, fmt.Sprintf("rule %s covers this command, but not these secrets or this sandbox tier", m.Rule.ID))
	}
}

// runWarnings: what the program may do or suffer beyond the rule.
func (c *Checkpoint) runWarnings(req *Request, pin *exeseal.Pinned, rc *runContext) []string {
	var w []string
	if c.Direct && (tierOrDefault(req.Sandbox) != sandbox.Standard || rc.serves(pin)) {
		w = append(w, "the program runs in a user namespace you own (its sandbox, or the mounts that serve its pinned files): in direct mode other processes running as you can still ptrace it and read its memory (use the broker and envseal jail to close that)")
	}
	if n := c.memfdNote(req, rc, pin); n != "" {
		w = append(w, n)
	}
	if req.Network && !c.Contain {
		w = append(w, "the program keeps the host network (--network)")
	}
	for _, d := range req.RW {
		w = append(w, "the program may write beneath "+d+" (--rw)")
	}
	if pin.Writable {
		w = append(w, "you can write to this file: anything running as you could change it (a changed file needs a new approval)")
	}
	return w
}

// secretRows: each granted secret as the screen shows it (how and where
// it is delivered), and the names of those too short to scrub.
func secretRows(req *Request, pin *exeseal.Pinned, rc *runContext, lens map[string]int) ([]approve.Secret, []string) {
	var out []approve.Secret
	nfd := 0
	for _, g := range req.Grants {
		s := approve.Secret{Name: g.Secret, Env: g.Env}
		switch g.Delivery {
		case policy.DeliverStdin:
			s.Delivery = approve.DeliverStdin
		case policy.DeliverFD:
			s.Delivery, s.FD = approve.DeliverFD, secretFD(pin, rc, nfd)
			nfd++
		case policy.DeliverTemplate:
			s.Delivery, s.Template = approve.DeliverTemplate, g.Template
			for k, t := range rc.templates {
				if t.env == g.Env {
					s.FD = rc.templateFD(pin, req, k)
				}
			}
		default:
			s.Delivery = approve.DeliverEnv
		}
		out = append(out, s)
	}
	var short []string
	for _, g := range req.Grants {
		if lens[g.Secret] < redact.MinLen && !slices.Contains(short, g.Secret) {
			short = append(short, g.Secret)
		}
	}
	return out, short
}

// ask puts ar before the approver, with the second factor if enrolled,
// and audits the question and the answer.
func (c *Checkpoint) ask(ctx context.Context, ar *approve.Request, req *Request, pin *exeseal.Pinned, key seal.Key, totpFlag bool) (approve.Decision, error) {
	// TOTP (totp.go): the approver asks for a code after the human's yes.
	sf, sfDone, err := c.secondFactor(key, totpFlag)
	if err != nil {
		return approve.Deny, err
	}
	defer sfDone()
	ar.SecondFactor = sf
	c.audit(key, audit.ApprovalRequested, map[string]any{"binary": pin.Path, "sha256": pin.SHA256, "argv": req.Argv, "cwd": req.Cwd, "secrets": grantSecrets(req.Grants), "chain": ar.Chain})
	if c.Approver == nil {
		return approve.Deny, &Error{Code: ExitDenied, Err: fmt.Errorf("%w: no approver configured", ErrDenied)}
	}
	d, err := c.Approver.Approve(ctx, ar)
	c.audit(key, audit.ApprovalDecided, map[string]any{"binary": pin.Path, "decision": auditDecision(d, err), "error": errString(err)})
	if err != nil {
		return approve.Deny, &Error{Code: ExitDenied, Err: fmt.Errorf("%w: %w", ErrDenied, err), Hint: approvalHint(err)}
	}
	if d == approve.Deny {
		return approve.Deny, &Error{Code: ExitDenied, Err: fmt.Errorf("%w by the human", ErrDenied)}
	}
	if secondFactorSkipped(sf) {
		// Defence in depth: every approver asks for the code itself; one
		// that allowed without doing so is a bug, and must not be a bypass.
		c.audit(key, audit.TOTPFailed, map[string]any{"reason": "not_asked"})
		return approve.Deny, &Error{Code: ExitDenied, Err: fmt.Errorf("%w: %w: the approver allowed without asking for the TOTP code", ErrDenied, ErrSecondFactor)}
	}
	return d, nil
}

func approvalHint(err error) string {
	switch {
	case errors.Is(err, approve.ErrNoTTY):
		return "approvals need a human at a terminal: run the command from a terminal (or use the broker)"
	case errors.Is(err, approve.ErrTimeout):
		return "nobody answered in time; run the command again and type the code shown"
	case errors.Is(err, approve.ErrSecondFactor):
		return TOTPHint(err)
	}
	return ""
}

// auditDecision is the decision as the audit log names it: once, always,
// deny, timeout or no-tty (an approver that could not ask at all).
func auditDecision(d approve.Decision, err error) string {
	if n := d.Widened(); n > 0 && err == nil {
		return auditDecision(d.Widen(0), nil) + fmt.Sprintf(", argument [%d] any value", n)
	}
	switch {
	case errors.Is(err, approve.ErrTimeout):
		return "timeout"
	case errors.Is(err, approve.ErrCancelled):
		return "cancelled"
	case errors.Is(err, approve.ErrNoTTY), errors.Is(err, approve.ErrNoDisplay):
		return "no-tty"
	case err != nil:
		return "deny"
	case d == approve.AllowOnce:
		return "once"
	case d == approve.AllowAlways:
		return "always"
	}
	if p, ok := d.For(); ok {
		return "for " + approve.FormatPeriod(p)
	}
	return "deny"
}

// grantSecrets names the secrets a run asks for (names only).
func grantSecrets(gs []policy.Grant) []string {
	out := make([]string, 0, len(gs))
	for _, g := range gs {
		out = append(out, g.Secret)
	}
	return out
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (c *Checkpoint) decrypt(key seal.Key, grants []policy.Grant) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, g := range grants {
		if _, ok := out[g.Secret]; ok {
			continue
		}
		v, _, err := c.Vault.Get(key, g.Secret)
		if err != nil {
			for _, b := range out {
				clear(b)
			}
			return nil, &Error{Code: ExitFailed, Err: err}
		}
		out[g.Secret] = v
	}
	return out, nil
}
