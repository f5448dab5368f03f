package launch

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/safefile"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/totp"
	"github.com/envseal/envseal/internal/vault"
)

// codeApprover plays a human who approves and then types code (if asked).
type codeApprover struct {
	decision approve.Decision
	code     func() string
	asked    int  // Approve calls
	sfSeen   bool // the request carried a second factor
}

func (a *codeApprover) Approve(_ context.Context, r *approve.Request) (approve.Decision, error) {
	a.asked++
	a.sfSeen = r.SecondFactor != nil
	if r.SecondFactor == nil || a.decision == approve.Deny {
		return a.decision, nil
	}
	if err := r.SecondFactor.Verify(a.code()); err != nil {
		return approve.Deny, errors.Join(approve.ErrSecondFactor, err)
	}
	return a.decision, nil
}

type recAudit struct {
	mu  sync.Mutex
	evs []string
}

func (r *recAudit) Event(_ seal.Key, kind audit.Event, f map[string]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := string(kind)
	if kind == audit.TOTPFailed {
		ev += ":" + f["reason"].(string)
	}
	r.evs = append(r.evs, ev)
}

func (r *recAudit) has(ev string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.evs {
		if e == ev {
			return true
		}
	}
	return false
}

type totpEnv struct {
	v      *vault.Vault
	master seal.Key
	seed   []byte
	now    time.Time
}

func newTOTPVault(t *testing.T, enable bool) *totpEnv {
	t.Helper()
	v, k, err := vault.Create(filepath.Join(t.TempDir(), "vault"), []byte("pw"), seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}, policy.InitEmpty)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Store(k, "TOKEN", []byte("totp-test-value-0123456789"), vault.StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	e := &totpEnv{v: v, master: k, now: time.Unix(1_900_000_005, 0)}
	if enable {
		e.seed = totp.NewSeed()
		st := totp.NewStore(v.Dir(), k)
		if err := st.Enroll(e.seed, totp.Code(e.seed, e.now), e.now); err != nil {
			t.Fatal(err)
		}
		if _, err := policy.NewStore(v.Dir(), k).Update(func(p *policy.Policy) error { p.TOTP = true; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *totpEnv) run(t *testing.T, ap approve.Approver, au Auditor) (*Result, error) {
	t.Helper()
	cp := New(Config{
		Vault: e.v, Approver: ap, Audit: au,
		Unlock: func() (seal.Key, error) { return e.master.Clone(), nil },
		Now:    func() time.Time { return e.now },
	})
	var out bytes.Buffer
	return cp.Run(context.Background(), &Request{
		Argv: []string{"/bin/true"}, Cwd: "/", PATH: "/usr/bin:/bin",
		Grants: []policy.Grant{{Secret: "TOKEN", Delivery: policy.DeliverEnv, Env: "TOKEN"}},
		Stdout: &out, Stderr: &out, RequesterPID: os.Getpid(),
	})
}

func wantDenied(t *testing.T, res *Result, err error, target error) {
	t.Helper()
	var le *Error
	if res != nil || !errors.As(err, &le) || le.Code != ExitDenied || !errors.Is(err, target) {
		t.Fatalf("got (%v, %v), want exit %d matching %v", res, err, ExitDenied, target)
	}
}

// With TOTP on, an approval passes only with a fresh code; a wrong or
// reused code denies (126) before decryption and no rule is written.
func TestCheckpointTOTP(t *testing.T) {
	e := newTOTPVault(t, true)
	au := &recAudit{}
	step := totp.Step(e.now, totp.Period)

	// Wrong code: denied, audited, no rule saved even for "allow always".
	ap := &codeApprover{decision: approve.AllowAlways, code: func() string { return "000000" }}
	if totp.CodeAt(e.seed, step+1) == "000000" {
		ap.code = func() string { return "111111" }
	}
	res, err := e.run(t, ap, au)
	wantDenied(t, res, err, totp.ErrBadCode)
	if !ap.sfSeen || !au.has("totp_failed:bad") || au.has("run_started") {
		t.Fatalf("wrong code: second factor %v, audit %v", ap.sfSeen, au.evs)
	}
	if p, _ := policy.NewStore(e.v.Dir(), e.master).Load(); len(p.Rules) != 0 {
		t.Fatal("a rule was saved although the code was wrong")
	}
	// The enrolment code again: reused.
	ap.code = func() string { return totp.Code(e.seed, e.now) }
	res, err = e.run(t, ap, au)
	wantDenied(t, res, err, totp.ErrReused)
	if !au.has("totp_failed:reused") {
		t.Fatalf("audit %v", au.evs)
	}
	// The next step's code: allowed always, and the run happens.
	ap.code = func() string { return totp.CodeAt(e.seed, step+1) }
	res, err = e.run(t, ap, au)
	if err != nil || res.ExitCode != 0 || res.Approval != "always" {
		t.Fatalf("right code: (%+v, %v)", res, err)
	}
	// The rule now covers the run: no approval, no code (TOTP gates
	// approvals, not every run).
	ap2 := &codeApprover{decision: approve.Deny}
	res, err = e.run(t, ap2, au)
	if err != nil || res.Approval != "rule" || ap2.asked != 0 {
		t.Fatalf("covered run: (%+v, %v), approver asked %d times", res, err, ap2.asked)
	}
}

// A deleted or damaged totp.seal denies before the human is asked, and so
// does a lockout; TOTP is never silently off.
func TestCheckpointTOTPStateDenies(t *testing.T) {
	e := newTOTPVault(t, true)
	path := filepath.Join(e.v.Dir(), totp.FileName)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	au := &recAudit{}
	ap := &codeApprover{decision: approve.AllowOnce, code: func() string { return totp.CodeAt(e.seed, totp.Step(e.now, totp.Period)+1) }}

	os.Remove(path)
	res, err := e.run(t, ap, au)
	wantDenied(t, res, err, totp.ErrMissing)
	if ap.asked != 0 || !au.has("totp_failed:state") {
		t.Fatalf("missing totp.seal: approver asked %d times, audit %v", ap.asked, au.evs)
	}
	bad := append([]byte(nil), orig...)
	bad[len(bad)-1] ^= 1
	if err := safefile.WriteAtomic(e.v.Dir(), totp.FileName, bad); err != nil {
		t.Fatal(err)
	}
	res, err = e.run(t, ap, au)
	wantDenied(t, res, err, totp.ErrState)
	if ap.asked != 0 {
		t.Fatal("the human was asked although totp.seal is damaged")
	}
	// With the policy flag off but the file there (a policy rolled back to
	// before enable), TOTP is still on.
	if err := safefile.WriteAtomic(e.v.Dir(), totp.FileName, orig); err != nil {
		t.Fatal(err)
	}
	if _, err := policy.NewStore(e.v.Dir(), e.master).Update(func(p *policy.Policy) error { p.TOTP = false; return nil }); err != nil {
		t.Fatal(err)
	}
	res, err = e.run(t, ap, au)
	if err != nil || !ap.sfSeen {
		t.Fatalf("flag off, file present: (%+v, %v), second factor asked %v", res, err, ap.sfSeen)
	}
	// Lock out with wrong codes, then even the right code is not asked for.
	st := totp.NewStore(e.v.Dir(), e.master)
	for range totp.MaxFailures {
		st.Verify("x", e.now)
	}
	ap.asked = 0
	res, err = e.run(t, ap, au)
	wantDenied(t, res, err, totp.ErrRateLimited)
	if ap.asked != 0 || !au.has("totp_failed:rate_limited") {
		t.Fatalf("locked out: approver asked %d times, audit %v", ap.asked, au.evs)
	}
}

// Without TOTP nothing changes: no second factor on the request.
func TestCheckpointNoTOTP(t *testing.T) {
	e := newTOTPVault(t, false)
	ap := &codeApprover{decision: approve.AllowOnce}
	res, err := e.run(t, ap, &recAudit{})
	if err != nil || res.ExitCode != 0 || ap.sfSeen {
		t.Fatalf("(%+v, %v), second factor %v", res, err, ap.sfSeen)
	}
}

// sloppyApprover allows without looking at the request's second factor.
type sloppyApprover struct{}

func (sloppyApprover) Approve(context.Context, *approve.Request) (approve.Decision, error) {
	return approve.AllowAlways, nil
}

// An approver that allows without asking for the code does not get the
// run through: the checkpoint checks that a code was accepted.
func TestCheckpointTOTPNotAskedDenies(t *testing.T) {
	e := newTOTPVault(t, true)
	au := &recAudit{}
	res, err := e.run(t, sloppyApprover{}, au)
	wantDenied(t, res, err, ErrSecondFactor)
	if !au.has("totp_failed:not_asked") || au.has("run_started") {
		t.Errorf("audit = %v", au.evs)
	}
	p, err := policy.NewStore(e.v.Dir(), e.master).Load()
	if err != nil || len(p.Rules) != 0 {
		t.Errorf("a rule was saved (%v, %v)", p, err)
	}
	// Without TOTP the same approver is taken at its word.
	e2 := newTOTPVault(t, false)
	if _, err := e2.run(t, sloppyApprover{}, &recAudit{}); err != nil {
		t.Fatalf("without TOTP: %v", err)
	}
}
