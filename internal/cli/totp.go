package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/term"
	"github.com/envseal/envseal/internal/totp"
	"github.com/envseal/envseal/internal/vault"
)

// codeFlag is --code-fd: -1 means "ask on the terminal".
type codeFlag struct{ fd int }

// read returns a one-time code from fd N (read to EOF) or the terminal.
func (f *codeFlag) read(t *term.TTY) (string, error) {
	if f.fd >= 0 {
		b, err := term.ReadFD(f.fd, 64)
		switch {
		case errors.Is(err, term.ErrBadFD):
			return "", fmt.Errorf("--code-fd %d is not an open file descriptor", f.fd)
		case err != nil:
			return "", fmt.Errorf("read code from fd %d: %w", f.fd, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if t == nil {
		var err error
		if t, err = term.Open(); err != nil {
			return "", err
		}
		defer t.Close()
	}
	b, err := t.ReadHidden(totpPrompt)
	return strings.TrimSpace(string(b)), err
}

// totpPrompt ends with the same words as the approval's TOTP prompt.
const totpPrompt = "Code from your authenticator app, TOTP code: "

func (a *app) totpEnableCmd() *cobra.Command {
	var (
		pf passphraseFlag
		cf codeFlag
	)
	c := &cobra.Command{
		Use:  "enable",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return a.totpEnable(&pf, &cf) },
	}
	c.Flags().IntVar(&pf.fd, "passphrase-fd", -1, "read the vault passphrase from file descriptor `N`")
	c.Flags().IntVar(&cf.fd, "code-fd", -1, "read the confirming code from file descriptor `N` instead of the terminal")
	return c
}

func (a *app) totpEnable(pf *passphraseFlag, cf *codeFlag) error {
	// The terminal first: without one there is nowhere to show the seed,
	// so there is no point asking for the passphrase.
	t, err := term.Open()
	if err != nil {
		return withHint(err, "the seed is shown only on a terminal: run 'envseal totp enable' in an interactive terminal")
	}
	defer t.Close()
	return pf.withKey(func(v *vault.Vault, k seal.Key) error {
		on, err := totpState(a, v, k)
		if err != nil {
			return err
		}
		if on {
			return withHint(totp.ErrEnabled, "to enrol a new device: 'envseal totp disable' (needs a current code), then enable again")
		}
		e, err := totp.NewEnrolment(totp.Account())
		if err != nil {
			return err
		}
		defer e.Wipe()
		t.Printf("%s", e.Screen())
		st := totp.NewStore(v.Dir(), k)
		defer st.Wipe()
		attempts := 3
		if cf.fd >= 0 {
			attempts = 1
		}
		err = e.Enable(st, attempts, func() (string, error) { return cf.read(t) },
			func() { t.Printf("That code does not match; type the code the app shows now.\n") },
			func() error { return setTOTPFlag(v, k, true) })
		var ne *totp.NotEnrolledError
		var fe *totp.FlagError
		switch {
		case errors.As(err, &ne):
			return withHint(err, "check that the phone's clock is right, then run 'envseal totp enable' again")
		case errors.As(err, &fe):
			// totp.seal exists, so TOTP is already on (totp.Active); say what failed.
			return withHint(fmt.Errorf("TOTP is on (totp.seal written) but the policy flag could not be set: %w", fe.Err), "run 'envseal totp status --verify'")
		case err != nil:
			return err
		}
		// The seed is on the screen and in the scrollback: wipe both.
		t.Printf("\x1b[2J\x1b[3J\x1b[H")
		a.auditLog(v.Dir()).Event(k, audit.TOTPEnabled, map[string]any{"algorithm": "SHA1", "digits": totp.Digits, "period": int(totp.Period.Seconds())})
		a.infof("TOTP is on: every approval now also asks for a code from your authenticator app (rules you already saved still run without one)")
		return nil
	})
}

func (a *app) totpDisableCmd() *cobra.Command {
	var cf codeFlag
	c := keyed("disable", cobra.NoArgs, func(_ []string, v *vault.Vault, k seal.Key) error {
		on, err := totpState(a, v, k)
		if err != nil {
			return err
		}
		if !on {
			return withHint(totp.ErrNotEnabled, "nothing to disable; 'envseal totp enable' turns it on")
		}
		st := totp.NewStore(v.Dir(), k)
		defer st.Wipe()
		code, err := cf.read(nil)
		if err != nil {
			return err
		}
		if err := st.Verify(code, time.Now()); err != nil {
			a.auditLog(v.Dir()).Event(k, audit.TOTPFailed, map[string]any{"reason": totp.Reason(err), "during": "disable"})
			return withHint(fmt.Errorf("TOTP not disabled: %w", err), launch.TOTPHint(err))
		}
		if err := totpOff(v, k, st); err != nil {
			return err
		}
		a.auditLog(v.Dir()).Event(k, audit.TOTPDisabled, map[string]any{"via": "code"})
		a.infof("TOTP is off: approvals no longer ask for a code")
		return nil
	})
	c.Flags().IntVar(&cf.fd, "code-fd", -1, "read the code from file descriptor `N` instead of the terminal")
	return c
}

func (a *app) totpResetCmd() *cobra.Command {
	return keyed("reset", cobra.NoArgs, func(_ []string, v *vault.Vault, k seal.Key) error {
		if err := confirmReset("Type RESET to turn TOTP off without a code: ", "TOTP not reset"); err != nil {
			return err
		}
		st := totp.NewStore(v.Dir(), k)
		defer st.Wipe()
		if err := totpOff(v, k, st); err != nil {
			return err
		}
		a.auditLog(v.Dir()).Event(k, audit.TOTPDisabled, map[string]any{"via": "reset"})
		a.infof("TOTP is off; 'envseal totp enable' turns it on again with a new seed")
		return nil
	})
}

// totpOff turns TOTP off (totp.Store.Off: the policy flag first).
func totpOff(v *vault.Vault, k seal.Key, st *totp.Store) error {
	err := st.Off(func() error { return setTOTPFlag(v, k, false) })
	var fe *totp.FlagError
	if errors.As(err, &fe) {
		return withHint(fe.Err, "restore policy.seal, or 'envseal policy reset' first")
	}
	return err
}

// setTOTPFlag sets the sealed policy's TOTP flag to on.
func setTOTPFlag(v *vault.Vault, k seal.Key, on bool) error {
	_, err := policy.NewStore(v.Dir(), k).Update(func(p *policy.Policy) error { p.TOTP = on; return nil })
	return err
}

func (a *app) totpStatusCmd() *cobra.Command {
	var (
		pf     passphraseFlag
		verify bool
	)
	c := &cobra.Command{
		Use:  "status",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if !verify {
				v, err := openVault()
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, totp.PresenceReport(v.Dir()))
				return nil
			}
			return pf.withKey(func(v *vault.Vault, k seal.Key) error {
				on, err := totpState(a, v, k)
				if err != nil {
					return err
				}
				if !on {
					fmt.Fprintln(a.stdout, totp.OffReport)
					return nil
				}
				st := totp.NewStore(v.Dir(), k)
				defer st.Wipe()
				s, err := st.Status(time.Now())
				if err != nil {
					a.auditLog(v.Dir()).Event(k, audit.TOTPFailed, map[string]any{"reason": totp.Reason(err), "during": "status"})
					return withHint(err, launch.TOTPHint(err))
				}
				fmt.Fprintln(a.stdout, s.Report())
				return nil
			})
		},
	}
	c.Flags().BoolVar(&verify, "verify", false, "unlock and check the sealed flag and totp.seal")
	c.Flags().IntVar(&pf.fd, "passphrase-fd", -1, "read the vault passphrase from file descriptor `N` (with --verify)")
	return c
}

// totpState loads the sealed policy and says whether TOTP is on (the flag,
// or totp.seal being there).
func totpState(a *app, v *vault.Vault, k seal.Key) (bool, error) {
	p, err := a.loadPolicy(v, k)
	if err != nil {
		return false, err
	}
	return totp.Active(v.Dir(), p.TOTP), nil
}
