// Package vault is envseal's on-disk store: the wrapped master key and one
// sealed file per secret, in a private directory, written atomically under
// a cross-process lock. It never returns a value except to a caller holding
// the master key, and it has no way to print one.
package vault

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/detect"
	"github.com/envseal/envseal/internal/safefile"
	"github.com/envseal/envseal/internal/seal"
)

// File and directory names inside the vault directory.
const (
	MasterKeyFile = "master.key"
	SecretsDir    = "secrets"
	secretExt     = ".seal"
)

// Errors callers match with errors.Is.
var (
	ErrNotInitialized  = errors.New("no vault here")
	ErrExists          = errors.New("already exists")
	ErrNotFound        = errors.New("no such secret")
	ErrWrongPassphrase = errors.New("wrong passphrase")
	ErrEmptyValue      = errors.New("empty value")
)

// CorruptError says a vault file failed to parse or authenticate. Nothing
// was changed when it is returned.
type CorruptError struct {
	Path string
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("%s is corrupt or was tampered with (%v); nothing was changed", e.Path, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// Home returns the vault directory: $ENVSEAL_HOME, else
// $XDG_CONFIG_HOME/envseal, else ~/.config/envseal.
//
// In a test binary (and the envseal processes tests start, which are the
// test binary re-executed) only $ENVSEAL_HOME counts: a test that forgot
// to set it gets an error instead of the developer's real vault.
func Home() (string, error) {
	if h := os.Getenv("ENVSEAL_HOME"); h != "" {
		return filepath.Abs(h)
	}
	if inTestBinary {
		return "", errors.New("ENVSEAL_HOME is not set in a test binary: tests must never use the real vault (set it to a temporary directory)")
	}
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "envseal"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find vault directory: %w (set ENVSEAL_HOME)", err)
	}
	return filepath.Join(home, ".config", "envseal"), nil
}

// inTestBinary is testing.Testing(); TestHome turns it off to test the
// fallbacks.
var inTestBinary = testing.Testing()

// Vault is an opened vault directory. Opening needs no key: names and
// metadata are readable, values are not.
type Vault struct {
	dir string
}

// Open opens an existing vault after checking its directory is safe.
func Open(dir string) (*Vault, error) {
	if err := safefile.CheckDir(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist", ErrNotInitialized, dir)
		}
		return nil, err
	}
	v := &Vault{dir: dir}
	if _, err := os.Lstat(v.path(MasterKeyFile)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s has no %s", ErrNotInitialized, dir, MasterKeyFile)
		}
		return nil, err
	}
	if err := safefile.CheckDir(v.path(SecretsDir)); err != nil {
		return nil, err
	}
	return v, nil
}

// InitHook writes a file a new vault needs (e.g. the empty sealed policy).
// It runs under the vault lock before master.key exists; master.key is
// written last, so an interrupted Create leaves no vault.
type InitHook func(dir string, master seal.Key) error

// Create makes a new vault in dir: a fresh random master key wrapped with
// Argon2id(passphrase). Concurrent Creates in the same dir produce exactly
// one master key; the others get ErrExists.
func Create(dir string, passphrase []byte, p seal.KDFParams, hooks ...InitHook) (*Vault, seal.Key, error) {
	if len(passphrase) == 0 {
		return nil, seal.Key{}, errors.New("empty passphrase")
	}
	if err := safefile.MkdirPrivate(dir); err != nil {
		return nil, seal.Key{}, err
	}
	v := &Vault{dir: dir}
	if err := safefile.MkdirPrivate(v.path(SecretsDir)); err != nil {
		return nil, seal.Key{}, err
	}
	lk, err := safefile.LockDir(dir)
	if err != nil {
		return nil, seal.Key{}, err
	}
	defer lk.Unlock()
	if _, err := os.Lstat(v.path(MasterKeyFile)); err == nil {
		return nil, seal.Key{}, fmt.Errorf("vault in %s: %w", dir, ErrExists)
	}
	master := seal.NewKey()
	salt := make([]byte, seal.SaltSize)
	rand.Read(salt)
	kek, err := seal.PassphraseKey(passphrase, salt, p)
	if err != nil {
		return nil, seal.Key{}, err
	}
	defer kek.Wipe()
	for _, h := range hooks {
		if err := h(dir, master); err != nil {
			return nil, seal.Key{}, fmt.Errorf("initialise vault: %w", err)
		}
	}
	hdr := masterHeader(p, salt)
	nonce, wrapped := seal.WrapKey(kek, master, hdr)
	if err := safefile.CreateExclusive(dir, MasterKeyFile, encodeMaster(p, salt, nonce, wrapped)); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, seal.Key{}, fmt.Errorf("vault in %s: %w", dir, ErrExists)
		}
		return nil, seal.Key{}, fmt.Errorf("write master key: %w", err)
	}
	return v, master, nil
}

// Dir is the vault directory.
func (v *Vault) Dir() string { return v.dir }

func (v *Vault) path(elem ...string) string {
	return filepath.Join(append([]string{v.dir}, elem...)...)
}

// KDFParams reports the Argon2id parameters of the master key file.
func (v *Vault) KDFParams() (seal.KDFParams, error) {
	m, err := v.readMaster()
	if err != nil {
		return seal.KDFParams{}, err
	}
	return m.params, nil
}

func (v *Vault) readMaster() (*masterFile, error) {
	p := v.path(MasterKeyFile)
	b, err := readVaultFile(p, 4096, func() error { return fmt.Errorf("%w: %s is missing", ErrNotInitialized, p) })
	if err != nil {
		return nil, err
	}
	m, err := parseMaster(b)
	if err != nil {
		return nil, &CorruptError{p, err}
	}
	return m, nil
}

// Unlock derives the key-encryption key from the passphrase and unwraps the
// master key. A wrong passphrase and a tampered file are indistinguishable
// by design (both fail authentication); the error says both.
func (v *Vault) Unlock(passphrase []byte) (seal.Key, error) {
	m, err := v.readMaster()
	if err != nil {
		return seal.Key{}, err
	}
	kek, err := seal.PassphraseKey(passphrase, m.salt, m.params)
	if err != nil {
		return seal.Key{}, &CorruptError{v.path(MasterKeyFile), err}
	}
	defer kek.Wipe()
	k, err := seal.UnwrapKey(kek, m.nonce, m.wrapped, m.header)
	if err != nil {
		return seal.Key{}, ErrWrongPassphrase
	}
	return k, nil
}

// Lock takes the vault's cross-process write lock. Other packages that keep
// files in the vault directory (policy, audit) use it too.
func (v *Vault) Lock() (*safefile.Lock, error) { return safefile.LockDir(v.dir) }

func (v *Vault) secretPath(name string) string {
	return v.path(SecretsDir, name+secretExt)
}

// Entry is one secret in a listing. Err is set (and Meta holds only the
// name) when the file could not be parsed.
type Entry struct {
	Meta
	Err error
}

// List returns every secret's metadata, sorted by name, without a key.
// Metadata read this way is authenticated only when the value is next
// decrypted; a file that does not parse is listed with Err set rather than
// hidden.
func (v *Vault) List() ([]Entry, error) {
	dir := v.path(SecretsDir)
	st, stamped := secretsStamp(dir)
	if stamped {
		if out, ok := v.readListCache(st); ok {
			return out, nil
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		fn := e.Name()
		if strings.HasPrefix(fn, ".") || !strings.HasSuffix(fn, secretExt) {
			continue
		}
		if name := strings.TrimSuffix(fn, secretExt); ValidName(name) == nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	// Only each header is read (a few dozen bytes, not the value), by a
	// few workers: listing 10,000 secrets is dominated by open(2).
	out := make([]Entry, len(names))
	hdrs := make([][]byte, len(names))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < min(8, len(names)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				m, hdr, err := v.statHeader(names[i])
				if err != nil {
					out[i] = Entry{Meta: Meta{Name: names[i]}, Err: err}
					continue
				}
				out[i], hdrs[i] = Entry{Meta: m}, hdr
			}
		}()
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()
	if stamped {
		v.writeListCache(st, out, hdrs, listNow())
	}
	return out, nil
}

// readVaultFile reads one of the vault's files (at most max bytes) with
// safefile's checks: a missing file is missing()'s error, an oversized one
// a *CorruptError.
func readVaultFile(p string, max int64, missing func() error) ([]byte, error) {
	b, err := safefile.ReadFile(p, max)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, missing()
	case errors.Is(err, safefile.ErrTooLarge):
		return nil, &CorruptError{p, err}
	case err != nil:
		return nil, err
	}
	return b, nil
}

func (v *Vault) readSecretFile(name string) (*secretFile, error) {
	p := v.secretPath(name)
	b, err := readVaultFile(p, maxSecretFile, func() error { return fmt.Errorf("%w: %q", ErrNotFound, name) })
	if err != nil {
		return nil, err
	}
	sf, err := parseSecret(b)
	if err != nil {
		return nil, &CorruptError{p, err}
	}
	if sf.meta.Name != name {
		// A sealed file copied to another name's path. The AAD check would
		// catch it too; this gives the clearer message.
		return nil, &CorruptError{p, fmt.Errorf("file holds secret %q, not %q", sf.meta.Name, name)}
	}
	return sf, nil
}

// Stat returns one secret's metadata without a key (like one List entry):
// ErrNotFound if there is no such secret, a *CorruptError if its file does
// not parse.
func (v *Vault) Stat(name string) (Meta, error) {
	m, _, err := v.statHeader(name)
	return m, err
}

// statHeader is Stat, also returning the header's bytes.
func (v *Vault) statHeader(name string) (Meta, []byte, error) {
	if err := ValidName(name); err != nil {
		return Meta{}, nil, err
	}
	p := v.secretPath(name)
	f, err := safefile.OpenFile(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Meta{}, nil, fmt.Errorf("%w: %q", ErrNotFound, name)
		}
		return Meta{}, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Meta{}, nil, err
	}
	if st.Size() > maxSecretFile {
		return Meta{}, nil, &CorruptError{p, fmt.Errorf("%w (over %d bytes)", safefile.ErrTooLarge, maxSecretFile)}
	}
	b := make([]byte, min(st.Size(), secretHeaderMax))
	if _, err := io.ReadFull(f, b); err != nil {
		return Meta{}, nil, &CorruptError{p, err}
	}
	m, hl, err := parseSecretHeader(b, st.Size())
	if err != nil {
		return Meta{}, nil, &CorruptError{p, err}
	}
	if m.Name != name {
		return Meta{}, nil, &CorruptError{p, fmt.Errorf("file holds secret %q, not %q", m.Name, name)}
	}
	return m, b[:hl], nil
}

// Get decrypts a secret. The caller owns the returned slice and should
// clear it after use.
func (v *Vault) Get(master seal.Key, name string) ([]byte, Meta, error) {
	if err := ValidName(name); err != nil {
		return nil, Meta{}, err
	}
	sf, err := v.readSecretFile(name)
	if err != nil {
		return nil, Meta{}, err
	}
	k := master.Subkey(seal.DomainSecret)
	defer k.Wipe()
	val, err := seal.Open(k, sf.nonce, sf.ciphertext, sf.header)
	if err != nil {
		return nil, Meta{}, &CorruptError{v.secretPath(name), err}
	}
	return val, sf.meta, nil
}

// StoreOptions changes how Store treats an existing secret.
type StoreOptions struct {
	Force bool // overwrite an existing secret
	// RotateDays sets the rotation period (see Meta.RotateDays); 0 keeps
	// an overwritten secret's period, and means the default for a new one.
	RotateDays uint32
	// Now is the clock (nil: time.Now); tests use it to make old secrets.
	Now func() time.Time
}

// Store seals value under name. Without Force an existing name is
// ErrExists. With Force the old file must still authenticate (its created
// time and generation carry over), so a tampered file is never silently
// replaced; revoke it first.
func (v *Vault) Store(master seal.Key, name string, value []byte, o StoreOptions) (Meta, error) {
	if err := ValidName(name); err != nil {
		return Meta{}, err
	}
	if len(value) == 0 {
		return Meta{}, ErrEmptyValue
	}
	if len(value) > MaxValueLen {
		return Meta{}, fmt.Errorf("value of %q is %d bytes (max %d)", name, len(value), MaxValueLen)
	}
	lk, err := v.lockFor(master)
	if err != nil {
		return Meta{}, err
	}
	defer lk.Unlock()
	safefile.RemoveStaleTemps(v.path(SecretsDir))

	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	t := now().UTC()
	meta := Meta{
		Name: name, Created: t, Updated: t, Generation: 1, Len: len(value), Format: secretV2,
		RotateDays: o.RotateDays, Provider: detect.Provider(value), Weak: detect.Weakness(value) != "",
	}
	old, oldMeta, err := v.Get(master, name)
	switch {
	case err == nil:
		clear(old)
		if !o.Force {
			return Meta{}, fmt.Errorf("secret %q: %w", name, ErrExists)
		}
		meta.Created = oldMeta.Created
		meta.Generation = oldMeta.Generation + 1
		if o.RotateDays == 0 {
			meta.RotateDays = oldMeta.RotateDays
		}
	case errors.Is(err, ErrNotFound):
	default:
		return Meta{}, err
	}
	if err := v.write(master, meta, value); err != nil {
		return Meta{}, fmt.Errorf("store %q: %w", name, err)
	}
	return meta, nil
}

// write seals value under meta's header and replaces the secret's file.
// The caller holds the vault lock.
func (v *Vault) write(master seal.Key, meta Meta, value []byte) error {
	hdr := secretHeader(meta)
	k := master.Subkey(seal.DomainSecret)
	defer k.Wipe()
	nonce, ct := seal.Seal(k, value, hdr)
	return safefile.WriteAtomic(v.path(SecretsDir), meta.Name+secretExt, encodeSecret(hdr, nonce, ct))
}

// SetRotation changes a secret's rotation period (days; 0 = default,
// RotateNever = off) without changing its value, created/updated times or
// generation. The file is rewritten in format version 2 (a version 1 file
// gets its provider guess and weakness flag computed on the way).
func (v *Vault) SetRotation(master seal.Key, name string, days uint32) (Meta, error) {
	if err := ValidName(name); err != nil {
		return Meta{}, err
	}
	lk, err := v.lockFor(master)
	if err != nil {
		return Meta{}, err
	}
	defer lk.Unlock()
	val, meta, err := v.Get(master, name)
	if err != nil {
		return Meta{}, err
	}
	defer clear(val)
	if meta.Format == formatV1 {
		meta.Provider, meta.Weak = detect.Provider(val), detect.Weakness(val) != ""
	}
	meta.Format, meta.RotateDays = secretV2, days
	if err := v.write(master, meta, val); err != nil {
		return Meta{}, fmt.Errorf("set rotation of %q: %w", name, err)
	}
	return meta, nil
}

// Revoke deletes a secret. It needs the master key so that only someone who
// can unlock the vault can destroy its contents through envseal.
func (v *Vault) Revoke(master seal.Key, name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	lk, err := v.lockFor(master)
	if err != nil {
		return err
	}
	defer lk.Unlock()
	if err := safefile.Remove(v.path(SecretsDir), name+secretExt); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %q", ErrNotFound, name)
		}
		return fmt.Errorf("revoke %q: %w", name, err)
	}
	return nil
}

// lockFor takes the vault lock for a change made with master, after
// checkMaster.
func (v *Vault) lockFor(master seal.Key) (*safefile.Lock, error) {
	if err := v.checkMaster(master); err != nil {
		return nil, err
	}
	return v.Lock()
}

// checkMaster refuses a zero key early; a wrong key is caught by
// authentication when the file is read.
func (v *Vault) checkMaster(master seal.Key) error {
	if !master.Valid() {
		return errors.New("vault is locked")
	}
	return nil
}

// Names is the set of the names of the stored secrets (any that List
// lists, readable or not): the names an import must not take.
func (v *Vault) Names() (map[string]bool, error) {
	ents, err := v.List()
	if err != nil {
		return nil, err
	}
	taken := make(map[string]bool, len(ents))
	for _, e := range ents {
		taken[e.Name] = true
	}
	return taken, nil
}

// Has reports whether a secret named name is stored; a vault that cannot
// be listed says no (the store that follows reports ErrExists itself).
func (v *Vault) Has(name string) bool {
	taken, err := v.Names()
	return err == nil && taken[name]
}
