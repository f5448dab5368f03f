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

// Scan: no paths means "." unless only the history is asked for; with
// history, the user's history files are read as well.
func TestScanDefaults(t *testing.T) {
	home, cwd := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(home, ".bash_history"), []byte("export GITHUB_TOKEN=ghp_"+"R2x7mQ9vLp3sT8wK1nB5cZ0yH4jD6fA2eG7u\n"), 0o600)
	os.WriteFile(filepath.Join(cwd, "app.env"), []byte("STRIPE_KEY=sk_live_"+"4eC39HqLyjWDarjtT1zdp7dc9Xz2Qw\n"), 0o600)
	t.Setenv("HOME", home)
	t.Setenv("HISTFILE", "")
	t.Setenv("ZDOTDIR", "")
	t.Chdir(cwd)
	for _, c := range []struct {
		history bool
		want    []string // the files with findings
	}{{false, []string{"app.env"}}, {true, []string{".bash_history"}}} {
		r, err := Scan(nil, c.history, WalkOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i := range r.Findings {
			got = append(got, filepath.Base(r.Findings[i].Path))
		}
		r.Wipe()
		for i := range r.Findings {
			if r.Findings[i].value != nil {
				t.Errorf("Result.Wipe left the value of %s", r.Findings[i].Name)
			}
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("Scan(no paths, history %v) found secrets in %v, want %v", c.history, got, c.want)
		}
	}
	r, err := Scan([]string{cwd}, true, WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Wipe()
	if len(r.Findings) != 2 {
		t.Errorf("Scan(cwd, history) = %d findings, want 2 (the file and the history)", len(r.Findings))
	}
}
