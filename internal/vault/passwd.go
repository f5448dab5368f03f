package vault

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/envseal/envseal/internal/safefile"
	"github.com/envseal/envseal/internal/seal"
)

// ChangePassphrase re-wraps the master key under newPass with fresh salt
// and parameters p. The master key itself does not change, so every
// secret, the policy, the audit key and a running broker stay valid; only
// master.key is rewritten, atomically (temp file, fsync, rename), under
// the vault lock, so a concurrent change or a crash leaves either the old
// or the new passphrase working, never neither. oldPass must unlock the
// file as it is under the lock (ErrWrongPassphrase otherwise): a change
// made by someone else in between is not silently overwritten.
func (v *Vault) ChangePassphrase(oldPass, newPass []byte, p seal.KDFParams) error {
	if len(newPass) == 0 {
		return errors.New("empty passphrase")
	}
	if err := p.Check(); err != nil {
		return err
	}
	lk, err := v.Lock()
	if err != nil {
		return err
	}
	defer lk.Unlock()
	master, err := v.Unlock(oldPass)
	if err != nil {
		return err
	}
	defer master.Wipe()
	salt := make([]byte, seal.SaltSize)
	rand.Read(salt)
	kek, err := seal.PassphraseKey(newPass, salt, p)
	if err != nil {
		return err
	}
	defer kek.Wipe()
	nonce, wrapped := seal.WrapKey(kek, master, masterHeader(p, salt))
	if err := safefile.WriteAtomic(v.dir, MasterKeyFile, encodeMaster(p, salt, nonce, wrapped)); err != nil {
		return fmt.Errorf("write %s: %w", MasterKeyFile, err)
	}
	return nil
}

// RewrapParams is the Argon2id cost for a master key re-wrapped under a new
// passphrase: def (the current default), or the vault's own old cost where
// that is higher, so a passphrase change never lowers the cost of guessing.
func RewrapParams(def, old seal.KDFParams) seal.KDFParams {
	p := def
	p.Time = max(p.Time, old.Time)
	p.MemoryKiB = max(p.MemoryKiB, old.MemoryKiB)
	p.Threads = max(p.Threads, old.Threads)
	return p
}
