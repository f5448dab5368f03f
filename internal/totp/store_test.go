package totp

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/safefile"
	"github.com/envseal/envseal/internal/seal"
)

// t0 is a fixed time in the middle of a 30 s step.
var t0 = time.Unix(1_800_000_015, 0)

func newEnrolled(t *testing.T) (dir string, master seal.Key, seed []byte) {
	t.Helper()
	dir = t.TempDir()
	master = newMaster(t, dir)
	seed = NewSeed()
	s := NewStore(dir, master)
	defer s.Wipe()
	if err := s.Enroll(seed, Code(seed, t0), t0); err != nil {
		t.Fatalf("enroll: %v", err)
	}
	return dir, master, seed
}

func step0() uint64 { return Step(t0, Period) }

func TestEnrollNeedsTheRightCode(t *testing.T) {
	dir, master := t.TempDir(), seal.NewKey()
	seed := NewSeed()
	s := NewStore(dir, master)
	if err := s.Enroll(seed, wrong(seed, step0()), t0); !errors.Is(err, ErrBadCode) {
		t.Fatalf("enroll with a wrong code: %v, want ErrBadCode", err)
	}
	if p, _ := Present(dir); p {
		t.Fatal("a failed enroll wrote totp.seal")
	}
	if err := s.Enroll(seed, CodeAt(seed, step0()+1), t0); err != nil {
		t.Fatalf("enroll with next step's code: %v", err)
	}
	if err := s.Enroll(seed, CodeAt(seed, step0()+1), t0); !errors.Is(err, ErrEnabled) {
		t.Fatalf("second enroll: %v, want ErrEnabled", err)
	}
	if fi, err := os.Stat(s.Path()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("totp.seal: %v %v", fi, err)
	}
	if !Active(dir, false) || Active(t.TempDir(), false) || !Active(t.TempDir(), true) {
		t.Fatal("Active does not follow the file and the policy flag")
	}
}

// wrong returns a well-formed code that matches no step in the window
// around step.
func wrong(seed []byte, step uint64) string {
	for i := 0; ; i++ {
		c := fmt.Sprintf("%06d", i)
		if c != CodeAt(seed, step-1) && c != CodeAt(seed, step) && c != CodeAt(seed, step+1) {
			return c
		}
	}
}

// A code works once: the confirming code, then each accepted code, and any
// earlier step are refused as reused, in this process and in a fresh Store.
func TestCodeWorksOnce(t *testing.T) {
	dir, master, seed := newEnrolled(t)
	s := NewStore(dir, master)
	if err := s.Verify(Code(seed, t0), t0); !errors.Is(err, ErrReused) {
		t.Fatalf("the confirming code again: %v, want ErrReused", err)
	}
	next := CodeAt(seed, step0()+1)
	if err := s.Verify(next, t0); err != nil {
		t.Fatalf("next step's code: %v", err)
	}
	if err := NewStore(dir, master).Verify(next, t0.Add(10*time.Second)); !errors.Is(err, ErrReused) {
		t.Fatalf("replayed in a new store: %v, want ErrReused", err)
	}
	if err := s.Verify(CodeAt(seed, step0()-1), t0); !errors.Is(err, ErrReused) {
		t.Fatalf("an older step: %v, want ErrReused", err)
	}
	// Outside the window: wrong, not reused.
	if err := s.Verify(CodeAt(seed, step0()+3), t0); !errors.Is(err, ErrBadCode) {
		t.Fatalf("two steps ahead: %v, want ErrBadCode", err)
	}
	// Later, a fresh step works (with spaces as apps show it).
	later := t0.Add(2 * Period)
	c := Code(seed, later)
	if err := s.Verify(c[:3]+" "+c[3:], later); err != nil {
		t.Fatalf("a later code: %v", err)
	}
	for _, junk := range []string{"", "12345", "1234567", "abcdef", "12345x"} {
		if err := s.Verify(junk, later); !errors.Is(err, ErrBadCode) {
			t.Errorf("Verify(%q): %v, want ErrBadCode", junk, err)
		}
	}
}

// After MaxFailures failures every check is refused, without looking at
// the code, for BaseLockout doubling per failure up to MaxLockout — and a
// new Store (a restarted process) sees the same lockout.
func TestRateLimitSurvivesRestart(t *testing.T) {
	dir, master, seed := newEnrolled(t)
	now := t0
	bad := wrong(seed, step0())
	for i := 1; i < MaxFailures; i++ {
		if err := NewStore(dir, master).Verify(bad, now); !errors.Is(err, ErrBadCode) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	// The last allowed failure may be a reuse: it counts too.
	if err := NewStore(dir, master).Verify(Code(seed, now), now); !errors.Is(err, ErrReused) {
		t.Fatalf("reuse: %v", err)
	}
	good := CodeAt(seed, step0()+1)
	var rl *RateLimitedError
	err := NewStore(dir, master).Verify(good, now)
	if !errors.Is(err, ErrRateLimited) || !errors.As(err, &rl) || rl.Wait != BaseLockout {
		t.Fatalf("a right code while locked out: %v, want a %v lockout", err, BaseLockout)
	}
	st, err := NewStore(dir, master).Status(now)
	if err != nil || st.Failures != MaxFailures || st.LockedFor != BaseLockout {
		t.Fatalf("status %+v %v", st, err)
	}
	// Rate-limited checks are not failures: the count stays.
	if err := NewStore(dir, master).Check(now.Add(29 * time.Second)); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("Check during lockout: %v", err)
	}
	// After the lockout one more failure doubles it…
	now = now.Add(BaseLockout)
	if err := NewStore(dir, master).Verify(bad, now); !errors.Is(err, ErrBadCode) {
		t.Fatalf("after lockout: %v", err)
	}
	if err := NewStore(dir, master).Verify(good, now); !errors.As(err, &rl) || rl.Wait != 2*BaseLockout {
		t.Fatalf("second lockout: %v", err)
	}
	// …and a success resets everything.
	now = now.Add(2 * BaseLockout)
	if err := NewStore(dir, master).Verify(Code(seed, now), now); err != nil {
		t.Fatalf("a right code after the lockout: %v", err)
	}
	if st, _ := NewStore(dir, master).Status(now); st.Failures != 0 || st.LockedFor != 0 {
		t.Fatalf("after success: %+v", st)
	}
}

func TestLockoutSchedule(t *testing.T) {
	want := map[uint32]time.Duration{5: 30 * time.Second, 6: time.Minute, 7: 2 * time.Minute, 9: 8 * time.Minute, 10: MaxLockout, 1000: MaxLockout}
	for n, d := range want {
		if got := lockout(n); got != d {
			t.Errorf("lockout(%d) = %v, want %v", n, got, d)
		}
	}
}

// Two processes guessing at once share one counter: exactly MaxFailures
// wrong codes are checked in total, every other attempt is refused
// unchecked.
func TestRateLimitAcrossProcesses(t *testing.T) {
	dir, master, seed := newEnrolled(t)
	kb := keyHex(t, dir)
	var wg sync.WaitGroup
	outs := make([]string, 2)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "TOTP_HELPER=1", "TOTP_DIR="+dir, "TOTP_KEY="+kb,
				"TOTP_CODE="+wrong(seed, step0()), "TOTP_N=8", "TOTP_NOW="+strconv.FormatInt(t0.Unix(), 10))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("helper: %v\n%s", err, out)
			}
			outs[i] = string(out)
		}()
	}
	wg.Wait()
	bad, limited := 0, 0
	for _, o := range outs {
		bad += strings.Count(o, "result=bad")
		limited += strings.Count(o, "result=rate_limited")
	}
	if bad != MaxFailures || limited != 16-MaxFailures {
		t.Fatalf("%d checked failures and %d refused unchecked across 2 processes, want %d and %d", bad, limited, MaxFailures, 16-MaxFailures)
	}
	if err := NewStore(dir, master).Verify(CodeAt(seed, step0()+1), t0); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("after the helpers: %v, want ErrRateLimited", err)
	}
}

// masters remembers the raw bytes of the test master keys, for helper
// processes (a seal.Key never gives its bytes out).
var masters sync.Map // seal.Key pointer identity is hidden; keyed by dir

func newMaster(t *testing.T, dir string) seal.Key {
	t.Helper()
	raw := make([]byte, seal.KeySize)
	rand.Read(raw)
	k, err := seal.KeyFromBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	masters.Store(dir, hex.EncodeToString(raw))
	return k
}

func keyHex(t *testing.T, dir string) string {
	t.Helper()
	v, ok := masters.Load(dir)
	if !ok {
		t.Fatal("no master key recorded for", dir)
	}
	return v.(string)
}

// TestMain runs helperVerify instead of the tests in a child process
// started by the cross-process tests.
func TestMain(m *testing.M) {
	if os.Getenv("TOTP_HELPER") == "1" {
		os.Exit(helperVerify())
	}
	os.Exit(m.Run())
}

// helperVerify tries TOTP_CODE TOTP_N times against the vault in TOTP_DIR
// and prints each result's reason.
func helperVerify() int {
	raw, _ := hex.DecodeString(os.Getenv("TOTP_KEY"))
	k, err := seal.KeyFromBytes(raw)
	if err != nil {
		fmt.Println("helper:", err)
		return 1
	}
	n, _ := strconv.Atoi(os.Getenv("TOTP_N"))
	sec, _ := strconv.ParseInt(os.Getenv("TOTP_NOW"), 10, 64)
	for range n {
		err := NewStore(os.Getenv("TOTP_DIR"), k).Verify(os.Getenv("TOTP_CODE"), time.Unix(sec, 0))
		fmt.Printf("result=%s\n", Reason(err))
	}
	return 0
}

// Deleting, truncating or flipping any byte of totp.seal is a typed error
// naming the file — never "TOTP off".
func TestTamperedStateDenies(t *testing.T) {
	dir, master, seed := newEnrolled(t)
	s := NewStore(dir, master)
	orig, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if len(orig) != hdrLen+seal.NonceSize+5+SeedSize+20+seal.TagSize {
		t.Fatalf("totp.seal is %d bytes", len(orig))
	}
	put := func(b []byte) {
		t.Helper()
		if err := safefile.WriteAtomic(dir, FileName, b); err != nil {
			t.Fatal(err)
		}
	}
	code := CodeAt(seed, step0()+1)
	for i := range orig {
		b := append([]byte(nil), orig...)
		b[i] ^= 0x01
		put(b)
		if err := s.Verify(code, t0); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), s.Path()) {
			t.Fatalf("byte %d flipped: %v, want ErrState naming the file", i, err)
		}
	}
	for n := range len(orig) {
		put(orig[:n])
		if err := s.Verify(code, t0); !errors.Is(err, ErrState) {
			t.Fatalf("truncated to %d: %v, want ErrState", n, err)
		}
	}
	// Another vault's totp.seal does not authenticate here.
	other, _, _ := newEnrolled(t)
	ob, _ := os.ReadFile(filepath.Join(other, FileName))
	put(ob)
	if err := s.Verify(code, t0); !errors.Is(err, ErrState) {
		t.Fatalf("another vault's file: %v", err)
	}
	// A symlink is refused, not followed.
	os.Remove(s.Path())
	os.Symlink(filepath.Join(other, FileName), s.Path())
	if err := s.Verify(code, t0); !errors.Is(err, ErrState) || !errors.Is(err, safefile.ErrUnsafe) {
		t.Fatalf("symlink: %v", err)
	}
	// Missing: ErrMissing, still ErrState, and Active still says on when
	// the policy does.
	os.Remove(s.Path())
	if err := s.Verify(code, t0); !errors.Is(err, ErrMissing) || !errors.Is(err, ErrState) {
		t.Fatalf("missing: %v", err)
	}
	if !Active(dir, true) {
		t.Fatal("a deleted totp.seal turned TOTP off despite the policy flag")
	}
	// Restored, it works again.
	put(orig)
	if err := s.Verify(code, t0); err != nil {
		t.Fatalf("restored: %v", err)
	}
}

func TestRemove(t *testing.T) {
	dir, master, _ := newEnrolled(t)
	s := NewStore(dir, master)
	if err := s.Remove(); err != nil {
		t.Fatal(err)
	}
	if p, _ := Present(dir); p {
		t.Fatal("still present")
	}
	if err := s.Remove(); err != nil {
		t.Fatalf("second remove: %v", err)
	}
}

func TestURI(t *testing.T) {
	seed := rfc6238Seed(SHA1)
	got := URI("alice@host", seed)
	want := "otpauth://totp/envseal:alice@host?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=envseal&algorithm=SHA1&digits=6&period=30"
	if got != want {
		t.Fatalf("URI:\n got %s\nwant %s", got, want)
	}
	back, err := DecodeSeed("gezd gnbv gy3t qojq gezd gnbv gy3t qojq")
	if err != nil || string(back) != string(seed) {
		t.Fatalf("DecodeSeed: %v", err)
	}
	if len(NewSeed()) != SeedSize {
		t.Fatal("seed size")
	}
}
