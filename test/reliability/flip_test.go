//go:build reliability

package reliability

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/totp"
	"github.com/envseal/envseal/internal/vault"
)

// outcome of reading a file with one byte flipped.
type outcome int

const (
	cleanError outcome = iota // the expected typed error
	otherError                // an error, but not one a caller can match
	undetected                // no error, and the original value came back
	wrongValue                // no error, and something else came back
)

// flipKind is one kind of vault file and how a reader of it must react.
type flipKind struct {
	name string
	file string // relative to the vault directory
	// read reads the vault the way envseal would and classifies the result.
	read func(dir string) (outcome, error)
}

// TestFlip flips every byte of every kind of vault file in turn (XOR 0xff)
// and requires the reader to return an error it can match — never a value
// it did not store, never silence, never a panic. A same-user attacker can
// edit any of these files; this is the contract that makes editing useless.
func TestFlip(t *testing.T) {
	dir, k := newVault(t)
	v, err := vault.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	value := []byte("flip-test-value")
	if _, err := v.Store(k, "flip", value, vault.StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	ps := policy.NewStore(dir, k)
	want, err := ps.Update(func(p *policy.Policy) error { p.Put(testRule("flip-rule")); return nil })
	if err != nil {
		t.Fatal(err)
	}
	log := audit.New(dir)
	for i := range 3 {
		if err := log.Append(k, "reliability_flip", map[string]any{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := verifyAll(dir, k); err != nil {
		t.Fatalf("template vault: %v", err)
	}
	// The file name's extension is the vault's business: find it.
	m, _ := filepath.Glob(filepath.Join(dir, vault.SecretsDir, "flip.*"))
	if len(m) != 1 {
		t.Fatalf("want one file for secret flip in %s, found %d", vault.SecretsDir, len(m))
	}
	secretFile := filepath.Join(vault.SecretsDir, filepath.Base(m[0]))

	// TOTP state: enrolled with the current code.
	seed := totp.NewSeed()
	now := time.Now()
	if err := totp.NewStore(dir, k).Enroll(seed, totp.Code(seed, now), now); err != nil {
		t.Fatalf("enroll totp: %v", err)
	}
	wantTOTP, err := totp.NewStore(dir, k).Status(now)
	if err != nil {
		t.Fatal(err)
	}
	// The list cache is written only for a directory unchanged for 2 s.
	time.Sleep(2100 * time.Millisecond)
	wantList, err := v.List()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, vault.ListCacheFile)); err != nil {
		t.Fatalf("no list cache in the template vault: %v", err)
	}

	auditRead := func(dir string) (outcome, error) {
		_, err := audit.New(dir).Verify(k)
		return classify(err, errors.Is(err, audit.ErrTampered)), err
	}
	kinds := []flipKind{
		{"master key", vault.MasterKeyFile, func(dir string) (outcome, error) {
			v, err := vault.Open(dir)
			if err != nil {
				return classify(err, vaultError(err)), err
			}
			k2, err := v.Unlock(passphrase)
			switch {
			case err != nil:
				return classify(err, vaultError(err) || errors.Is(err, seal.ErrKDFParams)), err
			case k2.Equal(k):
				return undetected, nil
			}
			return wrongValue, nil
		}},
		{"secret", secretFile, func(dir string) (outcome, error) {
			v, err := vault.Open(dir)
			if err != nil {
				return otherError, err
			}
			v.List() // must not panic on the damaged file either
			got, _, err := v.Get(k, "flip")
			defer clear(got)
			switch {
			case err != nil:
				return classify(err, vaultError(err)), err
			case bytes.Equal(got, value):
				return undetected, nil
			}
			return wrongValue, nil
		}},
		{"policy", policy.FileName, func(dir string) (outcome, error) {
			p, err := policy.NewStore(dir, k).Load()
			switch {
			case err != nil:
				return classify(err, errors.Is(err, policy.ErrTampered)), err
			case reflect.DeepEqual(p, want):
				return undetected, nil
			}
			return wrongValue, nil
		}},
		{"audit log", audit.LogFile, auditRead},
		{"audit head", audit.HeadFile, auditRead},
		{"totp state", totp.FileName, func(dir string) (outcome, error) {
			st, err := totp.NewStore(dir, k).Status(now)
			switch {
			case err != nil:
				return classify(err, errors.Is(err, totp.ErrState)), err
			case st == wantTOTP:
				return undetected, nil
			}
			return wrongValue, nil
		}},
		// The list cache holds only what is already in the clear; a damaged
		// one must be ignored, so the right outcome is the true listing.
		{"list cache", vault.ListCacheFile, func(dir string) (outcome, error) {
			v, err := vault.Open(dir)
			if err != nil {
				return otherError, err
			}
			got, err := v.List()
			if err != nil {
				return otherError, err
			}
			if !reflect.DeepEqual(got, wantList) {
				return wrongValue, fmt.Errorf("listing differs from the template's")
			}
			return cleanError, nil
		}},
	}
	for _, kind := range kinds {
		t.Run(kind.name, func(t *testing.T) { flipAll(t, dir, kind) })
	}
	if err := verifyAll(dir, k); err != nil {
		t.Fatalf("vault after restoring every flip: %v", err)
	}
}

// vaultError reports whether err is one a vault caller can match.
func vaultError(err error) bool {
	var ce *vault.CorruptError
	return errors.As(err, &ce) || errors.Is(err, vault.ErrFormat) || errors.Is(err, vault.ErrWrongPassphrase) ||
		errors.Is(err, seal.ErrDecrypt)
}

func classify(err error, typed bool) outcome {
	if typed {
		return cleanError
	}
	return otherError
}

// flipAll flips each byte of kind.file in place, reads, and restores it.
func flipAll(t *testing.T, dir string, kind flipKind) {
	path := filepath.Join(dir, kind.file)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var counts [4]int
	panics := 0
	for i := range orig {
		b := bytes.Clone(orig)
		b[i] ^= 0xff
		if err := os.WriteFile(path, b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
		out, p, err := readRecovering(kind.read, dir)
		if p != nil {
			panics++
			t.Errorf("%s: byte %d flipped: panic: %v", kind.name, i, p)
		} else {
			counts[out]++
			if out != cleanError {
				t.Errorf("%s: byte %d flipped: %s (err %v)", kind.name, i, [...]string{"", "untyped error", "not detected", "WRONG VALUE"}[out], err)
			}
		}
	}
	if err := os.WriteFile(path, orig, fi.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
	failures := panics + counts[otherError] + counts[undetected] + counts[wrongValue]
	summary(t, "flip/%s: %d flips, %d clean errors, %d untyped errors, %d undetected, %d wrong values, %d panics, %d failures",
		kind.name, len(orig), counts[cleanError], counts[otherError], counts[undetected], counts[wrongValue], panics, failures)
}

// readRecovering turns a panic in the reader into a result, so one bad
// byte does not hide the rest.
func readRecovering(read func(string) (outcome, error), dir string) (out outcome, p any, err error) {
	defer func() {
		if r := recover(); r != nil {
			p = fmt.Sprint(r)
		}
	}()
	out, err = read(dir)
	return out, nil, err
}
