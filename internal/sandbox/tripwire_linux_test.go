//go:build linux && (amd64 || arm64)

package sandbox

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestTripwire: a guarded path trips the wire when its name is unlinked,
// renamed over, or one of its directories is renamed or removed —
// through the path as given or its resolved form — and not when other
// names in the same directories change or the file's bytes are written
// (the served copy covers those). The armed wire calls its kill once.
func TestTripwire(t *testing.T) {
	type tree struct{ root, file, link string }
	mk := func(t *testing.T) tree {
		root := t.TempDir()
		file := filepath.Join(root, "a", "b", "f")
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{file, filepath.Join(root, "a", "b", "g")} {
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink("a/b", filepath.Join(root, "l")); err != nil {
			t.Fatal(err)
		}
		return tree{root, file, filepath.Join(root, "l", "f")}
	}
	wire := func(t *testing.T, pin string) *tripwire {
		tw, err := newTripwire()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tw.close)
		if err := tw.guard(pin); err != nil {
			t.Fatal(err)
		}
		return tw
	}
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Run("unrelated changes", func(t *testing.T) {
		tr := mk(t)
		tw := wire(t, tr.file)
		must(t, os.WriteFile(tr.file, []byte("rewritten in place"), 0o644))
		must(t, os.Chmod(tr.file, 0o600))
		must(t, os.WriteFile(filepath.Join(tr.root, "a", "b", "new"), nil, 0o644))
		must(t, os.Rename(filepath.Join(tr.root, "a", "b", "g"), filepath.Join(tr.root, "a", "b", "g2")))
		must(t, os.Remove(filepath.Join(tr.root, "a", "b", "g2")))
		must(t, os.Mkdir(filepath.Join(tr.root, "a", "c"), 0o755))
		must(t, os.Rename(filepath.Join(tr.root, "a", "c"), filepath.Join(tr.root, "a", "d")))
		must(t, os.WriteFile(filepath.Join(tr.root, "z"), nil, 0o644))
		if pin, ok := tw.poll(); ok {
			t.Fatalf("tripped (%q) by changes that do not touch the guarded path", pin)
		}
	})
	cases := []struct {
		name   string
		viaSym bool
		change func(tr tree) error
	}{
		{"unlinked", false, func(tr tree) error { return os.Remove(tr.file) }},
		{"renamed over", false, func(tr tree) error {
			n := filepath.Join(tr.root, "a", "b", "f.new")
			if err := os.WriteFile(n, nil, 0o644); err != nil {
				return err
			}
			return os.Rename(n, tr.file)
		}},
		{"renamed away", false, func(tr tree) error { return os.Rename(tr.file, tr.file+".old") }},
		{"parent renamed", false, func(tr tree) error {
			b := filepath.Join(tr.root, "a", "b")
			return os.Rename(b, b+".old")
		}},
		{"grandparent renamed", false, func(tr tree) error {
			a := filepath.Join(tr.root, "a")
			return os.Rename(a, a+".old")
		}},
		{"ancestor of the resolved path renamed, guarded through a symlink", true, func(tr tree) error {
			a := filepath.Join(tr.root, "a")
			return os.Rename(a, a+".old")
		}},
		{"symlink replaced", true, func(tr tree) error {
			l := filepath.Join(tr.root, "l")
			if err := os.Remove(l); err != nil {
				return err
			}
			return os.Symlink("a", l)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := mk(t)
			pin := tr.file
			if c.viaSym {
				pin = tr.link
			}
			tw := wire(t, pin)
			if p, ok := tw.poll(); ok {
				t.Fatalf("tripped (%q) before any change", p)
			}
			must(t, c.change(tr))
			if p, ok := tw.poll(); !ok || p != pin {
				t.Fatalf("after the change: tripped %v, path %q (want %q)", ok, p, pin)
			}
		})
	}
	t.Run("armed", func(t *testing.T) {
		tr := mk(t)
		tw := wire(t, tr.file)
		killed := make(chan struct{}, 2)
		tw.arm(func() { killed <- struct{}{} })
		must(t, os.Rename(filepath.Join(tr.root, "a", "b", "g"), filepath.Join(tr.root, "a", "b", "g2")))
		select {
		case <-killed:
			t.Fatal("killed by an unrelated rename")
		case <-time.After(50 * time.Millisecond):
		}
		must(t, os.Remove(tr.file))
		select {
		case <-killed:
		case <-time.After(10 * time.Second):
			t.Fatal("not killed after the guarded file was unlinked")
		}
		if p, ok := tw.tripped(); !ok || p != tr.file {
			t.Fatalf("tripped %v %q", ok, p)
		}
	})
}

// BenchmarkTripwire is the tripwire's own cost in a run with one pinned
// path (a contained run's exec pin, /usr/bin/true): the inotify
// descriptor, the watches on its directories, the queue polled once and
// the watching goroutine started. The descriptor's release is outside
// the timer: it waits for an SRCU grace period (milliseconds), and the
// helper only pays it at its exit, after its report.
func BenchmarkTripwire(b *testing.B) {
	pin, err := filepath.EvalSymlinks("/bin/true")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		tw, err := newTripwire()
		if err != nil {
			b.Fatal(err)
		}
		if err := tw.guard(pin); err != nil {
			b.Fatal(err)
		}
		if _, ok := tw.poll(); ok {
			b.Fatal("tripped")
		}
		tw.arm(func() {})
		b.StopTimer()
		tw.close()
		b.StartTimer()
	}
}
