package launch

import (
	"bytes"
	"strings"
	"testing"

	"github.com/envseal/envseal/internal/redact"
)

func scrubWith(t *testing.T, m *redact.Matcher, in string) string {
	t.Helper()
	var out bytes.Buffer
	w := m.NewWriter(&out)
	w.Write([]byte(in))
	w.Close()
	return out.String()
}

// The broker's automaton cache: the same names and values reuse one
// automaton, each run counting its own hits; a changed value, name or
// order is another entry; Drop forgets all; large sets are not kept.
func TestMatcherCache(t *testing.T) {
	var mc MatcherCache
	a := []redact.Secret{{Name: "A", Value: []byte("value-of-secret-a-123")}}
	m1, err := mc.matcher(a)
	if err != nil {
		t.Fatal(err)
	}
	var leaked []string
	m2, err := mc.matcher(a, redact.OnHit(func(n string) { leaked = append(leaked, n) }))
	if err != nil {
		t.Fatal(err)
	}
	if mc.Len() != 1 {
		t.Fatalf("%d automata kept for one set, want 1", mc.Len())
	}
	if got := scrubWith(t, m2, "x value-of-secret-a-123 y"); got != "x [envseal:A] y" {
		t.Fatalf("cached matcher scrubbed to %q", got)
	}
	if h := m2.Hits(); h["A"] != 1 || len(leaked) != 1 {
		t.Fatalf("second run's hits %v, OnHit calls %d; want 1 and 1", h, len(leaked))
	}
	if h := m1.Hits(); len(h) != 0 {
		t.Fatalf("first run's matcher counted the second run's hit: %v", h)
	}
	// Control: another value, another name, or two secrets in the other
	// order are other sets.
	b := []redact.Secret{{Name: "A", Value: []byte("value-of-secret-a-124")}}
	if m, _ := mc.matcher(b); scrubWith(t, m, "value-of-secret-a-123") != "value-of-secret-a-123" {
		t.Fatal("a matcher for another value scrubbed the first value")
	}
	ab := []redact.Secret{a[0], {Name: "B", Value: []byte("value-of-secret-b-456")}}
	ba := []redact.Secret{ab[1], ab[0]}
	mc.matcher(ab)
	mc.matcher(ba)
	if mc.Len() != 4 {
		t.Fatalf("%d automata for 4 sets, want 4", mc.Len())
	}
	mc.matcher([]redact.Secret{{Name: "C", Value: []byte("value-of-secret-c-789")}})
	if mc.Len() != matcherCacheEntries {
		t.Fatalf("%d automata kept, want at most %d", mc.Len(), matcherCacheEntries)
	}
	mc.Drop()
	if mc.Len() != 0 {
		t.Fatalf("after Drop %d automata kept", mc.Len())
	}
	big := []redact.Secret{{Name: "K", Value: []byte(strings.Repeat("k", matcherCacheBytes+1))}}
	if _, err := mc.matcher(big); err != nil || mc.Len() != 0 {
		t.Fatalf("a large set: %v, %d kept; want built per run, none kept", err, mc.Len())
	}
	// A nil cache builds per run.
	var none *MatcherCache
	if m, err := none.matcher(a); err != nil || scrubWith(t, m, "value-of-secret-a-123") != "[envseal:A]" {
		t.Fatalf("nil cache: %v", err)
	}
}

// TestMatcherCacheDropStopsKeeping: after Drop nothing is kept until
// Allow (a run approved while the broker was locked scrubs all the same);
// and every Drop moves the generation on, which matcher compares so that
// an automaton whose build straddled a Drop and an Allow is not kept.
func TestMatcherCacheDropStopsKeeping(t *testing.T) {
	var mc MatcherCache
	a := []redact.Secret{{Name: "A", Value: []byte("value-of-secret-a-123")}}
	mc.Drop()
	m, err := mc.matcher(a)
	if err != nil {
		t.Fatal(err)
	}
	if got := scrubWith(t, m, "value-of-secret-a-123"); got != "[envseal:A]" {
		t.Fatalf("matcher built while dropped scrubbed to %q", got)
	}
	if mc.Len() != 0 {
		t.Fatalf("%d automata kept after Drop, want 0", mc.Len())
	}
	mc.Allow()
	if mc.matcher(a); mc.Len() != 1 {
		t.Fatalf("%d automata kept after Allow, want 1 (the control)", mc.Len())
	}
	mc.mu.Lock()
	gen := mc.gen
	mc.mu.Unlock()
	mc.Drop()
	mc.Allow()
	mc.mu.Lock()
	if mc.gen == gen {
		t.Fatal("Drop did not move the generation on")
	}
	mc.mu.Unlock()
}
