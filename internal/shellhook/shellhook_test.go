package shellhook

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

func TestScript(t *testing.T) {
	const self = "/opt/it's here/envseal"
	for _, sh := range Shells {
		s, err := Script(sh, self)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(s, `'/opt/it'\''s here/envseal' shell-hook --check`) || strings.Contains(s, "@ENVSEAL@") {
			t.Errorf("%s hook does not call the quoted binary:\n%s", sh, s)
		}
		if !strings.HasPrefix(s, "# envseal shell hook for "+sh+":") {
			t.Errorf("%s hook starts %q", sh, s[:40])
		}
		// The hook must be valid for its shell: parse it without running it.
		if path, err := exec.LookPath(sh); err == nil {
			flag := "-n"
			if sh == "fish" {
				flag = "--no-execute"
			}
			if out, err := exec.Command(path, flag, "-c", s).CombinedOutput(); err != nil {
				t.Errorf("%s -n: %v: %s", sh, err, out)
			}
		}
	}
	for _, sh := range []string{"tcsh", "", "../hook.bash"} {
		if _, err := Script(sh, self); !errors.Is(err, ErrUnknownShell) {
			t.Errorf("Script(%q) = %v, want ErrUnknownShell", sh, err)
		}
	}
}

func TestCheck(t *testing.T) {
	const tok = "ghp_" + "R2x7mQ9vLp3sT8wK1nB5cZ0yH4jD6fA2eG7u"
	ws := Check(strings.NewReader("GH_TOKEN=" + tok + " gh api; echo " + tok + "\n"))
	if len(ws) == 0 {
		t.Fatal("no warning for a GitHub token")
	}
	names := map[string]bool{}
	for _, w := range ws {
		if strings.Contains(w.What+w.Name, tok[4:12]) {
			t.Fatalf("a warning holds part of the value (name %s)", w.Name)
		}
		if names[w.Name] {
			t.Errorf("%s named twice", w.Name)
		}
		names[w.Name] = true
	}
	if !names["GH_TOKEN"] {
		t.Errorf("names %v, want GH_TOKEN", names)
	}
	if ws := Check(strings.NewReader("ls -la /tmp\n")); len(ws) != 0 {
		t.Errorf("an ordinary command warned: %v", ws)
	}
}
