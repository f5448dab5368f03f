package server

import (
	"time"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/totp"
)

// storeSecondFactor is the TOTP check for accepting a store request, or
// nil when TOTP is off. Runs get theirs from the checkpoint (launch); a
// store request is an approval too, so it needs a code as well. It needs
// the key (the flag is sealed in the policy), so a locked broker asks for
// the passphrase first. A missing, damaged or locked-out totp.seal returns
// an error: the request is declined without asking the human. done wipes
// the key copy and the TOTP subkey.
func (s *Server) storeSecondFactor() (sf approve.SecondFactor, done func(), err error) {
	k, err := s.unlock()
	if err != nil {
		return nil, nil, err
	}
	p, err := policy.NewStore(s.cfg.Vault.Dir(), k).Load()
	if err != nil {
		k.Wipe()
		return nil, nil, err
	}
	if !totp.Active(s.cfg.Vault.Dir(), p.TOTP) {
		k.Wipe()
		return nil, func() {}, nil
	}
	st := totp.NewStore(s.cfg.Vault.Dir(), k)
	done = func() { st.Wipe(); k.Wipe() }
	f := &storeFactor{st: st, key: k, audit: s.cfg.Audit}
	if err := st.Check(time.Now()); err != nil {
		f.failed(err)
		done()
		return nil, nil, err
	}
	return f, done, nil
}

type storeFactor struct {
	st       *totp.Store
	key      seal.Key
	audit    launch.Auditor
	verified bool // a code was accepted during this approval
}

func (f *storeFactor) Verify(code string) error {
	err := f.st.Verify(code, time.Now())
	if err != nil {
		f.failed(err)
		return err
	}
	f.verified = true
	return nil
}

// storeFactorSkipped reports an approver that accepted without asking for
// the code it was handed (a bug that must not be a bypass).
func storeFactorSkipped(sf approve.SecondFactor) bool {
	f, ok := sf.(*storeFactor)
	return ok && !f.verified
}

func (f *storeFactor) failed(err error) {
	f.audit.Event(f.key, "totp_failed", map[string]any{"reason": totp.Reason(err), "during": "store request", "via": "broker"})
}
