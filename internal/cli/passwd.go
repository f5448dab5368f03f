package cli

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/detect"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

// minPassphraseBits is the estimate under which init and passwd warn. The
// master key file can be copied and attacked offline; at 50 bits and one
// Argon2id guess per 0.1 s per core, a 1,000-core rig needs over a
// thousand years on average. The estimator (detect.EstimateBits) only
// screens out obvious mistakes ("abc", "password1", "aaaaaaaa").
const minPassphraseBits = 50

// passphraseWeakness says why pass is a poor vault passphrase, "" if it is
// not. It never includes the passphrase or a figure derived from it beyond
// "under the bar", so stderr (which an agent may read) learns nothing.
func passphraseWeakness(pass []byte) string {
	// Placeholder patterns are for values ("…-here" and so on); only a
	// short passphrase is judged by them, so "… my words here" passes.
	if len(pass) < 16 && detect.Placeholder(pass) {
		return "is a common word or placeholder"
	}
	if detect.EstimateBits(pass) < minPassphraseBits {
		return fmt.Sprintf("is weak (estimated under %d bits)", minPassphraseBits)
	}
	return ""
}

// warnWeakPassphrase prints the warning and hint for a weak passphrase.
// It warns rather than refuses: the human may have reasons (a throw-away
// vault), and a refusal would only teach them to pad "abc" with "1234".
func (a *app) warnWeakPassphrase(pass []byte) {
	w := passphraseWeakness(pass)
	if w == "" {
		return
	}
	a.warnf("this passphrase %s: anyone who copies the vault files can try guesses offline", w)
	a.hintf("a phrase of four or more random words is strong and easy to type; change it any time with 'envseal passwd'")
}

// passwdParams is the Argon2id cost for a re-wrapped key: the current
// default, or the vault's own where that is higher, so a passphrase change
// never lowers the cost of guessing.
func passwdParams(old seal.KDFParams) seal.KDFParams {
	p := kdfParams
	p.Time = max(p.Time, old.Time)
	p.MemoryKiB = max(p.MemoryKiB, old.MemoryKiB)
	p.Threads = max(p.Threads, old.Threads)
	return p
}

func (a *app) passwdCmd() *cobra.Command {
	var oldPF, newPF passphraseFlag
	c := &cobra.Command{
		Use:   "passwd",
		Short: "Change the vault passphrase",
		Long: `Change the vault passphrase. The current passphrase is required; the new one
is asked twice on the terminal (/dev/tty), or read from --new-passphrase-fd N.

Only master.key changes: the random master key is re-wrapped under the new
passphrase (fresh salt; Argon2id at the current default cost or the vault's,
whichever is higher), atomically and under the vault lock. Secrets, rules,
the audit log and a running broker stay as they are. The change is audited.
Copies of master.key made before (including backups) still open with the old
passphrase.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if oldPF.fd >= 0 && oldPF.fd == newPF.fd {
				return withHint(errors.New("--passphrase-fd and --new-passphrase-fd are the same descriptor"), "pass the current and the new passphrase on two descriptors, e.g. 3 and 4")
			}
			v, err := openVault()
			if err != nil {
				return err
			}
			oldPass, err := oldPF.read("Current vault passphrase: ", false)
			if err != nil {
				return err
			}
			defer clear(oldPass)
			// Checked before the new passphrase is asked, so a typo costs
			// one prompt, not three; checked again under the lock.
			k, err := v.Unlock(oldPass)
			if err != nil {
				auditUnlockFailed(a.auditLog(v.Dir()), err)
				return err
			}
			defer k.Wipe()
			newPass, err := newPF.read("New vault passphrase: ", true)
			if err != nil {
				return err
			}
			defer clear(newPass)
			if bytes.Equal(oldPass, newPass) {
				return withHint(errors.New("the new passphrase is the same as the current one"), "choose a different passphrase; nothing was changed")
			}
			old, err := v.KDFParams()
			if err != nil {
				return err
			}
			p := passwdParams(old)
			if err := v.ChangePassphrase(oldPass, newPass, p); err != nil {
				if errors.Is(err, vault.ErrWrongPassphrase) {
					return withHint(errors.New("the passphrase was changed by another process meanwhile"), "run 'envseal passwd' again with the passphrase now in effect")
				}
				return fmt.Errorf("change passphrase: %w", err)
			}
			a.auditLog(v.Dir()).Event(k, audit.PassphraseChanged, map[string]any{"kdf": p.String()})
			a.infof("changed the vault passphrase (%s)", p)
			a.warnWeakPassphrase(newPass)
			return nil
		},
	}
	c.Flags().IntVar(&oldPF.fd, "passphrase-fd", -1, "read the current passphrase from file descriptor `N`")
	c.Flags().IntVar(&newPF.fd, "new-passphrase-fd", -1, "read the new passphrase from file descriptor `N`")
	return c
}
