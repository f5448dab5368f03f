//go:build linux

package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

// The test wrapper lowers the Argon2id cost for every envseal process the
// scripts start (they are this test binary re-executed), the way age's
// tests do; nothing in a release build can.
func init() {
	kdfParams = seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}
}

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		// syscall.Exit: os.Exit's exit hooks would print "GOCOVERDIR not set" from a -cover build into the output tests compare.
		"envseal": func() { syscall.Exit(Main()) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:       filepath.Join("testdata", "script"),
		Setup:     isolate,
		Condition: condition,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"notty":       cmdNoTTY,
			"human":       cmdHuman,
			"httpserver":  cmdHTTPServer,
			"checksecret": cmdCheckSecret,
			"totphuman":   cmdTOTPHuman,
			"backdate":    cmdBackdate,
			"expirerules": cmdExpireRules,
			"checkexpiry": cmdCheckExpiry,
			"ptyshell":    cmdPtyShell,
		},
	})
}

// isolate points every place envseal looks for the user's vault, config
// and broker at the script's own work directory: without XDG_RUNTIME_DIR
// the broker client would fall back to /run/user/UID and talk to the
// developer's real broker (vault.Home and broker.SocketDir also refuse
// the real ones in a test binary, as a second line).
func isolate(e *testscript.Env) error {
	run := filepath.Join(e.WorkDir, "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		return err
	}
	e.Setenv("ENVSEAL_HOME", filepath.Join(e.WorkDir, "vault"))
	e.Setenv("HOME", filepath.Join(e.WorkDir, "home"))
	e.Setenv("XDG_RUNTIME_DIR", run)
	e.Setenv("XDG_CONFIG_HOME", filepath.Join(e.WorkDir, "home", ".config"))
	return nil
}

// condition answers [root]: steps that need CAP_SYS_ADMIN or chown run
// only as root (CI is root and runs them all).
func condition(cond string) (bool, error) {
	if cond == "root" {
		return os.Geteuid() == 0, nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

// notty CMD ARGS… runs CMD in a new session, so it has no controlling
// terminal and /dev/tty cannot be opened, whatever terminal `go test` runs
// in. Its stdout and stderr become the script's.
func cmdNoTTY(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: notty command [args...]")
	}
	var path string
	for _, d := range filepath.SplitList(ts.Getenv("PATH")) {
		if c := filepath.Join(d, args[0]); fileExists(c) {
			path = c
			break
		}
	}
	if path == "" {
		ts.Fatalf("notty: %s not found on PATH", args[0])
	}
	cmd := exec.Command(path, args[1:]...)
	cmd.Dir = ts.MkAbs(".")
	cmd.Env = scriptEnv(ts)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	ts.Stdout().Write(out.Bytes())
	ts.Stderr().Write(errb.Bytes())
	if neg && err == nil {
		ts.Fatalf("unexpected success")
	}
	if !neg && err != nil {
		ts.Fatalf("%v", err)
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// checksecret [-raw] PASSPHRASE NAME FILE decrypts NAME with the vault API
// and compares it with FILE's bytes less one trailing newline (all of them
// with -raw), without printing either. It exists only in
// the test harness: the envseal binary has no way to print a value.
func cmdCheckSecret(ts *testscript.TestScript, neg bool, args []string) {
	raw := len(args) > 0 && args[0] == "-raw"
	if raw {
		args = args[1:]
	}
	if len(args) != 3 {
		ts.Fatalf("usage: checksecret [-raw] passphrase name file")
	}
	v, k := unlockTestVault(ts, args[0])
	got, _, err := v.Get(k, args[1])
	if err != nil {
		ts.Fatalf("get %s: %v", args[1], err)
	}
	want := []byte(ts.ReadFile(args[2]))
	if !raw {
		want = bytes.TrimSuffix(want, []byte("\n"))
	}
	if eq := bytes.Equal(got, want); eq == neg {
		ts.Fatalf("secret %s: equal to %s = %v (lengths %d and %d)", args[1], args[2], eq, len(got), len(want))
	}
}

// unlockTestVault opens and unlocks the script's vault with passphrase.
func unlockTestVault(ts *testscript.TestScript, passphrase string) (*vault.Vault, seal.Key) {
	v, err := vault.Open(ts.Getenv("ENVSEAL_HOME"))
	if err != nil {
		ts.Fatalf("open vault: %v", err)
	}
	k, err := v.Unlock([]byte(passphrase))
	if err != nil {
		ts.Fatalf("unlock: %v", err)
	}
	return v, k
}

// backdate PASSPHRASE NAME DAYS re-stores NAME with the same value as if
// it had been replaced DAYS days ago (generation +1), so rotation can be
// tested without waiting.
func cmdBackdate(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 || neg {
		ts.Fatalf("usage: backdate passphrase name days")
	}
	d, err := strconv.Atoi(args[2])
	if err != nil {
		ts.Fatalf("days: %v", err)
	}
	v, k := unlockTestVault(ts, args[0])
	val, _, err := v.Get(k, args[1])
	if err != nil {
		ts.Fatalf("get %s: %v", args[1], err)
	}
	defer clear(val)
	then := time.Now().Add(-time.Duration(d) * 24 * time.Hour)
	if _, err := v.Store(k, args[1], val, vault.StoreOptions{Force: true, Now: func() time.Time { return then }}); err != nil {
		ts.Fatalf("store %s: %v", args[1], err)
	}
}

// expirerules PASSFILE makes every rule that has an expiry expire a minute
// ago, so expiry can be tested without waiting 8 hours.
func cmdExpireRules(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: expirerules passfile")
	}
	v, k := unlockTestVault(ts, strings.TrimSpace(ts.ReadFile(args[0])))
	past := time.Now().Add(-time.Minute)
	if _, err := policy.NewStore(v.Dir(), k).Update(func(p *policy.Policy) error {
		for i := range p.Rules {
			if p.Rules[i].Expires != nil {
				p.Rules[i].Expires = &past
			}
		}
		return nil
	}); err != nil {
		ts.Fatalf("expire rules: %v", err)
	}
}

// checkexpiry PASSFILE MIN MAX checks that every rule expires between MIN
// and MAX from now.
func cmdCheckExpiry(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 || neg {
		ts.Fatalf("usage: checkexpiry passfile min max")
	}
	lo, err1 := time.ParseDuration(args[1])
	hi, err2 := time.ParseDuration(args[2])
	if err1 != nil || err2 != nil {
		ts.Fatalf("durations: %v %v", err1, err2)
	}
	v, k := unlockTestVault(ts, strings.TrimSpace(ts.ReadFile(args[0])))
	p, err := policy.NewStore(v.Dir(), k).Load()
	if err != nil || len(p.Rules) == 0 {
		ts.Fatalf("load policy: %v (%d rules)", err, len(p.Rules))
	}
	for _, r := range p.Rules {
		if r.Expires == nil {
			ts.Fatalf("rule %s never expires", r.ID)
		}
		if left := time.Until(*r.Expires); left < lo || left > hi {
			ts.Fatalf("rule %s expires in %v, want %v..%v", r.ID, left, lo, hi)
		}
	}
}

// The CLI never prints a value: no subcommand or flag mentions revealing.
func TestNoRevealCommand(t *testing.T) {
	a := &app{}
	root := a.rootCmd()
	for _, c := range root.Commands() {
		for _, bad := range []string{"reveal", "get", "show", "export", "print", "cat", "dump"} {
			if strings.Contains(c.Name(), bad) {
				t.Errorf("command %q looks like it prints values", c.Name())
			}
		}
		if f := c.Flags().Lookup("reveal"); f != nil {
			t.Errorf("command %q has --reveal", c.Name())
		}
	}
}
