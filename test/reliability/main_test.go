//go:build reliability

package reliability

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

// The long profile runs by hand (README.md); the short one runs in CI and
// must stay well under 90 s on a 2-core machine.
var long = flag.Bool("long", os.Getenv("RELIABILITY_LONG") == "1", "run the long profile (>= 1,000 kills)")

// Environment of a re-executed writer process.
const (
	envMode  = "ENVSEAL_RELIABILITY_WRITER" // store, revoke, policy, audit, hammer
	envDir   = "ENVSEAL_RELIABILITY_DIR"
	envStart = "ENVSEAL_RELIABILITY_START" // first op number (kill modes) or writer id (hammer)
	envFor   = "ENVSEAL_RELIABILITY_FOR"   // hammer: how long to run
)

// passphrase and cheapKDF are test-only: Argon2id at its cheapest keeps
// each re-executed writer's unlock well under a millisecond.
var (
	passphrase = []byte("reliability test passphrase")
	cheapKDF   = seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(envMode); mode != "" {
		os.Exit(writerMain(mode))
	}
	flag.Parse()
	os.Exit(m.Run())
}

// newVault makes a vault the way `envseal init` does: the empty sealed
// policy as a Create hook, then the audit log's vault_init record.
func newVault(t testing.TB) (string, seal.Key) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vault")
	_, k, err := vault.Create(dir, passphrase, cheapKDF, policy.InitEmpty)
	if err != nil {
		t.Fatalf("create vault: %v", err)
	}
	if err := audit.New(dir).Append(k, "vault_init", map[string]any{"kdf": cheapKDF.String()}); err != nil {
		t.Fatalf("audit vault_init: %v", err)
	}
	return dir, k
}

// verifyAll checks that everything in dir still opens and authenticates:
// the vault unlocks to the same key, every secret decrypts, the policy
// loads and the audit log verifies with no log moved aside.
func verifyAll(dir string, k seal.Key) error {
	v, err := vault.Open(dir)
	if err != nil {
		return fmt.Errorf("open vault: %w", err)
	}
	k2, err := v.Unlock(passphrase)
	if err != nil {
		return fmt.Errorf("unlock: %w", err)
	}
	if !k2.Equal(k) {
		return fmt.Errorf("unlock returned a different master key")
	}
	entries, err := v.List()
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	for _, e := range entries {
		if e.Err != nil {
			return fmt.Errorf("list %s: %w", e.Name, e.Err)
		}
		val, _, err := v.Get(k, e.Name)
		if err != nil {
			return fmt.Errorf("get %s: %w", e.Name, err)
		}
		clear(val)
	}
	if _, err := policy.NewStore(dir, k).Load(); err != nil {
		return fmt.Errorf("load policy: %w", err)
	}
	if _, err := audit.New(dir).Verify(k); err != nil {
		return fmt.Errorf("verify audit log: %w", err)
	}
	// A log moved aside means an append was torn or the chain broke:
	// acknowledged records would then live outside the current log.
	if m, _ := filepath.Glob(filepath.Join(dir, audit.CorruptPrefix+"*")); len(m) > 0 {
		return fmt.Errorf("audit log was moved aside (%s)", filepath.Base(m[0]))
	}
	return nil
}

// writerCmd re-executes the test binary as a writer process.
func writerCmd(mode, dir string, start int, extra ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envMode+"="+mode, envDir+"="+dir, fmt.Sprintf("%s=%d", envStart, start))
	cmd.Env = append(cmd.Env, extra...)
	return cmd
}

// readLines feeds each line of the writer's stdout to fn until EOF.
func readLines(sc *bufio.Scanner, fn func(string)) {
	for sc.Scan() {
		fn(strings.TrimSpace(sc.Text()))
	}
}

// summary prints a check's one-line result to the test log and to stdout,
// so CI logs show it even without -v.
func summary(t *testing.T, format string, args ...any) {
	t.Helper()
	line := "reliability: " + fmt.Sprintf(format, args...)
	t.Log(line)
	fmt.Println(line)
}
