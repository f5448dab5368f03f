package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/envseal/envseal/internal/safefile"
	"github.com/envseal/envseal/internal/seal"
)

// FileName is the policy file inside the vault directory.
const FileName = "policy.seal"

const (
	magic     = "envsealP"
	versionV1 = 1
	maxFile   = 16 << 20
)

// ErrTampered is matched by every *TamperedError.
var ErrTampered = errors.New("policy file tampered")

// TamperedError says the policy file is missing, truncated, edited or not a
// policy file. Nothing is run while it stands.
type TamperedError struct {
	Path   string
	Reason string
}

func (e *TamperedError) Error() string {
	return fmt.Sprintf("policy file %s %s; refusing to use it (nothing was run or changed)", e.Path, e.Reason)
}

// Is makes errors.Is(err, ErrTampered) hold.
func (e *TamperedError) Is(t error) bool { return t == ErrTampered }

// Store reads and writes the sealed policy of one vault directory.
type Store struct {
	dir string
	key seal.Key // the policy subkey
}

// NewStore returns the store for vault directory dir, keyed by the master
// key.
func NewStore(dir string, master seal.Key) *Store {
	return &Store{dir: dir, key: master.Subkey(seal.DomainPolicy)}
}

// Path is the policy file's path.
func (s *Store) Path() string { return filepath.Join(s.dir, FileName) }

func header() []byte { return append([]byte(magic), versionV1) }

// Load reads and authenticates the policy. A missing file is an error: a
// vault gets an empty sealed policy at init, so absence means deletion.
func (s *Store) Load() (*Policy, error) {
	b, err := safefile.ReadFile(s.Path(), maxFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &TamperedError{s.Path(), "is missing (deleted?)"}
		}
		if errors.Is(err, safefile.ErrTooLarge) {
			return nil, &TamperedError{s.Path(), "is too large"}
		}
		return nil, err
	}
	return s.decode(b)
}

func (s *Store) decode(b []byte) (*Policy, error) {
	hl := len(magic) + 1
	if len(b) < hl || string(b[:len(magic)]) != magic {
		return nil, &TamperedError{s.Path(), "is not a policy file"}
	}
	if b[len(magic)] != versionV1 {
		return nil, &TamperedError{s.Path(), fmt.Sprintf("has unknown format version %d (upgrade envseal)", b[len(magic)])}
	}
	if len(b) < hl+seal.NonceSize+seal.TagSize {
		return nil, &TamperedError{s.Path(), "is truncated"}
	}
	pt, err := seal.Open(s.key, b[hl:hl+seal.NonceSize], b[hl+seal.NonceSize:], b[:hl])
	if err != nil {
		return nil, &TamperedError{s.Path(), "does not authenticate (edited, truncated, or from another vault)"}
	}
	var p Policy
	if err := json.Unmarshal(pt, &p); err != nil {
		// Authenticated but unparsable means a bug, not an attacker; still
		// refuse rather than guess.
		return nil, &TamperedError{s.Path(), "holds unreadable rules: " + err.Error()}
	}
	return &p, nil
}

func (s *Store) encode(p *Policy) ([]byte, error) {
	pt, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	hdr := header()
	nonce, ct := seal.Seal(s.key, pt, hdr)
	out := append(hdr, nonce...)
	return append(out, ct...), nil
}

// InitEmpty writes an empty policy for a vault being created. The caller
// holds the vault lock (it runs as a vault.Create hook, before master.key
// exists, so a crash mid-init leaves no vault at all rather than a vault
// without a policy).
func InitEmpty(dir string, master seal.Key) error {
	s := NewStore(dir, master)
	b, err := s.encode(&Policy{Generation: 1})
	if err != nil {
		return err
	}
	return safefile.WriteAtomic(dir, FileName, b)
}

// Reset replaces whatever is there (even a tampered file) with an empty
// policy. The CLI only offers it behind the passphrase.
func (s *Store) Reset() error {
	lk, err := safefile.LockDir(s.dir)
	if err != nil {
		return err
	}
	defer lk.Unlock()
	b, err := s.encode(&Policy{Generation: 1})
	if err != nil {
		return err
	}
	return safefile.WriteAtomic(s.dir, FileName, b)
}

// Update loads the policy under the vault lock, lets fn change it, and
// writes it back atomically, so concurrent writers lose no update.
func (s *Store) Update(fn func(*Policy) error) (*Policy, error) {
	lk, err := safefile.LockDir(s.dir)
	if err != nil {
		return nil, err
	}
	defer lk.Unlock()
	p, err := s.Load()
	if err != nil {
		return nil, err
	}
	if err := fn(p); err != nil {
		return nil, err
	}
	p.Generation++
	b, err := s.encode(p)
	if err != nil {
		return nil, err
	}
	if err := safefile.WriteAtomic(s.dir, FileName, b); err != nil {
		return nil, fmt.Errorf("write policy: %w", err)
	}
	return p, nil
}
