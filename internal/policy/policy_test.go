package policy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/seal"
)

func newStore(t *testing.T) (*Store, seal.Key) {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o700)
	k := seal.NewKey()
	if err := InitEmpty(dir, k); err != nil {
		t.Fatal(err)
	}
	return NewStore(dir, k), k
}

func rule(bin, hash string, argv ...string) Rule {
	return Rule{
		ID: NewID(), Binary: bin, SHA256: hash, Argv: argv,
		Grants:  []Grant{{Secret: "TOKEN", Delivery: DeliverEnv, Env: "TOKEN"}},
		Sandbox: "standard", Created: time.Now().UTC(),
		Cwd: "/home/u/app", Env: []string{"HOME=/home/u", "PATH=/usr/bin:/bin"},
	}
}

func TestRoundTripAndGeneration(t *testing.T) {
	s, k := newStore(t)
	p, err := s.Load()
	if err != nil || len(p.Rules) != 0 || p.Generation != 1 {
		t.Fatalf("fresh policy: %+v, %v", p, err)
	}
	r := rule("/usr/bin/curl", "aa", "-s", "https://x")
	if _, err := s.Update(func(p *Policy) error { p.Put(r); return nil }); err != nil {
		t.Fatal(err)
	}
	p, err = NewStore(s.dir, k).Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rules) != 1 || p.Rules[0].ID != r.ID || p.Generation != 2 {
		t.Fatalf("after update: %+v", p)
	}
}

func TestTamperedTruncatedDeletedWrongKey(t *testing.T) {
	s, _ := newStore(t)
	s.Update(func(p *Policy) error { p.Put(rule("/bin/x", "aa")); return nil })
	orig, _ := os.ReadFile(s.Path())
	check := func(what string) {
		t.Helper()
		p, err := s.Load()
		var te *TamperedError
		if !errors.As(err, &te) || !errors.Is(err, ErrTampered) || p != nil {
			t.Fatalf("%s: Load = %v, %v; want a TamperedError and no policy", what, p, err)
		}
		if te.Path != s.Path() {
			t.Fatalf("%s: error names %s, not the policy file", what, te.Path)
		}
	}
	for i := range orig {
		b := bytes.Clone(orig)
		b[i] ^= 0x01
		os.WriteFile(s.Path(), b, 0o600)
		check(fmt.Sprintf("byte %d flipped", i))
	}
	for n := 0; n < len(orig); n += 7 {
		os.WriteFile(s.Path(), orig[:n], 0o600)
		check(fmt.Sprintf("truncated to %d", n))
	}
	os.Remove(s.Path())
	check("deleted")
	// A policy sealed by another vault's key does not open here.
	other := t.TempDir()
	InitEmpty(other, seal.NewKey())
	b, _ := os.ReadFile(filepath.Join(other, FileName))
	os.WriteFile(s.Path(), b, 0o600)
	check("from another vault")
	// Update refuses too, and leaves the file as it was.
	if _, err := s.Update(func(p *Policy) error { return nil }); !errors.Is(err, ErrTampered) {
		t.Fatalf("Update over a tampered file: %v", err)
	}
	if now, _ := os.ReadFile(s.Path()); !bytes.Equal(now, b) {
		t.Fatal("Update changed a tampered policy file")
	}
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Load(); err != nil || len(p.Rules) != 0 {
		t.Fatalf("after Reset: %v %v", p, err)
	}
}

func TestLookup(t *testing.T) {
	now := time.Now()
	past := now.Add(-time.Hour)
	p := &Policy{}
	r := rule("/usr/bin/curl", "aa", "-s", "https://api")
	p.Put(r)
	expired := rule("/usr/bin/wget", "bb")
	expired.Expires = &past
	p.Put(expired)
	hard := rule("/usr/bin/tool", "cc")
	hard.Sandbox = "hardened"
	p.Put(hard)
	g := []Grant{{Secret: "TOKEN", Delivery: DeliverEnv, Env: "TOKEN"}}
	q := func(bin, hash string, argv ...string) Query {
		return Query{Binary: bin, SHA256: hash, Argv: argv, Grants: g, Sandbox: "standard", Now: now,
			Cwd: "/home/u/app", Env: []string{"HOME=/home/u", "PATH=/usr/bin:/bin"}}
	}
	cases := []struct {
		name string
		q    Query
		want Verdict
	}{
		{"exact", q("/usr/bin/curl", "aa", "-s", "https://api"), Allowed},
		{"other argv", q("/usr/bin/curl", "aa", "-s", "https://evil"), NoRule},
		{"extra arg", q("/usr/bin/curl", "aa", "-s", "https://api", "-d@/etc/passwd"), NoRule},
		{"other path", q("/tmp/curl", "aa", "-s", "https://api"), NoRule},
		{"hash changed", q("/usr/bin/curl", "zz", "-s", "https://api"), HashChanged},
		{"expired", q("/usr/bin/wget", "bb"), Expired},
		{"weaker tier", q("/usr/bin/tool", "cc"), WeakerTier},
	}
	for _, c := range cases {
		if got := p.Lookup(c.q); got.Verdict != c.want {
			t.Errorf("%s: %v, want %v", c.name, got.Verdict, c.want)
		}
	}
	more := q("/usr/bin/curl", "aa", "-s", "https://api")
	more.Grants = append(more.Grants, Grant{Secret: "OTHER", Delivery: DeliverEnv, Env: "OTHER"})
	if got := p.Lookup(more); got.Verdict != NotCovered {
		t.Errorf("extra secret: %v, want not covered", got.Verdict)
	}
	stdin := q("/usr/bin/curl", "aa", "-s", "https://api")
	stdin.Grants = []Grant{{Secret: "TOKEN", Delivery: DeliverStdin}}
	if got := p.Lookup(stdin); got.Verdict != NotCovered {
		t.Errorf("other delivery: %v, want not covered", got.Verdict)
	}
	lock := q("/usr/bin/tool", "cc")
	lock.Sandbox = "lockdown"
	if got := p.Lookup(lock); got.Verdict != Allowed {
		t.Errorf("stronger tier: %v, want allowed", got.Verdict)
	}
	netq := q("/usr/bin/curl", "aa", "-s", "https://api")
	netq.Network = true
	if got := p.Lookup(netq); got.Verdict != NotCovered {
		t.Errorf("network not allowed by the rule: %v, want not covered", got.Verdict)
	}
	rwq := q("/usr/bin/curl", "aa", "-s", "https://api")
	rwq.RW = []string{"/home/u/out"}
	if got := p.Lookup(rwq); got.Verdict != NotCovered {
		t.Errorf("writable dir not allowed by the rule: %v, want not covered", got.Verdict)
	}
	// Put supersedes the rule for the same binary and argv.
	p.Put(rule("/usr/bin/curl", "zz", "-s", "https://api"))
	if got := p.Lookup(q("/usr/bin/curl", "aa", "-s", "https://api")); got.Verdict != HashChanged {
		t.Errorf("old hash after re-approval: %v", got.Verdict)
	}
	if err := p.Remove("nope"); !errors.Is(err, ErrNoSuchRule) {
		t.Errorf("Remove unknown: %v", err)
	}
}

// Concurrent writers lose no update (the vault lock serialises them).
func TestConcurrentUpdates(t *testing.T) {
	s, k := newStore(t)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := NewStore(s.dir, k)
			if _, err := st.Update(func(p *Policy) error {
				p.Put(rule(fmt.Sprintf("/bin/t%d", i), "aa"))
				return nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	p, err := s.Load()
	if err != nil || len(p.Rules) != 20 || p.Generation != 21 {
		t.Fatalf("after 20 concurrent updates: %d rules, generation %d, %v", len(p.Rules), p.Generation, err)
	}
}

func FuzzDecode(f *testing.F) {
	dir := f.TempDir()
	k := seal.NewKey()
	InitEmpty(dir, k)
	b, _ := os.ReadFile(filepath.Join(dir, FileName))
	f.Add(b)                      // a valid empty policy (under this run's key)
	f.Add([]byte("envsealP\x02")) // unknown version
	f.Add([]byte("envsealP\x01")) // truncated after the header
	s := NewStore(dir, k)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := s.decode(b)
		if (p == nil) == (err == nil) {
			t.Fatalf("decode returned policy %v and error %v", p, err)
		}
	})
}
