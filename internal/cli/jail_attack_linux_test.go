//go:build linux

package cli

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	jailPass  = "correct horse battery staple"
	jailToken = "tok-jail-0123456789-abcdef-xyz"
)

// TestJail runs the broker (in a pty of its own), `envseal jail` and the
// attacker as the same unprivileged uid: end to end, an approved run
// from inside the jail works through the broker, scrubbed, and the
// second run needs no approval; then every way out the issue lists is
// tried from inside the jail, each with a control from outside it.
func TestJail(t *testing.T) {
	e := newJailEnv(t)
	if _, errb, err := e.run(jailPass+"\n", "init", "--passphrase-fd", "0"); err != nil {
		t.Fatalf("init: %v\n%s", err, errb)
	}
	passFile := filepath.Join(e.dir, "pass")
	os.WriteFile(passFile, []byte(jailPass+"\n"), 0o644)
	if _, errb, err := e.run(jailToken, "store", "tok", "--stdin", "--passphrase-fd", "3"); err != nil {
		// store reads the passphrase from fd 3: retry through the shell.
		cmd := e.command("store", "tok", "--stdin", "--passphrase-fd", "3")
		cmd.Stdin = strings.NewReader(jailToken)
		pf, _ := os.Open(passFile)
		defer pf.Close()
		cmd.ExtraFiles = []*os.File{pf}
		if out, err2 := cmd.CombinedOutput(); err2 != nil {
			t.Fatalf("store: %v %v\n%s\n%s", err, err2, errb, out)
		}
	}
	b, brokerTTY := e.startBroker(jailPass)

	script := `test "$T" = "` + jailToken + `" && echo "ok $T"`
	t.Run("EndToEnd", func(t *testing.T) {
		b.mu.Lock()
		b.answer = "always"
		b.mu.Unlock()
		before := b.count()
		for i := 0; i < 2; i++ {
			out, errb, err := e.run("", "jail", "--", "envseal", "run", "--secret", "T=tok", "--", "sh", "-c", script)
			if err != nil {
				t.Fatalf("run %d in the jail: %v\n%s\nbroker:\n%s", i+1, err, errb, b.transcript())
			}
			if strings.Contains(out+errb, jailToken) {
				t.Fatalf("run %d: the value of tok reached the jail's output", i+1)
			}
			if !strings.Contains(out, "ok [envseal:tok]") {
				t.Errorf("run %d: stdout %q, want the scrubbed ok line", i+1, out)
			}
			if !strings.Contains(errb, "envseal: jail: hidden: vault "+e.vault) {
				t.Errorf("run %d: no start line naming the hidden vault in %q", i+1, errb)
			}
			if got := b.count() - before; got != 1 {
				t.Errorf("after run %d: %d approvals, want 1 (the second run is covered by the rule)", i+1, got)
			}
		}
		b.mu.Lock()
		b.answer = "once"
		b.mu.Unlock()
	})

	// A dumpable grandchild of the broker holding the secret: the sleep
	// that the approved sh starts.
	sleeper := e.command("run", "--secret", "T=tok", "--", "sh", "-c", "sleep 37; true")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	sleepPID := findSleep(t, b)

	// An abstract socket created outside the jail.
	abstract := "envseal-jail-test-" + strconv.Itoa(os.Getpid())
	l, err := net.Listen("unix", "@"+abstract)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	// A Wayland socket in $XDG_RUNTIME_DIR, reachable by the test user.
	wayland := filepath.Join(e.dir, "run", "wayland-0")
	wl, err := net.Listen("unix", wayland)
	if err != nil {
		t.Fatal(err)
	}
	defer wl.Close()
	os.Chmod(wayland, 0o777)
	go func() {
		for {
			c, err := wl.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	var vaultFiles []string
	filepath.Walk(e.vault, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			vaultFiles = append(vaultFiles, p)
		}
		return nil
	})
	if len(vaultFiles) < 2 {
		t.Fatalf("vault has %d files, want the key and the secret at least", len(vaultFiles))
	}
	brokerPID := strconv.Itoa(b.cmd.Process.Pid)
	policy := filepath.Join(e.vault, "policy.seal")
	ops := []string{
		"list:" + e.vault,
		"write:" + policy,
		"create:" + filepath.Join(e.vault, "planted"),
		"read:/proc/" + sleepPID + "/environ",
		"ptrace:" + sleepPID,
		"kill:" + brokerPID,
		"open:" + brokerTTY,
		"connect:" + abstract,
		"tiocsti:",
		"tty:",
		"dial:" + wayland,
		"env:DISPLAY",
		"env:WAYLAND_DISPLAY",
	}
	for _, f := range vaultFiles {
		ops = append(ops, "read:"+f)
	}
	outside := probes(e.runInPty(append([]string{jailProbeArg}, ops...)...))
	insideOut := e.runInPty(append([]string{"jail", "--", "envseal", jailProbeArg, "ptrace:" + brokerPID}, ops...)...)
	inside := probes(insideOut)

	for _, op := range ops {
		name := strings.SplitN(op, ":", 2)[0]
		if name == "tty" {
			continue
		}
		if name == "tiocsti" && !legacyTIOCSTI() {
			t.Logf("TIOCSTI control skipped: dev.tty.legacy_tiocsti is not 1 here")
		} else if outside[op] != "ok" {
			t.Errorf("control outside the jail: %s: %q, want ok", op, outside[op])
		}
		got, ok := inside[op]
		if !ok {
			t.Errorf("inside the jail: %s did not run; jail output:\n%s", op, insideOut)
			continue
		}
		if got == "ok" {
			t.Errorf("inside the jail: %s succeeded, want it refused", op)
		}
	}
	if got := inside["ptrace:"+brokerPID]; got == "ok" || got == "" {
		t.Errorf("inside the jail: ptrace of the broker: %q, want refused", got)
	}
	if inside["tty:"] != "ok" || outside["tty:"] != "ok" {
		t.Errorf("ttyname and /dev/tty: inside %q, outside %q, want ok", inside["tty:"], outside["tty:"])
	}
	if t.Failed() {
		t.Logf("jail output:\n%s", insideOut)
	}
}

// findSleep waits for the broker's "sleep 37" and returns its pid.
func findSleep(t *testing.T, b *brokerProc) string {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ents, _ := os.ReadDir("/proc")
		for _, d := range ents {
			cl, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
			if err == nil && string(cl) == "sleep\x0037\x00" {
				return d.Name()
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the approved sh never started sleep 37; broker:\n%s", b.transcript())
	return ""
}

// legacyTIOCSTI: without dev.tty.legacy_tiocsti=1 the kernel refuses
// TIOCSTI everywhere, so the control outside the jail cannot succeed.
func legacyTIOCSTI() bool {
	b, _ := os.ReadFile("/proc/sys/dev/tty/legacy_tiocsti")
	return strings.TrimSpace(string(b)) == "1"
}
