package launch

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/sandbox"
	"github.com/envseal/envseal/internal/seal"
)

// recAuditor keeps the fields of the run_finished records.
type recAuditor struct {
	mu       sync.Mutex
	finished []map[string]any
}

func (a *recAuditor) Event(_ seal.Key, kind audit.Event, fields map[string]any) {
	if kind != audit.RunFinished {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.finished = append(a.finished, fields)
}

func (a *recAuditor) last() map[string]any {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.finished) == 0 {
		return nil
	}
	return a.finished[len(a.finished)-1]
}

// swapRun runs argv in dir, approved once, with TOKEN in $TOKEN; once the
// program has printed "ready" (its pinned files are mounted by then), swap
// runs from outside the run's mount namespace, as the agent would. The
// program waits a second after "ready" before it loads the file again.
func swapRun(t *testing.T, e *ctxEnv, contain bool, dir string, argv []string, swap func()) (string, *Result, *recAuditor, error) {
	t.Helper()
	rec := &recAuditor{}
	cp := New(Config{
		Vault:    e.v,
		Unlock:   func() (seal.Key, error) { return e.v.Unlock([]byte("pw")) },
		Approver: e.ap,
		Audit:    rec,
		HumanEnv: e.human,
	})
	cp.Contain = contain
	e.ap.answers = []approve.Decision{approve.AllowOnce}
	out := &lockedBuf{}
	req := &Request{Argv: argv, Cwd: dir, Env: e.evil, PATH: "/usr/bin:/bin", Stdout: out, Stderr: out,
		Grants: []policy.Grant{{Secret: "TOKEN", Delivery: policy.DeliverEnv, Env: "TOKEN"}}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	swapped := make(chan struct{})
	go func() {
		defer close(swapped)
		for !strings.Contains(out.String(), "ready") {
			if ctx.Err() != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		if swap != nil {
			swap()
		}
	}()
	res, err := cp.Run(ctx, req)
	cancel()
	<-swapped
	return out.String(), res, rec, err
}

// The agent's code: prints EVIL and leaves a marker file beside it.
const evilPy = "import os\nopen(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'EVIL-MARKER'), 'w').write('x')\nX = 'EVIL %d' % len(os.environ['TOKEN'])\n"

// pythonLateImport writes dir/deploy.py, which prints "ready", sleeps a
// second and only then imports pkg/helper.py (and its package), both
// pinned closure files.
func pythonLateImport(t *testing.T, dir string) {
	write(t, filepath.Join(dir, "deploy.py"), "import sys, time\nprint('ready', flush=True)\ntime.sleep(1)\nfrom pkg import helper\nprint('deploy', helper.X)\n", 0o644)
	write(t, filepath.Join(dir, "pkg", "__init__.py"), "", 0o644)
	write(t, filepath.Join(dir, "pkg", "helper.py"), "X = 'ok'\n", 0o644)
}

// checkStopped: the run failed with the tripwire's typed error naming
// pinned, exit code ExitFailed, none of the agent's code ran, and the
// audit record says why.
func checkStopped(t *testing.T, out string, res *Result, err error, rec *recAuditor, pinned string, markers ...string) {
	t.Helper()
	t.Logf("output %q, error %v", out, err)
	if strings.Contains(out, "EVIL") {
		t.Fatalf("the agent's replacement ran with the secret: %q", out)
	}
	for _, m := range markers {
		if _, serr := os.Stat(m); serr == nil {
			t.Fatalf("the agent's replacement ran: %s exists (output %q)", m, out)
		}
	}
	var le *Error
	if !errors.Is(err, sandbox.ErrPinReplaced) || !errors.As(err, &le) || le.Code != ExitFailed {
		t.Fatalf("run: err %v (want sandbox.ErrPinReplaced, code %d), output %q", err, ExitFailed, out)
	}
	if want := "pinned file " + pinned + " was replaced while the run was going; the run was stopped"; err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
	if res == nil || res.ExitCode != ExitFailed {
		t.Fatalf("result %+v, want exit code %d", res, ExitFailed)
	}
	if f := rec.last(); f == nil || f["pin_replaced"] != pinned {
		t.Fatalf("run_finished record %v, want pin_replaced %s", f, pinned)
	}
	if strings.Contains(out, "deploy") {
		t.Fatalf("the run went on after the swap: %q", out)
	}
}

// TestPinSwapStopsRun: a pinned closure file unlinked and rewritten,
// renamed over, or its directory renamed away and made anew, from
// outside the run while the approved program runs — before it imports the
// file — stops the run: the sandbox's tripwire kills it, the agent's code
// never runs, and the error names the file. The control runs the same
// program with no swap. As uid 65534 when the tests run as root (the
// agent and the run are the same user).
func TestPinSwapStopsRun(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	argv := []string{"python3", "-B", "deploy.py"}
	t.Run("control", func(t *testing.T) {
		e := newCtxEnv(t)
		dir := filepath.Join(e.home, "app")
		pythonLateImport(t, dir)
		out, res, rec, err := swapRun(t, e, true, dir, argv, nil)
		if err != nil || res.ExitCode != 0 || !strings.Contains(out, "deploy ok\n") {
			t.Fatalf("run with no swap: err %v, res %+v, output %q", err, res, out)
		}
		if f := rec.last(); f == nil || f["pin_replaced"] != nil {
			t.Fatalf("run_finished record %v: no pin_replaced wanted", f)
		}
	})
	t.Run("unlink", func(t *testing.T) {
		e := newCtxEnv(t)
		dir := filepath.Join(e.home, "app")
		pythonLateImport(t, dir)
		helper := filepath.Join(dir, "pkg", "helper.py")
		out, res, rec, err := swapRun(t, e, true, dir, argv, func() {
			if err := os.Remove(helper); err != nil {
				t.Error(err)
			}
			write(t, helper, evilPy, 0o644)
		})
		checkStopped(t, out, res, err, rec, helper, filepath.Join(dir, "pkg", "EVIL-MARKER"))
	})
	t.Run("rename-over", func(t *testing.T) {
		e := newCtxEnv(t)
		dir := filepath.Join(e.home, "app")
		pythonLateImport(t, dir)
		helper := filepath.Join(dir, "pkg", "helper.py")
		out, res, rec, err := swapRun(t, e, true, dir, argv, func() {
			write(t, helper+".new", evilPy, 0o644)
			if err := os.Rename(helper+".new", helper); err != nil { // mv helper.py.new helper.py
				t.Error(err)
			}
		})
		checkStopped(t, out, res, err, rec, helper, filepath.Join(dir, "pkg", "EVIL-MARKER"))
	})
	t.Run("parent-renamed", func(t *testing.T) {
		e := newCtxEnv(t)
		dir := filepath.Join(e.home, "app")
		pythonLateImport(t, dir)
		pkg := filepath.Join(dir, "pkg")
		out, res, rec, err := swapRun(t, e, true, dir, argv, func() {
			if err := os.Rename(pkg, pkg+".old"); err != nil {
				t.Error(err)
			}
			write(t, filepath.Join(pkg, "__init__.py"), "", 0o644)
			write(t, filepath.Join(pkg, "helper.py"), evilPy, 0o644)
		})
		// Either of the two pinned files under pkg may be the one named.
		if err != nil && strings.Contains(err.Error(), filepath.Join(pkg, "helper.py")) {
			checkStopped(t, out, res, err, rec, filepath.Join(pkg, "helper.py"), filepath.Join(pkg, "EVIL-MARKER"))
		} else {
			checkStopped(t, out, res, err, rec, filepath.Join(pkg, "__init__.py"), filepath.Join(pkg, "EVIL-MARKER"))
		}
	})
	t.Run("cwd-renamed-direct", func(t *testing.T) {
		// A direct (not contained) run at the standard tier: pins in a
		// mount namespace of its own and nothing re-bound, so renaming
		// the working directory itself and making a new one reaches the
		// run's import path.
		e := newCtxEnv(t)
		dir := filepath.Join(e.home, "app")
		write(t, filepath.Join(dir, "deploy.py"), "import sys, time\nprint('ready', flush=True)\ntime.sleep(1)\nimport helper\nprint('deploy', helper.X)\n", 0o644)
		write(t, filepath.Join(dir, "helper.py"), "X = 'ok'\n", 0o644)
		out, res, rec, err := swapRun(t, e, false, dir, argv, func() {
			if err := os.Rename(dir, dir+".old"); err != nil {
				t.Error(err)
			}
			write(t, filepath.Join(dir, "helper.py"), evilPy, 0o644)
		})
		if err != nil && strings.Contains(err.Error(), filepath.Join(dir, "deploy.py")) {
			checkStopped(t, out, res, err, rec, filepath.Join(dir, "deploy.py"), filepath.Join(dir, "EVIL-MARKER"))
		} else {
			checkStopped(t, out, res, err, rec, filepath.Join(dir, "helper.py"), filepath.Join(dir, "EVIL-MARKER"))
		}
	})
}

// TestExecPinSwapStopsRun: node installed in a directory the user can
// write (app/.tools, as nvm's are under HOME) is served at its real path
// and fork() starts process.execPath again; the agent unlinks it and
// puts a script there meanwhile. The run is stopped before the fork, and
// the script never runs.
func TestExecPinSwapStopsRun(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	if _, err := os.Stat("/usr/bin/node"); err != nil {
		t.Skip("no /usr/bin/node")
	}
	e := newCtxEnv(t)
	dir := filepath.Join(e.home, "app")
	bin := filepath.Join(dir, ".tools")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	node := filepath.Join(bin, "node")
	if out, err := exec.Command("cp", "/usr/bin/node", node).CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
	write(t, filepath.Join(dir, "fork.js"), "if (process.argv[2] === 'child') { console.log('child ran'); } else { console.log('ready'); setTimeout(() => require('child_process').fork(__filename, ['child']), 1000); }\n", 0o644)
	marker := filepath.Join(dir, "EVIL-MARKER")
	out, res, rec, err := swapRun(t, e, true, dir, []string{node, "fork.js"}, func() {
		if err := os.Remove(node); err != nil {
			t.Error(err)
		}
		write(t, node, "#!/bin/sh\necho EVIL ${#TOKEN}\ntouch "+marker+"\n", 0o755)
	})
	if strings.Contains(out, "child ran") {
		t.Fatalf("the run went on after the swap: %q", out)
	}
	checkStopped(t, out, res, err, rec, node, marker)
}
