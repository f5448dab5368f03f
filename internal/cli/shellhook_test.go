//go:build linux

package cli

import (
	"bytes"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/creack/pty"
	"github.com/rogpeppe/go-internal/testscript"
)

// ptyshell SHELL ARGS... -- SESSION runs the interactive shell SHELL ARGS
// on a new pty (its controlling terminal, so that zsh's and fish's
// preexec hooks fire as they do for a human) and types SESSION's lines
// one by one, each once the shell has gone quiet, then "exit". The
// terminal transcript (with "\r\n" as "\n") becomes stdout.
func cmdPtyShell(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("ptyshell does not take !")
	}
	i := len(args) - 2
	if i < 1 || args[i] != "--" {
		ts.Fatalf("usage: ptyshell shell [args...] -- session-file")
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		ts.Fatalf("ptyshell: %v", err)
	}
	cmd := exec.Command(path, args[1:i]...)
	cmd.Dir = ts.MkAbs(".")
	cmd.Env = append(scriptEnv(ts), "TERM=dumb")
	master, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 400})
	if err != nil {
		ts.Fatalf("ptyshell: start %s: %v", args[0], err)
	}
	defer master.Close()
	var mu sync.Mutex
	var out bytes.Buffer
	last := time.Now()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			last = time.Now()
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	quiet := func() {
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			mu.Lock()
			idle := time.Since(last)
			mu.Unlock()
			if idle > 300*time.Millisecond {
				return
			}
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	lines := strings.Split(strings.TrimRight(ts.ReadFile(args[i+1]), "\n"), "\n")
	for _, l := range append(lines, "exit") {
		quiet()
		master.Write([]byte(l + "\r"))
	}
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-done
		ts.Logf("ptyshell: %s did not exit; killed", args[0])
	}
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	ts.Stdout().Write(bytes.ReplaceAll(out.Bytes(), []byte("\r\n"), []byte("\n")))
}
