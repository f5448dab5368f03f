//go:build linux && (amd64 || arm64)

package sandbox

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		if f := strings.Fields(string(stat[i+1:])); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, filepath.Base(d)+" "+string(stat[:i+1]))
		}
	}
	return out
}

// TestEndedReportsBeforeTheHelperExits: a lockdown helper reports how the
// run ended — the target's status, and the processes it left, already
// killed — once nothing of the run is left: a daemon the target started
// with setsid holding stdout is gone by the time Ended returns (stdout is
// at EOF), cold and warm. The helper itself is reaped after.
func TestEndedReportsBeforeTheHelperExits(t *testing.T) {
	for _, warm := range []bool{false, true} {
		dir := t.TempDir()
		img := sealedImage(t, shell(t))
		cmd := &exec.Cmd{Args: []string{"sh", "-c", "setsid sleep 100 & echo started; exit 3"}, Dir: dir,
			Env: []string{"PATH=/usr/bin:/bin", "GORACE=" + os.Getenv("GORACE")}}
		if err := img.Prepare(cmd); err != nil {
			t.Fatal(err)
		}
		h, err := Wrap(cmd, self, Options{Tier: Lockdown, Network: true, NoTTY: true})
		if err != nil {
			t.Fatal(err)
		}
		cmd.Args[0] = os.Args[0]
		outR, outW, _ := os.Pipe()
		devnull, _ := os.Open(os.DevNull)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, outW, devnull
		if warm {
			w, werr := StartWarm(self, os.Args[0], Options{Tier: Lockdown, NoTTY: true}, startNoNewPrivs)
			if werr != nil {
				t.Fatal(werr)
			}
			err = w.Start(cmd)
		} else {
			err = startNoNewPrivs(cmd)
		}
		outW.Close()
		devnull.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := h.AfterStart(); err != nil {
			t.Fatal(err)
		}
		code, ok := h.Ended()
		if !ok || code != 3 {
			t.Errorf("warm=%v: Ended = %d, %v; want the target's 3", warm, code, ok)
		}
		// Every other process of the run is gone already (killed and
		// reaped by the helper), not only once the helper exits.
		if kids := childrenOf(cmd.Process.Pid); len(kids) != 0 {
			t.Errorf("warm=%v: processes of the run still there when Ended returned: %v", warm, kids)
		}
		if n := h.Leftover(); n != 1 {
			t.Errorf("warm=%v: leftover %d, want the daemon", warm, n)
		}
		// Nothing of the run holds stdout any more: EOF, not a wait for the
		// daemon's 100 s (bounded, so a failure does not hang the test).
		outR.SetReadDeadline(time.Now().Add(5 * time.Second))
		if b, err := io.ReadAll(outR); err != nil || string(b) != "started\n" {
			t.Errorf("warm=%v: stdout after Ended: %q, %v; want EOF after \"started\"", warm, b, err)
		}
		outR.Close()
		if err := cmd.Wait(); err == nil || cmd.ProcessState.Sys().(syscall.WaitStatus).ExitStatus() != 3 {
			t.Errorf("warm=%v: helper exit %v, want 3", warm, err)
		}
	}
}
