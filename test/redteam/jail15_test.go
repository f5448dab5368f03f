//go:build redteam && linux

package redteam

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/broker/server"
	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/policy"
)

// The jail's last doors (issue 15): control sockets outside it, a lock
// that makes the human retype the passphrase, a flood that starves the
// human, and a withdrawn request that runs anyway. Broker + jail only:
// direct mode has no jail to leave.
func init() {
	attacks = append(attacks,
		attack{modeJail, attackTmux},
		attack{modeJail, attackScreen},
		attack{modeJail, attackSessionBus},
		attack{modeJail, attackFlood},
		attack{modeJail, attackCancelledRun},
		attack{modeJail, attackLockFromJail}, // last: the control locks the broker
	)
}

// userTool is a program of the test user (the human) outside the jail.
func (w *world) userTool(extraEnv []string, name string, args ...string) *exec.Cmd {
	p, err := exec.LookPath(name)
	if err != nil {
		p = name // the row reports it as a broken control
	}
	return w.command(append([]string{"SHELL=/bin/sh", "TERM=xterm"}, extraEnv...), p, args...)
}

// shellOps runs each command with sh inside the jail (inside) or outside
// it, returning command → "ok" or why it failed.
func (w *world) shellOps(inside bool, cmds []string) map[string]string {
	script := ""
	for i, c := range cmds {
		script += fmt.Sprintf("if %s >/dev/null 2>&1; then echo 'SH %d ok'; else echo 'SH %d denied'; fi\n", c, i, i)
	}
	env := []string{"SHELL=/bin/sh", "TERM=xterm"}
	var r res
	if inside {
		r = w.agent(false, env, "/bin/sh", "-c", script)
	} else {
		r = w.outside(env, "/bin/sh", "-c", script)
	}
	got := map[string]string{}
	for i, c := range cmds {
		got[c] = "did not run: " + firstLine(r.errout)
		for _, l := range strings.Split(r.out, "\n") {
			if v, ok := strings.CutPrefix(l, fmt.Sprintf("SH %d ", i)); ok {
				got[c] = v
			}
		}
	}
	return got
}

// socketRow reports one multiplexer/bus attack: every command works
// outside (the control) and none inside; marker, if set, is what a
// "new window" command would create outside.
func (w *world) socketRow(tb *table, name, by string, cmds []string, marker string) {
	out := w.shellOps(false, cmds)
	var badControl []string
	for _, c := range cmds {
		if out[c] != "ok" {
			badControl = append(badControl, c+": "+out[c])
		}
	}
	if marker != "" {
		time.Sleep(300 * time.Millisecond)
		if _, err := os.Stat(marker + "-outside"); err != nil {
			badControl = append(badControl, "the control's new window never ran")
		}
	}
	in := w.shellOps(true, cmds)
	stopped, note := true, ""
	for _, c := range cmds {
		if in[c] == "ok" {
			stopped = false
		}
		note += fmt.Sprintf("%s: %s; ", strings.Fields(c)[0]+" "+lastWord(c), in[c])
	}
	if marker != "" {
		time.Sleep(300 * time.Millisecond)
		if _, err := os.Stat(marker + "-1"); err == nil {
			stopped = false
			note += "a window opened from inside ran outside; "
		}
	}
	w.report(tb, name, expStopped, stopped, by, note, strings.Join(badControl, "; "))
}

func lastWord(c string) string {
	f := strings.Fields(c)
	for i := len(f) - 1; i > 0; i-- {
		if !strings.HasPrefix(f[i], "-") && !strings.Contains(f[i], "/") && !strings.Contains(f[i], "\"") {
			return f[i]
		}
	}
	return ""
}

const privateTmp = "private /tmp in the jail (tmux's and screen's sockets gone), TMUX/STY dropped (cli TestJailControlSockets)"

func attackTmux(w *world, tb *table) {
	tag := "rt-" + randHex(4)
	if r := w.exec(w.userTool(nil, "tmux", "-L", tag, "new-session", "-d", "-s", "broker", "sleep 600")); r.code != 0 {
		w.report(tb, "drive the human's tmux (capture-pane, send-keys, new-window)", expStopped, true, privateTmp, "", "tmux server did not start: "+r.all())
		return
	}
	defer w.exec(w.userTool(nil, "tmux", "-L", tag, "kill-server"))
	sock := filepath.Join("/tmp", "tmux-"+strconv.Itoa(w.uid), tag)
	marker := w.p("tmux-window")
	w.socketRow(tb, "drive the human's tmux (capture-pane, send-keys, new-window)", privateTmp, []string{
		"tmux -L " + tag + " capture-pane -p -t broker",
		"tmux -L " + tag + " send-keys -t broker y Enter",
		`tmux -L ` + tag + ` new-window -t broker "touch ` + marker + `-${ENVSEAL_JAIL:-outside}"`,
		"tmux -S " + sock + " list-sessions",
	}, marker)
}

func attackScreen(w *world, tb *table) {
	tag := "rt-" + randHex(4)
	if r := w.exec(w.userTool(nil, "screen", "-dmS", tag, "sleep", "600")); r.code != 0 {
		w.report(tb, "drive the human's GNU screen (stuff keys, open a window)", expStopped, true, privateTmp, "", "screen did not start: "+r.all())
		return
	}
	defer w.exec(w.userTool(nil, "screen", "-S", tag, "-X", "quit"))
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if r := w.exec(w.userTool(nil, "screen", "-ls", tag)); strings.Contains(r.out, "."+tag) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	marker := w.p("screen-window")
	w.socketRow(tb, "drive the human's GNU screen (stuff keys, open a window)",
		"/run/screen is an empty read-only tmpfs in the jail, STY dropped (cli TestJailControlSockets)", []string{
			"screen -S " + tag + " -X stuff y",
			`screen -S ` + tag + ` -X screen touch ` + marker + `-${ENVSEAL_JAIL:-outside}`,
		}, marker)
}

func attackSessionBus(w *world, tb *table) {
	bus := filepath.Join(w.run, "bus")
	d := w.userTool(nil, "dbus-daemon", "--session", "--nofork", "--nopidfile", "--address=unix:path="+bus)
	if err := d.Start(); err != nil {
		w.report(tb, "talk to the D-Bus session bus (systemd --user starts processes)", expStopped, true, "", "", "dbus-daemon: "+err.Error())
		return
	}
	defer func() { d.Process.Kill(); d.Wait(); os.Remove(bus) }()
	for i := 0; i < 250 && !fileExists(bus); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	list := " --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.ListNames"
	w.socketRow(tb, "talk to the D-Bus session bus (systemd --user starts processes)",
		"$XDG_RUNTIME_DIR is a fresh tmpfs in the jail holding only the broker's socket; DBUS_SESSION_BUS_ADDRESS dropped (cli TestJailControlSockets)", []string{
			"DBUS_SESSION_BUS_ADDRESS=unix:path=" + bus + " dbus-send --session" + list,
			"dbus-send --bus=unix:path=" + bus + list,
		}, "")
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// attackFlood: 300 concurrent run requests from inside the jail, each
// waiting for an approval the human never gives; meanwhile the human runs
// a command of their own that needs an approval, outside. Stopped if the
// human is asked and served while the flood holds.
func attackFlood(w *world, tb *table) {
	const n = 300
	w.broker.setAnswer("human-only")
	defer w.broker.setAnswer("deny")
	cmd := w.command(nil, w.envseal, "jail", "--", w.rtagent, agentArg, "flood", strconv.Itoa(n), w.p("flood.ran"))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		w.report(tb, "flood the broker from the jail (300 requests) to starve the human", expStopped, true, "", "", err.Error())
		return
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	lines := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- l
		io.Copy(io.Discard, stdout)
	}()
	var ready string
	select {
	case ready = <-lines:
	case <-time.After(30 * time.Second):
	}
	before := w.broker.count()
	start := time.Now()
	r := w.outside(nil, w.runArgv(nil, "sh", "-c", "echo human-served")...)
	took := time.Since(start)
	st := w.outside(nil, w.envseal, "status")
	served := r.code == 0 && strings.Contains(r.out, "human-served") && w.broker.count() > before && strings.Contains(st.out, "mode: broker")
	ready = strings.TrimSpace(ready)
	control := ctl(strings.Contains(ready, "READY"), "the flood did not start: %s", ready)
	note := fmt.Sprintf("flood: %s; the human's run: exit %d in %s, status ok %v", strings.TrimPrefix(ready, "READY "), r.code, took.Round(time.Millisecond), strings.Contains(st.out, "mode: broker"))
	w.report(tb, "flood the broker from the jail (300 requests) to starve the human", expStopped, served,
		"per-jail budget (32 in flight) apart from the human's slots; the human's prompt goes first (broker TestJailFloodLeavesHumanServed)", note, control)
	if fileExists(w.p("flood.ran")) {
		w.t.Errorf("a flood request ran without approval")
	}
}

// attackCancelledRun: the agent asks for a run, and once the prompt is on
// the broker's terminal, interrupts its client (SIGTERM), hoping the
// prompt stays for the human to answer and the program runs anyway. (A
// yes given after the withdrawal is overruled: broker
// TestCancelledRunNeverStarts.)
func attackCancelledRun(w *world, tb *table) {
	w.broker.setAnswer("none")
	defer w.broker.setAnswer("deny")
	marker := w.p("cancel.ran")
	before := w.broker.text()
	r := w.agent(false, nil, w.rtagent, agentArg, "cancel", w.envseal, marker)
	time.Sleep(300 * time.Millisecond)
	screen := strings.TrimPrefix(w.broker.text(), before)
	withdrawn := strings.Contains(screen, "envseal: withdrawn")
	ran := fileExists(marker)
	control := ctl(strings.Contains(screen, "approval code: "), "no prompt appeared for the request: %s", r.all())
	w.report(tb, "interrupt a run waiting for approval (SIGTERM) and hope it still runs", expStopped, withdrawn && !ran,
		"the client withdraws on SIGINT/SIGTERM/SIGHUP, a closed connection cancels; the prompt ends and nothing runs (broker TestCancelledRunNeverStarts)",
		fmt.Sprintf("prompt withdrawn on screen %v, program ran %v; client: %s", withdrawn, ran, firstLine(r.all())), control)
}

// attackLockFromJail: `envseal lock` from inside the jail would make the
// broker ask for the passphrase at a moment the agent picks.
func attackLockFromJail(w *world, tb *table) {
	in := w.agent(false, nil, w.envseal, "lock")
	st := w.outside(nil, w.envseal, "status")
	stopped := in.code != 0 && !strings.Contains(st.out, "locked (")
	ctlRun := w.outside(nil, w.envseal, "lock")
	control := ctl(ctlRun.code == 0, "the human's own lock failed: %s", ctlRun.all())
	w.report(tb, "envseal lock from the jail (make the human retype the passphrase)", expStopped, stopped,
		"jailed clients are told apart by user namespace (SO_PEERCRED pid, pidfd-checked); lock refused (broker TestLockRefusedFromJail, cli TestJailLockRefused)",
		fmt.Sprintf("exit %d: %s", in.code, errLine(in)), control)
}

// agentFlood is the flooder inside the jail: N concurrent run requests
// through the broker's client, then it holds them until stdin closes.
func agentFlood(args []string) error {
	if len(args) != 2 {
		return errors.New("flood N MARKER")
	}
	n, _ := strconv.Atoi(args[0])
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	var busy, other atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := client.Dial("")
			if err == nil {
				_, err = c.Run(context.Background(), &launch.Request{
					Argv: []string{"sh", "-c", "touch " + args[1]}, Cwd: filepath.Dir(args[1]), PATH: "/usr/bin:/bin",
					Env: []string{"PATH=/usr/bin:/bin"}, Stdin: null, Stdout: null, Stderr: null,
					Grants: []policy.Grant{{Secret: secretName, Env: secretName, Delivery: policy.DeliverEnv}},
				})
			}
			if errors.Is(err, wire.ErrBusy) {
				busy.Add(1)
			} else {
				other.Add(1)
			}
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	for busy.Load() < int64(n-server.MaxJailInFlight) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Printf("READY %d refused busy, %d pending\n", busy.Load(), int64(n)-busy.Load()-other.Load())
	var b [1]byte
	os.Stdin.Read(b[:])
	return nil
}

// agentCancel starts `envseal run` for a command needing approval, waits
// until it surely is on the broker's screen, and interrupts it.
func agentCancel(args []string) error {
	if len(args) != 2 {
		return errors.New("cancel ENVSEAL MARKER")
	}
	cmd := exec.Command(args[0], "run", "--secret", secretName, "--", "sh", "-c", "touch "+args[1])
	out, _ := os.CreateTemp("", "cancel")
	defer os.Remove(out.Name())
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	time.Sleep(1500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	b, _ := os.ReadFile(out.Name())
	fmt.Printf("client exit %d: %s\n", exitCode(err), strings.Join(strings.Fields(string(b)), " "))
	return nil
}
