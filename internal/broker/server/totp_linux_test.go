package server

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/totp"
)

// totpHuman approves and then types whatever code() gives at the TOTP
// prompt, as the human at the broker's terminal would.
type totpHuman struct {
	mu     sync.Mutex
	code   func() string
	asked  int
	sfSeen int
}

func (h *totpHuman) set(code func() string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.code = code
}

func (h *totpHuman) counts() (asked, sfSeen int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.asked, h.sfSeen
}

func (h *totpHuman) Approve(_ context.Context, r *approve.Request) (approve.Decision, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.asked++
	if r.SecondFactor == nil {
		return approve.AllowOnce, nil
	}
	h.sfSeen++
	if err := r.SecondFactor.Verify(h.code()); err != nil {
		return approve.Deny, errors.Join(approve.ErrSecondFactor, err)
	}
	return approve.AllowOnce, nil
}

type auditRec struct {
	mu  sync.Mutex
	evs []string
}

func (a *auditRec) Event(_ seal.Key, kind audit.Event, f map[string]any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ev := string(kind)
	if r, ok := f["reason"].(string); ok {
		ev += ":" + r
	}
	a.evs = append(a.evs, ev)
}

func (a *auditRec) count(ev string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, e := range a.evs {
		if e == ev {
			n++
		}
	}
	return n
}

// enableTOTP turns TOTP on in the broker's vault and returns the seed.
func enableTOTP(t *testing.T, tb *testBroker) []byte {
	t.Helper()
	v := tb.srv.cfg.Vault
	k, err := v.Unlock([]byte("pass"))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Wipe()
	seed := totp.NewSeed()
	// Enrol with the previous step's code, so the current and next steps
	// stay free for the test.
	prev := time.Now().Add(-totp.Period)
	if err := totp.NewStore(v.Dir(), k).Enroll(seed, totp.Code(seed, prev), time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := policy.NewStore(v.Dir(), k).Update(func(p *policy.Policy) error { p.TOTP = true; return nil }); err != nil {
		t.Fatal(err)
	}
	return seed
}

// Through the broker, a run's approval and a store request's acceptance
// both need a fresh TOTP code, asked on the broker's own channel; a wrong
// code denies and is audited.
func TestBrokerTOTP(t *testing.T) {
	h := &totpHuman{code: func() string { return "" }}
	au := &auditRec{}
	tb := startBroker(t, approve.AllowOnce, func(c *Config) {
		c.Approver, c.Audit = h, au
		c.ReadValue = func(string) ([]byte, error) { return []byte("typed-value-0123456789"), nil }
	})
	seed := enableTOTP(t, tb)
	step := totp.Step(time.Now(), totp.Period)
	wrong := "000000"
	for s := step - 1; s <= step+1; s++ {
		if totp.CodeAt(seed, s) == wrong {
			wrong = "111111"
		}
	}

	// A run with a wrong code: 126, nothing runs.
	h.set(func() string { return wrong })
	var out syncBuf
	req := runReq("sh", "-c", "echo ran")
	req.Stdout, req.Stderr = &out, &out
	_, err := dialT(t, tb.sock).Run(context.Background(), req)
	var we *launch.Error
	if !errors.As(err, &we) || we.Code != launch.ExitDenied || !strings.Contains(we.Error(), "wrong TOTP code") {
		t.Fatalf("run with a wrong code: %v", err)
	}
	if strings.Contains(out.String(), "ran") || au.count("totp_failed:bad") != 1 {
		t.Fatalf("wrong code: output %q, %d totp_failed:bad", out.String(), au.count("totp_failed:bad"))
	}
	// The current code: the run happens.
	h.set(func() string { return totp.CodeAt(seed, step) })
	if res, err := dialT(t, tb.sock).Run(context.Background(), req); err != nil || res.ExitCode != 0 {
		t.Fatalf("run with the right code: %+v %v", res, err)
	}
	// A store request with the same (now used) code: declined.
	res, err := dialT(t, tb.sock).Store("NEW_KEY", "testing")
	if err != nil || res.Stored || au.count("totp_failed:reused") != 1 {
		t.Fatalf("store with a reused code: %+v %v, audit %v", res, err, au.evs)
	}
	// With the next code: stored.
	h.set(func() string { return totp.CodeAt(seed, step+1) })
	res, err = dialT(t, tb.sock).Store("NEW_KEY", "testing")
	if err != nil || !res.Stored {
		t.Fatalf("store with the right code: %+v %v", res, err)
	}
	if _, n := h.counts(); n != 4 {
		t.Fatalf("the second factor was asked %d times, want 4", n)
	}

	// totp.seal deleted: store requests are declined without asking.
	v := tb.srv.cfg.Vault
	k, _ := v.Unlock([]byte("pass"))
	if err := totp.NewStore(v.Dir(), k).Remove(); err != nil {
		t.Fatal(err)
	}
	before, _ := h.counts()
	res, err = dialT(t, tb.sock).Store("OTHER_KEY", "testing")
	if after, _ := h.counts(); err != nil || res.Stored || !strings.Contains(res.Reason, "missing") || after != before {
		t.Fatalf("store with totp.seal missing: %+v %v (asked %d→%d)", res, err, before, after)
	}
	if _, _, err := v.Get(k, "OTHER_KEY"); err == nil {
		t.Fatal("stored although totp.seal is missing")
	}
	_, err = dialT(t, tb.sock).Run(context.Background(), req)
	if after, _ := h.counts(); !errors.As(err, &we) || we.Code != launch.ExitDenied || after != before {
		t.Fatalf("run with totp.seal missing: %v (asked %d→%d)", err, before, after)
	}
	if bytes.Contains([]byte(out.String()), []byte("ran\nran")) {
		t.Fatal("ran twice")
	}
}

// A store request accepted by an approver that never asked for the TOTP
// code is declined (storeFactorSkipped); a verified one, or no TOTP, is not.
func TestStoreFactorSkipped(t *testing.T) {
	if storeFactorSkipped(nil) {
		t.Error("no second factor: nothing to skip")
	}
	dir, key := t.TempDir(), seal.NewKey()
	defer key.Wipe()
	seed, t0 := totp.NewSeed(), time.Now()
	if err := totp.NewStore(dir, key).Enroll(seed, totp.Code(seed, t0), t0); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return t0.Add(totp.Period) }
	f, err := totp.OpenFactor(dir, key, true, now, func(string) {})
	if err != nil || f == nil {
		t.Fatalf("OpenFactor: %v, %v", f, err)
	}
	defer f.Wipe()
	if !storeFactorSkipped(f) {
		t.Error("an unverified factor was not reported")
	}
	if err := f.Verify(totp.Code(seed, now())); err != nil {
		t.Fatal(err)
	}
	if storeFactorSkipped(f) {
		t.Error("a verified factor was reported")
	}
}
