package approve

import (
	"os"
	"testing"
)

func TestProcessChainSelf(t *testing.T) {
	chain := ProcessChain(os.Getpid(), 3)
	if len(chain) < 2 {
		t.Fatalf("chain of the test process has %d entries", len(chain))
	}
	exe, _ := os.Executable()
	if chain[0].PID != os.Getpid() || chain[0].Exe != exe || chain[0].PPID != os.Getppid() {
		t.Fatalf("chain[0] = %+v, want pid %d exe %s ppid %d", chain[0], os.Getpid(), exe, os.Getppid())
	}
	if chain[1].PID != os.Getppid() || chain[1].Exe == "" {
		t.Fatalf("chain[1] = %+v, want the parent %d with its exe", chain[1], os.Getppid())
	}
	if len(ProcessChain(os.Getpid(), 1)) != 1 {
		t.Fatal("depth 1 must return only the process itself")
	}
}

func TestProcessChainUnreadable(t *testing.T) {
	// No such process: one entry with only the pid, and the chain stops.
	chain := ProcessChain(1<<30, 3)
	if len(chain) != 1 || chain[0].PID != 1<<30 || chain[0].Exe != "" {
		t.Fatalf("chain of a missing pid = %+v", chain)
	}
	if ProcessChain(0, 3) != nil {
		t.Fatal("pid 0 must give an empty chain")
	}
}

func TestParseStat(t *testing.T) {
	// comm is chosen by the process: it may contain ") (" and spaces.
	comm, ppid := parseStat("123 (evil) 1 (x) S 456 123 123 0 -1")
	if comm != "evil) 1 (x" || ppid != 456 {
		t.Fatalf("parseStat = %q, %d", comm, ppid)
	}
	if comm, ppid := parseStat("garbage"); comm != "" || ppid != 0 {
		t.Fatalf("parseStat(garbage) = %q, %d", comm, ppid)
	}
}
