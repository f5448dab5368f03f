//go:build unix

package envfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), FileName)
	writeFile(t, p, "# c\nA=a\nB=b.c\n")
	got, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Mapping{{"A", "a", 2}, {"B", "b.c", 3}}; !slices.Equal(got, want) {
		t.Errorf("Load = %v, want %v", got, want)
	}
}

func TestLoadRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real")
	writeFile(t, target, "A=a\n") // valid: if Load followed the link it would succeed
	link := filepath.Join(dir, FileName)
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	_, err := Load(link)
	if !errors.Is(err, ErrSymlink) || !strings.Contains(err.Error(), link) {
		t.Fatalf("Load(symlink) = %v, want ErrSymlink naming %s", err, link)
	}
}

func TestLoadRefusesFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), FileName)
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := Load(p); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Fatalf("Load(fifo) = %v, want ErrNotRegular", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Load blocked on a FIFO; it must open non-blocking and refuse it")
	}
}

func TestLoadRefusesDirectory(t *testing.T) {
	p := filepath.Join(t.TempDir(), FileName)
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("Load(dir) = %v, want ErrNotRegular", err)
	}
}

func TestLoadRefusesWorldWritable(t *testing.T) {
	p := filepath.Join(t.TempDir(), FileName)
	writeFile(t, p, "A=a\n")
	if err := os.Chmod(p, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); !errors.Is(err, ErrUnsafeFile) {
		t.Fatalf("Load(0666 file) = %v, want ErrUnsafeFile", err)
	}
	// Group-writable is common (umask 002 with per-user groups) and allowed.
	if err := os.Chmod(p, 0o664); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err != nil {
		t.Fatalf("Load(0664 file) = %v, want success", err)
	}
}

func TestLoadRefusesOtherOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another uid (chown)")
	}
	p := filepath.Join(t.TempDir(), FileName)
	writeFile(t, p, "A=a\n")
	if err := os.Chown(p, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p)
	if !errors.Is(err, ErrUnsafeFile) || !strings.Contains(err.Error(), "65534") {
		t.Fatalf("Load(file owned by 65534) = %v, want ErrUnsafeFile naming the uid", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}
	bad := filepath.Join(dir, "bad")
	writeFile(t, bad, "A=a\nB\n")
	var pe *ParseError
	if _, err := Load(bad); !errors.As(err, &pe) || pe.Path != bad || pe.Line != 2 {
		t.Errorf("Load(bad) = %v, want *ParseError at %s:2", err, bad)
	}
	big := filepath.Join(dir, "big")
	writeFile(t, big, "# "+strings.Repeat("x", MaxFileSize)+"\n")
	if _, err := Load(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Load(big) = %v, want ErrTooLarge", err)
	}
}
