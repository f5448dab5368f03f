package githook

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Install writes the hook, refuses to replace one envseal did not write
// unless forced (then keeps it), and Uninstall removes only envseal's.
func TestInstallUninstall(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hooks")
	path, backup, err := Install(dir, "/opt/env'seal", false)
	if err != nil || backup != "" || path != filepath.Join(dir, "pre-commit") {
		t.Fatalf("Install = %s, %q, %v", path, backup, err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), Marker) || !strings.Contains(string(b), `exec '/opt/env'\''seal' git-hook run`) {
		t.Errorf("hook script = %q", b)
	}
	if _, backup, err := Install(dir, "/bin/envseal", false); err != nil || backup != "" {
		t.Fatalf("updating envseal's own hook: %q, %v", backup, err)
	}

	os.WriteFile(path, []byte("#!/bin/sh\nmine\n"), 0o755)
	if _, _, err := Install(dir, "/bin/envseal", false); !errors.Is(err, ErrForeign) {
		t.Fatalf("Install over a foreign hook = %v, want ErrForeign", err)
	}
	if _, _, err := Uninstall(dir); !errors.Is(err, ErrForeign) {
		t.Fatalf("Uninstall of a foreign hook = %v, want ErrForeign", err)
	}
	if _, backup, err := Install(dir, "/bin/envseal", true); err != nil || backup != path+".before-envseal" {
		t.Fatalf("Install --force = %q, %v", backup, err)
	}
	if b, _ := os.ReadFile(path + ".before-envseal"); string(b) != "#!/bin/sh\nmine\n" {
		t.Errorf("the foreign hook was not kept: %q", b)
	}
	if _, removed, err := Uninstall(dir); err != nil || !removed {
		t.Fatalf("Uninstall = %v, %v", removed, err)
	}
	if _, removed, err := Uninstall(dir); err != nil || removed {
		t.Fatalf("Uninstall with no hook = %v, %v", removed, err)
	}
}
