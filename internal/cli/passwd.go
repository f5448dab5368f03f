package cli

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/vault"
)

// warnWeakPassphrase prints the warning and hint for a weak passphrase.
// It warns rather than refuses: the human may have reasons (a throw-away
// vault), and a refusal would only teach them to pad "abc" with "1234".
func (a *app) warnWeakPassphrase(pass []byte) {
	w := vault.PassphraseWeakness(pass)
	if w == "" {
		return
	}
	a.warnf("this passphrase %s: anyone who copies the vault files can try guesses offline", w)
	a.hintf("a phrase of four or more random words is strong and easy to type; change it any time with 'envseal passwd'")
}

func (a *app) passwdCmd() *cobra.Command {
	var oldPF, newPF passphraseFlag
	c := &cobra.Command{
		Use:  "passwd",
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
			p := vault.RewrapParams(kdfParams, old)
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
