package sandbox

import (
	"os"
	"path/filepath"
	"testing"
)

// TestVaultCover: the jail covers a vault's real directory (through a
// symlink, its target) and refuses one that does not exist or is a file.
func TestVaultCover(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "vault")
	link := filepath.Join(base, "link")
	file := filepath.Join(base, "file")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.EvalSymlinks(real)
	for _, dir := range []string{real, link} {
		if got, err := VaultCover(dir); err != nil || got != want {
			t.Errorf("VaultCover(%s) = %q, %v; want %q", dir, got, err, want)
		}
	}
	for _, dir := range []string{filepath.Join(base, "missing"), file} {
		if got, err := VaultCover(dir); err == nil {
			t.Errorf("VaultCover(%s) = %q; want an error", dir, got)
		}
	}
}
