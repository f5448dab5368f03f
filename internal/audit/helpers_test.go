package audit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/seal"
)

// testKey is a fixed master key, so failures reproduce.
func testKey(t testing.TB) seal.Key {
	t.Helper()
	k, err := seal.KeyFromBytes(testKeyBytes())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testKeyBytes() []byte { return bytes.Repeat([]byte{0x42}, seal.KeySize) }

// otherKey is the master key of "another vault".
func otherKey(t testing.TB) seal.Key {
	t.Helper()
	k, err := seal.KeyFromBytes(bytes.Repeat([]byte{0x17}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testLog returns a log in a fresh 0700 directory with a clock that ticks
// one millisecond per call, and collects its warnings.
func testLog(t testing.TB) (*Log, *warnings) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vault")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	l := New(dir)
	var mu sync.Mutex
	clock := time.Date(2026, 11, 27, 1, 2, 3, 456789000, time.UTC)
	l.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Millisecond)
		return clock
	}
	w := &warnings{}
	l.Warn = w.add
	return l, w
}

type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) add(m string) { w.mu.Lock(); w.msgs = append(w.msgs, m); w.mu.Unlock() }

func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

func mustAppend(t testing.TB, l *Log, k seal.Key, event Event, fields map[string]any) {
	t.Helper()
	if err := l.Append(k, event, fields); err != nil {
		t.Fatalf("append %s: %v", event, err)
	}
}

// readLines returns the log's lines without newlines.
func readLines(t testing.TB, l *Log) [][]byte {
	t.Helper()
	b, err := os.ReadFile(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
}

func writeLines(t testing.TB, l *Log, lines [][]byte) {
	t.Helper()
	var b []byte
	for _, ln := range lines {
		b = append(b, bytes.TrimSuffix(ln, []byte("\n"))...)
		b = append(b, '\n')
	}
	if err := os.WriteFile(l.Path(), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func tamperErr(t testing.TB, err error) *TamperError {
	t.Helper()
	var te *TamperError
	if !errors.As(err, &te) {
		t.Fatalf("got error %v, want a *TamperError", err)
	}
	if !errors.Is(err, ErrTampered) {
		t.Fatalf("%v does not match ErrTampered", err)
	}
	return te
}

func hasWarning(w *warnings, sub string) bool {
	for _, m := range w.all() {
		if strings.Contains(m, sub) {
			return true
		}
	}
	return false
}
