package audit

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"testing"
)

func TestCheckChain(t *testing.T) {
	l, _ := testLog(t)
	if _, err := CheckChain(l.dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("no log: %v, want fs.ErrNotExist", err)
	}
	k := testKey(t)
	l.Event(k, "secret_stored", map[string]any{"secret": "AAAA"})
	l.Event(k, "secret_revoked", map[string]any{"secret": "AAAA"})
	n, err := CheckChain(l.dir)
	if err != nil || n < 2 {
		t.Fatalf("CheckChain = %d, %v", n, err)
	}
	b, _ := os.ReadFile(l.Path())
	os.WriteFile(l.Path(), bytes.Replace(b, []byte("AAAA"), []byte("BBBB"), 1), 0o600)
	if _, err := CheckChain(l.dir); !errors.Is(err, ErrTampered) {
		t.Errorf("an edited record: %v, want ErrTampered", err)
	}
}
