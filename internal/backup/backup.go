package backup

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/totp"
	"github.com/envseal/envseal/internal/vault"
)

// The vault files an archive carries besides master.key and secrets/ (the
// audit files are read under the audit lock). The list cache and lock
// files are rebuilt; they are not data.
var (
	vaultFiles   = []string{policy.FileName, totp.FileName}
	auditFiles   = []string{audit.HeadFile, audit.LogFile}
	restoreFiles = append(append([]string{}, vaultFiles...), auditFiles...)
)

// Write writes the archive of v to the file out (an absolute path). It
// does not replace a file that exists, unless force.
func Write(v *vault.Vault, k seal.Key, out string, force bool) (vault.BackupInfo, error) {
	tmp, err := os.CreateTemp(filepath.Dir(out), ".envseal-backup-*")
	if err != nil {
		return vault.BackupInfo{}, fmt.Errorf("create backup: %w", err)
	}
	defer os.Remove(tmp.Name())
	info, err := v.Backup(tmp, k, vaultFiles, func(add vault.BackupAdd) error {
		return audit.Snapshot(v.Dir(), func() error {
			for _, name := range auditFiles {
				// Not there yet (no record written): nothing to carry.
				if err := add.File(name, filepath.Join(v.Dir(), name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
			return nil
		})
	})
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return info, fmt.Errorf("write backup: %w", err)
	}
	if force {
		err = os.Rename(tmp.Name(), out)
	} else {
		err = os.Link(tmp.Name(), out) // fails rather than replace a file created meanwhile
	}
	if err != nil {
		return info, fmt.Errorf("write backup: %w", err)
	}
	return info, nil
}

// OpenError is an archive that does not open with the passphrase given
// for a reason other than the passphrase (vault.ErrWrongPassphrase).
type OpenError struct{ Err error }

func (e *OpenError) Error() string { return e.Err.Error() }
func (e *OpenError) Unwrap() error { return e.Err }

// Restore decrypts and checks the archive r completely into a new
// directory, then moves it into place as the vault in dir (the vault that
// was there is kept aside with force; its path is aside), then opens and
// unlocks the result as any later command will: a restore that does not
// open is reported now, not at the next run. The caller wipes k.
func Restore(dir string, r io.Reader, pass []byte, force bool) (info vault.BackupInfo, aside string, v *vault.Vault, k seal.Key, err error) {
	b, err := vault.OpenBackup(r, pass)
	if err != nil {
		if !errors.Is(err, vault.ErrWrongPassphrase) {
			err = &OpenError{err}
		}
		return info, "", nil, k, err
	}
	defer b.Close()
	info, aside, err = b.Restore(dir, restoreFiles, force)
	switch {
	case errors.Is(err, vault.ErrBackupCorrupt), errors.Is(err, vault.ErrExists):
		return info, aside, nil, k, err
	case err != nil:
		return info, aside, nil, k, fmt.Errorf("restore: %w", err)
	}
	if v, err = vault.Open(dir); err != nil {
		return info, aside, nil, k, fmt.Errorf("open restored vault: %w", err)
	}
	if k, err = v.Unlock(pass); err != nil {
		return info, aside, nil, k, fmt.Errorf("unlock restored vault: %w", err)
	}
	return info, aside, v, k, nil
}
