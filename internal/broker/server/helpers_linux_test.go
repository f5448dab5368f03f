package server

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/sandbox"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

// testToken is the secret the tests store (never printed by a test).
const testToken = "tok-abcdef-0123456789-xyz"

// clientEnv makes the test binary a raw protocol client (for the
// other-uid test): connect to the socket it names, send a status frame,
// print the reply's type and message.
const clientEnv = "ENVSEAL_BROKER_TEST_CLIENT"

func TestMain(m *testing.M) {
	// Contained runs re-exec /proc/self/exe (this test binary) as the
	// sandbox's helper stage: dispatch it as cmd/envseal does.
	if len(os.Args) > 1 && os.Args[1] == sandbox.HelperArg {
		// syscall.Exit: os.Exit's exit hooks would print "GOCOVERDIR not set" from a -cover build into the output tests compare.
		syscall.Exit(sandbox.HelperMain(os.Args[2:]))
	}
	if sock := os.Getenv(clientEnv); sock != "" {
		syscall.Exit(rawStatusClient(sock))
	}
	if mode := os.Getenv(modeEnv); mode != "" {
		syscall.Exit(clientMode(mode, os.Getenv(sockEnv), os.Args[1:])) // fair_linux_test.go
	}
	os.Exit(m.Run())
}

func rawStatusClient(sock string) int {
	c, err := net.Dial("unix", sock)
	if err != nil {
		fmt.Printf("dial: %v\n", err)
		return 2
	}
	defer c.Close()
	b, _ := wire.EncodeFrame(wire.TypeStatus, nil)
	c.Write(b)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, err := wire.ReadFrame(c)
	if err != nil {
		fmt.Printf("read: %v\n", err)
		return 3
	}
	if f.Type == wire.TypeError {
		fmt.Printf("error: %s\n", wire.DecodeError(f.Payload))
		return 0
	}
	fmt.Printf("reply %c\n", f.Type)
	return 0
}

// fakeApprover plays the human: it counts questions and answers with d.
type fakeApprover struct {
	n    atomic.Int64
	d    atomic.Int64 // an approve.Decision
	last atomic.Pointer[approve.Request]
}

func (a *fakeApprover) Approve(ctx context.Context, r *approve.Request) (approve.Decision, error) {
	a.n.Add(1)
	a.last.Store(r)
	return approve.Decision(a.d.Load()), nil
}

type testBroker struct {
	srv    *Server
	sock   string
	ap     *fakeApprover
	unlock atomic.Int64
	done   chan error
}

// startBroker makes a vault holding tok and serves it on a socket in a
// fresh private dir. cfg tweaks the config before the server starts.
func startBroker(t *testing.T, d approve.Decision, cfg func(*Config)) *testBroker {
	t.Helper()
	dir := t.TempDir()
	pass := []byte("pass")
	v, key, err := vault.Create(filepath.Join(dir, "vault"), pass, seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}, policy.InitEmpty)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Store(key, "tok", []byte(testToken), vault.StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	tb := &testBroker{ap: &fakeApprover{}, done: make(chan error, 1)}
	tb.ap.d.Store(int64(d))
	c := Config{
		Vault: v, Key: key, Approver: tb.ap, ApproverName: "fake",
		Unlock: func() (seal.Key, error) {
			tb.unlock.Add(1)
			return v.Unlock(pass)
		},
	}
	if cfg != nil {
		cfg(&c)
	}
	tb.sock = filepath.Join(dir, "run", wire.SocketName)
	ln, err := Listen(tb.sock)
	if err != nil {
		t.Fatal(err)
	}
	tb.srv = New(c)
	go func() { tb.done <- tb.srv.Serve(ln) }()
	t.Cleanup(func() {
		tb.srv.Close()
		select {
		case <-tb.done:
		case <-time.After(10 * time.Second):
			t.Error("broker did not stop")
		}
	})
	return tb
}

// syncBuf is a bytes buffer safe for the bridge goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// rssKiB is this process's resident set after a full GC.
func rssKiB(t *testing.T) int {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

func frame(t testing.TB, typ byte, v any) []byte {
	b, err := wire.EncodeFrame(typ, v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
