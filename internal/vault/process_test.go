package vault

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The helper process: ENVSEAL_VAULT_HELPER=store-loop|store-many makes the
// test binary act as a writer so tests can kill it or run many at once.
func TestMain(m *testing.M) {
	switch os.Getenv("ENVSEAL_VAULT_HELPER") {
	case "":
		os.Exit(m.Run())
	case "store-loop":
		helperStoreLoop()
	case "store-many":
		helperStoreMany()
	}
	os.Exit(0)
}

func helperVault() *Vault {
	v, err := Open(os.Getenv("ENVSEAL_VAULT_DIR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	return v
}

func valueFor(name string, i int) []byte {
	return []byte(fmt.Sprintf("value-%s-%06d-%s", name, i, strings.Repeat("p", i%97)))
}

// helperStoreLoop stores NAME = valueFor(NAME, i) for i = start… forever,
// printing "ack i" after each Store returns.
func helperStoreLoop() {
	v := helperVault()
	k, err := v.Unlock(testPass)
	if err != nil {
		os.Exit(4)
	}
	start, _ := strconv.Atoi(os.Getenv("ENVSEAL_START"))
	for i := start; ; i++ {
		if _, err := v.Store(k, "CRASH", valueFor("CRASH", i), StoreOptions{Force: true}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(5)
		}
		fmt.Printf("ack %d\n", i)
	}
}

// helperStoreMany stores distinct names and one shared name, printing an
// ack line for each acknowledged store.
func helperStoreMany() {
	v := helperVault()
	k, err := v.Unlock(testPass)
	if err != nil {
		os.Exit(4)
	}
	id := os.Getenv("ENVSEAL_ID")
	for i := 0; i < 15; i++ {
		name := fmt.Sprintf("p%s-%d", id, i)
		if _, err := v.Store(k, name, valueFor(name, i), StoreOptions{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(5)
		}
		fmt.Printf("own %s\n", name)
		n, _ := strconv.Atoi(id)
		if _, err := v.Store(k, "SHARED", valueFor("SHARED", n*100+i), StoreOptions{Force: true}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(6)
		}
		fmt.Printf("shared %d\n", n*100+i)
	}
}

func helperCmd(t *testing.T, dir, mode string, env ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command(exe)
	c.Env = append(os.Environ(), "ENVSEAL_VAULT_HELPER="+mode, "ENVSEAL_VAULT_DIR="+dir)
	c.Env = append(c.Env, env...)
	c.Stderr = os.Stderr
	return c
}

// Kill a writer with SIGKILL at many points during Store --force: the vault
// must still open and hold either the last acknowledged value or the one
// being written, never a torn or older one.
func TestCrashDuringForceStore(t *testing.T) {
	v, k := newVault(t)
	rounds := 60
	if testing.Short() {
		rounds = 20
	}
	lastAck := 0
	v.Store(k, "CRASH", valueFor("CRASH", 0), StoreOptions{})
	for r := 0; r < rounds; r++ {
		c := helperCmd(t, v.Dir(), "store-loop", fmt.Sprintf("ENVSEAL_START=%d", lastAck+1))
		out, _ := c.StdoutPipe()
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		acks := make(chan int, 1<<16)
		go func() {
			for sc.Scan() {
				if n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "ack ")); err == nil {
					acks <- n
				}
			}
			close(acks)
		}()
		// Wait for the writer to be in its store loop, let it run a random
		// while so the kill lands at a random point of a Store (temp file
		// open, half written, fsynced, renamed, dir not yet synced…), then
		// kill it without warning.
		if n, ok := <-acks; ok {
			lastAck = n
		}
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		c.Process.Signal(syscall.SIGKILL)
		c.Wait()
		for n := range acks {
			lastAck = n
		}
		got, _, err := v.Get(k, "CRASH")
		if err != nil {
			t.Fatalf("round %d: vault does not open after SIGKILL: %v", r, err)
		}
		switch {
		case bytes.Equal(got, valueFor("CRASH", lastAck)):
		case bytes.Equal(got, valueFor("CRASH", lastAck+1)):
			lastAck++ // written but killed before the ack was printed
		default:
			t.Fatalf("round %d: CRASH holds neither acknowledged value %d nor the next one", r, lastAck)
		}
		ents, _ := os.ReadDir(filepath.Join(v.Dir(), SecretsDir))
		if len(ents) > 2 { // CRASH.seal and at most one temp from the killed writer
			t.Fatalf("round %d: %d files in secrets/", r, len(ents))
		}
	}
	t.Logf("%d kills, %d acknowledged writes", rounds, lastAck)
}

// Eight processes store distinct names and fight over one shared name at
// the same time: every acknowledged distinct store is present with its value
// afterwards, and the shared name decrypts to one of the acknowledged values.
func TestConcurrentProcesses(t *testing.T) {
	v, k := newVault(t)
	const procs = 8
	var mu sync.Mutex
	own := map[string]int{}
	shared := map[int]bool{}
	var wg sync.WaitGroup
	for p := 0; p < procs; p++ {
		c := helperCmd(t, v.Dir(), "store-many", fmt.Sprintf("ENVSEAL_ID=%d", p))
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := c.Output()
			if err != nil {
				t.Errorf("writer failed: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, l := range strings.Split(string(out), "\n") {
				if n, ok := strings.CutPrefix(l, "own "); ok {
					i, _ := strconv.Atoi(n[strings.LastIndex(n, "-")+1:])
					own[n] = i
				}
				if n, ok := strings.CutPrefix(l, "shared "); ok {
					i, _ := strconv.Atoi(n)
					shared[i] = true
				}
			}
		}()
	}
	wg.Wait()
	if len(own) != procs*15 || len(shared) != procs*15 {
		t.Fatalf("acknowledged %d own and %d shared stores, want %d each", len(own), len(shared), procs*15)
	}
	for name, i := range own {
		got, _, err := v.Get(k, name)
		if err != nil || !bytes.Equal(got, valueFor(name, i)) {
			t.Errorf("acknowledged %s lost or wrong (err %v)", name, err)
		}
	}
	got, meta, err := v.Get(k, "SHARED")
	if err != nil {
		t.Fatalf("SHARED: %v", err)
	}
	found := false
	for i := range shared {
		if bytes.Equal(got, valueFor("SHARED", i)) {
			found = true
		}
	}
	if !found {
		t.Error("SHARED holds a value no writer acknowledged")
	}
	if meta.Generation != procs*15 {
		t.Errorf("SHARED generation %d, want %d (a concurrent force lost an update)", meta.Generation, procs*15)
	}
}
