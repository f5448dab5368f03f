package launch_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/sandbox"
	"github.com/envseal/envseal/internal/vault"
)

// uid/gid the end-to-end test runs envseal and the attacker as. Root can
// read any process's memory (CAP_SYS_PTRACE), so as root both sides drop
// to nobody; as an ordinary user both sides are that user.
func testIDs() (uid, gid int, cred *syscall.Credential) {
	if os.Geteuid() != 0 {
		return os.Getuid(), os.Getgid(), nil
	}
	return 65534, 65534, &syscall.Credential{Uid: 65534, Gid: 65534}
}

const testValue = "e2e-secret-value-5b1f9c0d7a"

// TestApprovedChildUnreadableBySameUID is the end-to-end proof of
// docs/ARCHITECTURE.md kernel fact 1 through `envseal run`: a same-uid attacker can read neither
// /proc/<child>/environ nor /proc/<child>/mem of the approved child that
// holds the secret in its environment, nor the memory of envseal itself.
// The control — the same program started plainly by the same uid with the
// same variable — is readable, so the test can fail.
func TestApprovedChildUnreadableBySameUID(t *testing.T) {
	uid, gid, cred := testIDs()
	root := t.TempDir()
	os.Chmod(root, 0o755)
	os.Chmod(filepath.Dir(root), 0o755)
	bin := filepath.Join(root, "envseal")
	build := exec.Command("go", "build", "-o", bin, "github.com/envseal/envseal/cmd/envseal")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build envseal: %v\n%s", err, out)
	}
	os.Chmod(bin, 0o755)
	home := filepath.Join(root, "home")
	os.Mkdir(home, 0o700)
	os.Chown(home, uid, gid)
	vdir := filepath.Join(home, "vault")
	pass := filepath.Join(home, "pass")
	os.WriteFile(pass, []byte("e2e passphrase\n"), 0o600)
	os.Chown(pass, uid, gid)
	runDir := filepath.Join(home, "run")
	os.Mkdir(runDir, 0o700)
	os.Chown(runDir, uid, gid)

	run := func(stdin io.Reader, extra []*os.File, args ...string) *exec.Cmd {
		c := exec.Command(bin, args...)
		// XDG_RUNTIME_DIR of our own: without it the built envseal falls
		// back to /run/user/UID and would talk to the developer's broker.
		c.Env = []string{"ENVSEAL_HOME=" + vdir, "HOME=" + home, "PATH=/usr/bin:/bin", "XDG_RUNTIME_DIR=" + runDir}
		c.Dir = home
		c.Stdin = stdin
		c.ExtraFiles = extra
		c.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		return c
	}
	openPass := func() *os.File {
		f, err := os.Open(pass)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	if out, err := run(nil, []*os.File{openPass()}, "init", "--passphrase-fd", "3").CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	if out, err := run(strings.NewReader(testValue), []*os.File{openPass()}, "store", "TOKEN", "--stdin", "--passphrase-fd", "3").CombinedOutput(); err != nil {
		t.Fatalf("store: %v\n%s", err, out)
	}

	// The human's earlier "allow always" for `sleep 30` with TOKEN, written
	// with the vault key (there is no terminal in CI to type the code).
	sleep, _ := filepath.EvalSymlinks("/bin/sleep")
	sum := fileSHA256(t, sleep)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	helper := filepath.Join(root, "helper.test")
	copyFile(t, self, helper)
	w := exec.Command(helper, "-test.run=^$")
	w.Env = []string{"ENVSEAL_E2E_HELPER=write-rule", "ENVSEAL_HOME=" + vdir, "RULE_BINARY=" + sleep, "RULE_SHA256=" + sum, "RULE_ARGV=30",
		"RULE_CWD=" + home, "RULE_ENV=HOME=" + home + "\nPATH=/usr/bin:/bin"}
	w.Stdin = strings.NewReader("e2e passphrase")
	w.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := w.CombinedOutput(); err != nil {
		t.Fatalf("write rule as uid %d: %v\n%s", uid, err, out)
	}

	es := run(nil, []*os.File{openPass()}, "run", "--passphrase-fd", "3", "--secret", "TOKEN", "--", "sleep", "30")
	var esErr bytes.Buffer
	es.Stderr = &esErr
	if err := es.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { es.Process.Kill(); es.Wait() })
	child := waitChild(t, es.Process.Pid, &esErr)
	t.Cleanup(func() { syscall.Kill(child, syscall.SIGKILL) })

	plain := exec.Command("/bin/sleep", "30")
	plain.Env = []string{"TOKEN=" + testValue}
	plain.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if err := plain.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plain.Process.Kill(); plain.Wait() })

	// Control: the plain child is readable by the same uid.
	if out, ok := readAs(cred, "/proc/"+strconv.Itoa(plain.Process.Pid)+"/environ"); !ok || !bytes.Contains(out, []byte(testValue)) {
		t.Fatalf("control: same uid could not read a plain child's environ (ok=%v); the test cannot prove anything", ok)
	}
	if _, ok := readAs(cred, "/proc/"+strconv.Itoa(plain.Process.Pid)+"/mem"); !ok {
		t.Fatal("control: same uid could not open a plain child's mem")
	}
	// The approved child and envseal itself are not.
	for _, pid := range []int{child, es.Process.Pid} {
		for _, f := range []string{"environ", "mem"} {
			p := "/proc/" + strconv.Itoa(pid) + "/" + f
			out, ok := readAs(cred, p)
			if ok {
				t.Errorf("same uid opened %s", p)
			}
			if bytes.Contains(out, []byte(testValue)) {
				t.Errorf("same uid read TOKEN from %s", p)
			}
		}
	}
	// The sandboxed tiers work for an unprivileged user too (envseal is
	// non-dumpable, and the kernel only lets a parent write a dumpable
	// child's uid_map): a lockdown run of an approved `echo` as this uid.
	echo, _ := filepath.EvalSymlinks("/bin/echo")
	w2 := exec.Command(helper, "-test.run=^$")
	w2.Env = []string{"ENVSEAL_E2E_HELPER=write-rule", "ENVSEAL_HOME=" + vdir, "RULE_BINARY=" + echo,
		"RULE_SHA256=" + fileSHA256(t, echo), "RULE_ARGV=sandboxed", "RULE_SANDBOX=lockdown",
		"RULE_CWD=" + home, "RULE_ENV=HOME=" + home + "\nPATH=/usr/bin:/bin"}
	w2.Stdin = strings.NewReader("e2e passphrase")
	w2.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := w2.CombinedOutput(); err != nil {
		t.Fatalf("write lockdown rule: %v\n%s", err, out)
	}
	lk := run(nil, []*os.File{openPass()}, "run", "--passphrase-fd", "3", "--sandbox", "lockdown", "--secret", "TOKEN", "--", "echo", "sandboxed")
	if out, err := lk.CombinedOutput(); err != nil || !bytes.Contains(out, []byte("sandboxed")) {
		t.Fatalf("lockdown run as uid %d: %v\n%s", uid, err, out)
	}

	// And the secret really is in the approved child's environment: root
	// (CAP_SYS_PTRACE, the out-of-scope attacker) can see it.
	if os.Geteuid() == 0 {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(child) + "/environ")
		if !bytes.Contains(b, []byte(testValue)) {
			t.Error("TOKEN is not in the approved child's environment; the test is not testing delivery")
		}
	}
}

// TestMain lets the test binary act as the human's earlier "allow always"
// (there is no terminal in CI to type the approval code): it writes the
// rule with the vault key, as the vault's owner.
func TestMain(m *testing.M) {
	// The sandbox's helper stage re-executes /proc/self/exe, this test
	// binary here: dispatch it exactly as cmd/envseal does.
	if len(os.Args) > 1 && os.Args[1] == sandbox.HelperArg {
		// syscall.Exit: os.Exit's exit hooks would print "GOCOVERDIR not set" from a -cover build into the output tests compare.
		syscall.Exit(sandbox.HelperMain(os.Args[2:]))
	}
	if os.Getenv("ENVSEAL_E2E_HELPER") == "write-rule" {
		if err := writeRule(); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			syscall.Exit(1)
		}
		syscall.Exit(0)
	}
	os.Exit(m.Run())
}

func writeRule() error {
	pass, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	v, err := vault.Open(os.Getenv("ENVSEAL_HOME"))
	if err != nil {
		return err
	}
	k, err := v.Unlock(pass)
	if err != nil {
		return err
	}
	_, err = policy.NewStore(v.Dir(), k).Update(func(p *policy.Policy) error {
		tier := os.Getenv("RULE_SANDBOX")
		if tier == "" {
			tier = "standard"
		}
		// The context the run will have: its cwd and environment.
		human := strings.Split(os.Getenv("RULE_ENV"), "\n")
		argv := append([]string{os.Getenv("RULE_BINARY")}, strings.Fields(os.Getenv("RULE_ARGV"))...)
		r, err := launch.PrepareRule(&launch.Request{Argv: argv, Cwd: os.Getenv("RULE_CWD"), Env: human, PATH: "/usr/bin:/bin"}, human)
		if err != nil {
			return err
		}
		if r.SHA256 != os.Getenv("RULE_SHA256") {
			return fmt.Errorf("rule for %s: pinned another hash than the test computed", r.Binary)
		}
		r.ID, r.Created, r.Sandbox = policy.NewID(), time.Now().UTC(), sandbox.Tier(tier)
		r.Grants = []policy.Grant{{Secret: "TOKEN", Delivery: policy.DeliverEnv, Env: "TOKEN"}}
		p.Put(r)
		return nil
	})
	return err
}

func copyFile(t *testing.T, src, dst string) {
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// readAs opens and reads path as the given credential with /bin/sh and
// reports whether the open succeeded. The output is only searched, never
// printed.
func readAs(cred *syscall.Credential, path string) ([]byte, bool) {
	c := exec.Command("/bin/sh", "-c", `exec 3<"$1" || exit 9; echo OPENED; case "$1" in *environ) cat <&3;; esac`, "sh", path)
	c.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, _ := c.Output()
	return out, bytes.HasPrefix(out, []byte("OPENED"))
}

func waitChild(t *testing.T, ppid int, stderr *bytes.Buffer) int {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
			if err != nil {
				continue
			}
			s := string(b)
			fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
			if len(fields) > 1 && fields[1] == strconv.Itoa(ppid) {
				return pid
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("envseal run started no child; stderr: %s", stderr.String())
	return 0
}

func fileSHA256(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
