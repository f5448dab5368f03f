package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/githook"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/term"
	"github.com/envseal/envseal/internal/vault"
)

// hookMarker identifies a pre-commit hook envseal wrote, so install may
// update it and uninstall may remove it, but never someone else's.
const hookMarker = "# envseal pre-commit hook"

func (a *app) gitHookCmd() *cobra.Command {
	c := &cobra.Command{
		Use: "git-hook",
	}
	c.AddCommand(a.gitHookInstallCmd(), a.gitHookUninstallCmd(), a.gitHookRunCmd())
	return c
}

func (a *app) gitHookInstallCmd() *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:  "install",
		Args: cobra.NoArgs,
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
		Use:  "uninstall",
		Args: cobra.NoArgs,
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

func (a *app) gitHookRunCmd() *cobra.Command {
	var pf passphraseFlag
	c := &cobra.Command{
		Use:    "run",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			diff, err := gitOutput("-c", "core.quotePath=false", "diff", "--cached", "-U0", "--no-color", "--no-ext-diff", "--src-prefix=a/", "--dst-prefix=b/")
			if err != nil {
				return withHint(err, "run this inside a git work tree (the pre-commit hook does)")
			}
			files := githook.ParseDiff(diff)
			clear(diff)
			defer func() {
				for _, f := range files {
					f.Wipe()
				}
			}()
			problems := githook.ScanRules(files)
			chk := &githook.Checker{Local: a.hookLocal(&pf), Warnf: a.warnf}
			hits, err := chk.StoredValues(files)
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

// hookLocal is the hook's direct path: the vault passphrase from the
// terminal (or --passphrase-fd); with neither, term.ErrNoTTY before
// anything is asked.
func (a *app) hookLocal(pf *passphraseFlag) *client.Local {
	return &client.Local{
		OpenVault: openVault,
		Checkpoint: func(v *vault.Vault) (launch.Config, error) {
			return launch.Config{Vault: v, Unlock: func() (seal.Key, error) {
				if pf.fd < 0 {
					t, err := term.Open()
					if err != nil {
						return seal.Key{}, err
					}
					t.Close()
				}
				_, k, err := pf.unlock()
				return k, err
			}}, nil
		},
	}
}
