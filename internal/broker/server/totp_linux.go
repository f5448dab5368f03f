package server

import (
	"time"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/policy"
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
	f, err := totp.OpenFactor(s.cfg.Vault.Dir(), k, p.TOTP, time.Now, func(reason string) {
		s.cfg.Audit.Event(k, audit.TOTPFailed, map[string]any{"reason": reason, "during": "store request", "via": "broker"})
	})
	if err != nil || f == nil {
		k.Wipe()
		return nil, func() {}, err
	}
	return f, func() { f.Wipe(); k.Wipe() }, nil
}

// storeFactorSkipped reports an approver that accepted without asking for
// the code it was handed (a bug that must not be a bypass).
func storeFactorSkipped(sf approve.SecondFactor) bool {
	f, ok := sf.(*totp.Factor)
	return ok && !f.Verified()
}
