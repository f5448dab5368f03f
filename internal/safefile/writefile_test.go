//go:build unix

package safefile

import (
	"os"
	"path/filepath"
	"testing"
)

// WriteFileAtomic replaces a user's file with the mode asked for and
// leaves no temporary file; a relative name is in the current directory.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "deploy.sh")
	os.WriteFile(path, []byte("old"), 0o600)
	if err := WriteFileAtomic(path, []byte("new"), 0o755); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("content %q", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o755 {
		t.Errorf("mode %v, want 0755", fi.Mode().Perm())
	}
	t.Chdir(dir)
	if err := WriteFileAtomic(".envseal", []byte("A=a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("files in the directory: %v", ents)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "f"), nil, 0o644); err == nil {
		t.Error("a write into a missing directory succeeded")
	}
}
