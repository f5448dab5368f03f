package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
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
		file := os.NewFile(uintptr(f.fd), fmt.Sprintf("fd %d", f.fd))
		if file == nil {
			return "", fmt.Errorf("--code-fd %d is not an open file descriptor", f.fd)
		}
		defer file.Close()
		b, err := io.ReadAll(io.LimitReader(file, 64))
		if err != nil {
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

func (a *app) totpCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "totp",
		Short: "Require a code from an authenticator app for every approval",
		Long: `A second factor for approvals: with TOTP on, every time envseal asks you to
approve a program (on the terminal, in pinentry or a dialog, in direct mode,
at the broker, and for 'envseal request'), it also asks for the 6-digit
code your authenticator app shows, on the same channel, after you approve
and before anything is decrypted or a rule is saved. Each code works once;
after 5 wrong codes in a row approvals are locked for 30s, doubling per
further failure up to 15 minutes, across processes and restarts.

TOTP gates approvals, not every run: a program you already allowed always
(a rule) runs without a code. Revoke rules ('envseal policy revoke') if you
want them approved again under TOTP.

The seed lives in totp.seal in the vault, sealed under the vault key; the
"TOTP on" flag is sealed in the policy. Deleting or damaging totp.seal does
not turn TOTP off: approvals are denied until it is restored, or until
'envseal totp reset' (passphrase and a typed RESET) turns TOTP off.`,
	}
	c.AddCommand(a.totpEnableCmd(), a.totpDisableCmd(), a.totpResetCmd(), a.totpStatusCmd())
	return c
}

func (a *app) totpEnableCmd() *cobra.Command {
	var (
		pf passphraseFlag
		cf codeFlag
	)
	c := &cobra.Command{
		Use:   "enable",
		Short: "Turn TOTP on: scan a QR code, then type the code it shows",
		Long: `Turn on the TOTP second factor. envseal shows an otpauth:// URI and a QR code
on your terminal (/dev/tty only, never stdout, stderr or the audit log):
scan it with an authenticator app (or type the secret in by hand), then type
the code the app shows to confirm. Only then is the seed stored (sealed, in
totp.seal) and TOTP turned on in the sealed policy. The screen is cleared
afterwards. Needs the passphrase and a terminal.`,
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
		seed := totp.NewSeed()
		defer clear(seed)
		uri := totp.URI(totp.Account(), seed)
		qr, err := totp.QR(uri)
		if err != nil {
			return err
		}
		t.Printf("\nScan this with your authenticator app (Aegis, Google Authenticator, 1Password, …):\n\n%s\n%s\n\n", qr, uri)
		t.Printf("Or type the secret in by hand: %s\n(SHA1, 6 digits, 30 seconds)\n\n", totp.Grouped(seed))
		st := totp.NewStore(v.Dir(), k)
		defer st.Wipe()
		attempts := 3
		if cf.fd >= 0 {
			attempts = 1
		}
		for i := 1; ; i++ {
			code, err := cf.read(t)
			if err != nil {
				return err
			}
			err = st.Enroll(seed, code, time.Now())
			if err == nil {
				break
			}
			if !errors.Is(err, totp.ErrBadCode) || i == attempts {
				return withHint(fmt.Errorf("TOTP not enabled: %w", err), "check that the phone's clock is right, then run 'envseal totp enable' again")
			}
			t.Printf("That code does not match; type the code the app shows now.\n")
		}
		if _, err := policy.NewStore(v.Dir(), k).Update(func(p *policy.Policy) error { p.TOTP = true; return nil }); err != nil {
			// totp.seal exists, so TOTP is already on (totp.Active); say what failed.
			return withHint(fmt.Errorf("TOTP is on (totp.seal written) but the policy flag could not be set: %w", err), "run 'envseal totp status --verify'")
		}
		// The seed is on the screen and in the scrollback: wipe both.
		t.Printf("\x1b[2J\x1b[3J\x1b[H")
		a.auditLog(v.Dir()).Event(k, audit.TOTPEnabled, map[string]any{"algorithm": "SHA1", "digits": totp.Digits, "period": int(totp.Period.Seconds())})
		a.infof("TOTP is on: every approval now also asks for a code from your authenticator app (rules you already saved still run without one)")
		return nil
	})
}

func (a *app) totpDisableCmd() *cobra.Command {
	var (
		pf passphraseFlag
		cf codeFlag
	)
	c := &cobra.Command{
		Use:   "disable",
		Short: "Turn TOTP off (needs the passphrase and a current code)",
		Long: `Turn the TOTP second factor off. Needs the passphrase and a current code from
your authenticator app (typed on the terminal, or read from --code-fd). A
wrong code counts towards the same rate limit as approvals. Lost the device
or totp.seal? 'envseal totp reset'.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return pf.withKey(func(v *vault.Vault, k seal.Key) error {
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
		},
	}
	c.Flags().IntVar(&pf.fd, "passphrase-fd", -1, "read the vault passphrase from file descriptor `N`")
	c.Flags().IntVar(&cf.fd, "code-fd", -1, "read the code from file descriptor `N` instead of the terminal")
	return c
}

func (a *app) totpResetCmd() *cobra.Command {
	var pf passphraseFlag
	c := &cobra.Command{
		Use:   "reset",
		Short: "Turn TOTP off without a code (lost device or damaged totp.seal)",
		Long: `Turn TOTP off when no code can be given: the authenticator is lost, or
totp.seal is missing or damaged (approvals are denied until then). Needs the
passphrase and RESET typed on the terminal — the same bar as
'envseal policy reset' — and is recorded in the audit log. Saved rules are
kept. Enable TOTP again afterwards with a new seed.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return pf.withKey(func(v *vault.Vault, k seal.Key) error {
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
		},
	}
	c.Flags().IntVar(&pf.fd, "passphrase-fd", -1, "read the vault passphrase from file descriptor `N`")
	return c
}

// totpOff clears the policy flag, then removes totp.seal: a crash in
// between leaves the file, which still means on (fail closed).
func totpOff(v *vault.Vault, k seal.Key, st *totp.Store) error {
	if _, err := policy.NewStore(v.Dir(), k).Update(func(p *policy.Policy) error { p.TOTP = false; return nil }); err != nil {
		return withHint(err, "restore policy.seal, or 'envseal policy reset' first")
	}
	return st.Remove()
}

func (a *app) totpStatusCmd() *cobra.Command {
	var (
		pf     passphraseFlag
		verify bool
	)
	c := &cobra.Command{
		Use:   "status",
		Short: "Say whether approvals need a TOTP code",
		Long: `Say whether TOTP is on. Without --verify no key is needed: it looks for
totp.seal only. The authoritative "on" flag is sealed in the policy, so a
vault whose totp.seal was deleted still denies approvals; --verify (asks the
passphrase) checks the flag and that totp.seal authenticates, and shows the
current failure count and lockout.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if !verify {
				v, err := openVault()
				if err != nil {
					return err
				}
				if p, _ := totp.Present(v.Dir()); p {
					fmt.Fprintln(a.stdout, "totp: on (totp.seal is present; --verify checks it with the passphrase)")
				} else {
					fmt.Fprintln(a.stdout, "totp: off as far as the files show (no totp.seal); the flag is sealed in the policy: --verify checks it")
				}
				return nil
			}
			return pf.withKey(func(v *vault.Vault, k seal.Key) error {
				on, err := totpState(a, v, k)
				if err != nil {
					return err
				}
				if !on {
					fmt.Fprintln(a.stdout, "totp: off (policy flag clear, no totp.seal)")
					return nil
				}
				st := totp.NewStore(v.Dir(), k)
				defer st.Wipe()
				s, err := st.Status(time.Now())
				if err != nil {
					a.auditLog(v.Dir()).Event(k, audit.TOTPFailed, map[string]any{"reason": totp.Reason(err), "during": "status"})
					return withHint(err, launch.TOTPHint(err))
				}
				fmt.Fprintf(a.stdout, "totp: on (totp.seal authenticates); %d wrong codes in a row", s.Failures)
				if s.LockedFor > 0 {
					fmt.Fprintf(a.stdout, "; approvals locked for %s", s.LockedFor.Round(time.Second))
				}
				fmt.Fprintln(a.stdout)
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
	p, err := policy.NewStore(v.Dir(), k).Load()
	if errors.Is(err, policy.ErrTampered) {
		a.auditLog(v.Dir()).Event(k, audit.PolicyTampered, map[string]any{"error": err.Error()})
	}
	if err != nil {
		return false, withHint(err, "restore policy.seal from a backup, or 'envseal policy reset' to start with no rules")
	}
	return totp.Active(v.Dir(), p.TOTP), nil
}
