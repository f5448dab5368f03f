package githook

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/envseal/envseal/internal/safefile"
)

// Marker identifies a pre-commit hook envseal wrote, so Install may
// update it and Uninstall may remove it, but never someone else's.
const Marker = "# envseal pre-commit hook"

var (
	// ErrForeign: the pre-commit hook there was not written by envseal.
	ErrForeign = errors.New("was not written by envseal")
	// ErrNotWorkTree: git could not find the work tree (the first git
	// command of HooksDir or StagedDiff failed); the error's text is git's.
	ErrNotWorkTree = errors.New("not inside a git work tree")
)

// gitError is a failed git command: its stderr on one line.
type gitError struct {
	msg     string
	notTree bool
}

func (e *gitError) Error() string        { return e.msg }
func (e *gitError) Is(target error) bool { return e.notTree && target == ErrNotWorkTree }

func gitOutput(args ...string) ([]byte, error) {
	cmd := exec.Command("git", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return out, &gitError{msg: fmt.Sprintf("git %s: %s", args[0], strings.ReplaceAll(msg, "\n", " "))}
	}
	return out, nil
}

// StagedDiff is what the commit being made adds (`git diff --cached
// -U0`), the input of ParseDiff. The caller clears it.
func StagedDiff() ([]byte, error) {
	diff, err := gitOutput("-c", "core.quotePath=false", "diff", "--cached", "-U0", "--no-color", "--no-ext-diff", "--src-prefix=a/", "--dst-prefix=b/")
	if err != nil {
		err.(*gitError).notTree = true
	}
	return diff, err
}

// HooksDir is core.hooksPath when set (relative to the top of the work
// tree, as git runs hooks there), else the hooks directory of the
// repository (shared by its worktrees).
func HooksDir() (string, error) {
	top, err := gitOutput("rev-parse", "--show-toplevel")
	if err != nil {
		err.(*gitError).notTree = true
		return "", err
	}
	root := strings.TrimSpace(string(top))
	if hp, err := gitOutput("config", "--get", "core.hooksPath"); err == nil {
		p := strings.TrimSpace(string(hp))
		if strings.HasPrefix(p, "~/") {
			home, _ := os.UserHomeDir()
			p = filepath.Join(home, p[2:])
		}
		if p != "" {
			if !filepath.IsAbs(p) {
				p = filepath.Join(root, p)
			}
			return p, nil
		}
	}
	common, err := gitOutput("rev-parse", "--git-common-dir")
	if err != nil {
		return "", err
	}
	d := strings.TrimSpace(string(common))
	if !filepath.IsAbs(d) {
		d, _ = filepath.Abs(d)
	}
	return filepath.Join(d, "hooks"), nil
}

// Script is the hook: the absolute path of this envseal, so a PATH an
// agent controls does not decide which program checks the commit.
func Script(exe string) []byte {
	q := "'" + strings.ReplaceAll(exe, "'", `'\''`) + "'"
	return []byte("#!/bin/sh\n" + Marker + " (envseal git-hook install)\n" +
		"# Blocks commits that add a likely secret or a stored secret's value.\n" +
		"# To commit anyway, once: git commit --no-verify\n" +
		"exec " + q + " git-hook run\n")
}

// Executable is the absolute path of the running envseal. When it was
// started through a link named envseal (a package manager's symlink), the
// link is kept: it survives upgrades and keeps the program's name.
func Executable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the envseal executable: %w", err)
	}
	arg0 := os.Args[0]
	if !strings.Contains(arg0, string(filepath.Separator)) {
		if p, err := exec.LookPath(arg0); err == nil {
			arg0 = p
		}
	}
	if abs, err := filepath.Abs(arg0); err == nil && filepath.Base(abs) == "envseal" {
		a, errA := os.Stat(abs)
		b, errB := os.Stat(exe)
		if errA == nil && errB == nil && os.SameFile(a, b) {
			return abs, nil
		}
	}
	return exe, nil
}

// Install writes dir/pre-commit running exe (atomically, mode 0755). A
// hook envseal did not write is refused (ErrForeign) unless force; then
// it is kept as pre-commit.before-envseal, whose path is returned.
func Install(dir, exe string, force bool) (path, backup string, err error) {
	path = filepath.Join(dir, "pre-commit")
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return path, "", err
	case !bytes.Contains(old, []byte(Marker)) && !force:
		return path, "", fmt.Errorf("%s exists and %w", path, ErrForeign)
	case !bytes.Contains(old, []byte(Marker)):
		backup = path + ".before-envseal"
		if err := safefile.WriteFileAtomic(backup, old, 0o755); err != nil {
			return path, "", err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return path, backup, err
	}
	return path, backup, safefile.WriteFileAtomic(path, Script(exe), 0o755)
}

// Uninstall removes dir/pre-commit if envseal wrote it (ErrForeign if
// not); removed is false when there is no hook.
func Uninstall(dir string) (path string, removed bool, err error) {
	path = filepath.Join(dir, "pre-commit")
	old, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return path, false, nil
	}
	if err != nil {
		return path, false, err
	}
	if !bytes.Contains(old, []byte(Marker)) {
		return path, false, fmt.Errorf("%s %w", path, ErrForeign)
	}
	if err := os.Remove(path); err != nil {
		return path, false, err
	}
	return path, true, nil
}

// Check is the hook's whole check of the staged changes: the scan rules,
// then the stored values (c), one problem line each; the diff's text is
// cleared before it returns.
func Check(c *Checker) ([]string, error) {
	diff, err := StagedDiff()
	if err != nil {
		return nil, err
	}
	files := ParseDiff(diff)
	clear(diff)
	defer func() {
		for _, f := range files {
			f.Wipe()
		}
	}()
	problems := ScanRules(files)
	hits, err := c.StoredValues(files)
	if err != nil {
		return nil, err
	}
	return append(problems, hits...), nil
}
