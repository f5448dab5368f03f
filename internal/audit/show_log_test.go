package audit

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestShow: the last n records that the filter keeps, the chain checked
// without the key (a changed line shows as VerifyErr, the records are
// still returned), and no log is fs.ErrNotExist.
func TestShow(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	os.Mkdir(dir, 0o700)
	if _, err := New(dir).Show(Filter{}, 0); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Show without a log: %v, want fs.ErrNotExist", err)
	}
	l, _ := testLog(t)
	k := testKey(t)
	for _, n := range []string{"A", "B", "A", "C"} {
		mustAppend(t, l, k, SecretStored, map[string]any{"secret": n})
	}
	sh, err := l.Show(Filter{Secret: "A"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	sh.File.Close()
	if sh.VerifyErr != nil || len(sh.Entries) != 1 || sh.Entries[0].Fields["secret"] != "A" || sh.Records < 4 {
		t.Fatalf("Show(A, 1) = %d entries, %d records, %v", len(sh.Entries), sh.Records, sh.VerifyErr)
	}
	if all, _ := l.Show(Filter{Secret: "A"}, 0); len(all.Entries) != 2 {
		t.Errorf("Show(A, 0) kept %d records, want 2", len(all.Entries))
	} else {
		all.File.Close()
	}
	lines := readLines(t, l)
	// A changed line before the last: the next line's prev no longer
	// matches (the last line alone only its MAC would catch).
	lines[len(lines)-2] = bytes.Replace(lines[len(lines)-2], []byte(`"A"`), []byte(`"D"`), 1)
	writeLines(t, l, lines)
	sh, err = l.Show(Filter{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	sh.File.Close()
	if sh.VerifyErr == nil || len(sh.Entries) != len(lines) {
		t.Errorf("a changed line: VerifyErr %v, %d of %d entries", sh.VerifyErr, len(sh.Entries), len(lines))
	}
}
