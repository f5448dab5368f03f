//go:build linux && (amd64 || arm64)

package sandbox

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/envseal/envseal/internal/sys"
)

// The jail helper's command line (built by JailCommand; every value its
// own argument, anything unexpected an error):
//
//	envseal __sandbox_helper --jail --status-fd N [--holder-fd N --gate-fd N] --path EXE
//	    [--hide DIR] [--broker-dir DIR --socket NAME] [--tty PATH]…
//	    [--private DIR]… [--private-rt DIR]… [--cover-dir DIR]…
//	    [--cover-file PATH]… [--keep PATH]… [--rw DIR]… [--cwd DIR]
//	    [--allow-display] [--allow-ssh-agent] [--best-effort] [--no-ns]
//	    -- ARGV0 [ARGS…]
type jailArgs struct {
	statusFD     int
	holderFD     int // the pin holder's control socket (holder_linux.go), or -1
	gateFD       int // read once the jail is registered with the broker, before the agent starts
	path         string
	hide         string
	brokerDir    string
	socket       string
	ttys         []string
	coverDirs    []string
	coverFiles   []string
	private      []string // fresh writable tmpfs, mode 1777
	privateRT    []string // fresh writable tmpfs, mode 0700
	keep         []string // bound back in after the covers
	rw           []string
	cwd          string
	allowDisplay bool
	allowSSH     bool
	bestEffort   bool
	noNS         bool
	argv         []string
}

func parseJailArgs(args []string) (*jailArgs, error) {
	j := &jailArgs{statusFD: -1, holderFD: -1, gateFD: -1}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch a {
		case "--":
			j.argv = args[i+1:]
			if len(j.argv) == 0 {
				return nil, errors.New("no command after --")
			}
			if j.path == "" {
				return nil, errors.New("no --path")
			}
			return j, nil
		case "--allow-display":
			j.allowDisplay = true
			continue
		case "--allow-ssh-agent":
			j.allowSSH = true
			continue
		case "--best-effort":
			j.bestEffort = true
			continue
		case "--no-ns":
			j.noNS = true
			continue
		}
		if i+1 >= len(args) || args[i+1] == "--" {
			return nil, fmt.Errorf("flag %s needs a value", a)
		}
		v := args[i+1]
		i++
		if a != "--status-fd" && a != "--holder-fd" && a != "--gate-fd" && !strings.HasPrefix(v, "/") && a != "--socket" {
			return nil, fmt.Errorf("flag %s: %q is not an absolute path", a, v)
		}
		switch a {
		case "--status-fd":
			fd, err := parseFD(v)
			if err != nil {
				return nil, err
			}
			j.statusFD = fd
		case "--holder-fd":
			fd, err := parseFD(v)
			if err != nil {
				return nil, err
			}
			j.holderFD = fd
		case "--gate-fd":
			fd, err := parseFD(v)
			if err != nil {
				return nil, err
			}
			j.gateFD = fd
		case "--path":
			j.path = v
		case "--hide":
			j.hide = v
		case "--broker-dir":
			j.brokerDir = v
		case "--socket":
			if v == "" || strings.ContainsAny(v, "/\x00") || v == "." || v == ".." {
				return nil, fmt.Errorf("bad --socket %q", v)
			}
			j.socket = v
		case "--tty":
			j.ttys = append(j.ttys, v)
		case "--cover-dir":
			j.coverDirs = append(j.coverDirs, v)
		case "--cover-file":
			j.coverFiles = append(j.coverFiles, v)
		case "--private":
			j.private = append(j.private, v)
		case "--private-rt":
			j.privateRT = append(j.privateRT, v)
		case "--keep":
			j.keep = append(j.keep, v)
		case "--cwd":
			j.cwd = v
		case "--rw":
			j.rw = append(j.rw, v)
		default:
			return nil, fmt.Errorf("unknown flag %q", a)
		}
	}
	return nil, errors.New("missing -- before the command")
}

// jailMain sets the jail's layers up on one locked thread and execs the
// agent from it (the mount namespace, capabilities and Landlock domain
// are that thread's; seccomp goes to all threads). No PID namespace and
// no fork: the agent is an ordinary child of `envseal jail`, and exec
// leaves nothing of envseal running inside the jail.
func jailMain(args []string) int {
	runtime.LockOSThread()
	inherited := inheritedFDs() // marks them close-on-exec
	statusFD := lenientStatusFD(args)
	if !inherited[statusFD] {
		statusFD = -1
	}
	fail := func(err error) int {
		msg := oneLine(err.Error())
		if statusFD >= 0 {
			unix.Write(statusFD, []byte(msg))
		} else {
			os.Stderr.WriteString("envseal: error: jail: " + msg + "\n")
		}
		return JailExitCode
	}
	j, err := parseJailArgs(args)
	if err != nil {
		return fail(err)
	}
	var missing []string
	layer := func(name string, err error) error {
		if err == nil {
			return nil
		}
		if j.bestEffort {
			os.Stderr.WriteString("envseal: warning: jail layer missing: " + name + ": " + oneLine(err.Error()) + "\n")
			missing = append(missing, name)
			return nil
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	if j.noNS {
		if err := layer("namespaces", errors.New("user namespaces unavailable: vault, broker dir, terminals and display stay visible")); err != nil {
			return fail(err)
		}
	} else if err := jailMounts(j, layer); err != nil {
		return fail(err)
	} else if j.holderFD >= 0 && inherited[j.holderFD] {
		// Before the capabilities go: the holder keeps CAP_SYS_ADMIN in
		// this namespace, outside the agent's Landlock domain.
		ctl := os.NewFile(uintptr(j.holderFD), "holder-ctl")
		err := startHolder(ctl, os.Getuid(), j.rw)
		ctl.Close()
		if err := layer("pin holder", err); err != nil {
			return fail(err)
		}
		if err == nil && j.gateFD >= 0 && inherited[j.gateFD] {
			// Every run the broker serves now has its pinned files held
			// in this namespace too (the broker held them when the jail
			// registered): only now may the agent start.
			b := make([]byte, 1)
			if n, _ := sys.Retry(func() (int, error) { return unix.Read(j.gateFD, b) }); n != 1 {
				return fail(errors.New("envseal jail went away before the agent started"))
			}
			unix.Close(j.gateFD)
		}
	}
	// From here on nothing privileged is left to do; these two are never
	// optional (a kept CAP_SYS_ADMIN could unmount every cover).
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fail(os.NewSyscallError("prctl(PR_SET_NO_NEW_PRIVS)", err))
	}
	if err := dropCapabilities(); err != nil {
		return fail(err)
	}
	// The private dirs are not added to --rw: a working directory bound
	// back beneath /tmp would become writable with them (Landlock walks up
	// through the mount point).
	if err := layer("landlock", jailLandlock(j.rw)); err != nil {
		return fail(err)
	}
	if err := layer("seccomp", installSeccomp()); err != nil {
		return fail(err)
	}
	os.Stderr.WriteString(jailSummary(j, missing) + "\n")
	env := os.Environ()
	err = syscall.Exec(j.path, j.argv, env)
	return fail(fmt.Errorf("exec %s: %w", j.argv[0], err))
}

// jailSummary is the one line printed on start: what is hidden, what is
// not.
func jailSummary(j *jailArgs, missing []string) string {
	var hidden []string
	if !j.noNS {
		if j.hide != "" && !contains(missing, "hide vault") {
			hidden = append(hidden, "vault "+j.hide)
		}
		if j.brokerDir != "" && !contains(missing, "broker dir") {
			hidden = append(hidden, j.brokerDir+" (all but the socket)")
		}
		if !contains(missing, "terminals") {
			hidden = append(hidden, "other terminals")
		}
		if !contains(missing, "sockets") {
			hidden = append(hidden, "control sockets (private /tmp, /var/tmp, /dev/shm and $XDG_RUNTIME_DIR; tmux, screen, D-Bus, ssh/gpg agents, editors)")
			if !j.allowDisplay {
				hidden = append(hidden, "X11/Wayland")
			}
		}
	}
	if !contains(missing, "landlock") {
		hidden = append(hidden, "processes outside (no ptrace, signals, /proc/PID/environ|mem, abstract sockets)")
	}
	writes := "writable: everything your user can write"
	if len(j.rw) > 0 && !contains(missing, "landlock") {
		writes = "writable: only " + strings.Join(j.rw, ", ")
	}
	visible := "visible: the rest of your files, the network, unix sockets elsewhere, process list and command lines"
	if j.allowDisplay {
		visible += ", X11/Wayland (--allow-display)"
	}
	if j.allowSSH {
		visible += ", the ssh agent (--allow-ssh-agent)"
	}
	line := "envseal: jail: hidden: " + strings.Join(hidden, ", ") + "; " + visible + "; " + writes
	if len(missing) > 0 {
		line += "; MISSING: " + strings.Join(missing, ", ")
	}
	return oneLine(line)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
