//go:build linux && (amd64 || arm64)

package sandbox

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The jail's last doors are control sockets: a tmux, screen, kitty,
// WezTerm or Zellij server runs commands outside the jail and reads the
// broker's pane (the approval code) off the screen; an editor's IPC
// socket opens terminals; the D-Bus session bus starts processes through
// systemd --user; ssh-agent and gpg-agent sign with the user's keys. The
// jail hides them two ways: the places they live get fresh tmpfs mounts
// (privateDirs, runtime dirs, socketDirs), and a socket a variable names
// somewhere else is covered with /dev/null. The variables themselves are
// dropped so nothing inside goes looking.

// privateDirs get a fresh writable tmpfs each: /tmp/tmux-UID,
// /tmp/.X11-unix, /tmp/ssh-*, /tmp/emacsUID, /tmp/zellij-UID and every
// other socket under them vanish. Under --rw they are writable only when
// named (--rw /tmp).
var privateDirs = []string{"/tmp", "/var/tmp", "/dev/shm"}

// socketDirs hold other users' or daemons' sockets outside $XDG_RUNTIME_DIR
// and /tmp; each existing one is covered by an empty read-only tmpfs.
// Paths starting with "~/" are under $HOME.
var socketDirs = []string{
	"/run/screen",       // GNU screen's SOCKDIR (Debian, Fedora)
	"~/.screen",         // screen built without a system SOCKDIR
	"~/.ssh/agent",      // OpenSSH 9.8+ `ssh-agent -T`-style agent sockets
	"~/.emacs.d/server", // emacs server-auth-dir (TCP server cookies)
	"~/.config/emacs/server",
}

// socketVars are the variables that name an outside socket, each with the
// way to find the socket's path in its value ("" when it names none). They
// are dropped from the agent's environment (SSH_AUTH_SOCK stays with
// --allow-ssh-agent; DISPLAY, WAYLAND_DISPLAY and XAUTHORITY with
// --allow-display).
var socketVars = map[string]func(v string) string{
	"TMUX":                        firstField(","), // socket,pid,session
	"TMUX_PANE":                   nil,
	"STY":                         nil, // screen's session (socket in /run/screen)
	"WINDOW":                      nil,
	"KITTY_LISTEN_ON":             unixPrefix("unix:"),
	"KITTY_WINDOW_ID":             nil,
	"KITTY_PID":                   nil,
	"WEZTERM_UNIX_SOCKET":         asPath,
	"WEZTERM_PANE":                nil,
	"ALACRITTY_SOCKET":            asPath,
	"DBUS_SESSION_BUS_ADDRESS":    dbusPath,
	"SSH_AUTH_SOCK":               asPath,
	"SSH_AGENT_PID":               nil,
	"GPG_AGENT_INFO":              firstField(":"), // path:pid:1
	"GNOME_KEYRING_CONTROL":       nil,
	"VSCODE_IPC_HOOK_CLI":         asPath,
	"VSCODE_IPC_HOOK":             asPath,
	"VSCODE_GIT_IPC_HANDLE":       asPath,
	"EMACS_SOCKET_NAME":           asPath,
	"NVIM":                        asPath,
	"NVIM_LISTEN_ADDRESS":         asPath,
	"WAYLAND_DISPLAY":             nil, // its socket is in $XDG_RUNTIME_DIR
	"DISPLAY":                     nil,
	"XAUTHORITY":                  nil,
	"PULSE_SERVER":                unixPrefix("unix:"),
	"PIPEWIRE_REMOTE":             asPath,
	"SWAYSOCK":                    asPath,
	"I3SOCK":                      asPath,
	"HYPRLAND_INSTANCE_SIGNATURE": nil,
}

// socketVarPrefixes: every variable starting with one of these is dropped
// too (Zellij sets ZELLIJ, ZELLIJ_SESSION_NAME, ZELLIJ_PANE_ID).
var socketVarPrefixes = []string{"ZELLIJ", "KONSOLE_DBUS_", "TERMINATOR_DBUS_"}

func asPath(v string) string { return v }

func firstField(sep string) func(string) string {
	return func(v string) string { f, _, _ := strings.Cut(v, sep); return f }
}

func unixPrefix(p string) func(string) string {
	return func(v string) string {
		if s, ok := strings.CutPrefix(v, p); ok {
			return s
		}
		return ""
	}
}

// dbusPath finds unix:path=P in a D-Bus address list (abstract= addresses
// are cut off by Landlock's abstract-socket scoping).
func dbusPath(v string) string {
	for _, a := range strings.Split(v, ";") {
		rest, ok := strings.CutPrefix(a, "unix:")
		if !ok {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if p, ok := strings.CutPrefix(kv, "path="); ok {
				return p
			}
		}
	}
	return ""
}

// dropVar says whether key leaves the agent's environment.
func dropVar(key string, o JailOptions) bool {
	switch key {
	case "ENVSEAL_JAIL":
		return true // set again, so an inherited value cannot fake or hide it
	case "SSH_AUTH_SOCK":
		return !o.AllowSSHAgent
	case "DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY":
		return !o.AllowDisplay
	}
	if _, ok := socketVars[key]; ok {
		return true
	}
	for _, p := range socketVarPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// namedSockets are the sockets the dropped variables name, when they exist
// as sockets: covered with /dev/null wherever they live (a socket already
// under a covered dir is simply gone).
func namedSockets(env []string, o JailOptions) []string {
	var out []string
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		find, ok := socketVars[k]
		if !ok || find == nil || !dropVar(k, o) {
			continue
		}
		if p := find(v); filepath.IsAbs(p) && isSocket(p) && !contains(out, p) {
			out = append(out, filepath.Clean(p))
		}
	}
	return out
}

// homeSockets are gpg-agent's sockets in ~/.gnupg (used when there is no
// runtime dir).
func homeSockets(home string) []string {
	if !filepath.IsAbs(home) {
		return nil
	}
	matches, _ := filepath.Glob(filepath.Join(home, ".gnupg", "S.*"))
	var out []string
	for _, m := range matches {
		if isSocket(m) {
			out = append(out, m)
		}
	}
	return out
}

// existingSocketDirs expands socketDirs for home and keeps the ones that
// exist.
func existingSocketDirs(home string) []string {
	var out []string
	for _, d := range socketDirs {
		if rest, ok := strings.CutPrefix(d, "~/"); ok {
			if !filepath.IsAbs(home) {
				continue
			}
			d = filepath.Join(home, rest)
		}
		if isDir(d) {
			out = append(out, d)
		}
	}
	return out
}

// runtimeDirs are $XDG_RUNTIME_DIR and /run/user/UID: the session bus,
// gnupg, ssh, systemd --user, Wayland, PipeWire/Pulse and the editors'
// sockets. Each gets a fresh private tmpfs; only the broker's socket (and
// an explicitly allowed one) is bound back in.
func runtimeDirs(env []string) []string {
	var out []string
	if rt := getenv(env, "XDG_RUNTIME_DIR"); filepath.IsAbs(rt) && isDir(rt) {
		out = append(out, filepath.Clean(rt))
	}
	if r := filepath.Join("/run/user", strconv.Itoa(os.Getuid())); isDir(r) && !contains(out, r) {
		out = append(out, r)
	}
	return out
}

// displaySockets are what --allow-display binds in: the X socket of
// $DISPLAY (":N", "unix:N", ":N.S"), the Wayland socket and the
// XAUTHORITY cookie file.
func displaySockets(env []string) []string {
	var out []string
	if d := getenv(env, "DISPLAY"); d != "" {
		host, rest, ok := strings.Cut(d, ":")
		if ok && (host == "" || host == "unix") {
			num, _, _ := strings.Cut(rest, ".")
			if _, err := strconv.Atoi(num); err == nil {
				if p := filepath.Join(x11Dir, "X"+num); isSocket(p) {
					out = append(out, p)
				}
			}
		}
	}
	if w := getenv(env, "WAYLAND_DISPLAY"); w != "" {
		p := w
		if !filepath.IsAbs(p) {
			p = filepath.Join(getenv(env, "XDG_RUNTIME_DIR"), w)
		}
		if filepath.IsAbs(p) && isSocket(p) {
			out = append(out, filepath.Clean(p))
		}
	}
	if x := getenv(env, "XAUTHORITY"); filepath.IsAbs(x) {
		var st unix.Stat_t
		if unix.Stat(x, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
			out = append(out, filepath.Clean(x))
		}
	}
	return out
}

func isSocket(p string) bool {
	var st unix.Stat_t
	return unix.Stat(p, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFSOCK
}

// beneath reports whether p is dir or below it.
func beneath(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}
