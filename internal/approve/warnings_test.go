//go:build unix

package approve

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWarningsFileLocation(t *testing.T) {
	cwd := "/home/u/proj"
	for _, tc := range []struct {
		r    Request
		want string
	}{
		{Request{Path: "/tmp/x/tool"}, "the program /tmp/x/tool is in the temporary directory /tmp"},
		{Request{Path: "/dev/shm/tool"}, "in the temporary directory /dev/shm"},
		{Request{Path: "/var/tmp/a/b"}, "in the temporary directory /var/tmp"},
		{Request{Path: cwd + "/node_modules/.bin/wrangler", Cwd: cwd}, "is inside the working directory"},
		{Request{Path: "/usr/bin/x", Interpreter: "/tmp/py", Argv: []string{"x"}}, "the interpreter /tmp/py is in the temporary directory"},
		{Request{Path: "bin/tool"}, "the program path bin/tool is not absolute"},
		{Request{Path: "/usr/bin/x", SHA256: "bb", PrevSHA256: "aa"}, "the program changed since you approved it: sha256 was aa, now bb"},
	} {
		all := strings.Join(Warnings(&tc.r), "\n")
		if !strings.Contains(all, tc.want) {
			t.Errorf("%+v: no warning containing %q; got:\n%s", tc.r, tc.want, all)
		}
	}
	for _, r := range []Request{
		{Path: "/tmpfoo/tool"},                 // not under /tmp
		{Path: "/home/u/project2/x", Cwd: cwd}, // sibling, not inside
		{Path: "/usr/bin/x", SHA256: "aa", PrevSHA256: "aa"},
	} {
		for _, w := range Warnings(&r) {
			if strings.Contains(w, "temporary") || strings.Contains(w, "working directory") || strings.Contains(w, "changed") {
				t.Errorf("%+v: unexpected warning %q", r, w)
			}
		}
	}
}

// writableBy decides by owner and mode bits for a given uid, so it can be
// tested as root for an ordinary user (uid 1000).
func TestWritableBy(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: chowns files to root and to uid 1000 (CI runs as root)")
	}
	const user = 1000
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mk := func(name string, mode os.FileMode, uid int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, 0); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noGroups := map[uint32]bool{}
	if w := writableBy(mk("root755", 0o755, 0), user, noGroups); w != "" {
		t.Errorf("root-owned 0755 in a root 0755 dir: %q, want not writable", w)
	}
	if w := writableBy(mk("user755", 0o755, user), user, noGroups); w != "is writable by you" {
		t.Errorf("user-owned 0755: %q", w)
	}
	if w := writableBy(mk("world", 0o757, 0), user, noGroups); w != "is writable by you" {
		t.Errorf("world-writable: %q", w)
	}
	if w := writableBy(mk("group", 0o775, 0), user, map[uint32]bool{0: true}); w != "is writable by you" {
		t.Errorf("group-writable, user in group: %q", w)
	}
	// A user-owned directory lets the user swap a root-owned file.
	if err := os.Chown(dir, user, 0); err != nil {
		t.Fatal(err)
	}
	if w := writableBy(filepath.Join(dir, "root755"), user, noGroups); !strings.Contains(w, "can be replaced by you") {
		t.Errorf("root file in a user-owned dir: %q", w)
	}
	// A sticky world-writable directory (like /tmp) does not let the user
	// rename another owner's file away.
	if err := os.Chown(dir, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if w := writableBy(filepath.Join(dir, "root755"), user, noGroups); w != "" {
		t.Errorf("root file in a sticky dir: %q, want not writable", w)
	}
	if w := writableBy(filepath.Join(dir, "user755"), user, noGroups); w == "" {
		t.Error("own file in a sticky dir: want writable")
	}
}
