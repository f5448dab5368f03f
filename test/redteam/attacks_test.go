//go:build redteam && linux

package redteam

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/policy"
)

// attack is one group of rows; modes "" means both.
type attack struct {
	modes string
	run   func(w *world, tb *table)
}

var attacks = []attack{
	{"", attackVaultFiles},
	{"", attackGuessPassphrase},
	{"", attackPolicyTamper},
	{"", attackPolicyRollback},
	{"", attackSwap},
	{"", attackSwapRace},
	{"", attackSymlink},
	{"", attackPathShadow},
	{"", attackInjectionVars},
	{"", attackProc},
	{modeDirect, attackHardenedPtrace},
	{"", attackTTY},
	{"", attackOwnPty},
	{"", attackMCP},
	{"", attackOutput},
	{"", attackAudit},
	{modeDirect, attackOwnPtyTOTP}, // last: it turns TOTP on for the rest of the world
}

// Approved programs and the attacker's files, set up before the attacks.
const (
	holdSleep = "3517" // the dumpable grandchild's `sleep N`
	hardSleep = "3518"
	plainHold = "3599" // the control: a plain process holding the value
)

var holdScript = func(n string) string { return "if test -e hold; then sleep " + n + "; fi; true" }

func (w *world) p(name string) string { return filepath.Join(w.work, name) }

// tool is the approved program (a copy of echo in a directory the agent
// owns, as a project's tools are); its rule is `tool SWAPLEAK`.
func (w *world) tool() string { return filepath.Join(w.wbin, "tool") }

func (w *world) setupRules() {
	echo, _ := filepath.EvalSymlinks("/bin/echo")
	w.copyTo(echo, w.tool())
	w.copyTo(echo, w.p("echo.good"))
	// The attack program: writes the value it was given to a file, so
	// the output scrubber cannot hide a success.
	w.writeFile(w.p("evil"), []byte("#!/bin/sh\nprintf %s \"$TOKEN\" > \"$1\"\n"), 0o755)
	w.writeFile(filepath.Join(w.wbin, "job.sh"), []byte("#!/bin/bash\necho job ran\n"), 0o755)
	w.writeFile(w.p("bashenv.sh"), []byte("printf %s \"$TOKEN\" > "+w.p("bashenv.leak")+"\n"), 0o644)
	w.writeFile(w.p("app.js"), []byte("console.log('app ran')\n"), 0o644)
	w.writeFile(w.p("evil.js"), []byte("require('fs').writeFileSync("+strconv.Quote(w.p("node.leak"))+", process.env.TOKEN || '')\n"), 0o644)
	w.buildEvilSO()

	w.approve(nil, "tool", w.p("swap.leak"))
	w.approve(nil, "sh", "-c", holdScript(holdSleep))
	w.approve(nil, w.rtagent, agentArg, "encode")
	w.approve(nil, "job.sh")
	if node, err := exec.LookPath("node"); err == nil {
		w.approve(nil, node, w.p("app.js"))
	}
	if w.mode == modeDirect {
		w.approve([]string{"--sandbox", "hardened"}, "sh", "-c", holdScript(hardSleep))
	}
}

// buildEvilSO compiles the LD_PRELOAD payload: a constructor that writes
// $TOKEN to ld.leak. Without a C compiler the row reports a broken probe.
func (w *world) buildEvilSO() {
	cc, err := exec.LookPath("cc")
	if err != nil {
		return
	}
	src := w.p("evil.c")
	os.WriteFile(src, []byte(`#include <stdio.h>
#include <stdlib.h>
__attribute__((constructor)) static void leak(void) {
	const char *v = getenv("TOKEN");
	FILE *f;
	if (!v) return;
	f = fopen(`+strconv.Quote(w.p("ld.leak"))+`, "w");
	if (f) { fputs(v, f); fclose(f); }
}
`), 0o644)
	if out, err := exec.Command(cc, "-shared", "-fPIC", "-o", w.p("evil.so"), src).CombinedOutput(); err != nil {
		w.t.Logf("cc evil.so: %v\n%s", err, out)
		return
	}
	os.Chmod(w.p("evil.so"), 0o755)
}

// leaked reports whether file holds the value (it is never printed).
func (w *world) leaked(file string) bool {
	b, _ := os.ReadFile(file)
	return bytes.Contains(b, []byte(w.value))
}

func (w *world) resetLeak(file string) { os.Remove(file) }

// ctl is "" when the condition holds, else what went wrong.
func ctl(ok bool, format string, args ...any) string {
	if ok {
		return ""
	}
	return fmt.Sprintf(format, args...)
}

func pick(w *world, direct, jail string) string {
	if w.mode == modeJail {
		return jail
	}
	return direct
}

const jailHides = "jail: vault dir is an empty read-only tmpfs (cli TestJail, jail.txtar)"

func attackVaultFiles(w *world, tb *table) {
	w.writeFile(w.p(".env"), []byte("TOKEN="+w.value+"\n"), 0o600)
	defer os.Remove(w.p(".env"))
	in := w.probe(true, "readtree:"+w.vault)["readtree:"+w.vault]
	out := w.probe(false, "readtree:"+w.vault, "read:"+w.p(".env"))
	control := ctl(strings.HasPrefix(out["read:"+w.p(".env")], "found"), "plaintext .env: %s", out["read:"+w.p(".env")])
	if control == "" {
		control = ctl(strings.HasPrefix(out["readtree:"+w.vault], "ok"), "vault files unreadable outside: %s", out["readtree:"+w.vault])
	}
	w.report(tb, "read the vault files (value in any encoding)", expStopped, !strings.HasPrefix(in, "found"),
		pick(w, "only ciphertext: XChaCha20-Poly1305, random master key (vault TestFormatVectors)", jailHides), in, control)
}

func attackGuessPassphrase(w *world, tb *table) {
	guesses := []string{"password", "123456", "envseal", "redteam", "correct horse battery staple", w.pass[:len(w.pass)-1], strings.ToUpper(w.pass), ""}
	w.writeFile(w.p("guesses"), []byte(strings.Join(guesses, "\n")), 0o600)
	w.writeFile(w.p("right"), []byte(w.pass), 0o600)
	defer os.Remove(w.p("right"))
	op := "unlock:" + w.vault + "," + w.p("guesses")
	in := w.probe(true, op)[op]
	ctlOp := "unlock:" + w.vault + "," + w.p("right")
	c := w.probe(false, ctlOp)[ctlOp]
	w.report(tb, "decrypt with guessed passphrases", expStopped, !strings.HasPrefix(in, "found"),
		pick(w, "Argon2id per guess, wrong passphrase refused (TestWrongPassphraseAndWrongKey, TestArgon2idVector); this vault uses the test-only cheapest KDF", jailHides),
		in, ctl(strings.HasPrefix(c, "found"), "the right passphrase did not unlock: %s", c))
}

// runTool runs the approved `tool swap.leak` as the agent.
func (w *world) runTool(extraEnv, flags []string) res {
	return w.envsealRun(extraEnv, flags, "tool", w.p("swap.leak"))
}

func attackPolicyTamper(w *world, tb *table) {
	pol := filepath.Join(w.vault, policy.FileName)
	orig, err := os.ReadFile(pol)
	if err != nil {
		w.t.Fatal(err)
	}
	restore := func() { w.writeFile(pol, orig, 0o600) }
	base := w.runTool(nil, nil)
	control := ctl(base.code == 0, "the approved run failed before tampering: exit %d %s", base.code, firstLine(base.errout))
	size := strconv.Itoa(len(orig) / 2)
	for _, c := range []struct{ name, op string }{
		{"edit policy.seal (flip a byte)", "flip:" + pol},
		{"truncate policy.seal", "truncate:" + pol + "," + size},
		{"delete policy.seal", "delete:" + pol},
	} {
		if w.mode == modeJail {
			in := w.probe(true, c.op)[c.op]
			out := w.probe(false, "write:"+pol)["write:"+pol]
			w.report(tb, c.name, expStopped, !strings.HasPrefix(in, "ok"), jailHides, in,
				ctl(out == "ok", "policy.seal not writable outside: %s", out))
			continue
		}
		in := w.probe(true, c.op)[c.op]
		r := w.runTool(nil, nil)
		restore()
		stopped := r.code == 125 && strings.Contains(r.errout, "policy")
		w.report(tb, c.name, expStopped, stopped,
			"fails closed, exit 125 naming the file (policy TestTamperedTruncatedDeletedWrongKey, run_attacks.txtar)",
			fmt.Sprintf("%s; run exit %d: %s", in, r.code, errLine(r)), control)
	}
}

func (w *world) humanCLI(args ...string) res {
	cmd := w.command(nil, w.envseal, args...)
	f := w.passFD()
	defer f.Close()
	cmd.ExtraFiles = []*os.File{f}
	return w.exec(cmd)
}

func attackPolicyRollback(w *world, tb *table) {
	pol := filepath.Join(w.vault, policy.FileName)
	old := w.p("policy.old")
	w.approve(nil, "tool", "rollback")
	// The agent keeps a copy of the policy while the rule is in it.
	in := w.probe(true, "copy:"+pol+","+old)["copy:"+pol+","+old]
	if w.mode == modeJail {
		out := w.probe(false, "read:"+pol)["read:"+pol]
		w.report(tb, "roll back policy.seal (restore an older copy)", expStopped, !strings.HasPrefix(in, "ok"), jailHides,
			"copy: "+in, ctl(strings.HasPrefix(out, "ok"), "policy.seal unreadable outside: %s", out))
		return
	}
	// The human revokes the rule...
	lr := w.humanCLI("policy", "list", "--json", "--passphrase-fd", "3")
	var rules []policy.Rule
	json.Unmarshal([]byte(lr.out), &rules)
	id := ""
	for _, r := range rules {
		if len(r.Argv) == 1 && r.Argv[0] == "rollback" {
			id = r.ID
		}
	}
	rv := w.humanCLI("policy", "revoke", "--passphrase-fd", "3", id)
	after := w.envsealRun(nil, nil, "tool", "rollback")
	control := ctl(id != "" && rv.code == 0 && after.code == 126, "revoke did not take: id %q, revoke exit %d, run exit %d", id, rv.code, after.code)
	// ...and the agent puts the old file back.
	put := w.probe(true, "restore:"+old+","+pol)["restore:"+old+","+pol]
	r := w.envsealRun(nil, nil, "tool", "rollback")
	ran := r.code == 0 && strings.Contains(r.out, "rollback")
	w.report(tb, "roll back policy.seal (restore an older copy)", expNotStopped, !ran,
		"nothing in direct mode: an older authentic policy opens (no trusted monotonic store); broker + jail hides the file",
		fmt.Sprintf("copy %s, restore %s; revoked rule ran again without approval: %v (exit %d)", in, put, ran, r.code), control)
}

// swapped runs the approved command after the agent changed what `tool`
// is, and reports (stopped, note). In broker mode the human at the broker
// denies whatever is asked, and a prompt must have been asked.
func (w *world) swapped(extraEnv []string, change func()) (bool, string) {
	leak := w.p("swap.leak")
	w.resetLeak(leak)
	before := 0
	if w.broker != nil {
		before = w.broker.count()
	}
	change()
	r := w.runTool(extraEnv, nil)
	os.Remove(w.tool()) // it may be a symlink now: never write through it
	w.copyTo(w.p("echo.good"), w.tool())
	leaked := w.leaked(leak)
	note := fmt.Sprintf("run exit %d", r.code)
	if w.broker != nil {
		note += fmt.Sprintf(", %d prompt(s) at the broker, denied", w.broker.count()-before)
	}
	if s := errLine(r); r.code != 0 && s != "" && !strings.HasPrefix(s, "envseal: jail") {
		note += ": " + s
	}
	return !leaked && r.code != 0, note
}

// evilControl: the attack program, run plainly with the value, leaks it
// (so a missing leak file means envseal stopped it, not a broken probe).
func (w *world) evilControl() string {
	leak := w.p("ctl.leak")
	w.resetLeak(leak)
	defer w.resetLeak(leak)
	r := w.outside([]string{"TOKEN=" + w.value}, w.p("evil"), leak)
	if w.leaked(leak) {
		base := w.runTool(nil, nil)
		return ctl(base.code == 0, "the approved tool did not run under its rule: exit %d %s", base.code, firstLine(base.errout))
	}
	return fmt.Sprintf("evil did not leak when run plainly: exit %d", r.code)
}

func attackSwap(w *world, tb *table) {
	control := w.evilControl()
	stopped, note := w.swapped(nil, func() {
		w.probe(true, "replace:"+w.p("evil")+","+w.tool())
	})
	w.report(tb, "swap the approved binary after approval", expStopped, stopped,
		"hash pinned in the rule: a changed binary needs a new approval (run_attacks.txtar)", note, control)
}

func attackSwapRace(w *world, tb *table) {
	control := w.evilControl()
	leak := w.p("swap.leak")
	w.resetLeak(leak)
	n := "30"
	if w.mode == modeJail {
		n = "12"
	}
	argv := append([]string{w.rtagent, agentArg, "race", w.tool(), w.p("echo.good"), w.p("evil"), n}, w.runArgv(nil, "tool", leak)...)
	r := w.agent(true, nil, argv...)
	os.Remove(w.tool())
	w.copyTo(w.p("echo.good"), w.tool())
	m := parseLines(r.out, "RACE")
	var parts []string
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		control = "race did not run: " + firstLine(r.errout)
	}
	w.report(tb, "race the swap between hash and exec", expStopped, !w.leaked(leak),
		"exec from a sealed memfd copy of the hashed fd (exeseal TestSwapAfterPinRunsOriginal, TestInPlaceRewriteDetected)",
		strings.Join(parts, " ")+" (exit0: the approved bytes ran)", control)
}

func attackSymlink(w *world, tb *table) {
	control := w.evilControl()
	stopped, note := w.swapped(nil, func() {
		w.probe(true, "symlink:"+w.p("evil")+","+w.tool())
	})
	w.report(tb, "replace the binary with a symlink", expStopped, stopped,
		"resolved real path + hash must match the rule (run_attacks.txtar, TestOpenRefusesSymlinks)", note, control)
}

func attackPathShadow(w *world, tb *table) {
	control := w.evilControl()
	shadow := w.p("shadow")
	w.mkdir(shadow)
	w.copyTo(w.p("evil"), filepath.Join(shadow, "tool"))
	env := []string{"PATH=" + shadow + ":" + w.wbin + ":" + w.bins.dir + ":/usr/bin:/bin"}
	stopped, note := w.swapped(env, func() {})
	w.report(tb, "PATH-shadow the approved command", expStopped, stopped,
		"the shadow's own path and hash need approval (run_attacks.txtar)", note, control)
}

func attackInjectionVars(w *world, tb *table) {
	// LD_PRELOAD: a constructor writing $TOKEN to ld.leak.
	so, ldLeak := w.p("evil.so"), w.p("ld.leak")
	if _, err := os.Stat(so); err != nil {
		w.report(tb, "LD_PRELOAD into the child", expStopped, true, "", "", "no C compiler to build the payload")
	} else {
		w.resetLeak(ldLeak)
		w.outside([]string{"TOKEN=" + w.value, "LD_PRELOAD=" + so}, w.tool(), "x")
		control := ctl(w.leaked(ldLeak), "LD_PRELOAD payload did not leak from a plain run of tool")
		w.resetLeak(ldLeak)
		r := w.envsealRun([]string{"LD_PRELOAD=" + so}, []string{"--inherit-env"}, "tool", w.p("swap.leak"))
		w.report(tb, "LD_PRELOAD into the child", expStopped, !w.leaked(ldLeak),
			pick(w, "envseal refuses to run with LD_PRELOAD/LD_AUDIT (run_delivery.txtar, childenv TestGuard)",
				"the envseal client refuses LD_PRELOAD/LD_AUDIT before dialing the broker (broker_run.txtar), and the broker strips LD_* from the child (TestBuildNeverLeaksInjection)"),
			runNote(r), control)
	}

	// BASH_ENV: an approved bash script; the file BASH_ENV names runs first.
	bLeak := w.p("bashenv.leak")
	w.resetLeak(bLeak)
	w.outside([]string{"TOKEN=" + w.value, "BASH_ENV=" + w.p("bashenv.sh")}, filepath.Join(w.wbin, "job.sh"))
	control := ctl(w.leaked(bLeak), "BASH_ENV payload did not leak from a plain run of job.sh")
	w.resetLeak(bLeak)
	r := w.envsealRun([]string{"BASH_ENV=" + w.p("bashenv.sh")}, []string{"--inherit-env"}, "job.sh")
	w.report(tb, "BASH_ENV into the child", expStopped, !w.leaked(bLeak),
		"stripped even with --inherit-env (run_delivery.txtar, TestBuildNeverLeaksInjection)",
		fmt.Sprintf("run exit %d, stdout %q", r.code, strings.TrimSpace(r.out)), control)

	// NODE_OPTIONS=--require: an approved node app.js.
	node, err := exec.LookPath("node")
	if err != nil {
		w.report(tb, "NODE_OPTIONS into the child", expStopped, true, "", "", "node is not installed")
		return
	}
	nLeak := w.p("node.leak")
	opt := "NODE_OPTIONS=--require " + w.p("evil.js")
	w.resetLeak(nLeak)
	w.outside([]string{"TOKEN=" + w.value, opt}, node, w.p("app.js"))
	control = ctl(w.leaked(nLeak), "NODE_OPTIONS payload did not leak from a plain run of node")
	w.resetLeak(nLeak)
	r = w.envsealRun([]string{opt}, []string{"--inherit-env"}, node, w.p("app.js"))
	w.report(tb, "NODE_OPTIONS into the child", expStopped, !w.leaked(nLeak),
		"stripped even with --inherit-env (run_delivery.txtar, TestBuildNeverLeaksInjection)",
		fmt.Sprintf("run exit %d, stdout %q", r.code, strings.TrimSpace(r.out)), control)
}

// startHeld starts an approved hold script in the background and returns
// the pids of the approved child (sh), its dumpable grandchild (sleep),
// and a stop function.
func (w *world) startHeld(flags []string, n string) (child, grand int, envsealPID int, stop func()) {
	w.writeFile(w.p("hold"), nil, 0o644)
	argv := w.runArgv(flags, "sh", "-c", holdScript(n))
	if w.mode == modeJail {
		argv = append([]string{w.envseal, "jail", "--"}, argv...)
	}
	cmd := w.command(nil, argv[0], argv[1:]...)
	if w.mode == modeDirect {
		f := w.passFD()
		defer f.Close()
		cmd.ExtraFiles = []*os.File{f}
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	grand, child = findProc("sleep", n)
	stop = func() {
		os.Remove(w.p("hold"))
		if grand > 0 {
			syscall.Kill(grand, syscall.SIGKILL)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	if grand == 0 {
		stop()
		w.t.Fatalf("the approved hold script never started sleep %s: %s", n, errb.String())
	}
	envsealPID = cmd.Process.Pid
	if w.broker != nil {
		envsealPID = w.broker.cmd.Process.Pid
	}
	return child, grand, envsealPID, stop
}

func attackProc(w *world, tb *table) {
	child, grand, es, stop := w.startHeld(nil, holdSleep)
	defer stop()
	plain := w.command([]string{"TOKEN=" + w.value}, "/bin/sleep", plainHold)
	if err := plain.Start(); err != nil {
		w.t.Fatal(err)
	}
	defer func() { plain.Process.Kill(); plain.Wait() }()
	pp := strconv.Itoa(plain.Process.Pid)
	cs, gs, ess := strconv.Itoa(child), strconv.Itoa(grand), strconv.Itoa(es)
	in := w.probe(true, "environ:"+cs, "mem:"+cs, "mem:"+ess, "environ:"+gs, "ptrace:"+cs, "ptrace:"+ess)
	out := w.probe(false, "environ:"+pp, "mem:"+pp, "ptrace:"+pp, "environ:"+gs)
	ctlFound := func(op string) string {
		return ctl(strings.HasPrefix(out[op], "found"), "control %s: %s", op, out[op])
	}
	ctlOK := func(op string) string {
		return ctl(strings.HasPrefix(out[op], "ok") || strings.HasPrefix(out[op], "found"), "control %s: %s", op, out[op])
	}
	notOK := func(s string) bool { return !strings.HasPrefix(s, "ok") && !strings.HasPrefix(s, "found") }
	esName := pick(w, "envseal run", "the broker")
	nd := "non-dumpable: exec from a sealed 0111 memfd (launch TestApprovedChildUnreadableBySameUID, exeseal TestSealedChildIsNotDumpable)"
	if w.mode == modeJail {
		nd = "non-dumpable child, and Landlock scopes the jail away from outside processes (cli TestJail)"
	}
	w.report(tb, "read /proc/<child>/environ", expStopped, notOK(in["environ:"+cs]), nd, in["environ:"+cs], ctlFound("environ:"+pp))
	w.report(tb, "read /proc/<child>/mem", expStopped, notOK(in["mem:"+cs]), nd, in["mem:"+cs], ctlOK("mem:"+pp))
	w.report(tb, "read /proc/<"+esName+">/mem", expStopped, notOK(in["mem:"+ess]),
		pick(w, "envseal makes itself non-dumpable first (TestApprovedChildUnreadableBySameUID)", "broker non-dumpable + Landlock scope (TestJail)"),
		in["mem:"+ess], ctlOK("mem:"+pp))
	gExp, gBy := expNotStopped, "children the approved program starts are ordinary processes (documented); use broker + jail"
	gControl := ""
	if w.mode == modeJail {
		gExp, gBy = expStopped, "Landlock: no /proc access outside the jail (TestJail)"
		gControl = ctlFound("environ:" + gs)
	}
	w.report(tb, "read environ of a dumpable grandchild holding the value", gExp, notOK(in["environ:"+gs]), gBy, in["environ:"+gs], gControl)
	w.report(tb, "ptrace the approved child", expStopped, notOK(in["ptrace:"+cs]),
		pick(w, "non-dumpable (exeseal TestSealedChildIsNotDumpable)", "non-dumpable + Landlock scope (TestJail)"), in["ptrace:"+cs], ctlOK("ptrace:"+pp))
	w.report(tb, "ptrace "+esName, expStopped, notOK(in["ptrace:"+ess]),
		pick(w, "envseal is non-dumpable", "broker non-dumpable + Landlock scope, seccomp (TestJail)"), in["ptrace:"+ess], ctlOK("ptrace:"+pp))
}

func attackHardenedPtrace(w *world, tb *table) {
	child, _, _, stop := w.startHeld([]string{"--sandbox", "hardened"}, hardSleep)
	defer stop()
	cs := strconv.Itoa(child)
	op := "ptraceread:" + cs
	in := w.probe(true, op)[op]
	w.report(tb, "ptrace a --sandbox hardened child, read its stack", expNotStopped, !strings.HasPrefix(in, "found"),
		"nothing: the child's user namespace is the user's, who has CAP_SYS_PTRACE in it (documented; the approval screen says so); broker + jail closes it",
		in, "")
}

func legacyTIOCSTI() bool {
	b, _ := os.ReadFile("/proc/sys/dev/tty/legacy_tiocsti")
	return strings.TrimSpace(string(b)) == "1"
}

// onPty runs argv as the agent with a fresh pty as its controlling
// terminal (the harness holds the master and types nothing) and returns
// what appeared on it and the exit code.
func (w *world) onPty(pass bool, argv ...string) (string, int) {
	cmd := w.command([]string{envNeedle + "=" + w.value}, argv[0], argv[1:]...)
	if pass {
		f := w.passFD()
		defer f.Close()
		cmd.ExtraFiles = []*os.File{f}
	}
	h := w.startOnPty(cmd)
	defer h.master.Close()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	select {
	case err = <-waited:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		err = <-waited
	}
	select {
	case <-h.done:
	case <-time.After(2 * time.Second):
	}
	return h.text(), exitCode(err)
}

func attackTTY(w *world, tb *table) {
	leak := w.p("tty.leak")
	w.resetLeak(leak)
	if w.mode == modeDirect {
		// The agent shares the human's terminal (its controlling tty);
		// envseal asks there; the human has not answered yet.
		argv := append([]string{w.rtagent, agentArg, "ttyinject"}, w.runArgv([]string{"--approval-timeout", "5s"}, w.p("evil"), leak)...)
		screen, _ := w.onPty(true, argv...)
		m := parseLines(screen, "TTY")
		control := ctl(strings.Contains(screen, "approval code: "), "no approval prompt appeared")
		if control == "" && legacyTIOCSTI() {
			control = ctl(m["tiocsti"] == "ok", "TIOCSTI failed on the agent's own terminal: %s", m["tiocsti"])
		}
		w.report(tb, "inject keystrokes into the approval tty (TIOCSTI)", expStopped, !w.leaked(leak) && m["exit"] != "0",
			"random challenge code, typed-ahead input flushed (run_approve.txtar, approve TestTTYInjectedGuessDenies)",
			fmt.Sprintf("TIOCSTI %s, guesses denied: run exit %s", m["tiocsti"], m["exit"]), control)
		return
	}
	tty := w.broker.tty
	inside, _ := w.onPty(false, w.envseal, "jail", "--", w.rtagent, agentArg, "probe", "tiocsti:", "open:"+tty)
	outside, _ := w.onPty(false, w.rtagent, agentArg, "probe", "tiocsti:", "open:"+tty)
	get := func(s, op string) string {
		for _, l := range strings.Split(s, "\n") {
			f := strings.SplitN(strings.TrimSpace(l), " ", 3)
			if len(f) == 3 && f[0] == "PROBE" && f[1] == op {
				return f[2]
			}
		}
		return "did not run"
	}
	ti, to := get(inside, "tiocsti:"), get(outside, "tiocsti:")
	control := ""
	if legacyTIOCSTI() {
		control = ctl(to == "ok", "TIOCSTI outside the jail: %s", to)
	}
	w.report(tb, "inject keystrokes into the approval tty (TIOCSTI)", expStopped, ti != "ok" && ti != "did not run",
		"seccomp denies TIOCSTI in the jail; approvals are on the broker's terminal (TestJail)", "own terminal: "+ti, control)
	oi, oo := get(inside, "open:"+tty), get(outside, "open:"+tty)
	w.report(tb, "open the broker's (approval) terminal", expStopped, oi != "ok" && oi != "did not run",
		"only the agent's own pty in the jail's /dev/pts (TestJail)", oi, ctl(oo == "ok", "broker tty not openable outside: %s", oo))
}

func attackOwnPty(w *world, tb *table) {
	leak := w.p("pty.leak")
	w.resetLeak(leak)
	control := w.evilControl()
	before := 0
	if w.broker != nil {
		before = w.broker.count()
	}
	argv := append([]string{w.rtagent, agentArg, "ptyapprove"}, w.runArgv(nil, w.p("evil"), leak)...)
	r := w.agent(true, nil, argv...)
	m := parseLines(r.out, "PTY")
	if len(m) == 0 {
		control = "ptyapprove did not run: " + firstLine(r.errout)
	}
	note := fmt.Sprintf("new pty: %s, code seen on it: %s, run exit %s", m["open"], m["prompt"], m["exit"])
	if w.mode == modeJail {
		// No new ptys in the jail: the agent's own terminal is the one
		// the jail runs on. Whatever appears there, the agent reads and
		// types back (the harness does it for the agent).
		seen, code := w.typeOwnCode(append([]string{w.envseal, "jail", "--"}, w.runArgv(nil, w.p("evil"), leak)...))
		note += fmt.Sprintf("; on the jail's own terminal: code seen %v, run exit %d; %d prompt(s) at the broker, denied", seen, code, w.broker.count()-before)
	}
	w.report(tb, "approve on a pty the agent owns (it reads the code)", pick(w, expNotStopped, expStopped), !w.leaked(leak),
		pick(w, "nothing: direct mode asks on the run's terminal (documented); use the broker",
			"approvals appear only on the broker's terminal (broker_run.txtar, TestJail)"), note, control)
}

// attackOwnPtyTOTP is attackOwnPty with TOTP on: the agent still reads the
// challenge code off the pty it owns, but the second prompt wants a code
// from the human's phone. The control hands the agent the seed (the phone
// stolen too) and must get through, proving the probe answers the prompt.
func attackOwnPtyTOTP(w *world, tb *table) {
	seed := w.enrollTOTP()
	leak := w.p("pty-totp.leak")
	argv := append([]string{w.rtagent, agentArg, "ptyapprove"}, w.runArgv(nil, w.p("evil"), leak)...)
	w.resetLeak(leak)
	rc := w.agent(true, []string{"RT_TOTP_SEED=" + seed}, argv...)
	mc := parseLines(rc.out, "PTY")
	control := ctl(w.leaked(leak) && mc["totp"] == "true", "with the phone's code the run did not go through: prompt %s, totp %s, exit %s %s",
		mc["prompt"], mc["totp"], mc["exit"], firstLine(rc.errout))
	w.resetLeak(leak)
	r := w.agent(true, nil, argv...)
	m := parseLines(r.out, "PTY")
	note := fmt.Sprintf("challenge code seen and typed: %s, TOTP prompt: %s (guessed), run exit %s", m["prompt"], m["totp"], m["exit"])
	w.report(tb, "approve on a pty the agent owns, with TOTP on", expStopped, !w.leaked(leak) && m["prompt"] == "true",
		"a code from the human's authenticator after the yes (launch TestCheckpointTOTP, totp.txtar)", note, control)
}

// enrollTOTP turns TOTP on in the world's vault as its owner and returns
// the seed (hex): the harness is the human's phone.
func (w *world) enrollTOTP() string {
	cmd := w.command(nil, w.rtagent, agentArg, "totpenroll", w.vault)
	cmd.Stdin = strings.NewReader(w.pass + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		w.t.Fatalf("enroll totp: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if s, ok := strings.CutPrefix(l, "SEED "); ok {
			return s
		}
	}
	w.t.Fatalf("enroll totp: no seed in %q", out)
	return ""
}

// typeOwnCode runs argv on a pty and types back any approval code that
// appears on it; it reports whether one did and the exit code.
func (w *world) typeOwnCode(argv []string) (bool, int) {
	cmd := w.command(nil, argv[0], argv[1:]...)
	h := w.startOnPty(cmd)
	defer h.master.Close()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	seen := false
	deadline := time.After(60 * time.Second)
	for {
		select {
		case err := <-waited:
			return seen, exitCode(err)
		case <-deadline:
			cmd.Process.Kill()
			return seen, exitCode(<-waited)
		case <-time.After(20 * time.Millisecond):
			if m := codeRE.FindStringSubmatch(h.text()); m != nil && !seen {
				seen = true
				io.WriteString(h.master, m[1]+"\r")
			}
		}
	}
}

func attackMCP(w *world, tb *table) {
	leak := w.p("mcp.leak")
	w.resetLeak(leak)
	before := 0
	if w.broker != nil {
		before = w.broker.count()
	}
	r := w.agent(false, []string{envNeedle + "=" + w.value}, w.rtagent, agentArg, "mcp", w.envseal, w.work, w.p("evil"), leak)
	m := parseLines(r.out, "MCP")
	tools := m["tools"]
	control := ctl(strings.Contains(tools, "run_command"), "MCP client did not talk to envseal mcp: %s", firstLine(r.errout))
	approveTool := false
	for _, t := range strings.Split(tools, ",") {
		if strings.Contains(t, "approv") || strings.Contains(t, "allow") {
			approveTool = true
		}
	}
	stopped := !w.leaked(leak) && m["exit"] != "0" && m["leaked"] == "false" && m["asked"] == "0" && !approveTool
	note := fmt.Sprintf("tools %s; elicitations %s; run_command error=%s exit=%s", tools, m["asked"], m["is_error"], m["exit"])
	if w.broker != nil {
		note += fmt.Sprintf("; %d prompt(s) at the broker, denied", w.broker.count()-before)
	}
	if t := text(r.out); t != "" {
		note += ": " + t
	}
	w.report(tb, "approve through MCP (client accepts every elicitation)", expStopped, stopped,
		"no approval tool, never elicits; approval only on a terminal (mcpserver TestRunCommandDenied, TestToolsListed)", note, control)
}

func runNote(r res) string {
	n := fmt.Sprintf("run exit %d", r.code)
	if s := errLine(r); s != "" {
		n += ": " + s
	}
	return n
}

// errLine is envseal's error line without its prefix (the jail's start
// lines are skipped).
func errLine(r res) string {
	for _, l := range strings.Split(r.errout, "\n") {
		if s, ok := strings.CutPrefix(l, "envseal: error: "); ok {
			return s
		}
	}
	return ""
}

func text(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(l, "MCP text="); ok {
			if len(s) > 90 {
				s = s[:90] + "…"
			}
			return s
		}
	}
	return ""
}

func attackOutput(w *world, tb *table) {
	r := w.envsealRun(nil, nil, w.rtagent, agentArg, "encode")
	got := map[string]bool{}
	for _, n := range findIn([]byte(r.all()), []byte(w.value)) {
		got[n] = true
	}
	c := w.outside([]string{"TOKEN=" + w.value}, w.rtagent, agentArg, "encode")
	want := map[string]bool{}
	for _, n := range findIn([]byte(c.out), []byte(w.value)) {
		want[n] = true
	}
	names := make([]string, 0, len(want))
	for n := range encodings([]byte(w.value)) {
		names = append(names, n)
	}
	sort.Strings(names)
	runOK := r.code == 0 && strings.Contains(r.out, "[envseal:"+secretName+"]")
	for _, n := range names {
		exp, by := expStopped, "streaming scrubber replaces it with [envseal:TOKEN] (run_scrub.txtar, redact encodings tests)"
		if wrapped(n) {
			by = "the scrubber matches across line breaks at any column (redact TestRealToolsScrubbed, run_large.txtar)"
		}
		note := fmt.Sprintf("run exit %d, in output: %v", r.code, got[n])
		w.report(tb, "read the value from child output: "+n, exp, !got[n], by, note,
			ctl(want[n] && runOK, "control: plain run shows it %v; approved run exit %d, scrubbed marker %v", want[n], r.code, runOK))
	}
}

func attackAudit(w *world, tb *table) {
	log, head := filepath.Join(w.vault, audit.LogFile), filepath.Join(w.vault, audit.HeadFile)
	if w.mode == modeJail {
		for _, c := range []struct{ name, op string }{
			{"forge an audit record", "edit:" + log + ",run,rux"},
			{"truncate the audit log (drop the last record)", "truncate:" + log + ",10"},
			{"roll back the audit log (older log + head)", "copy:" + log + "," + w.p("audit.old")},
		} {
			in := w.probe(true, c.op)[c.op]
			out := w.probe(false, "write:"+log)["write:"+log]
			w.report(tb, c.name, expStopped, !strings.HasPrefix(in, "ok"), jailHides, in,
				ctl(out == "ok", "audit.log not writable outside: %s", out))
		}
		return
	}
	verify := func() res { return w.humanCLI("audit", "verify", "--passphrase-fd", "3") }
	snap := func() []byte { b, _ := os.ReadFile(log); return b }
	base := verify()
	control := ctl(base.code == 0, "audit verify failed before tampering: exit %d %s", base.code, firstLine(base.errout))
	named := func(r res) bool { return r.code == 1 && strings.Contains(r.errout, "record ") }
	why := func(r res) string {
		if r.code == 0 {
			return "verify exit 0: " + firstLine(r.out)
		}
		return fmt.Sprintf("verify exit %d: %s", r.code, strings.TrimPrefix(errLine(r), "audit log does not verify: "))
	}

	// Forge: rewrite a field of a record in place.
	orig, origHead := snap(), func() []byte { b, _ := os.ReadFile(head); return b }()
	restore := func() { w.writeFile(log, orig, 0o600); w.writeFile(head, origHead, 0o600) }
	in := w.probe(true, "edit:"+log+",secret_stored,secret_revoked")["edit:"+log+",secret_stored,secret_revoked"]
	r := verify()
	restore()
	w.report(tb, "forge an audit record", expStopped, named(r),
		"keyed MAC + hash chain; verify names the first bad record (audit TestTamperingIsDetectedAtTheRightRecord, audit.txtar)", in+"; "+why(r), control)

	// Truncate: drop the last record.
	lines := bytes.SplitAfter(bytes.TrimSuffix(orig, []byte("\n")), []byte("\n"))
	cut := len(orig) - len(lines[len(lines)-1]) - 1
	op := "truncate:" + log + "," + strconv.Itoa(cut)
	in = w.probe(true, op)[op]
	r = verify()
	restore()
	w.report(tb, "truncate the audit log (drop the last record)", expStopped, named(r),
		"audit.head anchors the last record (audit TestAnchorTampering, audit.txtar)", in+"; "+why(r), control)

	// Roll back log and head together to an older copy.
	w.probe(true, "copy:"+log+","+w.p("audit.old"), "copy:"+head+","+w.p("head.old"))
	w.runTool(nil, nil) // more records: a run
	grew := len(snap()) > len(orig)
	put := w.probe(true, "restore:"+w.p("audit.old")+","+log, "restore:"+w.p("head.old")+","+head)
	r = verify()
	w.report(tb, "roll back the audit log (older log + head)", expNotStopped, r.code != 0,
		"nothing: an older authentic log + head verifies (documented)",
		fmt.Sprintf("restore %s; %s", put["restore:"+w.p("audit.old")+","+log], why(r)),
		ctl(grew, "the run added no audit record"))
}
