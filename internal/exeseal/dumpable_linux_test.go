package exeseal

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestSealedChildIsNotDumpable is the same-uid proof behind docs/ARCHITECTURE.md
// kernel fact 1: a process of the child's own uid cannot read the environment or
// memory of a child exec'd from the sealed 0111 memfd, nor ptrace it —
// while a plain exec of the same program, with the same uid and
// environment, is readable by the very same reader (the control that lets
// this test fail).
func TestSealedChildIsNotDumpable(t *testing.T) {
	reader := readerBinary(t)
	secret := randomSecret(t)
	env := []string{"PATH=/usr/bin:/bin", "SECRET_TOKEN=" + secret}
	cred := credential()

	// Scripts live where the credential's uid may read them (the plain
	// control runs them by path).
	script := writeFile(t, filepath.Join(worldDir(t), "victim.sh"),
		"#!/bin/sh\necho ${#SECRET_TOKEN}\nread line\n", 0o755)
	sleep := sysPath(t, "/usr/bin/sleep")

	sealedSleep := mustSeal(t, mustOpen(t, sleep))
	sealedScript := mustSeal(t, mustOpen(t, script))

	// First: the secret really reaches a sealed child, so "cannot read it"
	// below is not "it was never there".
	envBin := mustSeal(t, mustOpen(t, sysPath(t, "/usr/bin/env")))
	cmd := sealedCmd(t, envBin, cred, "env")
	cmd.Env, cmd.Dir = env, "/"
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sealed env: %v", err)
	}
	if !bytes.Contains(out, []byte("SECRET_TOKEN="+secret+"\n")) {
		t.Fatal("sealed child did not receive SECRET_TOKEN")
	}

	for _, tc := range []struct {
		name     string
		cmd      func() *exec.Cmd
		script   bool
		dumpable bool
	}{
		{"sealed binary", func() *exec.Cmd { return sealedCmd(t, sealedSleep, cred, "sleep", "30") }, false, false},
		{"sealed script", func() *exec.Cmd { return sealedCmd(t, sealedScript, cred, "victim.sh") }, true, false},
		{"plain binary (control)", func() *exec.Cmd { return exec.Command(sleep, "30") }, false, true},
		{"plain script (control)", func() *exec.Cmd { return exec.Command(script) }, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := tc.cmd()
			if cmd == nil {
				t.Fatal("no command")
			}
			cmd.Env, cmd.Dir = env, "/"
			if cmd.SysProcAttr == nil {
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
			}
			var stdin io.WriteCloser
			var stdout *bufio.Reader
			if tc.script {
				stdin, _ = cmd.StdinPipe()
				p, _ := cmd.StdoutPipe()
				stdout = bufio.NewReader(p)
			}
			// Start returns once execve succeeded, so the victim below
			// is the exec'd program, not the forked test binary.
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			pid := cmd.Process.Pid
			if tc.script {
				// The interpreter read the script via /dev/fd/N and sees
				// the secret (only its length is printed).
				line, err := stdout.ReadString('\n')
				if err != nil || strings.TrimSpace(line) != strconv.Itoa(len(secret)) {
					t.Fatalf("script did not start with SECRET_TOKEN set: %q %v", line, err)
				}
				defer stdin.Close()
			}

			status := procStatus(t, pid)
			if !strings.Contains(status, "\nUid:\t"+strconv.Itoa(int(wantUID()))+"\t") {
				t.Errorf("status of %d does not show uid %d", pid, wantUID())
			}
			t.Logf("pid %d Name=%q", pid, statusField(status, "Name"))

			// The kernel shows a non-dumpable task's /proc files as owned
			// by root (task_dump_owner; the /proc/<pid> directory itself is
			// exempt): an independent witness of the dumpable flag.
			var st syscall.Stat_t
			if err := syscall.Stat("/proc/"+strconv.Itoa(pid)+"/environ", &st); err != nil {
				t.Fatal(err)
			}
			if wantOwner := map[bool]uint32{true: wantUID(), false: 0}[tc.dumpable]; st.Uid != wantOwner {
				t.Errorf("/proc/%d/environ owned by uid %d, want %d (dumpable=%v)", pid, st.Uid, wantOwner, tc.dumpable)
			}

			r, raw := readProc(t, reader, pid)
			leaked := bytes.Contains(r.Environ, []byte(secret))
			if tc.dumpable {
				if r.EnvironErrno != 0 || !leaked {
					t.Errorf("control: same-uid reader could not read SECRET_TOKEN from environ (errno %d) — the test would prove nothing", r.EnvironErrno)
				}
				if r.MemErrno != 0 || r.MemRead == 0 {
					t.Errorf("control: /proc/pid/mem errno %d read %d (%s)", r.MemErrno, r.MemRead, r.MemReadErr)
				}
				if r.PtraceErrno != 0 {
					t.Errorf("control: ptrace attach errno %d", r.PtraceErrno)
				}
				return
			}
			if leaked || bytes.Contains(raw, []byte(secret)) {
				t.Errorf("same-uid reader obtained SECRET_TOKEN")
			}
			if r.EnvironErrno != int(syscall.EACCES) || len(r.Environ) != 0 {
				t.Errorf("environ: errno %d, %d bytes; want EACCES", r.EnvironErrno, len(r.Environ))
			}
			if r.MemErrno != int(syscall.EACCES) {
				t.Errorf("mem: errno %d, want EACCES", r.MemErrno)
			}
			if r.PtraceErrno != int(syscall.EPERM) {
				t.Errorf("ptrace attach: errno %d, want EPERM", r.PtraceErrno)
			}
		})
	}
}

// sealedCmd sets the credential before Prepare, which needs it to hand the
// script memfd to that uid.
func sealedCmd(t *testing.T, s *Sealed, cred *syscall.Credential, argv ...string) *exec.Cmd {
	t.Helper()
	cmd := &exec.Cmd{Args: argv, SysProcAttr: &syscall.SysProcAttr{Credential: cred}}
	if err := s.Prepare(cmd); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func procStatus(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	return "\n" + string(b)
}

func statusField(status, key string) string {
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
