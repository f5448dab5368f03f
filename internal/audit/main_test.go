package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/envseal/envseal/internal/seal"
)

// writerEnv makes the test binary a writer process for
// TestConcurrentProcesses: ENVSEAL_AUDIT_TEST_WRITER=dir,id,count.
const writerEnv = "ENVSEAL_AUDIT_TEST_WRITER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(writerEnv); spec != "" {
		os.Exit(writerMain(spec))
	}
	code := m.Run()
	if benchFile != "" {
		os.RemoveAll(filepath.Dir(benchFile))
	}
	os.Exit(code)
}

// writerMain appends count records as writer id: every fifth one unkeyed
// (as a failed unlock would be), the rest keyed.
func writerMain(spec string) int {
	var dir string
	var id, count int
	if _, err := fmt.Sscanf(spec, "%d,%d,%s", &id, &count, &dir); err != nil {
		fmt.Fprintln(os.Stderr, "bad writer spec:", err)
		return 2
	}
	k, err := seal.KeyFromBytes(testKeyBytes())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	l := New(dir)
	l.Warn = func(m string) { fmt.Fprintln(os.Stderr, "warning:", m) }
	for n := range count {
		key := k
		if n%5 == 4 {
			key = seal.Key{}
		}
		if err := l.Append(key, "run_finished", map[string]any{"writer": id, "n": n, "pid": os.Getpid(), "tag": "w" + strconv.Itoa(id)}); err != nil {
			fmt.Fprintln(os.Stderr, "append:", err)
			return 1
		}
	}
	return 0
}
