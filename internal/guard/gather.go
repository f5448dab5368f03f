package guard

import (
	"errors"
	"net"
	"os"
	"runtime"
	"time"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/safefile"
	"github.com/envseal/envseal/internal/sandbox"
	"github.com/envseal/envseal/internal/totp"
	"github.com/envseal/envseal/internal/vault"
)

// Sources names what Gather cannot find out itself: where the vault is,
// whether it runs inside `envseal jail`, and the broker's socket (the
// broker sits above guard).
type Sources struct {
	// VaultDir is the vault directory ("" when there is none to name).
	VaultDir string
	// Jailed: VaultDir is the jail's empty read-only cover, so there is no
	// vault directory to judge and no audit log to open (EROFS on its lock
	// is not damage); the jail.inside signal says where this runs.
	Jailed bool
	// BrokerSocket is the socket a running broker listens on.
	BrokerSocket string
}

// Gather returns every fact `envseal doctor` checks without the key:
// SystemFacts, the vault directory, its audit chain, the secrets' health,
// TOTP's file, the sandbox tiers and Landlock, and the broker. The rules
// (sealed) are the caller's to add.
func Gather(s Sources) Facts {
	f := SystemFacts()
	if dir := s.VaultDir; dir != "" {
		f.VaultDir = dir
		f.CheckVaultDir = func(dir string) error {
			if _, err := os.Stat(dir); err != nil {
				return err
			}
			return safefile.CheckDir(dir)
		}
		f.Audit = func() (int, error) { return audit.CheckChain(dir) }
		if s.Jailed {
			f.CheckVaultDir, f.Audit = nil, nil
		}
		if v, err := vault.Open(dir); err == nil {
			f.TOTP = func() (bool, error) { return totp.Present(dir) }
			if ents, err := v.List(); err == nil {
				f.Secrets = []SecretHealth{}
				for _, e := range ents {
					if e.Err == nil {
						f.Secrets = append(f.Secrets, SecretHealth{Name: e.Name, Due: e.RotationDue(), Weak: e.Weak})
					}
				}
			}
		}
	}
	if runtime.GOOS == "linux" {
		f.Tiers = sandbox.Supported()
		f.TierOrder = sandbox.Tiers()
		f.TierHint = func(err error) string {
			var ue *sandbox.UnsupportedError
			if errors.As(err, &ue) {
				return ue.Hint
			}
			return ""
		}
		f.LandlockABI = sandbox.LandlockABI()
		f.Broker = func() (string, error) { return s.BrokerSocket, dialSocket(s.BrokerSocket) }
	}
	return f
}

// dialSocket connects to the unix socket p and hangs up.
func dialSocket(p string) error {
	c, err := net.DialTimeout("unix", p, 500*time.Millisecond)
	if err != nil {
		return err
	}
	c.Close()
	return nil
}
