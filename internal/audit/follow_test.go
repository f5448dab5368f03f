package audit

import (
	"context"
	"os"
	"testing"
	"time"
)

func TestFilterEntries(t *testing.T) {
	data := []byte(`not a record` + "\n")
	l, _ := testLog(t)
	k := testKey(t)
	l.Event(k, "secret_stored", map[string]any{"secret": "A"})
	l.Event(k, "run_started", map[string]any{"secrets": []string{"B", "A"}})
	l.Event(k, "run_finished", map[string]any{"leaks": map[string]int{"C": 1}})
	log, err := os.ReadFile(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, log...)
	kinds := func(es []*Entry) (s string) {
		for _, e := range es {
			if e.Err != nil {
				s += "?,"
			} else {
				s += e.Record.Event + ","
			}
		}
		return s
	}
	all := Filter{}.Entries(data)
	if len(all) != 5 {
		t.Fatalf("%d entries, want 5", len(all))
	}
	for _, tc := range []struct {
		f    Filter
		want string
	}{
		{Filter{}, "?,audit_rotated,secret_stored,run_started,run_finished,"},
		{Filter{Secret: "A"}, "secret_stored,run_started,"},
		{Filter{Secret: "C"}, "run_finished,"},
		{Filter{Secret: "D"}, ""},
		{Filter{Since: all[3].Record.Time}, "run_started,run_finished,"},
	} {
		if got := kinds(tc.f.Entries(data)); got != tc.want {
			t.Errorf("%+v: entries %s, want %s", tc.f, got, tc.want)
		}
	}
}

// Follow hands over what is appended after the snapshot, whole lines
// only, and ends without an error when its context does.
func TestFollow(t *testing.T) {
	l, _ := testLog(t)
	k := testKey(t)
	l.Event(k, "secret_stored", map[string]any{"secret": "A"})
	file, size, err := l.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 10)
	done := make(chan error, 1)
	go func() {
		done <- l.Follow(ctx, file, size, Filter{Secret: "B"}, func() { got <- "moved" }, func(es []*Entry) error {
			for _, e := range es {
				got <- e.Record.Event + ":" + e.Fields["secret"].(string)
			}
			return nil
		})
	}()
	l.Event(k, "secret_stored", map[string]any{"secret": "C"})
	l.Event(k, "secret_revoked", map[string]any{"secret": "B"})
	if s := <-got; s != "secret_revoked:B" {
		t.Errorf("followed %s, want secret_revoked:B", s)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Follow = %v, want nil once cancelled", err)
	}
	if len(got) != 0 {
		t.Errorf("followed more: %s", <-got)
	}
}

func TestParseSince(t *testing.T) {
	for s, want := range map[string]time.Duration{"90m": 90 * time.Minute, "36h": 36 * time.Hour, "7d": 7 * 24 * time.Hour, "0d": 0, "100000d": 100000 * 24 * time.Hour} {
		if d, ok := ParseSince(s); !ok || d != want {
			t.Errorf("ParseSince(%q) = %v, %v; want %v", s, d, ok, want)
		}
	}
	for _, s := range []string{"", "d", "-1d", "100001d", "1.5d", "-5m", "7", "week"} {
		if d, ok := ParseSince(s); ok {
			t.Errorf("ParseSince(%q) = %v; want refused", s, d)
		}
	}
}
