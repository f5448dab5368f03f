package totp

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envseal/envseal/internal/policy"
)

// On is the policy flag or totp.seal; TurnOff clears the flag before it
// removes the file, and a policy that cannot change leaves the file (on).
func TestOnAndTurnOff(t *testing.T) {
	dir, master, seed := newEnrolled(t)
	defer clear(seed)
	if err := policy.InitEmpty(dir, master); err != nil {
		t.Fatal(err)
	}
	if on, err := On(dir, master); err != nil || !on {
		t.Fatalf("enrolled, flag clear: On = %v, %v; want on (totp.seal)", on, err)
	}
	if err := SetFlag(dir, master, true); err != nil {
		t.Fatal(err)
	}
	st := NewStore(dir, master)
	defer st.Wipe()

	// A damaged policy: the flag cannot be cleared, totp.seal stays.
	pol := filepath.Join(dir, policy.FileName)
	good, err := os.ReadFile(pol)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte{}, good...)
	bad[len(bad)-1] ^= 1
	os.WriteFile(pol, bad, 0o600)
	var fe *FlagError
	if err := TurnOff(dir, master, st); !errors.As(err, &fe) {
		t.Fatalf("TurnOff on a damaged policy = %v, want a FlagError", err)
	}
	if p, _ := Present(dir); !p {
		t.Fatal("totp.seal removed although the flag could not be cleared")
	}
	if _, err := On(dir, master); !errors.Is(err, policy.ErrTampered) {
		t.Errorf("On with a damaged policy = %v, want policy.ErrTampered", err)
	}

	os.WriteFile(pol, good, 0o600)
	if err := TurnOff(dir, master, st); err != nil {
		t.Fatal(err)
	}
	if on, err := On(dir, master); err != nil || on {
		t.Errorf("after TurnOff: On = %v, %v", on, err)
	}
}

func TestGroupedAndAccount(t *testing.T) {
	seed := make([]byte, 20)
	g := Grouped(seed)
	if g != "AAAA AAAA AAAA AAAA AAAA AAAA AAAA AAAA" {
		t.Errorf("Grouped = %q", g)
	}
	if a := Account(); strings.Count(a, "@") != 1 || strings.HasPrefix(a, "@") || strings.HasSuffix(a, "@") {
		t.Errorf("Account = %q, want USER@HOST", a)
	}
}
