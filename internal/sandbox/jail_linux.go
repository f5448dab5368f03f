//go:build linux && (amd64 || arm64)

package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/envseal/envseal/internal/sys"
	"golang.org/x/sys/unix"
)

// x11Dir holds the X server's sockets (its abstract twins are stopped by
// Landlock's abstract-socket scoping).
const x11Dir = "/tmp/.X11-unix"

// jailSocketArgs are the helper's arguments that hide the control
// sockets (jailsockets_linux.go): fresh /tmp, /var/tmp, /dev/shm and
// runtime dirs, empty covers for the other socket dirs, /dev/null over
// the sockets the dropped variables name, and the few paths bound back
// in (--keep): the working directory, CMD and PATH directories when
// beneath a private dir, and what --allow-display / --allow-ssh-agent
// allow.
func jailSocketArgs(path string, env []string, o JailOptions) ([]string, error) {
	cwd, err := jailCwd(o)
	if err != nil {
		return nil, err
	}
	home := getenv(env, "HOME")
	args, private, hidden := jailCovers(env, home, o)
	if err := checkJailCwd(cwd, private, hidden); err != nil {
		return nil, err
	}
	keep := keptBeneathPrivate(path, cwd, env, o, private)
	allow, sockets, err := allowedSockets(env, o)
	if err != nil {
		return nil, err
	}
	args = append(args, allow...)
	keep = append(keep, sockets...)
	for _, k := range keep {
		args = append(args, "--keep", k)
	}
	covered := append(namedSockets(env, o), homeSockets(home)...)
	for _, f := range covered {
		if !contains(keep, f) {
			args = append(args, "--cover-file", f)
		}
	}
	args = append(args, "--cwd", cwd)
	return args, nil
}

// jailCwd is the jail's working directory: o.Cwd, or ours.
func jailCwd(o JailOptions) (string, error) {
	cwd := o.Cwd
	if cwd == "" {
		var err error
		if cwd, err = os.Getwd(); err != nil {
			return "", fmt.Errorf("jail: working directory: %w", err)
		}
	}
	return filepath.Clean(cwd), nil
}

// jailCovers are the arguments that make the private dirs (/tmp, …, the
// runtime dirs) fresh and cover the other socket dirs; with them the
// private dirs, and every dir the jail hides (the covered ones, the vault,
// the broker's).
func jailCovers(env []string, home string, o JailOptions) (args, private, hidden []string) {
	for _, d := range privateDirs {
		if isDir(d) {
			private = append(private, d)
			args = append(args, "--private", d)
		}
	}
	for _, d := range runtimeDirs(env) {
		private = append(private, d)
		args = append(args, "--private-rt", d)
	}
	for _, d := range existingSocketDirs(home) {
		hidden = append(hidden, d)
		args = append(args, "--cover-dir", d)
	}
	if o.VaultDir != "" {
		hidden = append(hidden, filepath.Clean(o.VaultDir))
	}
	if o.BrokerDir != "" {
		hidden = append(hidden, filepath.Clean(o.BrokerDir))
	}
	return args, private, hidden
}

// checkJailCwd refuses a working directory the jail would hide or replace.
func checkJailCwd(cwd string, private, hidden []string) error {
	for _, d := range hidden {
		if beneath(cwd, d) {
			return fmt.Errorf("jail: the working directory %s is beneath %s, which the jail hides: start the jail from another directory", cwd, d)
		}
	}
	for _, d := range private {
		if cwd == d {
			return fmt.Errorf("jail: the working directory is %s, which the jail replaces with a private one: start the jail from a project directory", d)
		}
	}
	return nil
}

// keptBeneathPrivate are the paths beneath a private dir that are bound
// back in: the working directory, the writable dirs, CMD and the PATH
// directories.
func keptBeneathPrivate(path, cwd string, env []string, o JailOptions, private []string) []string {
	var keep []string
	underPrivate := func(p string) bool {
		for _, d := range private {
			if beneath(p, d) {
				return true
			}
		}
		return false
	}
	if underPrivate(cwd) {
		keep = append(keep, cwd)
	}
	for _, d := range o.RW {
		if a, err := filepath.Abs(d); err == nil && underPrivate(a) && !contains(private, a) && !contains(keep, a) {
			keep = append(keep, a)
		}
	}
	if underPrivate(path) {
		keep = append(keep, path)
	}
	// PATH directories beneath /tmp (a `go build -o /tmp/x` toolbox): the
	// agent keeps its tools. A PATH entry that is /tmp itself is not
	// bound: it would bring the sockets back.
	for _, d := range filepath.SplitList(getenv(env, "PATH")) {
		if filepath.IsAbs(d) {
			d = filepath.Clean(d)
			if underPrivate(d) && !contains(private, d) && !contains(keep, d) && isDir(d) {
				keep = append(keep, d)
			}
		}
	}
	return keep
}

// allowedSockets are what --allow-display and --allow-ssh-agent let in:
// the helper's flags, and the sockets to keep.
func allowedSockets(env []string, o JailOptions) (args, keep []string, err error) {
	if o.AllowDisplay {
		args = append(args, "--allow-display")
		keep = append(keep, displaySockets(env)...)
	}
	if o.AllowSSHAgent {
		s := getenv(env, "SSH_AUTH_SOCK")
		if !filepath.IsAbs(s) || !isSocket(s) {
			return nil, nil, fmt.Errorf("jail: --allow-ssh-agent: SSH_AUTH_SOCK=%q is not a socket (is ssh-agent running?)", s)
		}
		args = append(args, "--allow-ssh-agent")
		keep = append(keep, filepath.Clean(s))
	}
	return args, keep, nil
}

// JailCommand builds the command that runs the agent in the jail: self
// (the envseal binary, "/proc/self/exe") as the helper with --jail, in a
// new user namespace (the caller's uid and gid mapped to themselves, so
// files keep their owner) and mount namespace, with ambient
// CAP_SYS_ADMIN for the helper's mounts (docs/ARCHITECTURE.md kernel fact 4) — the
// helper drops it before CMD runs. path is CMD resolved on PATH, argv
// its argv (argv[0] as typed), env the agent's environment: the
// variables naming outside sockets are removed (socketVars; the display's
// unless o.AllowDisplay, SSH_AUTH_SOCK unless o.AllowSSHAgent), and
// ENVSEAL_JAIL=1 is set. The caller sets Stdin, Stdout and Stderr (their terminals are
// the ones the agent keeps), starts cmd and calls AfterStart, which
// returns a *HelperError if a layer failed (exit JailExitCode).
//
// JailCommand makes the calling process dumpable again (sys.Harden
// made it not): the child inherits that flag, and the kernel lets an
// unprivileged parent write the child's uid_map only while
// /proc/<child> belongs to the user, which a non-dumpable child's does
// not. The caller must hold no key or secret; `envseal jail` never opens
// the vault.
func JailCommand(self, path string, argv, env []string, o JailOptions) (*exec.Cmd, *Handle, error) {
	if len(argv) == 0 || path == "" {
		return nil, nil, errors.New("jail: no command")
	}
	if !o.NoNamespaces {
		if err := sys.SetDumpable(true); err != nil {
			return nil, nil, err
		}
	}
	if o.NoNamespaces && !o.BestEffort {
		return nil, nil, errors.New("jail: NoNamespaces needs BestEffort")
	}
	// argv[0] is "envseal", not self: cmd/envseal ignores it, and a test
	// binary standing in for envseal dispatches on it.
	args := []string{"envseal", HelperArg, jailFlag, "--status-fd", "3"}
	var ctl, holderEnd, gateR, gateW *os.File
	if !o.NoNamespaces {
		// The pin holder's control socket (holder_linux.go): fd 4.
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("jail: %w", os.NewSyscallError("socketpair", err))
		}
		ctl, holderEnd = os.NewFile(uintptr(fds[0]), "holder-ctl"), os.NewFile(uintptr(fds[1]), "holder-ctl")
		if gateR, gateW, err = os.Pipe(); err != nil {
			ctl.Close()
			holderEnd.Close()
			return nil, nil, fmt.Errorf("jail: %w", err)
		}
		args = append(args, "--holder-fd", "4", "--gate-fd", "5")
	}
	closeCtl := func() {
		for _, f := range []*os.File{ctl, holderEnd, gateR, gateW} {
			if f != nil {
				f.Close()
			}
		}
	}
	dirs, err := jailDirArgs(o)
	if err != nil {
		closeCtl()
		return nil, nil, err
	}
	args = append(args, dirs...)
	for _, t := range stdioTerminals() {
		args = append(args, "--tty", t)
	}
	more, err := jailSocketArgs(path, env, o)
	if err != nil {
		closeCtl()
		return nil, nil, err
	}
	args = append(args, more...)
	if o.BestEffort {
		args = append(args, "--best-effort")
	}
	if o.NoNamespaces {
		args = append(args, "--no-ns")
	}
	args = append(args, "--path", path, "--")
	args = append(args, argv...)

	r, w, err := os.Pipe()
	if err != nil {
		closeCtl()
		return nil, nil, fmt.Errorf("jail status pipe: %w", err)
	}
	cmd := &exec.Cmd{Path: self, Args: args, Env: jailEnv(env, o), ExtraFiles: []*os.File{w}}
	if !o.NoNamespaces {
		cmd.SysProcAttr = jailNamespaces()
		cmd.ExtraFiles = append(cmd.ExtraFiles, holderEnd, gateR)
	}
	return cmd, &Handle{r: r, w: w, ctl: ctl, ctlChild: holderEnd, gate: gateW, gateChild: gateR}, nil
}

// jailDirArgs are the helper's --hide, --broker-dir/--socket and --rw
// arguments, each dir made absolute (and never /).
func jailDirArgs(o JailOptions) ([]string, error) {
	var args []string
	abs := func(what, p string) (string, error) {
		a, err := filepath.Abs(p)
		if err != nil || a == "/" {
			return "", fmt.Errorf("jail: %s %q: not usable", what, p)
		}
		return a, nil
	}
	if o.VaultDir != "" {
		d, err := abs("vault dir", o.VaultDir)
		if err != nil {
			return nil, err
		}
		args = append(args, "--hide", d)
	}
	if o.BrokerDir != "" {
		d, err := abs("broker dir", o.BrokerDir)
		if err != nil {
			return nil, err
		}
		if o.SocketName == "" || strings.Contains(o.SocketName, "/") {
			return nil, fmt.Errorf("jail: bad socket name %q", o.SocketName)
		}
		args = append(args, "--broker-dir", d, "--socket", o.SocketName)
	}
	for _, d := range o.RW {
		a, err := abs("writable dir", d)
		if err != nil {
			return nil, err
		}
		args = append(args, "--rw", a)
	}
	return args, nil
}

// jailEnv is the agent's environment without the variables that name
// outside sockets, with ENVSEAL_JAIL=1.
func jailEnv(env []string, o JailOptions) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !dropVar(k, o) {
			out = append(out, kv)
		}
	}
	return append(out, "ENVSEAL_JAIL=1")
}

// jailNamespaces is the helper's clone configuration: a user namespace
// mapping our uid and gid to themselves, a mount namespace, and ambient
// CAP_SYS_ADMIN for the helper's mounts.
func jailNamespaces() *syscall.SysProcAttr {
	uid, gid := os.Getuid(), os.Getgid()
	return &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}},
		AmbientCaps: []uintptr{unix.CAP_SYS_ADMIN},
	}
}

// stdioTerminals are the /dev/pts paths of this process's stdin, stdout
// and stderr: the agent's own terminal, the only one left in its
// /dev/pts (so `tty` and ttyname keep working).
func stdioTerminals() []string {
	var out []string
	for fd := 0; fd < 3; fd++ {
		p, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
		if err != nil || !strings.HasPrefix(p, "/dev/pts/") || strings.Count(p, "/") != 3 {
			continue
		}
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR {
			continue
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func getenv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}
