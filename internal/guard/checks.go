package guard

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/envseal/envseal/internal/childenv"
)

func sig(id string, sev Severity, found, fix string) []Signal {
	return []Signal{{ID: id, Severity: sev, Found: found, Fix: fix}}
}

func (f Facts) read(name string) (string, error) {
	if f.ReadFile == nil {
		return "", errors.ErrUnsupported
	}
	b, err := f.ReadFile(name)
	return strings.TrimSpace(string(b)), err
}

// vaultDirSignals: a vault directory others can write lets them swap the
// sealed files or the policy (a rollback to an old rule set).
func vaultDirSignals(f Facts) []Signal {
	if f.VaultDir == "" || f.CheckVaultDir == nil {
		return sig("vault.dir", Info, "vault directory not checked", "")
	}
	err := f.CheckVaultDir(f.VaultDir)
	switch {
	case err == nil:
		return sig("vault.dir", Info, f.VaultDir+" is yours and private", "")
	case errors.Is(err, fs.ErrNotExist):
		return sig("vault.dir", Info, "no vault at "+f.VaultDir, "envseal init")
	}
	return sig("vault.dir", High, "vault directory is unsafe: "+err.Error(),
		fmt.Sprintf("chown \"$(id -u)\" %s && chmod 700 %s", f.VaultDir, f.VaultDir))
}

// environSignals: LD_PRELOAD & co load code into the process that holds the
// master key; envseal refuses to run with them.
func environSignals(f Facts) []Signal {
	var re *childenv.RefusedError
	if err := childenv.Guard(f.Environ); errors.As(err, &re) {
		return sig("env.loader_injection", Critical,
			"envseal's environment sets "+strings.Join(re.Vars, ", ")+": code chosen by whoever set it would run inside envseal",
			"find what sets it (shell rc files, direnv) and remove it; meanwhile: "+re.Hint())
	}
	return sig("env.loader_injection", Info, "no LD_PRELOAD, LD_AUDIT or DYLD_INSERT_LIBRARIES in envseal's environment", "")
}

var coreLimitRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^Max core file size\s+(\S+)`) })

// coreSignals: a crashing program that was given a secret writes it into a
// core file. envseal zeroes its own limit; the programs it runs inherit the
// shell's.
func coreSignals(f Facts) []Signal {
	limit, who := "", "envseal's"
	if f.OS == "linux" && f.PPID > 0 {
		if s, err := f.read(fmt.Sprintf("/proc/%d/limits", f.PPID)); err == nil {
			if m := coreLimitRE().FindStringSubmatch(s); m != nil {
				limit, who = m[1], "the shell's"
			}
		}
	}
	if limit == "" && f.CoreLimit != nil {
		if n, err := f.CoreLimit(); err == nil {
			limit = strconv.FormatUint(n, 10)
			if n == ^uint64(0) {
				limit = "unlimited"
			}
		}
	}
	switch limit {
	case "":
		return sig("core.dumps", Info, "core dump limit unknown", "")
	case "0":
		return sig("core.dumps", Info, who+" core dump limit is 0", "")
	}
	pattern := ""
	if f.OS == "linux" {
		pattern, _ = f.read("/proc/sys/kernel/core_pattern")
	}
	fix := "add 'ulimit -c 0' to your shell's rc file"
	if strings.HasPrefix(pattern, "|") {
		handler, _, _ := strings.Cut(strings.TrimPrefix(pattern, "|"), " ")
		return sig("core.dumps", Low, fmt.Sprintf("%s core dump limit is %s; cores go to %s, which may keep them on disk", who, limit, handler), fix)
	}
	return sig("core.dumps", Medium, fmt.Sprintf("%s core dump limit is %s: a program that crashes while holding a secret writes it to a core file", who, limit), fix)
}

// ptraceSignals: without Yama any process of the user can attach to any
// other and read its memory — the secrets in a running child included.
func ptraceSignals(f Facts) []Signal {
	if f.OS != "linux" {
		return nil
	}
	fix := "sysctl kernel.yama.ptrace_scope=1 (persist it in /etc/sysctl.d/)"
	v, err := f.read("/proc/sys/kernel/yama/ptrace_scope")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return sig("ptrace.scope", Medium, "Yama is not enabled in this kernel: any process running as you can ptrace (read the memory of) the programs envseal gives secrets to; envseal itself is non-dumpable",
			"boot a kernel with CONFIG_SECURITY_YAMA (add 'yama' to the lsm= boot parameter), then "+fix)
	case err != nil:
		return sig("ptrace.scope", Info, "Yama ptrace_scope unreadable: "+err.Error(), "")
	case v == "0":
		return sig("ptrace.scope", Medium, "kernel.yama.ptrace_scope is 0: any process running as you can read the memory of the programs envseal gives secrets to", fix)
	}
	return sig("ptrace.scope", Info, "kernel.yama.ptrace_scope is "+v+": only parents (or root) can ptrace", "")
}

// tiocstiSignals: TIOCSTI lets any program that shares your terminal type
// commands into it — or answer envseal's terminal approval.
func tiocstiSignals(f Facts) []Signal {
	if f.OS != "linux" {
		return nil
	}
	const fix = "sysctl dev.tty.legacy_tiocsti=0 (persist it in /etc/sysctl.d/)"
	v, err := f.read("/proc/sys/dev/tty/legacy_tiocsti")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return sig("tty.tiocsti", High, "this kernel predates dev.tty.legacy_tiocsti (Linux 6.2): a program sharing your terminal can inject keystrokes into it with TIOCSTI",
			"upgrade to Linux 6.2 or newer and set "+fix)
	case err != nil:
		return sig("tty.tiocsti", Info, "dev.tty.legacy_tiocsti unreadable: "+err.Error(), "")
	case v == "1":
		return sig("tty.tiocsti", High, "dev.tty.legacy_tiocsti is 1: a program sharing your terminal can inject keystrokes (TIOCSTI), e.g. into a terminal approval", fix)
	}
	return sig("tty.tiocsti", Info, "dev.tty.legacy_tiocsti is "+v+": keystroke injection with TIOCSTI is off", "")
}

// sandboxSignals say which tiers runs can ask for here.
func sandboxSignals(f Facts) []Signal {
	if f.Tiers == nil {
		return sig("sandbox.tiers", Info, "sandbox tiers not checked on this OS", "")
	}
	var out []Signal
	var ok []string
	for _, t := range f.TierOrder {
		err := f.Tiers[t]
		if err == nil {
			ok = append(ok, string(t))
			continue
		}
		fix := ""
		var h interface{ Hint() string }
		if errors.As(err, &h) {
			fix = h.Hint()
		}
		if fix == "" && f.TierHint != nil {
			fix = f.TierHint(err)
		}
		out = append(out, Signal{ID: "sandbox." + string(t), Severity: Medium,
			Found: fmt.Sprintf("the %s sandbox tier does not work here (runs asking for it are refused): %v", t, err), Fix: fix})
	}
	out = append(out, Signal{ID: "sandbox.tiers", Severity: Info, Found: "sandbox tiers available: " + orNone(ok)})
	land := "Landlock is not available"
	if f.LandlockABI > 0 {
		land = fmt.Sprintf("Landlock ABI %d", f.LandlockABI)
	}
	sev, fix := Info, ""
	if f.LandlockABI == 0 && f.OS == "linux" {
		sev, fix = Low, "boot with 'landlock' in the lsm= kernel parameter (Linux 5.13+)"
	}
	out = append(out, Signal{ID: "sandbox.landlock", Severity: sev, Found: land, Fix: fix})
	if f.OS == "linux" {
		if v, err := f.read("/proc/sys/user/max_user_namespaces"); err == nil && v == "0" {
			out = append(out, Signal{ID: "sandbox.userns", Severity: Medium, Found: "user.max_user_namespaces is 0: no user namespaces, so no hardened or lockdown sandbox",
				Fix: "sysctl user.max_user_namespaces=10000"})
		}
	}
	return out
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func brokerSignals(f Facts) []Signal {
	if f.Broker == nil {
		return sig("broker.running", Info, "broker not checked on this OS", "")
	}
	path, err := f.Broker()
	if err != nil {
		return sig("broker.running", Info, "no broker answers at "+path+": every run asks for the passphrase", "")
	}
	return sig("broker.running", Info, "a broker answers at "+path+": runs approved by rule need no passphrase until it locks", "envseal lock, when you step away")
}

// jailSignals: there is no reliable marker yet; the jail sets ENVSEAL_JAIL.
func jailSignals(f Facts) []Signal {
	if v, _ := getenv(f.Environ, "ENVSEAL_JAIL"); v == "1" {
		return sig("jail.inside", Info, "this shell is inside 'envseal jail'", "")
	}
	return sig("jail.inside", Info, "unknown whether this shell is inside 'envseal jail' (ENVSEAL_JAIL is not set)", "")
}

// displaySignals: on X11 any client can read keystrokes and synthesize
// input, so it can click "allow" in a GUI approver.
func displaySignals(f Facts) []Signal {
	x, hasX := getenv(f.Environ, "DISPLAY")
	_, hasW := getenv(f.Environ, "WAYLAND_DISPLAY")
	hasX = hasX && x != ""
	switch {
	case hasX && !hasW:
		return sig("display.x11", Medium, "an X11 session (DISPLAY="+x+"): any X client can inject input into a GUI approver or read what you type",
			"use a Wayland session, or approve on the terminal: env -u DISPLAY envseal run …")
	case hasX:
		return sig("display.x11", Low, "Wayland with XWayland (DISPLAY="+x+"): X11 programs can still drive X11 approver windows",
			"prefer a Wayland-native pinentry (pinentry-gnome3, pinentry-qt)")
	case hasW:
		return sig("display.x11", Info, "a Wayland session: clients cannot inject input into other windows", "")
	}
	return sig("display.x11", Info, "no graphical session: approvals are asked on the terminal", "")
}

// Approvers envseal can use. One that root does not own is skipped by
// envseal (an agent could have replaced it with one that always allows).
var approverNames = []string{"pinentry", "pinentry-gnome3", "pinentry-qt", "pinentry-gtk-2", "pinentry-curses", "zenity", "kdialog"}

func approverSignals(f Facts) []Signal {
	if f.LookPath == nil || f.Trusted == nil {
		return sig("approver.present", Info, "approver programs not checked", "")
	}
	var trusted, bad []string
	var why []string
	for _, n := range approverNames {
		p, err := f.LookPath(n)
		if err != nil {
			continue
		}
		if err := f.Trusted(p); err != nil {
			bad = append(bad, p)
			why = append(why, err.Error())
			continue
		}
		trusted = append(trusted, p)
	}
	var out []Signal
	if len(bad) > 0 {
		out = append(out, Signal{ID: "approver.untrusted", Severity: Medium,
			Found: "approver programs envseal will not run (" + strings.Join(why, "; ") + "); a user-writable approver could answer 'allow' by itself",
			Fix:   "remove them from PATH or install them as root: " + strings.Join(bad, ", ")})
	}
	if len(trusted) == 0 {
		out = append(out, Signal{ID: "approver.present", Severity: Info, Found: "no root-owned GUI approver found: approvals are asked on the terminal"})
	} else {
		names := make([]string, len(trusted))
		for i, p := range trusted {
			names[i] = filepath.Base(p)
		}
		out = append(out, Signal{ID: "approver.present", Severity: Info, Found: "root-owned approvers: " + strings.Join(names, ", ")})
	}
	return out
}

func auditSignals(f Facts) []Signal {
	if f.Audit == nil {
		return sig("audit.chain", Info, "audit log not checked", "")
	}
	n, err := f.Audit()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return sig("audit.chain", Info, "no audit log yet", "")
	case err != nil:
		return sig("audit.chain", High, "the audit log does not verify: "+err.Error(),
			"envseal audit verify (names the first bad record); keep a copy of the log before anything else")
	}
	return sig("audit.chain", Info, fmt.Sprintf("audit log hash chain intact (%d records; 'envseal audit verify' also checks the MACs)", n), "")
}
