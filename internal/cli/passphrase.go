package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/term"
	"github.com/envseal/envseal/internal/vault"
)

// maxPassphrase bounds what is read from --passphrase-fd.
const maxPassphrase = 4096

// passphraseFlag is the shared --passphrase-fd flag: -1 means "ask on the
// terminal".
type passphraseFlag struct{ fd int }

// read returns the passphrase from fd N (read once to EOF, one trailing
// newline dropped) or from /dev/tty (asked twice when confirm is set).
func (p *passphraseFlag) read(prompt string, confirm bool) ([]byte, error) {
	if p.fd >= 0 {
		return readPassphraseFD(p.fd)
	}
	t, err := term.Open()
	if err != nil {
		return nil, err
	}
	defer t.Close()
	pass, err := t.ReadHidden(prompt)
	if err != nil {
		return nil, err
	}
	if len(pass) == 0 {
		return nil, withHint(errors.New("empty passphrase"), "type a passphrase; a long phrase of several words is best")
	}
	if confirm {
		again, err := t.ReadHidden("Repeat passphrase: ")
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(pass, again) {
			return nil, withHint(errors.New("passphrases do not match"), "run the command again and type the same passphrase twice")
		}
	}
	return pass, nil
}

func readPassphraseFD(fd int) ([]byte, error) {
	b, err := term.ReadFD(fd, maxPassphrase+1)
	switch {
	case errors.Is(err, term.ErrBadFD):
		return nil, fmt.Errorf("--passphrase-fd %d is not an open file descriptor", fd)
	case err != nil:
		return nil, withHint(fmt.Errorf("read passphrase from fd %d: %w", fd, err), "open the descriptor for reading, e.g. 'envseal init --passphrase-fd 3 3<passfile'")
	case len(b) > maxPassphrase:
		return nil, fmt.Errorf("passphrase on fd %d is over %d bytes", fd, maxPassphrase)
	}
	b = dropNewline(b)
	if len(b) == 0 {
		return nil, withHint(fmt.Errorf("empty passphrase on fd %d", fd), "write the passphrase to the descriptor")
	}
	return b, nil
}

// dropNewline removes one trailing "\n" or "\r\n".
func dropNewline(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return b
}

// unlock opens the vault and unwraps the master key.
func (p *passphraseFlag) unlock() (*vault.Vault, seal.Key, error) {
	v, err := openVault()
	if err != nil {
		return nil, seal.Key{}, err
	}
	k, err := unlockVault(v, os.Stderr, p.ask("Vault passphrase: "))
	if err != nil {
		return nil, seal.Key{}, err
	}
	return v, k, nil
}

// ask is read(prompt) as the question unlockVault asks.
func (p *passphraseFlag) ask(prompt string) func() ([]byte, error) {
	return func() ([]byte, error) { return p.read(prompt, false) }
}

// unlockVault is the one unlock of the commands, the broker and the
// direct paths: it asks the passphrase, unwraps v's key, wipes the
// passphrase and records a wrong one in the audit log (warnings on w).
func unlockVault(v *vault.Vault, w io.Writer, ask func() ([]byte, error)) (seal.Key, error) {
	pass, err := ask()
	if err != nil {
		return seal.Key{}, err
	}
	defer clear(pass)
	k, err := v.Unlock(pass)
	auditUnlockFailed(newAuditLog(v.Dir(), w), err)
	return k, err
}

// withKey is the preamble of every command that needs the master key:
// it unlocks the vault, runs fn, and wipes the key however fn returns.
func (p *passphraseFlag) withKey(fn func(v *vault.Vault, k seal.Key) error) error {
	v, k, err := p.unlock()
	if err != nil {
		return err
	}
	defer k.Wipe()
	return fn(v, k)
}

// keyed is a command that needs the master key, with its --passphrase-fd:
// run gets the unlocked vault, and the key is wiped however it returns.
// What must be refused before the passphrase is asked goes in PreRunE.
func keyed(use string, args cobra.PositionalArgs, run func(args []string, v *vault.Vault, k seal.Key) error) *cobra.Command {
	var pf passphraseFlag
	c := &cobra.Command{Use: use, Args: args, RunE: func(_ *cobra.Command, args []string) error {
		return pf.withKey(func(v *vault.Vault, k seal.Key) error { return run(args, v, k) })
	}}
	c.Flags().IntVar(&pf.fd, "passphrase-fd", -1, "read the vault passphrase from file descriptor `N`")
	return c
}
