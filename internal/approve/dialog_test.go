//go:build unix

package approve

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeDialog writes a fake zenity or kdialog into a fresh directory: it
// logs its arguments (NUL-separated) and environment, prints out and exits
// with status.
func fakeDialog(t *testing.T, name, out string, status int, extra string) (dir, log string) {
	t.Helper()
	dir = t.TempDir()
	log = filepath.Join(dir, "log")
	script := "#!/bin/sh\nprintf '%s\\0' \"$@\" > '" + log + "'\nenv > '" + log + ".env'\n" + extra +
		"\nprintf '%s' '" + out + "'\nexit " + strconv.Itoa(status) + "\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, log
}

func TestDialogAnswers(t *testing.T) {
	t.Setenv("DISPLAY", ":0")
	for _, tc := range []struct {
		kind, out string
		status    int
		want      Decision
		err       error
	}{
		{KindZenity, "", 0, AllowOnce, nil},
		{KindZenity, "Allow always\n", 1, AllowAlways, nil},
		{KindZenity, "", 1, Deny, nil},
		{KindZenity, "Something else", 1, Deny, nil},
		{KindZenity, "", 5, Deny, ErrTimeout},
		{KindZenity, "", 3, Deny, ErrDialog},
		{KindKdialog, "", 0, AllowOnce, nil},
		{KindKdialog, "Allow always", 1, Deny, nil}, // kdialog has no allow-always
		{KindKdialog, "", 2, Deny, ErrDialog},
	} {
		dir, _ := fakeDialog(t, tc.kind, tc.out, tc.status, "")
		a, _ := New(tc.kind, withDialogDirs(filepath.Join(dir, "missing"), dir), withTrust(trustAll))
		d, err := a.Approve(context.Background(), testRequest())
		if d != tc.want || !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Errorf("%s exit %d %q: got (%v, %v), want (%v, %v)", tc.kind, tc.status, tc.out, d, err, tc.want, tc.err)
		}
	}
}

func TestZenityArguments(t *testing.T) {
	t.Setenv("DISPLAY", ":0")
	t.Setenv("LD_PRELOAD", "")
	t.Setenv("GTK_MODULES", "agent-module")
	dir, log := fakeDialog(t, KindZenity, "", 1, "")
	a, _ := New(KindZenity, withDialogDirs(dir), withTrust(trustAll))
	r := testRequest()
	r.Argv = append(r.Argv, "<b>x</b>\x1b[2J\u202e")
	if _, err := a.Approve(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	has := func(s string) bool {
		for _, a := range args {
			if a == s {
				return true
			}
		}
		return false
	}
	for _, want := range []string{"--question", "--no-markup", "--default-cancel", "--ok-label=Allow once",
		"--cancel-label=Deny", "--extra-button=Allow always", "--timeout=60"} {
		if !has(want) {
			t.Errorf("zenity not given %s: %q", want, args)
		}
	}
	var text string
	for _, a := range args {
		if strings.HasPrefix(a, "--text=") {
			text = strings.TrimPrefix(a, "--text=")
		}
	}
	// Sanitized, with backslashes doubled for zenity's g_strcompress.
	if !strings.Contains(text, `"<b>x</b>\\x1b[2J\\u202E"`) || strings.ContainsAny(text, "\x1b\u202e") {
		t.Errorf("zenity text not sanitized/escaped: %q", text)
	}
	env, _ := os.ReadFile(log + ".env")
	if strings.Contains(string(env), "GTK_MODULES") || strings.Contains(string(env), "LD_PRELOAD") ||
		!strings.Contains(string(env), "DISPLAY=:0") || !strings.Contains(string(env), "PATH=/usr/bin:/bin\n") {
		t.Errorf("dialog environment not scrubbed:\n%s", env)
	}
}

func TestKdialogTextIsEscapedRichText(t *testing.T) {
	t.Setenv("DISPLAY", ":0")
	dir, log := fakeDialog(t, KindKdialog, "", 1, "")
	a, _ := New(KindKdialog, withDialogDirs(dir), withTrust(trustAll))
	r := testRequest()
	r.Argv = append(r.Argv, `<img src="http://x/">`)
	if _, err := a.Approve(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(log)
	s := string(b)
	if !strings.Contains(s, "<qt><pre>") || !strings.Contains(s, "&lt;img src=\\&#34;http://x/\\&#34;&gt;") || strings.Contains(s, "<img") {
		t.Errorf("kdialog text not escaped: %q", s)
	}
}

func TestDialogTimeoutKills(t *testing.T) {
	t.Setenv("DISPLAY", ":0")
	dir, _ := fakeDialog(t, KindKdialog, "", 0, "exec sleep 10")
	a, _ := New(KindKdialog, withDialogDirs(dir), withTrust(trustAll), WithTimeout(300*time.Millisecond))
	start := time.Now()
	d, err := a.Approve(context.Background(), testRequest())
	if d != Deny || !errors.Is(err, ErrTimeout) {
		t.Fatalf("got (%v, %v), want Deny with ErrTimeout", d, err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("a 300ms timeout took %v", el)
	}
}

func TestDialogNeedsDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	dir, log := fakeDialog(t, KindZenity, "", 0, "")
	a, _ := New(KindZenity, withDialogDirs(dir), withTrust(trustAll))
	if d, err := a.Approve(context.Background(), testRequest()); d != Deny || !errors.Is(err, ErrNoDisplay) {
		t.Fatalf("got (%v, %v), want Deny with ErrNoDisplay", d, err)
	}
	if _, err := os.Stat(log); err == nil {
		t.Fatal("dialog ran without a display")
	}
}

// The real owner check: a dialog binary the user could have written is
// refused and never runs; a root-owned system binary passes.
func TestDialogOwnerCheck(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: chowns the fake dialog program to root and to uid 65534 (CI runs as root)")
	}
	t.Setenv("DISPLAY", ":0")
	dir, log := fakeDialog(t, KindZenity, "", 0, "")
	prog := filepath.Join(dir, KindZenity)
	for _, tc := range []struct {
		name  string
		setup func() error
		why   string
	}{
		{"user-owned", func() error { return os.Chown(prog, 65534, 65534) }, prog + " is not owned by root"},
		{"world-writable", func() error {
			if err := os.Chown(prog, 0, 0); err != nil {
				return err
			}
			return os.Chmod(prog, 0o757)
		}, prog + " is writable by group or others"},
		{"in a world-writable tree", func() error { return os.Chmod(prog, 0o755) }, "is writable by group or others"},
	} {
		if err := tc.setup(); err != nil {
			t.Fatal(err)
		}
		a, _ := New(KindZenity, withDialogDirs(dir))
		d, err := a.Approve(context.Background(), testRequest())
		if d != Deny || !errors.Is(err, ErrUntrustedProgram) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: got (%v, %v), want Deny with ErrUntrustedProgram (%s)", tc.name, d, err, tc.why)
		}
	}
	if _, err := os.Stat(log); err == nil {
		t.Fatal("an untrusted dialog program was run")
	}
	if real, err := resolveTrusted("/bin/sh"); err != nil || real == "" {
		t.Fatalf("root-owned /bin/sh refused: %v", err)
	}
	a, _ := New(KindZenity, withDialogDirs(t.TempDir()))
	if _, err := a.Approve(context.Background(), testRequest()); !errors.Is(err, ErrProgramNotFound) {
		t.Fatalf("missing zenity: %v", err)
	}
}

// zenity for a store request: its own title, a plain "Allow", and no
// "Allow always" button (an echoed "Allow always" is not a yes).
func TestZenityStoreRequest(t *testing.T) {
	t.Setenv("DISPLAY", ":0")
	dir, log := fakeDialog(t, KindZenity, "Allow always\n", 1, "")
	a, _ := New(KindZenity, withDialogDirs(dir), withTrust(trustAll))
	d, err := a.Approve(context.Background(), storeRequest())
	if d != Deny || err != nil {
		t.Errorf("store request answered 'Allow always': got (%v, %v), want deny", d, err)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(string(b), "\x00")
	joined := strings.Join(args, "\n")
	if strings.Contains(joined, "Allow always") || strings.Contains(joined, "sha256") {
		t.Errorf("zenity store request arguments show a run template:\n%s", joined)
	}
	for _, want := range []string{"--title=envseal: approve storing a new secret", "--ok-label=Allow"} {
		found := false
		for _, a := range args {
			found = found || a == want
		}
		if !found {
			t.Errorf("zenity arguments lack %q:\n%s", want, joined)
		}
	}
}
