package audit

import (
	"fmt"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/seal"
)

func TestLastUse(t *testing.T) {
	l, _ := testLog(t)
	k := testKey(t)
	names := []string{"A", "B", "C", "E"}
	if u, complete, err := l.LastUse(names); err != nil || len(u) != 0 || !complete {
		t.Fatalf("no log: %v %v %v", u, complete, err)
	}
	l.Event(k, "run_started", map[string]any{"secrets": []string{"A", "B"}, "argv": []string{`"secrets":["E"]`}})
	l.Event(k, "run_finished", map[string]any{"secrets": []string{"C"}})
	l.Event(k, "secret_stored", map[string]any{"secret": "D"})
	l.Event(k, "run_started", map[string]any{"secrets": []string{"A"}, "via": "broker"})
	l.Event(seal.Key{}, "run_started", map[string]any{"secrets": []string{"B", "E"}}) // unkeyed: ignored
	uses, complete, err := l.LastUse(names)
	if err != nil || !complete {
		t.Fatal(err, complete)
	}
	if len(uses) != 2 || uses["A"].IsZero() || uses["B"].IsZero() {
		t.Fatalf("uses = %v, want A and B only (C was not a run_started, E only in argv or unkeyed)", uses)
	}
	if !uses["A"].After(uses["B"]) {
		t.Errorf("A's later run not taken, or the unkeyed B counted: A %v B %v", uses["A"], uses["B"])
	}
	// Found names stop the scan early; asking for nothing reads nothing.
	if u, _, _ := l.LastUse(nil); len(u) != 0 {
		t.Errorf("LastUse(nil) = %v", u)
	}
}

// Lines cut across LastUse's read chunks are still seen whole: every
// record names its own secret, so a lost line is a missing name.
func TestLastUseAcrossChunks(t *testing.T) {
	l, _ := testLog(t)
	k := testKey(t)
	pad := make([]string, 0, 64)
	for i := range 64 {
		pad = append(pad, fmt.Sprintf("%0200d", i))
	}
	var names []string
	for i := range 300 { // ~300 × 13 KiB ≈ 4 MiB: several chunks
		n := fmt.Sprintf("S%d", i)
		names = append(names, n)
		l.Event(k, "run_started", map[string]any{"secrets": []string{n, "ALL"}, "argv": pad[:i%64]})
	}
	uses, complete, err := l.LastUse(append(names, "ALL", "NEVER"))
	if err != nil {
		t.Fatal(err)
	}
	if !complete {
		t.Error("a log under the scan bound is complete")
	}
	if len(uses) != 301 {
		t.Fatalf("found %d of 301 used names", len(uses))
	}
	// The log's test clock ticks 1 ms per record: ALL's last use is the
	// last record's.
	if uses["ALL"] != uses["S299"] || uses["S299"].Sub(uses["S0"]) != 299*time.Millisecond {
		t.Fatalf("ALL %v, S0 %v, S299 %v", uses["ALL"], uses["S0"], uses["S299"])
	}
}

// Whatever bytes a same-user process puts in the log, LastUse's line
// reader neither panics nor reports a name it was not asked about.
func FuzzLastUseLines(f *testing.F) {
	f.Add([]byte(`{"seq":1,"time":"2026-11-27T01:02:03.000000000Z","event":"run_started","fields":{"secrets":["A"]},"prev":"00","mac":"ab"}`))
	f.Add([]byte("\n,\"event\":\"run_started\",\"fields\":{\"secrets\":[\"A\",\"B\"]\"}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		uses := map[string]time.Time{}
		lastUseLines(b, map[string]bool{"A": true}, uses)
		for n := range uses {
			if n != "A" {
				t.Fatalf("reported %q", n)
			}
		}
	})
}
