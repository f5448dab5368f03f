package launch

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/envseal/envseal/internal/childenv"
	"github.com/envseal/envseal/internal/closure"
	"github.com/envseal/envseal/internal/exeseal"
	"github.com/envseal/envseal/internal/policy"
)

// runContext is what a rule binds besides the program (docs/ARCHITECTURE.md
// invariant 1): the canonical working directory, the child's whole
// environment apart from the secrets, and the closure — every file the
// run reads from a place the agent can write — with the bytes read once,
// hashed, and later served to the child (sandbox.Pin), so the bytes the
// child reads are the bytes the rule names.
type runContext struct {
	cwd     string
	invoked string // the program's path before symlinks (scriptArg)
	python  bool   // Python code from the closure runs: private bytecode cache

	leftover    int    // processes of a lockdown/contained run killed at its end (-1: unknown)
	pinReplaced string // the pinned path whose replacement stopped the run (sandbox.PinReplacedError)
	env         []string
	files       []policy.File
	data        map[string][]byte
	modes       map[string]uint32
	notes       []string

	templates []tmplFile // --template-file, read and parsed (template.go)
}

// unobserved is what no closure can learn before the run, on every
// approval screen: the closure is read from the command line, the
// scripts' literal lines and the runners' manifests, not by watching
// the program.
const unobserved = "not observed: files the program, or a command it starts, opens by a path computed at run time (variables, globs, dynamic imports, includeIf), and what commands it starts on its own read — only the files listed are pinned"

// Closure limits: what a human can review and a run can copy.
const (
	maxClosureBytes = 64 << 20
	maxTextKept     = 8 << 10 // small text files are kept in the rule for a diff
)

// newContext takes the working directory and the environment. The
// environment comes from the human's side (Checkpoint.HumanEnv), never
// the requester's, except for the variables --inherit-env adds, which the
// rule then records.
func (c *Checkpoint) newContext(req *Request) (*runContext, error) {
	cwd, err := filepath.EvalSymlinks(req.Cwd)
	if err != nil {
		return nil, &Error{Code: ExitFailed, Err: fmt.Errorf("%w: working directory %s: %v", ErrBadRequest, req.Cwd, err)}
	}
	human := c.HumanEnv
	if human == nil {
		human = os.Environ()
	}
	return &runContext{leftover: -1, cwd: cwd, env: childenv.Context(human, req.Env, req.InheritEnv), data: map[string][]byte{}, modes: map[string]uint32{}}, nil
}

// discover learns and reads the closure of the pinned program.
func (rc *runContext) discover(req *Request, pin *exeseal.Pinned, vaultDir string) error {
	spec := closure.Spec{Program: pin.Path, Argv: req.Argv, Cwd: rc.cwd, Home: envValue(rc.env, "HOME"), PATH: envValue(rc.env, "PATH"), Pins: req.Pins,
		Exclude: canonicalDirs(append([]string{vaultDir}, req.Hide...))}
	if pin.Interpreter != nil {
		spec.Interpreter = pin.Interpreter.Path
	}
	set, err := closure.Discover(spec)
	if err != nil {
		return &Error{Code: ExitFailed, Err: fmt.Errorf("%w: %w", ErrBadRequest, err), Hint: "pin fewer files: name them with --pin, or run from a smaller directory"}
	}
	rc.notes, rc.python = append(set.Notes, unobserved), set.Python
	var total int64
	for _, e := range set.Entries {
		if e.Path == pin.Path {
			continue // the program itself is pinned, hashed and served by exeseal
		}
		b, mode, sha, err := readPinned(e.Path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			rc.files = append(rc.files, policy.File{Path: e.Path})
			continue
		case err != nil:
			return &Error{Code: ExitFailed, Err: fmt.Errorf("pin %s: %w", e.Path, err)}
		}
		if total += int64(len(b)); total > maxClosureBytes {
			return &Error{Code: ExitFailed, Err: fmt.Errorf("%w: the files this run reads exceed %d MiB", ErrBadRequest, maxClosureBytes>>20), Hint: "pin fewer files: name them with --pin, or run from a smaller directory"}
		}
		rc.files = append(rc.files, policy.File{Path: e.Path, SHA256: sha})
		rc.data[e.Path], rc.modes[e.Path] = b, mode
	}
	slices.SortFunc(rc.files, func(a, b policy.File) int { return strings.Compare(a.Path, b.Path) })
	return nil
}

func isText(b []byte) bool {
	return len(b) <= maxTextKept && utf8.Valid(b) && bytes.IndexByte(b, 0) < 0
}

func envValue(env []string, name string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// ruleFiles is the closure as the rule keeps it: small text files with
// their content, for the diff a later approval shows.
func (rc *runContext) ruleFiles() []policy.File {
	out := slices.Clone(rc.files)
	for i := range out {
		if b := rc.data[out[i].Path]; isText(b) && !secretLooking(out[i].Path) {
			out[i].Text = string(b)
		}
	}
	return rc.withTemplateFiles(out, true)
}

// queryFiles is the closure as a lookup compares it (hashes only).
func (rc *runContext) queryFiles() []policy.File {
	out := make([]policy.File, len(rc.files))
	for i, f := range rc.files {
		out[i] = policy.File{Path: f.Path, SHA256: f.SHA256}
	}
	return rc.withTemplateFiles(out, false)
}

// pins are the present closure files as sealed copies for the sandbox to
// serve at their paths.
func (rc *runContext) pinFiles() ([]pinnedCopy, error) {
	var out []pinnedCopy
	for _, f := range rc.files {
		if f.Absent() {
			continue
		}
		mf, err := exeseal.SealBytes(f.Path, rc.data[f.Path])
		if err != nil {
			for _, p := range out {
				p.file.Close()
			}
			return nil, err
		}
		out = append(out, pinnedCopy{path: f.Path, mode: rc.modes[f.Path], file: mf})
	}
	return out, nil
}

type pinnedCopy struct {
	path string
	mode uint32
	file *os.File
}

// textDiff is a short diff for the approval screen: the changed middle of
// two texts, after their common leading and trailing lines.
func textDiff(old, new string, maxLines int) []string {
	a, b := strings.Split(old, "\n"), strings.Split(new, "\n")
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	j := 0
	for j < len(a)-i && j < len(b)-i && a[len(a)-1-j] == b[len(b)-1-j] {
		j++
	}
	var out []string
	for _, l := range a[i : len(a)-j] {
		out = append(out, "- "+l)
	}
	for _, l := range b[i : len(b)-j] {
		out = append(out, "+ "+l)
	}
	if len(out) > maxLines {
		out = append(out[:maxLines], fmt.Sprintf("… %d more changed lines", len(out)-maxLines))
	}
	return out
}

// PrepareRule returns the rule an "allow always" of req would save, apart
// from the grants, sandbox and ids: the pinned program, its argv, and the
// context (cwd, environment from humanEnv — nil for this process's —,
// closure). `envseal demo` and tests that stand in for the human's
// earlier approval use it, so they record exactly what the checkpoint
// will compare.
func PrepareRule(req *Request, humanEnv []string) (policy.Rule, error) {
	c := New(Config{HumanEnv: humanEnv})
	rc, err := c.newContext(req)
	if err != nil {
		return policy.Rule{}, err
	}
	childPATH := envValue(rc.env, "PATH")
	path, err := resolve(req.Argv[0], req.Cwd, req.PATH)
	if err != nil {
		return policy.Rule{}, err
	}
	pin, err := exeseal.Open(path, exeseal.SearchPath(childPATH))
	if err != nil {
		return policy.Rule{}, pinError(path, err)
	}
	defer pin.Close()
	if err := rc.discover(req, pin, ""); err != nil {
		return policy.Rule{}, err
	}
	r := policy.Rule{
		Binary: pin.Path, SHA256: pin.SHA256, Argv: slices.Clone(req.Argv[1:]),
		Cwd: rc.cwd, Env: rc.env, Files: rc.ruleFiles(),
	}
	if pin.Interpreter != nil {
		r.Interpreter, r.InterpreterSHA256 = pin.Interpreter.Path, pin.Interpreter.SHA256
	}
	return r, nil
}

// containedCwd refuses working directories a contained run must not get
// write access to: the cwd is writable, so a cwd of /, of $HOME or
// above it (rc files), of a shared temporary directory or of the runtime
// dirs (where control sockets live) would open what the sandbox closes.
func containedCwd(cwd, home, vaultDir string) error {
	refuse := func(why string) error {
		return &Error{Code: ExitFailed, Err: fmt.Errorf("%w: a contained run may write its working directory, and %s is %s", ErrBadRequest, cwd, why),
			Hint: "run from a project directory (give more writable directories with --rw)"}
	}
	within := func(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }
	switch {
	case cwd == "/":
		return refuse("the root")
	case home != "" && within(home, cwd):
		return refuse("your home directory or above it")
	case vaultDir != "" && within(cwd, vaultDir):
		// (A cwd above the vault is fine: hidden dirs are covered after
		// the writable ones are mounted.)
		return refuse("inside the vault")
	}
	for _, d := range []string{"/tmp", "/var/tmp", "/dev/shm"} {
		if cwd == d {
			return refuse("a shared temporary directory")
		}
	}
	for _, d := range []string{"/run", "/var/run", "/proc", "/sys", "/dev"} {
		if within(cwd, d) {
			return refuse("a system directory")
		}
	}
	return nil
}

// canonicalDirs resolves what exists of each directory, so closure paths
// (canonical) compare with them.
func canonicalDirs(dirs []string) []string {
	var out []string
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if c, err := filepath.EvalSymlinks(d); err == nil {
			d = c
		}
		out = append(out, filepath.Clean(d))
	}
	return out
}

// secretLooking names files whose text must never be kept for a diff (a
// .env read by `node --env-file=.env` holds values): hashed only.
func secretLooking(p string) bool {
	b := strings.ToLower(filepath.Base(p))
	for _, pre := range []string{".env", "credentials", "secret", "id_rsa", "id_ed25519", ".netrc", ".pgpass", ".npmrc", ".pypirc"} {
		if strings.HasPrefix(b, pre) {
			return true
		}
	}
	for _, ext := range []string{".pem", ".key", ".p12", ".pfx", ".jks", ".kdbx"} {
		if strings.HasSuffix(b, ext) {
			return true
		}
	}
	return false
}
