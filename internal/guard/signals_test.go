package guard

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/sandbox"
)

var update = flag.Bool("update", false, "rewrite testdata/doctor.golden.json")

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// cleanFacts is a machine with nothing to report above info.
func cleanFacts() Facts {
	files := map[string]string{
		"/proc/42/limits":                    "Limit                     Soft Limit           Hard Limit           Units\nMax core file size        0                    unlimited            bytes\n",
		"/proc/sys/kernel/core_pattern":      "core",
		"/proc/sys/kernel/yama/ptrace_scope": "1",
		"/proc/sys/dev/tty/legacy_tiocsti":   "0",
		"/proc/sys/user/max_user_namespaces": "1000",
	}
	later := now.Add(time.Hour)
	return Facts{
		OS: "linux",
		ReadFile: func(name string) ([]byte, error) {
			s, ok := files[name]
			if !ok {
				return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
			}
			return []byte(s + "\n"), nil
		},
		Environ:       []string{"HOME=/home/u", "WAYLAND_DISPLAY=wayland-0"},
		PPID:          42,
		CoreLimit:     func() (uint64, error) { return 0, nil },
		VaultDir:      "/home/u/.config/envseal",
		CheckVaultDir: func(string) error { return nil },
		Tiers:         map[sandbox.Tier]error{"standard": nil, "hardened": nil, "lockdown": nil},
		TierOrder:     []sandbox.Tier{"standard", "hardened", "lockdown"},
		LandlockABI:   6,
		LookPath: func(n string) (string, error) {
			if n == "pinentry-gnome3" {
				return "/usr/bin/pinentry-gnome3", nil
			}
			return "", errors.New("not found")
		},
		Trusted:      func(string) error { return nil },
		Broker:       func() (string, error) { return "/run/user/1000/envseal/broker.sock", errors.New("connection refused") },
		Audit:        func() (int, error) { return 12, nil },
		Rules:        []policy.Rule{{ID: "r1", Binary: "/usr/bin/curl", Argv: []string{"-s"}, Expires: &later}},
		RulesChecked: true,
		Secrets:      []SecretHealth{{Name: "TOKEN", Due: now.Add(24 * time.Hour)}, {Name: "FOREVER"}},
		TOTP:         func() (bool, error) { return true, nil },
		Now:          now,
	}
}

func withFile(f *Facts, name, content string) {
	old := f.ReadFile
	f.ReadFile = func(n string) ([]byte, error) {
		if n == name {
			if content == "" {
				return nil, &fs.PathError{Op: "open", Path: n, Err: fs.ErrNotExist}
			}
			return []byte(content + "\n"), nil
		}
		return old(n)
	}
}

var findings = []struct {
	name   string
	id     string
	sev    Severity
	found  string // substring of Found
	mutate func(*Facts)
}{
	{"vault dir unsafe", "vault.dir", High, "unsafe", func(f *Facts) {
		f.CheckVaultDir = func(string) error { return errors.New("mode 0777") }
	}},
	{"LD_PRELOAD", "env.loader_injection", Critical, "LD_PRELOAD", func(f *Facts) {
		f.Environ = append(f.Environ, "LD_PRELOAD=/tmp/x.so")
	}},
	{"core dumps on", "core.dumps", Medium, "shell's core dump limit is unlimited", func(f *Facts) {
		withFile(f, "/proc/42/limits", "Max core file size        unlimited            unlimited            bytes")
	}},
	{"core dumps piped", "core.dumps", Low, "systemd-coredump", func(f *Facts) {
		withFile(f, "/proc/42/limits", "Max core file size        unlimited            unlimited            bytes")
		withFile(f, "/proc/sys/kernel/core_pattern", "|/usr/lib/systemd/systemd-coredump %P %u")
	}},
	{"core dumps own limit", "core.dumps", Medium, "envseal's core dump limit is 4096", func(f *Facts) {
		f.PPID = 0
		f.CoreLimit = func() (uint64, error) { return 4096, nil }
	}},
	{"no yama", "ptrace.scope", Medium, "Yama is not enabled", func(f *Facts) {
		withFile(f, "/proc/sys/kernel/yama/ptrace_scope", "")
	}},
	{"yama 0", "ptrace.scope", Medium, "ptrace_scope is 0", func(f *Facts) {
		withFile(f, "/proc/sys/kernel/yama/ptrace_scope", "0")
	}},
	{"tiocsti on", "tty.tiocsti", High, "legacy_tiocsti is 1", func(f *Facts) {
		withFile(f, "/proc/sys/dev/tty/legacy_tiocsti", "1")
	}},
	{"tiocsti old kernel", "tty.tiocsti", High, "predates", func(f *Facts) {
		withFile(f, "/proc/sys/dev/tty/legacy_tiocsti", "")
	}},
	{"lockdown unsupported", "sandbox.lockdown", Medium, "no mount_setattr", func(f *Facts) {
		f.Tiers = map[sandbox.Tier]error{"standard": nil, "hardened": nil, "lockdown": errors.New("the kernel has no mount_setattr")}
		f.TierHint = func(error) string { return "lockdown needs Linux 5.12 or newer" }
	}},
	{"no landlock", "sandbox.landlock", Low, "Landlock is not available", func(f *Facts) { f.LandlockABI = 0 }},
	{"no user namespaces", "sandbox.userns", Medium, "max_user_namespaces is 0", func(f *Facts) {
		withFile(f, "/proc/sys/user/max_user_namespaces", "0")
	}},
	{"x11", "display.x11", Medium, "X11 session", func(f *Facts) {
		f.Environ = []string{"DISPLAY=:0"}
	}},
	{"xwayland", "display.x11", Low, "XWayland", func(f *Facts) {
		f.Environ = append(f.Environ, "DISPLAY=:0")
	}},
	{"untrusted approver", "approver.untrusted", Medium, "not owned by root", func(f *Facts) {
		f.Trusted = func(p string) error { return fmt.Errorf("%s is not owned by root", p) }
	}},
	{"audit broken", "audit.chain", High, "does not verify", func(f *Facts) {
		f.Audit = func() (int, error) { return 3, errors.New("line 4: hash chain broken") }
	}},
	{"interpreter rule", "rules.interpreter", Medium, "r2 (python3 -c print(1))", func(f *Facts) {
		later := now.Add(time.Hour)
		f.Rules = append(f.Rules, policy.Rule{ID: "r2", Binary: "/usr/bin/python3", Argv: []string{"-c", "print(1)"}, Expires: &later})
	}},
	{"rule without expiry", "rules.no_expiry", Low, "r3", func(f *Facts) {
		f.Rules = append(f.Rules, policy.Rule{ID: "r3", Binary: "/usr/bin/curl"})
	}},
	{"rules unchecked", "rules.unchecked", Info, "not checked", func(f *Facts) { f.RulesChecked = false }},
	{"rotation due", "secrets.rotation_due", Medium, "OLD (due 2026-01-01)", func(f *Facts) {
		f.Secrets = append(f.Secrets, SecretHealth{Name: "OLD", Due: now.Add(-27 * time.Hour)})
	}},
	{"totp off", "approval.totp", Low, "need only the challenge code", func(f *Facts) {
		f.TOTP = func() (bool, error) { return false, nil }
	}},
	{"totp unknown", "approval.totp", Medium, "cannot tell", func(f *Facts) {
		f.TOTP = func() (bool, error) { return true, errors.New("permission denied") }
	}},
	{"weak secret", "secrets.weak", Low, "PLACEHOLDER", func(f *Facts) {
		f.Secrets = append(f.Secrets, SecretHealth{Name: "PLACEHOLDER", Due: now.Add(time.Hour), Weak: true})
	}},
}

func find(sigs []Signal, id string) *Signal {
	for i := range sigs {
		if sigs[i].ID == id {
			return &sigs[i]
		}
	}
	return nil
}

func TestCleanMachine(t *testing.T) {
	sigs := Check(cleanFacts())
	r := NewReport(sigs)
	if !r.OK || r.Worst != Info {
		t.Errorf("clean facts: worst %s, signals %+v", r.Worst, sigs)
	}
	for _, id := range []string{"vault.dir", "env.loader_injection", "core.dumps", "ptrace.scope", "tty.tiocsti", "sandbox.tiers",
		"sandbox.landlock", "broker.running", "jail.inside", "display.x11", "approver.present", "audit.chain", "rules.ok", "secrets.ok", "approval.totp"} {
		if find(sigs, id) == nil {
			t.Errorf("clean facts: no %s signal", id)
		}
	}
}

// Each finding is raised by its fact and cleared (absent or info) without it.
func TestFindings(t *testing.T) {
	clean := Check(cleanFacts())
	for _, tc := range findings {
		t.Run(tc.name, func(t *testing.T) {
			f := cleanFacts()
			tc.mutate(&f)
			s := find(Check(f), tc.id)
			if s == nil {
				t.Fatalf("no %s signal", tc.id)
			}
			if s.Severity != tc.sev || !strings.Contains(s.Found, tc.found) {
				t.Errorf("%s = %s %q, want %s containing %q", tc.id, s.Severity, s.Found, tc.sev, tc.found)
			}
			if s.Severity.Rank() >= Low.Rank() && s.Fix == "" {
				t.Errorf("%s has no fix", tc.id)
			}
			if c := find(clean, tc.id); c != nil && tc.sev != Info && c.Severity != Info {
				t.Errorf("clean facts still raise %s (%s)", tc.id, c.Severity)
			}
			if c := find(clean, tc.id); tc.sev == Info && c != nil {
				t.Errorf("clean facts raise %s", tc.id)
			}
			if ok := NewReport(Check(f)).OK; ok != (tc.sev.Rank() < High.Rank()) {
				t.Errorf("report OK = %v", ok)
			}
		})
	}
}

func TestJail(t *testing.T) {
	f := cleanFacts()
	f.Environ = append(f.Environ, "ENVSEAL_JAIL=1")
	if s := find(Check(f), "jail.inside"); s == nil || !strings.Contains(s.Found, "inside 'envseal jail'") {
		t.Errorf("jail: %+v", s)
	}
	if s := find(Check(cleanFacts()), "jail.inside"); s == nil || !strings.Contains(s.Found, "unknown") {
		t.Errorf("no jail: %+v", s)
	}
}

func TestBrokerAnswers(t *testing.T) {
	f := cleanFacts()
	f.Broker = func() (string, error) { return "/s", nil }
	if s := find(Check(f), "broker.running"); s == nil || !strings.HasPrefix(s.Found, "a broker answers") {
		t.Errorf("broker: %+v", s)
	}
}

func TestNotLinux(t *testing.T) {
	f := cleanFacts()
	f.OS = "darwin"
	withFile(&f, "/proc/sys/dev/tty/legacy_tiocsti", "1")
	sigs := Check(f)
	for _, id := range []string{"tty.tiocsti", "ptrace.scope"} {
		if find(sigs, id) != nil {
			t.Errorf("%s checked on darwin", id)
		}
	}
}

func TestInterpreterNames(t *testing.T) {
	for _, p := range []string{"/bin/sh", "/usr/bin/bash", "/usr/bin/python3.12", "/usr/local/bin/node", "perl", "/usr/bin/ruby3.2", "/usr/bin/env"} {
		if !IsInterpreter(p) {
			t.Errorf("%s is an interpreter", p)
		}
	}
	for _, p := range []string{"/usr/bin/curl", "/usr/bin/git", "/usr/bin/shasum", "/opt/nodejs-app", "/usr/bin/pythonista"} {
		if IsInterpreter(p) {
			t.Errorf("%s is not an interpreter", p)
		}
	}
}

// The JSON schema is stable: everything-wrong facts against a golden file.
func TestGoldenJSON(t *testing.T) {
	f := cleanFacts()
	for _, tc := range findings {
		if tc.name == "core dumps own limit" || tc.name == "tiocsti old kernel" || tc.name == "yama 0" || tc.name == "xwayland" || tc.name == "core dumps piped" {
			continue
		}
		tc.mutate(&f)
	}
	f.Environ = append(f.Environ, "LD_PRELOAD=/tmp/x.so")
	got := NewReport(Check(f)).JSON()
	path := filepath.Join("testdata", "doctor.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("doctor JSON changed (run go test -update if intended):\n%s", got)
	}
}

// Text is one line per finding and one per fix, newlines flattened;
// Serious counts high and critical.
func TestReportText(t *testing.T) {
	r := NewReport([]Signal{
		{ID: "a.b", Severity: High, Found: "two\nlines", Fix: "do x"},
		{ID: "c", Severity: Info, Found: "fine"},
		{ID: "d", Severity: Critical, Found: "bad"},
	})
	want := "HIGH     a.b: two lines\n         fix: do x\nINFO     c: fine\nCRITICAL d: bad\n"
	if got := string(r.Text()); got != want {
		t.Errorf("Text() = %q, want %q", got, want)
	}
	if r.Serious() != 2 {
		t.Errorf("Serious() = %d, want 2", r.Serious())
	}
}
