package moving

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/envseal/envseal/internal/envfile"
	"github.com/envseal/envseal/internal/safefile"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

// Store is the part of the vault a transaction uses (a test makes it fail).
type Store interface {
	Store(master seal.Key, name string, value []byte, o vault.StoreOptions) (vault.Meta, error)
	Revoke(master seal.Key, name string) error
}

// Lister is the part of the vault that names its secrets.
type Lister interface {
	List() ([]vault.Entry, error)
}

// secretNames is the set of the secrets v holds.
func secretNames(v Lister) (map[string]bool, error) {
	ents, err := v.List()
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, e := range ents {
		have[e.Name] = true
	}
	return have, nil
}

// Value is one secret a transaction stores. Where ("FILE:LINE", or
// "FILE") starts the error when storing it fails.
type Value struct {
	Secret string
	Value  []byte
	Where  string
}

// Write is one file a transaction replaces.
type Write struct {
	Path string
	Data []byte
	Mode fs.FileMode
	// Old is the file before (nil: there was none), put back if a later
	// step fails.
	Old []byte
	// Unchanged, when set, must still be the file's content just before
	// it is replaced: an edit made meanwhile would otherwise be lost.
	Unchanged []byte
}

// Tx stores Values, then replaces the Writes in order. Stored and Revoked,
// when set, are told of each secret stored and of each one revoked again.
type Tx struct {
	Values  []Value
	Writes  []Write
	Stored  func(secret string, generation uint64)
	Revoked func(secret string)
}

// Apply runs the transaction: all of it, or (on error) none of it. A
// failure is a *RollbackError naming the secrets that could not be
// revoked again, if any.
func (t *Tx) Apply(st Store, k seal.Key) error {
	var done []string
	err := t.run(st, k, &done)
	if err == nil {
		return nil
	}
	var left []string
	for _, name := range done {
		if rerr := st.Revoke(k, name); rerr != nil {
			left = append(left, name)
		} else if t.Revoked != nil {
			t.Revoked(name)
		}
	}
	return &RollbackError{Err: err, Left: left}
}

func (t *Tx) run(st Store, k seal.Key, done *[]string) error {
	for _, v := range t.Values {
		meta, err := st.Store(k, v.Secret, v.Value, vault.StoreOptions{})
		if err != nil {
			return fmt.Errorf("%s: store %s: %w", v.Where, v.Secret, err)
		}
		*done = append(*done, v.Secret)
		if t.Stored != nil {
			t.Stored(v.Secret, meta.Generation)
		}
	}
	for i, w := range t.Writes {
		if err := w.replace(); err != nil {
			for _, prev := range t.Writes[:i] {
				prev.undo()
			}
			return err
		}
	}
	return nil
}

func (w Write) replace() error {
	if w.Unchanged != nil {
		now, _, err := readRegular(w.Path)
		if err != nil {
			return err
		}
		same := bytes.Equal(now, w.Unchanged)
		clear(now)
		if !same {
			return fmt.Errorf("%s changed while importing", w.Path)
		}
	}
	return safefile.WriteFileAtomic(w.Path, w.Data, w.Mode)
}

// undo puts back what the file was before the transaction replaced it.
func (w Write) undo() {
	if w.Old != nil {
		safefile.WriteFileAtomic(w.Path, w.Old, w.Mode)
	} else {
		os.Remove(w.Path)
	}
}

// readRegular reads a regular file that is not a symlink. Replacing a
// symlinked file by rename would leave the values in the link's target.
func readRegular(path string) ([]byte, fs.FileMode, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, withHint(fmt.Errorf("%s is not a regular file", path), "name the file itself, not a link or device")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, envfile.MaxFileSize+1))
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	return b, fi.Mode().Perm(), nil
}
