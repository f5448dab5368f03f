package policy

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/envseal/envseal/internal/sandbox"
	"github.com/envseal/envseal/internal/seal"
)

// TestOldRuleTiers: testdata/policy_v1.seal was written by the code
// before Rule.Sandbox was a sandbox.Tier (a bare string), under a fixed
// test key. It decodes to the three tiers, and writing the decoded policy
// again gives the very plaintext the old code sealed: the type changed no
// byte of the file.
func TestOldRuleTiers(t *testing.T) {
	k, err := seal.KeyFromBytes([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "policy_v1.seal"))
	if err != nil {
		t.Fatal(err)
	}
	s := NewStore(t.TempDir(), k)
	p, err := s.decode(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []sandbox.Tier{sandbox.Standard, sandbox.Hardened, sandbox.Lockdown}
	if len(p.Rules) != len(want) {
		t.Fatalf("%d rules, want %d", len(p.Rules), len(want))
	}
	for i, r := range p.Rules {
		if r.Sandbox != want[i] || !r.Sandbox.Valid() {
			t.Errorf("rule %s: sandbox %q, want %q", r.ID, r.Sandbox, want[i])
		}
	}
	hl := len(magic) + 1
	old, err := seal.Open(s.key, b[hl:hl+seal.NonceSize], b[hl+seal.NonceSize:], b[:hl])
	if err != nil {
		t.Fatal(err)
	}
	now, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(now, old) {
		t.Errorf("re-encoded rules differ from the old file's:\nold %s\nnow %s", old, now)
	}
	if !bytes.Contains(old, []byte(`"sandbox":"lockdown"`)) {
		t.Errorf("the old file does not hold the tier as a bare name: %s", old)
	}
	// A lookup still ranks the decoded tiers: the lockdown rule refuses a
	// run that asks for less.
	q := Query{Binary: "/usr/bin/env", SHA256: "cc", Argv: []string{"b"}, Sandbox: sandbox.Hardened, Cwd: "/w",
		Grants: []Grant{{Secret: "TOKEN", Delivery: DeliverFD, Env: "T"}}}
	if m := p.Lookup(q); m.Verdict != WeakerTier {
		t.Errorf("hardened run under the lockdown rule: %v, want %v", m.Verdict, WeakerTier)
	}
}
