package envfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFindWalksUp(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b", "c")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "a", FileName), "A=a\n")

	got, err := Find(deep)
	if err != nil || got != filepath.Join(root, "a", FileName) {
		t.Fatalf("Find = %q, %v; want the file in a/", got, err)
	}
	// Unclean input is cleaned, not resolved.
	got, err = Find(deep + "/../c/./")
	if err != nil || got != filepath.Join(root, "a", FileName) {
		t.Fatalf("Find(unclean) = %q, %v", got, err)
	}

	// The nearest file wins.
	writeFile(t, filepath.Join(root, "a", "b", FileName), "B=b\n")
	got, err = Find(deep)
	if err != nil || got != filepath.Join(root, "a", "b", FileName) {
		t.Fatalf("Find = %q, %v; want the file in a/b/", got, err)
	}
	// startDir itself is searched.
	got, err = Find(filepath.Join(root, "a", "b"))
	if err != nil || got != filepath.Join(root, "a", "b", FileName) {
		t.Fatalf("Find(a/b) = %q, %v", got, err)
	}
}

func TestFindNotFound(t *testing.T) {
	for _, p := range []string{"/" + FileName, filepath.Join(os.TempDir(), FileName)} {
		if _, err := os.Lstat(p); err == nil {
			t.Fatalf("a stray %s exists on this machine; remove it to run this test", p)
		}
	}
	dir := filepath.Join(t.TempDir(), "x", "y")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Find(dir)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Find = %v, want ErrNotFound", err)
	}
	// A start directory that does not exist is walked the same way.
	if _, err := Find(filepath.Join(dir, "missing", "deeper")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Find(missing dir) = %v, want ErrNotFound", err)
	}
}

func TestFindRefusesSymlink(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, FileName), "GOOD=good\n") // must not be reached
	writeFile(t, filepath.Join(root, "elsewhere"), "EVIL=evil\n")
	sub := filepath.Join(root, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(sub, FileName)
	for _, target := range []string{filepath.Join(root, "elsewhere"), "/nonexistent"} {
		os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		got, err := Find(sub)
		if !errors.Is(err, ErrSymlink) || !strings.Contains(err.Error(), link) {
			t.Errorf("Find with %s -> %s = %q, %v; want ErrSymlink naming the link", link, target, got, err)
		}
	}
}

func TestFindRefusesNonRegular(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, FileName), "GOOD=good\n")
	sub := filepath.Join(root, "sub")
	if err := os.MkdirAll(filepath.Join(sub, FileName), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(sub); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("Find with a .envseal directory = %v, want ErrNotRegular", err)
	}
}

func TestFindRelative(t *testing.T) {
	if _, err := Find("some/dir"); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("Find(relative) = %v, want an error other than ErrNotFound", err)
	}
}

// TestFindFailsClosed: a lookup error other than "does not exist" stops the
// walk instead of silently moving on to a parent's file. A symlink loop in
// the path gives ELOOP without needing another uid.
func TestFindFailsClosed(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, FileName), "GOOD=good\n")
	loop := filepath.Join(root, "loop")
	if err := os.Symlink("loop", loop); err != nil {
		t.Fatal(err)
	}
	got, err := Find(filepath.Join(loop, "sub"))
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("Find through a symlink loop = %q, %v; want a lookup error", got, err)
	}
}
