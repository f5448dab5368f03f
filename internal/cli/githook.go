package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/detect"
	"github.com/envseal/envseal/internal/redact"
	"github.com/envseal/envseal/internal/term"
	"github.com/envseal/envseal/internal/vault"
)

// hookMarker identifies a pre-commit hook envseal wrote, so install may
// update it and uninstall may remove it, but never someone else's.
const hookMarker = "# envseal pre-commit hook"

func (a *app) gitHookCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "git-hook",
		Short: "Install a git pre-commit hook that blocks commits containing secrets",
		Long: `The pre-commit hook runs 'envseal git-hook run' on every commit. It blocks
the commit, naming file and line, when a line the commit adds holds a likely
secret (the rules of 'envseal scan') or the value of a secret stored in the
vault (raw or encoded as base64, hex, URL or JSON escapes — what 'envseal run'
redacts). Values are never printed.

Stored values are checked through the broker when one is running and
unlocked; else the hook asks the vault passphrase on the terminal; with
neither it warns that stored values were not checked and still applies the
scan rules. 'git commit --no-verify' skips the hook (git's own escape).`,
	}
	c.AddCommand(a.gitHookInstallCmd(), a.gitHookUninstallCmd(), a.gitHookRunCmd())
	return c
}

func (a *app) gitHookInstallCmd() *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "install",
		Short: "Write the pre-commit hook of this repository (core.hooksPath respected)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			dir, err := hooksDir()
			if err != nil {
				return err
			}
			exe, err := hookExecutable()
			if err != nil {
				return err
			}
			path := filepath.Join(dir, "pre-commit")
			old, err := os.ReadFile(path)
			switch {
			case errors.Is(err, fs.ErrNotExist):
			case err != nil:
				return err
			case !bytes.Contains(old, []byte(hookMarker)) && !force:
				return withHint(fmt.Errorf("%s exists and was not written by envseal", path),
					"call 'envseal git-hook run' from your hook yourself, or replace it with 'envseal git-hook install --force' (the old one is kept as pre-commit.before-envseal)")
			case !bytes.Contains(old, []byte(hookMarker)):
				backup := path + ".before-envseal"
				if err := writeFileAtomic(backup, old, 0o755); err != nil {
					return err
				}
				a.infof("kept the previous hook as %s", backup)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			if err := writeFileAtomic(path, hookScript(exe), 0o755); err != nil {
				return err
			}
			a.infof("installed %s (runs %s)", path, exe)
			return nil
		},
	}
	c.Flags().BoolVar(&force, "force", false, "replace a pre-commit hook envseal did not write (kept as pre-commit.before-envseal)")
	return c
}

func (a *app) gitHookUninstallCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "uninstall",
		Short: "Remove the pre-commit hook envseal installed",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			dir, err := hooksDir()
			if err != nil {
				return err
			}
			path := filepath.Join(dir, "pre-commit")
			old, err := os.ReadFile(path)
			if errors.Is(err, fs.ErrNotExist) {
				a.infof("no pre-commit hook in %s; nothing to do", dir)
				return nil
			}
			if err != nil {
				return err
			}
			if !bytes.Contains(old, []byte(hookMarker)) {
				return withHint(fmt.Errorf("%s was not written by envseal", path), "remove it yourself if you mean to; it was left alone")
			}
			if err := os.Remove(path); err != nil {
				return err
			}
			a.infof("removed %s", path)
			return nil
		},
	}
}

// hookScript is the hook: the absolute path of this envseal, so a PATH
// an agent controls does not decide which program checks the commit.
func hookScript(exe string) []byte {
	q := "'" + strings.ReplaceAll(exe, "'", `'\''`) + "'"
	return []byte("#!/bin/sh\n" + hookMarker + " (envseal git-hook install)\n" +
		"# Blocks commits that add a likely secret or a stored secret's value.\n" +
		"# To commit anyway, once: git commit --no-verify\n" +
		"exec " + q + " git-hook run\n")
}

// hookExecutable is the absolute path of the running envseal. When it was
// started through a link named envseal (a package manager's symlink), the
// link is kept: it survives upgrades and keeps the program's name.
func hookExecutable() (string, error) {
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
		return out, fmt.Errorf("git %s: %s", args[0], oneLine(msg))
	}
	return out, nil
}

// hooksDir is core.hooksPath when set (relative to the top of the work
// tree, as git runs hooks there), else the hooks directory of the
// repository (shared by its worktrees).
func hooksDir() (string, error) {
	top, err := gitOutput("rev-parse", "--show-toplevel")
	if err != nil {
		return "", withHint(err, "run this inside a git work tree")
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

// addedFile is what a commit adds to one file: its new lines, numbered.
type addedFile struct {
	path  string
	lines []int // line numbers in the new file
	text  []byte
	// starts[i] is the offset in text of line i.
	starts []int
}

// parseDiff reads `git diff -U0` output: the file from "+++ b/PATH", the
// new line numbers from "@@ -a,b +c,d @@", the added lines from "+".
func parseDiff(diff []byte) []*addedFile {
	var files []*addedFile
	var cur *addedFile
	inHeader := false
	next := 0
	for _, l := range bytes.SplitAfter(diff, []byte("\n")) {
		line := bytes.TrimSuffix(l, []byte("\n"))
		switch {
		case bytes.HasPrefix(line, []byte("diff --git ")):
			inHeader, cur = true, nil
		case inHeader && bytes.HasPrefix(line, []byte("+++ ")):
			name := string(line[4:])
			if strings.HasPrefix(name, `"`) {
				if u, err := strconv.Unquote(name); err == nil {
					name = u
				}
			}
			if name == "/dev/null" {
				cur = nil
				continue
			}
			cur = &addedFile{path: strings.TrimPrefix(name, "b/")}
			files = append(files, cur)
		case bytes.HasPrefix(line, []byte("@@ ")):
			inHeader = false
			next = hunkStart(line)
		case !inHeader && cur != nil && len(line) > 0 && line[0] == '+':
			cur.starts = append(cur.starts, len(cur.text))
			cur.lines = append(cur.lines, next)
			cur.text = append(cur.text, line[1:]...)
			cur.text = append(cur.text, '\n')
			next++
		case !inHeader && len(line) > 0 && line[0] == ' ':
			next++
		}
	}
	return files
}

// hunkStart returns c from "@@ -a,b +c,d @@".
func hunkStart(h []byte) int {
	i := bytes.Index(h, []byte(" +"))
	if i < 0 {
		return 0
	}
	rest := h[i+2:]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	n, _ := strconv.Atoi(string(rest[:j]))
	return n
}

// lineAt maps an offset in f.text to the file's line number.
func (f *addedFile) lineAt(off int) int {
	i := sort.SearchInts(f.starts, off+1) - 1
	if i < 0 {
		i = 0
	}
	return f.lines[i]
}

func (a *app) gitHookRunCmd() *cobra.Command {
	var pf passphraseFlag
	c := &cobra.Command{
		Use:    "run",
		Short:  "Check the staged changes (what the pre-commit hook runs)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			diff, err := gitOutput("-c", "core.quotePath=false", "diff", "--cached", "-U0", "--no-color", "--no-ext-diff", "--src-prefix=a/", "--dst-prefix=b/")
			if err != nil {
				return withHint(err, "run this inside a git work tree (the pre-commit hook does)")
			}
			files := parseDiff(diff)
			clear(diff)
			defer func() {
				for _, f := range files {
					clear(f.text)
				}
			}()
			var problems []string
			for _, f := range files {
				for _, fd := range detect.ScanText(f.path, f.text) {
					s, _ := fd.Span()
					problems = append(problems, fmt.Sprintf("%s:%d: likely secret: %s", f.path, f.lineAt(s), kindName(fd)))
					fd.Wipe()
				}
			}
			hits, err := a.storedValueHits(files, &pf)
			if err != nil {
				return err
			}
			problems = append(problems, hits...)
			if len(problems) == 0 {
				return nil
			}
			for _, p := range problems {
				fmt.Fprintf(a.stderr, "envseal: %s\n", p)
			}
			what := "secrets"
			if len(problems) == 1 {
				what = "secret"
			}
			return withHint(fmt.Errorf("commit blocked: %d %s in the staged changes", len(problems), what),
				"take them out of the commit (move a value into the vault with 'envseal scan --import FILE' or 'envseal store'); to commit anyway, 'git commit --no-verify'")
		},
	}
	c.Flags().IntVar(&pf.fd, "passphrase-fd", -1, "read the vault passphrase from file descriptor `N`")
	return c
}

func kindName(f detect.Finding) string {
	if f.Name != "" {
		return f.Kind + " (" + f.Name + ")"
	}
	return f.Kind
}

// storedValueHits finds stored secrets' values in the added lines:
// through the broker if one answers, else with the passphrase typed on the
// terminal, else not at all (one warning saying so and how to fix it).
func (a *app) storedValueHits(files []*addedFile, pf *passphraseFlag) ([]string, error) {
	var blob []byte
	var bases []int
	for _, f := range files {
		bases = append(bases, len(blob))
		blob = append(blob, f.text...)
	}
	defer clear(blob)
	if len(blob) == 0 {
		return nil, nil
	}
	v, err := openVault()
	if errors.Is(err, vault.ErrNotInitialized) {
		return nil, nil // no vault: nothing stored to find
	}
	if err != nil {
		return nil, err
	}
	if ents, err := v.List(); err == nil && len(ents) == 0 {
		return nil, nil
	}
	hits, why, berr := brokerValueHits(blob)
	if berr != nil {
		hits, err = a.directValueHits(blob, pf)
		if errors.Is(err, term.ErrNoTTY) {
			fix := "start 'envseal broker' in your own terminal, or commit from a terminal"
			if !errors.Is(berr, wire.ErrNoBroker) {
				fix = "commit from a terminal, or unlock the broker (its next run asks on its terminal)"
			}
			a.warnf("the values of stored secrets were not checked (%s, and there is no terminal to ask the passphrase on); %s", why, fix)
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	var out []string
	for _, h := range hits {
		i := sort.SearchInts(bases, h.Offset+1) - 1
		f := files[i]
		out = append(out, fmt.Sprintf("%s:%d: value of stored secret %s", f.path, f.lineAt(h.Offset-bases[i]), h.Name))
	}
	return out, nil
}

// brokerValueHits asks a running, unlocked broker, in pieces of at most
// wire.MaxScanSize cut at line ends (the offsets are shifted back).
func brokerValueHits(blob []byte) ([]detect.ValueHit, string, error) {
	var all []detect.ValueHit
	for off := 0; off < len(blob); {
		end := min(off+wire.MaxScanSize, len(blob))
		if end < len(blob) {
			if i := bytes.LastIndexByte(blob[off:end], '\n'); i > 0 {
				end = off + i + 1
			}
		}
		c, err := client.Dial("")
		if err != nil {
			return nil, "no broker is running", err
		}
		res, err := c.ScanValues(blob[off:end])
		if err != nil {
			return nil, oneLine(err.Error()), err
		}
		for _, h := range res.Hits {
			if h.Offset < 0 || h.Offset >= end-off {
				return nil, "the broker answered nonsense", errors.New("hit offset out of range")
			}
			h.Offset += off
			all = append(all, h)
		}
		off = end
	}
	return all, "", nil
}

// directValueHits unlocks the vault with the passphrase (the terminal, or
// --passphrase-fd) and matches every stored value itself.
func (a *app) directValueHits(blob []byte, pf *passphraseFlag) ([]detect.ValueHit, error) {
	if pf.fd < 0 {
		t, err := term.Open()
		if err != nil {
			return nil, err
		}
		t.Close()
	}
	v, k, err := pf.unlock()
	if err != nil {
		return nil, err
	}
	defer k.Wipe()
	ents, err := v.List()
	if err != nil {
		return nil, err
	}
	var secrets []redact.Secret
	defer func() {
		for _, s := range secrets {
			clear(s.Value)
		}
	}()
	for _, e := range ents {
		if e.Err != nil {
			a.warnf("secret %s could not be read and was not checked: %v", e.Name, e.Err)
			continue
		}
		val, _, err := v.Get(k, e.Name)
		if err != nil {
			a.warnf("secret %s could not be read and was not checked: %v", e.Name, err)
			continue
		}
		secrets = append(secrets, redact.Secret{Name: e.Name, Value: val})
	}
	hits, _, err := detect.FindValues(secrets, blob)
	return hits, err
}
