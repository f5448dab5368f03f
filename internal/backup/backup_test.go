//go:build unix

package backup

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

var kdf = seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

// An archive carries the secrets, the policy and the audit log; it is
// not written over a file unless forced; a restore opens with the same
// passphrase and keeps the vault that was there aside.
func TestWriteAndRestore(t *testing.T) {
	tmp := t.TempDir()
	pass := []byte("pw")
	v, k, err := vault.Create(filepath.Join(tmp, "vault"), pass, kdf, policy.InitEmpty)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Wipe()
	if _, err := v.Store(k, "API", []byte("value-1"), vault.StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	audit.New(v.Dir()).Event(k, "secret_stored", map[string]any{"secret": "API"})

	out := filepath.Join(tmp, "vault.backup")
	info, err := Write(v, k, out, false)
	if err != nil {
		t.Fatal(err)
	}
	if info.Secrets != 1 {
		t.Errorf("%d secrets in the archive, want 1", info.Secrets)
	}
	if _, err := Write(v, k, out, false); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second Write without force = %v, want fs.ErrExist", err)
	}
	if _, err := Write(v, k, out, true); err != nil {
		t.Errorf("Write with force = %v", err)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 2 {
		t.Errorf("files left next to the archive: %v", ents)
	}

	archive, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "restored")
	if _, _, _, _, err := Restore(dir, bytes.NewReader(archive), []byte("wrong"), false); !errors.Is(err, vault.ErrWrongPassphrase) {
		t.Errorf("wrong passphrase: %v", err)
	}
	var oe *OpenError
	if _, _, _, _, err := Restore(dir, bytes.NewReader([]byte("not an archive\n")), pass, false); !errors.As(err, &oe) {
		t.Errorf("not an archive: %v, want an OpenError", err)
	}
	if _, _, _, _, err := Restore(dir, bytes.NewReader(archive[:len(archive)/2]), pass, false); !errors.Is(err, vault.ErrBackupCorrupt) {
		t.Errorf("truncated archive: %v, want vault.ErrBackupCorrupt", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed restore left %s (%v)", dir, err)
	}
	for i, force := range []bool{false, true} {
		_, aside, rv, rk, err := Restore(dir, bytes.NewReader(archive), pass, force)
		if err != nil {
			t.Fatalf("restore %d: %v", i, err)
		}
		if (aside != "") != force {
			t.Errorf("restore %d: aside %q", i, aside)
		}
		got, _, err := rv.Get(rk, "API")
		if err != nil || string(got) != "value-1" {
			t.Errorf("restore %d: API differs from the stored value (%v)", i, err)
		}
		if _, err := policy.NewStore(dir, rk).Load(); err != nil {
			t.Errorf("restore %d: policy: %v", i, err)
		}
		if sum, err := audit.New(dir).Verify(rk); err != nil || sum.Records < 2 {
			t.Errorf("restore %d: audit log %v, %v", i, sum, err)
		}
		rk.Wipe()
	}
	if _, _, _, _, err := Restore(dir, bytes.NewReader(archive), pass, false); !errors.Is(err, vault.ErrExists) {
		t.Errorf("restore over a vault without force = %v, want vault.ErrExists", err)
	}
}
