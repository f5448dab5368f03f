//go:build linux && (amd64 || arm64)

package sandbox

import (
	"slices"
	"strings"
	"testing"
)

// The jail helper sets up mounts for whatever its command line says: a
// malformed one must be refused, never read as a weaker jail.
func TestParseJailArgs(t *testing.T) {
	good := []string{"--status-fd", "3", "--hide", "/v", "--broker-dir", "/r/envseal", "--socket", "broker.sock",
		"--tty", "/dev/pts/3", "--rw", "/w", "--best-effort", "--private", "/tmp", "--private-rt", "/run/user/1",
		"--cover-dir", "/run/screen", "--keep", "/tmp/proj", "--cwd", "/tmp/proj", "--allow-ssh-agent",
		"--path", "/bin/sh", "--", "sh", "-c", "x"}
	j, err := parseJailArgs(good)
	if err != nil {
		t.Fatalf("parse %q: %v", good, err)
	}
	if j.hide != "/v" || j.socket != "broker.sock" || !slices.Equal(j.rw, []string{"/w"}) || !j.bestEffort ||
		!slices.Equal(j.argv, []string{"sh", "-c", "x"}) || j.statusFD != 3 ||
		!slices.Equal(j.private, []string{"/tmp"}) || !slices.Equal(j.privateRT, []string{"/run/user/1"}) ||
		!slices.Equal(j.coverDirs, []string{"/run/screen"}) || !slices.Equal(j.keep, []string{"/tmp/proj"}) ||
		j.cwd != "/tmp/proj" || !j.allowSSH {
		t.Errorf("parsed %+v", j)
	}
	for _, bad := range [][]string{
		{"--path", "/bin/sh"},       // no --
		{"--path", "/bin/sh", "--"}, // no command
		{"--", "sh"},                // no --path
		{"--hide", "rel", "--path", "/bin/sh", "--", "sh"},    // relative path
		{"--socket", "../x", "--path", "/bin/sh", "--", "sh"}, // socket name with a slash
		{"--bogus", "/x", "--path", "/bin/sh", "--", "sh"},    // unknown flag
		{"--hide", "--", "sh"},                                // missing value
		{"--keep", "rel", "--path", "/bin/sh", "--", "sh"},    // relative keep
		{"--private", "tmp", "--path", "/bin/sh", "--", "sh"}, // relative private dir
	} {
		if _, err := parseJailArgs(bad); err == nil {
			t.Errorf("parse %q: accepted, want an error", bad)
		}
	}
}

// JailCommand drops DISPLAY and WAYLAND_DISPLAY unless AllowDisplay, sets
// ENVSEAL_JAIL=1 (an inherited value cannot fake or hide it), and asks
// for new user and mount namespaces.
func TestJailCommandEnv(t *testing.T) {
	env := []string{"A=1", "DISPLAY=:0", "WAYLAND_DISPLAY=wayland-0", "ENVSEAL_JAIL=0",
		"TMUX=/tmp/tmux-1/default,1,0", "STY=1.x", "ZELLIJ_SESSION_NAME=z", "SSH_AUTH_SOCK=/nonexistent",
		"DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1/bus", "VSCODE_IPC_HOOK_CLI=/x", "XAUTHORITY=/x"}
	cmd, h, err := JailCommand("/proc/self/exe", "/bin/true", []string{"true"}, env, JailOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	if got := strings.Join(cmd.Env, " "); got != "A=1 ENVSEAL_JAIL=1" {
		t.Errorf("env %q", got)
	}
	if cmd.SysProcAttr == nil || cmd.SysProcAttr.Cloneflags == 0 || len(cmd.SysProcAttr.AmbientCaps) != 1 {
		t.Errorf("SysProcAttr %+v: want new namespaces and one ambient capability", cmd.SysProcAttr)
	}
	cmd, h, _ = JailCommand("/proc/self/exe", "/bin/true", []string{"true"}, env, JailOptions{AllowDisplay: true})
	h.Close()
	if !slices.Contains(cmd.Env, "DISPLAY=:0") || !slices.Contains(cmd.Args, "--allow-display") {
		t.Errorf("--allow-display: env %q args %q", cmd.Env, cmd.Args)
	}
}
