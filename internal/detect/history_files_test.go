package detect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ScanHistoryFiles reads the history files that exist, says so for one it
// will not follow, and is silent about the missing ones.
func TestScanHistoryFiles(t *testing.T) {
	home := t.TempDir()
	os.WriteFile(filepath.Join(home, ".bash_history"), []byte("ls\nexport GITHUB_TOKEN=ghp_"+"R2x7mQ9vLp3sT8wK1nB5cZ0yH4jD6fA2eG7u\n"), 0o600)
	os.Symlink(filepath.Join(home, ".bash_history"), filepath.Join(home, ".zsh_history"))
	r := &Result{}
	r.ScanHistoryFiles(home, func(string) string { return "" })
	defer func() {
		for i := range r.Findings {
			r.Findings[i].Wipe()
		}
	}()
	if r.Files != 1 || len(r.Findings) != 1 || r.Findings[0].Line != 2 || r.Findings[0].Name != "GITHUB_TOKEN" {
		t.Errorf("files %d, %d findings; want 1 file, GITHUB_TOKEN on line 2", r.Files, len(r.Findings))
	}
	if len(r.Skipped) != 1 || !strings.HasSuffix(r.Skipped[0].Path, ".zsh_history") || !r.Skipped[0].Notice {
		t.Errorf("skipped %+v, want the zsh symlink with a notice", r.Skipped)
	}
}
