package exeseal

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestOpenHashesFromDescriptor(t *testing.T) {
	dir := t.TempDir()
	content := "\x7fELF not really, but bytes are bytes\n" + strings.Repeat("x", 70000)
	path := writeFile(t, filepath.Join(dir, "prog"), content, 0o755)

	p := mustOpen(t, path)
	want := sha256.Sum256([]byte(content))
	if p.SHA256 != hex.EncodeToString(want[:]) {
		t.Errorf("SHA256 = %s, want %x", p.SHA256, want)
	}
	if p.Size != int64(len(content)) || p.Path != path || p.IsScript() {
		t.Errorf("Size=%d Path=%s IsScript=%v", p.Size, p.Path, p.IsScript())
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	wantID := Identity{Dev: st.Dev, Ino: st.Ino, Size: st.Size, Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano()}
	if p.ID != wantID {
		t.Errorf("ID = %+v, want %+v", p.ID, wantID)
	}

	// The identity must move when the file is rewritten in place, even if
	// the attacker restores mtime: ctime cannot be set back.
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("y"), 100)
	f.Close()
	mt := time.Unix(0, p.ID.Mtime)
	os.Chtimes(path, mt, mt)
	q := mustOpen(t, path)
	if q.ID == p.ID || q.SHA256 == p.SHA256 {
		t.Errorf("in-place rewrite kept identity or hash")
	}
}

func TestOpenWritable(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		mode os.FileMode
		want bool
	}{
		{0o755, true}, // we own it and have w
		{0o555, false},
		{0o575, true}, // group-writable
		{0o557, true}, // world-writable
	} {
		path := writeFile(t, filepath.Join(dir, "m"+tc.mode.String()), "x", tc.mode)
		if p := mustOpen(t, path); p.Writable != tc.want {
			t.Errorf("mode %v: Writable = %v, want %v", tc.mode, p.Writable, tc.want)
		}
	}
}

func TestOpenRefusesSymlinks(t *testing.T) {
	dir := t.TempDir()
	target := writeFile(t, filepath.Join(dir, "real"), "x", 0o755)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(link); !errors.Is(err, ErrSymlink) {
		t.Errorf("final symlink: err = %v, want ErrSymlink", err)
	}
	// A symlinked directory in the middle: the caller canonicalised the
	// path, so a symlink there means it was redirected since.
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	writeFile(t, filepath.Join(sub, "prog"), "x", 0o755)
	dirLink := filepath.Join(dir, "sublink")
	if err := os.Symlink(sub, dirLink); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(filepath.Join(dirLink, "prog")); !errors.Is(err, ErrSymlink) {
		t.Errorf("symlinked directory: err = %v, want ErrSymlink", err)
	}
	if _, err := Open("relative/prog"); err == nil {
		t.Errorf("relative path accepted")
	}
}

func TestOpenRefusesNonExecutable(t *testing.T) {
	dir := t.TempDir()
	plain := writeFile(t, filepath.Join(dir, "plain"), "x", 0o644)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{plain, dir, fifo} {
		// A FIFO must be refused, not block the launcher in open(2).
		done := make(chan error, 1)
		go func() { _, err := Open(path); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotExecutable) {
				t.Errorf("Open(%s): err = %v, want ErrNotExecutable", filepath.Base(path), err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("Open(%s) blocked", filepath.Base(path))
		}
	}
	if _, err := Open(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestOpenScript(t *testing.T) {
	dir := t.TempDir()
	sh := sysPath(t, "/bin/sh")
	body := "#!/bin/sh -e\necho hi\n"
	path := writeFile(t, filepath.Join(dir, "s"), body, 0o755)
	p := mustOpen(t, path)
	if !p.IsScript() {
		t.Fatal("not recognised as a script")
	}
	sum := sha256.Sum256([]byte(body))
	if p.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("script hash is not the script's own")
	}
	shBytes, _ := os.ReadFile(sh)
	shSum := sha256.Sum256(shBytes)
	if p.Interpreter.Path != sh || p.Interpreter.SHA256 != hex.EncodeToString(shSum[:]) {
		t.Errorf("interpreter = %s %s, want %s %x", p.Interpreter.Path, p.Interpreter.SHA256, sh, shSum)
	}
	if p.InterpreterArgv0 != "/bin/sh" || p.InterpreterArg != "-e" || p.Shebang != "/bin/sh -e" {
		t.Errorf("argv0=%q arg=%q shebang=%q", p.InterpreterArgv0, p.InterpreterArg, p.Shebang)
	}
}

func TestOpenScriptEnv(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, filepath.Join(dir, "s"), "#!/usr/bin/env sh\necho hi\n", 0o755)

	if _, err := Open(path); !errors.Is(err, ErrInterpreterNotFound) {
		t.Errorf("no search PATH: err = %v, want ErrInterpreterNotFound", err)
	}
	// Relative and empty PATH entries resolve against the cwd, which the
	// attacker controls: a planted ./sh must not be picked.
	writeFile(t, filepath.Join(dir, "sh"), "#!/bin/true\n", 0o755)
	t.Chdir(dir)
	p := mustOpen(t, path, SearchPath(":.:/nonexistent:/usr/bin:/bin"))
	if p.InterpreterArgv0 != "/usr/bin/sh" || p.Interpreter.Path != sysPath(t, "/usr/bin/sh") || p.InterpreterArg != "" {
		t.Errorf("argv0=%q interp=%q arg=%q", p.InterpreterArgv0, p.Interpreter.Path, p.InterpreterArg)
	}
	if _, err := Open(path, SearchPath("/nonexistent")); !errors.Is(err, ErrInterpreterNotFound) {
		t.Errorf("not on PATH: err = %v", err)
	}
	abs := writeFile(t, filepath.Join(dir, "abs"), "#!/usr/bin/env /bin/sh\n", 0o755)
	if p := mustOpen(t, abs); p.InterpreterArgv0 != "/bin/sh" {
		t.Errorf("env with absolute name: argv0 = %q", p.InterpreterArgv0)
	}
	split := writeFile(t, filepath.Join(dir, "split"), "#!/usr/bin/env -S sh -e\n", 0o755)
	if _, err := Open(split, SearchPath("/usr/bin")); !errors.Is(err, ErrEnvArgs) {
		t.Errorf("env -S: err = %v, want ErrEnvArgs", err)
	}
}

func TestOpenScriptRefusals(t *testing.T) {
	dir := t.TempDir()
	inner := writeFile(t, filepath.Join(dir, "inner"), "#!/bin/sh\n", 0o755)
	for name, tc := range map[string]struct {
		body string
		want error
	}{
		"nested":      {"#!" + inner + "\n", ErrNestedScript},
		"too long":    {"#!/bin/sh " + strings.Repeat("a", 300) + "\n", ErrShebangTooLong},
		"relative":    {"#!sh\n", ErrBadShebang},
		"empty":       {"#!   \n", ErrBadShebang},
		"nul":         {"#!/bin/sh\x00 -x\n", ErrBadShebang},
		"missing":     {"#!" + filepath.Join(dir, "nope") + "\n", os.ErrNotExist},
		"not exec":    {"#!" + writeFile(t, filepath.Join(dir, "ro"), "x", 0o644) + "\n", ErrNotExecutable},
		"env options": {"#!/usr/bin/env -i sh\n", ErrEnvArgs},
	} {
		path := writeFile(t, filepath.Join(dir, "s-"+strings.ReplaceAll(name, " ", "-")), tc.body, 0o755)
		if _, err := Open(path, SearchPath("/usr/bin")); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
}
