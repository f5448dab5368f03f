package audit

import (
	"testing"

	"github.com/envseal/envseal/internal/seal"
)

func TestLastUse(t *testing.T) {
	l, _ := testLog(t)
	k := testKey(t)
	if u, complete, err := l.LastUse(); err != nil || len(u) != 0 || !complete {
		t.Fatalf("empty log: %v %v %v", u, complete, err)
	}
	l.Event(k, "run_started", map[string]any{"secrets": []string{"A", "B"}})
	l.Event(k, "run_finished", map[string]any{"secrets": []string{"C"}})
	l.Event(k, "secret_stored", map[string]any{"secret": "D"})
	l.Event(k, "run_started", map[string]any{"secrets": []string{"A"}})
	l.Event(seal.Key{}, "run_started", map[string]any{"secrets": []string{"B", "E"}}) // unkeyed: ignored
	uses, complete, err := l.LastUse()
	if err != nil || !complete {
		t.Fatal(err, complete)
	}
	if len(uses) != 2 || uses["A"].IsZero() || uses["B"].IsZero() {
		t.Fatalf("uses = %v, want A and B", uses)
	}
	if !uses["A"].After(uses["B"]) {
		t.Errorf("A's later run not taken, or the unkeyed B counted: A %v B %v", uses["A"], uses["B"])
	}
}
