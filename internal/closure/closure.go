package closure

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Spec is what a run will execute.
type Spec struct {
	Program     string   // canonical path of argv[0]
	Interpreter string   // canonical interpreter path when Program is a "#!" script
	Argv        []string // as typed; Argv[0] is the command name
	Cwd         string   // canonical working directory
	Home        string   // the child's HOME ("" if none)
	PATH        string   // the child's PATH
	Pins        []string // explicit --pin paths, absolute
	Exclude     []string // directories never pinned (the vault, what the sandbox hides)
}

// Entry is one path of the closure, present or not.
type Entry struct {
	Path   string
	Reason string // why it is in the closure, for the approval screen
}

// Set is a run's closure: paths to pin and what could not be pinned.
type Set struct {
	Entries []Entry
	Notes   []string
	// Python is set when the run executes Python code from the closure:
	// its bytecode cache must then be private to the run.
	Python bool
}

// Limits keep a closure something a human can review and a run can copy.
const (
	MaxFiles      = 1000
	maxPerDir     = 200
	maxScanBytes  = 1 << 20 // of a file read to find what it names
	maxTreeDepth  = 8
	maxArgOperand = 4096
)

// ErrTooLarge is returned when a closure exceeds MaxFiles.
var ErrTooLarge = errors.New("the run reads too many files to pin")

type finder struct {
	spec    Spec
	seen    map[string]bool
	scanned map[string]bool // scripts whose modules were looked for
	set     Set
	notes   map[string]bool
}

// Discover lists the closure of s (see the package doc for what it knows).
func Discover(s Spec) (*Set, error) {
	f := &finder{spec: s, seen: map[string]bool{}, scanned: map[string]bool{}, notes: map[string]bool{}}
	if err := f.run(); err != nil {
		return nil, err
	}
	slices.SortFunc(f.set.Entries, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	if len(f.set.Entries) > MaxFiles {
		return nil, fmt.Errorf("%w: %d files (at most %d)", ErrTooLarge, len(f.set.Entries), MaxFiles)
	}
	return &f.set, nil
}

func (f *finder) note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	if !f.notes[n] {
		f.notes[n] = true
		f.set.Notes = append(f.set.Notes, n)
	}
}

// add records p (made absolute against the cwd and canonical as far as it
// exists) if it is a regular file, or absent, in a place the user can
// write. Directories and other files are ignored.
func (f *finder) add(p, reason string) {
	if p == "" || len(p) > maxArgOperand {
		return
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(f.spec.Cwd, p)
	}
	p = canonical(filepath.Clean(p))
	if f.seen[p] || pseudoFS(p) || f.excluded(p) {
		return
	}
	st, err := os.Stat(p)
	switch {
	case err == nil && st.Mode().IsRegular():
		if !userWritable(p) && !userWritable(filepath.Dir(p)) {
			return
		}
	case err == nil:
		return // a directory, device, …: not pinned as a file
	case errors.Is(err, fs.ErrNotExist):
		// Absent: it matters only where the agent could create it.
		if !userWritable(filepath.Dir(p)) {
			return
		}
	default:
		return
	}
	f.seen[p] = true
	f.set.Entries = append(f.set.Entries, Entry{Path: p, Reason: reason})
}

func (f *finder) excluded(p string) bool {
	for _, d := range f.spec.Exclude {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// pseudoFS: kernel-made files (a script naming /proc/$$/status) are not
// content anyone can pin.
func pseudoFS(p string) bool {
	for _, d := range []string{"/proc", "/sys", "/dev"} {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// canonical resolves the symlinks of p's existing prefix, so a pin lands
// on the file that is really read.
func canonical(p string) string {
	if c, err := filepath.EvalSymlinks(p); err == nil {
		return c
	}
	dir, base := filepath.Split(p)
	if c, err := filepath.EvalSymlinks(filepath.Clean(dir)); err == nil {
		return filepath.Join(c, base)
	}
	return p
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func (f *finder) run() error {
	s := f.spec
	for _, p := range s.Pins {
		if err := f.pinTree(p); err != nil {
			return err
		}
	}
	name := filepath.Base(s.Program)
	args := s.Argv[1:]
	// Operands that name files: `bash ./release.sh`, `python3 deploy.py`,
	// `terraform apply plan.out`, `psql -f setup.sql`.
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "-"); ok {
			if _, val, ok := strings.Cut(v, "="); ok && val != "" {
				if isFile(f.abs(val)) {
					f.add(val, "named on the command line")
				}
			}
			continue
		}
		if isFile(f.abs(a)) {
			f.add(a, "named on the command line")
		}
	}
	interp := name
	script := ""
	if s.Interpreter != "" {
		interp, script = filepath.Base(s.Interpreter), s.Program
	}
	lang := language(interp)
	if script != "" && lang != "" {
		f.scriptModules(lang, script)
	}
	// `python3 deploy.py`, or a shim (pyenv, asdf, nvm: a shell script
	// named python3) handing deploy.py to the real interpreter: the
	// operand is the script, its language known by the interpreter or by
	// its extension.
	if op := firstOperand(args); op != "" && isFile(f.abs(op)) && (script == "" || lang == "shell") {
		switch l := extLanguage(op); {
		case l != "":
			f.scriptModules(l, f.abs(op))
		case script == "" && lang != "":
			f.scriptModules(lang, f.abs(op))
		}
	}
	if language(name) == "python" || language(filepath.Base(s.Argv[0])) == "python" {
		if mod := flagValue(args, "-m"); mod != "" {
			f.pythonModule(mod)
		}
	}
	if lang == "shell" && hasArg(args, "-c") {
		f.shellCommand(args)
	}
	switch {
	case name == "make" || name == "gmake":
		f.makefiles(args)
	case slices.Contains([]string{"npm", "npx", "pnpm", "yarn", "corepack"}, name) || (lang == "node" && isNodeRunner(script)):
		f.npm(args)
	case name == "git":
		f.git()
	}
	f.userConfigs(append([]string{name, runnerName(script), filepath.Base(s.Argv[0])}, commandWords(args)...))
	return nil
}

// runnerName is the command a node runner's script stands for (the
// program is /usr/lib/node_modules/npm/bin/npm-cli.js, its configs are
// npm's).
func runnerName(script string) string {
	switch filepath.Base(script) {
	case "npm-cli.js":
		return "npm"
	case "npx-cli.js":
		return "npx"
	case "pnpm.cjs":
		return "pnpm"
	case "yarn.js":
		return "yarn"
	}
	return ""
}

// script pins the modules of a script another file runs by name (a
// recipe's `python3 deploy.py`, a package.json script's `node
// deploy.js`), once.
func (f *finder) script(p string) {
	p = canonical(p)
	if l := extLanguage(p); l != "" && !f.scanned[p] {
		f.scanned[p] = true
		f.scriptModules(l, p)
	}
}

// commandLines pins what the commands of shell lines (recipes, package.json
// scripts, a shell script's lines) depend on by name: their per-user
// configs (a .curlrc with trace-ascii) and their $PATH lookups (a curl
// dropped into a writable PATH directory before the real one).
func (f *finder) commandLines(lines []string) {
	var words []string
	for _, l := range lines {
		l = strings.TrimLeft(strings.TrimSpace(l), "@-+")
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		for _, w := range commandWords([]string{"-c", l}) {
			if !slices.Contains(words, w) {
				words = append(words, w)
			}
		}
	}
	if len(words) > maxPerDir {
		words = words[:maxPerDir]
	}
	for _, w := range words {
		f.onPath(w)
	}
	f.userConfigs(words)
}

func (f *finder) abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(f.spec.Cwd, p)
}

func firstOperand(args []string) string {
	for _, a := range args {
		if a == "--" {
			continue
		}
		if !strings.HasPrefix(a, "-") {
			return a
		}
		if a == "-c" || a == "-e" || a == "-m" {
			return "" // inline code or a module name, not a script path
		}
	}
	return ""
}

func hasArg(args []string, a string) bool { return slices.Contains(args, a) }

// flagValue is the operand after flag (`-m app.deploy`), before any "--".
func flagValue(args []string, flag string) string {
	for i, a := range args {
		if a == "--" {
			return ""
		}
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// pythonModule: `python3 -m app.deploy` puts the cwd first on sys.path and
// runs app/deploy.py (or app/deploy/__main__.py): the cwd's modules — a new
// one there shadows the standard library or the module itself — and the
// module with its siblings and imports are the closure.
func (f *finder) pythonModule(mod string) {
	f.set.Python = true
	f.siblings(f.spec.Cwd, moduleExts["python"], "python -m puts the working directory first on sys.path")
	rel := strings.ReplaceAll(mod, ".", "/")
	for _, p := range []string{filepath.Join(f.spec.Cwd, rel+".py"), filepath.Join(f.spec.Cwd, rel, "__main__.py")} {
		if isFile(p) {
			f.add(p, "the module python -m runs")
			f.script(p)
			return
		}
	}
	f.pythonUserSite()
	f.note("python: modules outside the script's directory (site-packages, virtualenvs) are not pinned")
}

// language maps an interpreter's name to the module files it loads.
func language(name string) string {
	switch {
	case strings.HasPrefix(name, "python"):
		return "python"
	case name == "node" || name == "nodejs" || name == "bun" || name == "deno":
		return "node"
	case name == "perl" || strings.HasPrefix(name, "perl5"):
		return "perl"
	case name == "ruby":
		return "ruby"
	case slices.Contains([]string{"sh", "bash", "dash", "zsh", "ksh", "mksh"}, name):
		return "shell"
	}
	return ""
}

func extLanguage(p string) string {
	switch filepath.Ext(p) {
	case ".py":
		return "python"
	case ".js", ".mjs", ".cjs":
		return "node"
	case ".pl", ".pm":
		return "perl"
	case ".rb":
		return "ruby"
	case ".sh", ".bash":
		return "shell"
	}
	return ""
}

var moduleExts = map[string][]string{
	"python": {".py"},
	"node":   {".js", ".mjs", ".cjs", ".json"},
	"perl":   {".pm", ".pl"},
	"ruby":   {".rb"},
	"shell":  {".sh", ".bash"},
}

// scriptModules pins the modules beside a script: what `import x`,
// `require('./x')`, `use lib '.'` or `source ./x.sh` would load first.
func (f *finder) scriptModules(lang, script string) {
	dir := filepath.Dir(script)
	f.siblings(dir, moduleExts[lang], "a module beside the script")
	switch lang {
	case "python":
		// Packages one level down (import pkg.mod) and the shadowing
		// modules an agent would drop: any *.py here comes first on
		// sys.path, so new ones are caught by the directory listing on
		// the next run; the user site's customize hooks and .pth files
		// run before any script.
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.IsDir() && isFile(filepath.Join(dir, e.Name(), "__init__.py")) {
				f.siblings(filepath.Join(dir, e.Name()), moduleExts[lang], "a package beside the script")
			}
		}
		// Cached bytecode (__pycache__) would be loaded instead of a pinned
		// module's source: the launcher points PYTHONPYCACHEPREFIX at a
		// private directory for runs with Python set (Set.Python).
		f.set.Python = true
		f.pythonImports(script)
		f.pythonUserSite()
		f.note("python: modules outside the script's directory (site-packages, virtualenvs) are not pinned")
	case "node":
		f.nearest(dir, "package.json", "the script's package.json")
		f.nodeRequires(script)
		f.note("node: node_modules is not pinned")
	case "shell":
		f.scanned[canonical(script)] = true
		f.shellSources(script)
		f.namedFiles(script, f.spec.Cwd, "named by "+filepath.Base(script))
		f.commandLines(readLines(script))
	}
}

func (f *finder) siblings(dir string, exts []string, reason string) {
	dir = canonical(dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	// One writability check for the directory: a file in a directory the
	// agent can write can be replaced, so it is pinned either way.
	dirWritable := userWritable(dir)
	n := 0
	for _, e := range entries {
		if !e.Type().IsRegular() || !slices.Contains(exts, filepath.Ext(e.Name())) {
			continue
		}
		if n++; n > maxPerDir {
			f.note("only the first %d modules of %s are pinned", maxPerDir, dir)
			return
		}
		p := filepath.Join(dir, e.Name())
		if f.seen[p] || (!dirWritable && !userWritable(p)) {
			continue
		}
		f.seen[p] = true
		f.set.Entries = append(f.set.Entries, Entry{Path: p, Reason: reason})
	}
}

func (f *finder) nearest(dir, name, reason string) {
	for d := dir; ; d = filepath.Dir(d) {
		if isFile(filepath.Join(d, name)) {
			f.add(filepath.Join(d, name), reason)
			return
		}
		if d == "/" || d == "." {
			return
		}
	}
}

// pythonImports pins the package directories a script's literal imports
// name beside it, at any depth and with or without __init__.py (Python 3
// imports a namespace package all the same): `from conf import settings`,
// `import app.jobs.deploy`.
func (f *finder) pythonImports(script string) {
	dir := filepath.Dir(script)
	for _, line := range readLines(script) {
		w := strings.Fields(strings.ReplaceAll(line, ",", " "))
		if len(w) < 2 || (w[0] != "import" && w[0] != "from") {
			continue
		}
		mods := w[1:2]
		if w[0] == "import" {
			mods = w[1:]
		}
		for _, m := range mods {
			if m == "as" {
				break
			}
			d := dir
			for _, part := range strings.Split(m, ".") {
				if part == "" || strings.ContainsAny(part, "/\\") {
					break
				}
				d = filepath.Join(d, part)
				if st, err := os.Stat(d); err != nil || !st.IsDir() {
					break
				}
				f.siblings(d, moduleExts["python"], "a package the script imports")
			}
		}
	}
}

// nodeRelative matches the literal relative specifiers of require(),
// import() and import … from: './lib/x', "../conf".
var nodeRelative = regexp.MustCompile(`(?:\brequire\s*\(|\bimport\s*\(|\bfrom|\bimport)\s*['"](\.\.?/[^'"\s]+)['"]`)

// nodeRequires pins the project files a node script loads by a literal
// relative path in another directory (require('./lib/deploy')), with
// what they load in turn; the script's own directory is pinned already.
// Bare specifiers (require('dep')) load from node_modules, which is not
// pinned.
func (f *finder) nodeRequires(script string) {
	dir := filepath.Dir(script)
	b, err := readFile(script)
	if err != nil {
		return
	}
	for _, m := range nodeRelative.FindAllSubmatch(b, 200) {
		base := filepath.Join(dir, string(m[1]))
		for _, c := range []string{base, base + ".js", base + ".cjs", base + ".mjs", base + ".json", filepath.Join(base, "index.js")} {
			if isFile(c) {
				f.add(c, "required by "+filepath.Base(script))
				if filepath.Ext(c) != ".json" {
					f.script(c)
				}
				break
			}
		}
	}
}

func (f *finder) pythonUserSite() {
	if f.spec.Home == "" {
		return
	}
	sites, _ := filepath.Glob(filepath.Join(f.spec.Home, ".local/lib/python*/site-packages"))
	for _, site := range sites {
		for _, hook := range []string{"usercustomize.py", "sitecustomize.py"} {
			f.add(filepath.Join(site, hook), "python runs it at start-up")
		}
		pths, _ := filepath.Glob(filepath.Join(site, "*.pth"))
		for _, p := range pths {
			f.add(p, "python runs its import lines at start-up")
		}
	}
}

// shellSources follows `source FILE` and `. FILE` with a literal path.
func (f *finder) shellSources(script string) {
	for _, line := range readLines(script) {
		w := strings.Fields(line)
		if len(w) < 2 || (w[0] != "source" && w[0] != ".") {
			continue
		}
		p := strings.Trim(w[1], `"'`)
		if strings.ContainsAny(p, "$`*?") {
			f.note("%s sources a file named at run time (%s): not pinned", filepath.Base(script), clip(p))
			continue
		}
		for _, base := range []string{f.spec.Cwd, filepath.Dir(script)} {
			c := p
			if !filepath.IsAbs(c) {
				c = filepath.Join(base, c)
			}
			if isFile(c) {
				f.add(c, "sourced by "+filepath.Base(script))
			}
		}
	}
}

// shellCommand handles `sh -c '…'`: the commands it names are looked up
// on the child's PATH, so the one found — and a file of that name in any
// writable PATH directory before it — decide what runs.
func (f *finder) shellCommand(args []string) {
	for _, name := range commandWords(args) {
		f.onPath(name)
	}
	// The files the command string runs or sources (`source ./env.sh &&
	// ./scripts/release.sh`, `python3 tools/x.py`), with what they source
	// and name in turn. Only those positions: a file the string merely
	// mentions (a marker, a log it appends to) is data, not code.
	for _, w := range simpleCommands(args) {
		var code string
		switch {
		case (w[0] == "source" || w[0] == ".") && len(w) > 1:
			code = w[1]
		case strings.Contains(w[0], "/"):
			code = w[0]
		case language(w[0]) != "":
			code = firstOperand(w[1:])
		}
		code = strings.Trim(code, `"'`)
		if code == "" || strings.ContainsAny(code, "$*?") {
			continue
		}
		if p := joinAbs(f.spec.Cwd, code); isFile(p) {
			f.add(p, "run by the -c command")
			if c := canonical(p); extLanguage(p) == "" && shellShebang(p) && !f.scanned[c] {
				f.scanned[c] = true
				f.scriptModules("shell", c)
			}
			f.script(p)
		}
	}
}

// shellShebang reports a file starting with a #! line for a shell.
func shellShebang(p string) bool {
	lines := readLines(p)
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "#!") {
		return false
	}
	w := strings.Fields(strings.TrimPrefix(lines[0], "#!"))
	if len(w) == 0 {
		return false
	}
	name := filepath.Base(w[0])
	if name == "env" && len(w) > 1 {
		name = w[1]
	}
	return language(name) == "shell"
}

func (f *finder) onPath(name string) {
	for _, dir := range filepath.SplitList(f.spec.PATH) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			f.add(p, "$PATH lookup of "+name)
			return
		}
		f.add(p, "would shadow "+name+" on $PATH")
	}
}

// commandWords finds the command names of `-c` strings: the first word
// of each simple command.
func commandWords(args []string) []string {
	var out []string
	for _, w := range simpleCommands(args) {
		if isCommandName(w[0]) && !slices.Contains(out, w[0]) {
			out = append(out, w[0])
		}
	}
	return out
}

// simpleCommands splits the `-c` strings of args into simple commands
// (at &&, ||, ;, |, parentheses, newlines and command substitutions) and
// returns the words of each, without leading assignments and the exec,
// env and command prefixes; empty commands are left out.
func simpleCommands(args []string) [][]string {
	var out [][]string
	for i, a := range args {
		if a != "-c" || i+1 >= len(args) {
			continue
		}
		cmd := args[i+1]
		for _, sep := range []string{"&&", "||", ";", "|", "(", ")", "\n", "`", "$("} {
			cmd = strings.ReplaceAll(cmd, sep, "\x00")
		}
		for _, part := range strings.Split(cmd, "\x00") {
			w := strings.Fields(part)
			for len(w) > 0 && (strings.Contains(w[0], "=") || w[0] == "exec" || w[0] == "env" || w[0] == "command") {
				w = w[1:]
			}
			if len(w) > 0 {
				out = append(out, w)
			}
		}
	}
	return out
}

func isCommandName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return !slices.Contains([]string{"if", "then", "else", "fi", "for", "do", "done", "while", "case", "esac", "echo", "printf", "test", "[", "true", "false", "cd", "export", "set", "unset", "read", "return", "exit"}, s)
}

// userConfigs pins the per-user configuration the named programs read:
// a .curlrc can turn on tracing that writes the Authorization header to a
// file.
func (f *finder) userConfigs(names []string) {
	if f.spec.Home == "" {
		return
	}
	cfg := map[string][]string{
		"curl":  {".curlrc", ".config/curlrc"},
		"wget":  {".wgetrc"},
		"npm":   {".npmrc"},
		"npx":   {".npmrc"},
		"pnpm":  {".npmrc", ".config/pnpm/rc"},
		"yarn":  {".npmrc", ".yarnrc", ".yarnrc.yml"},
		"pip":   {".config/pip/pip.conf", ".pip/pip.conf"},
		"ssh":   {".ssh/config"},
		"scp":   {".ssh/config"},
		"rsync": {".ssh/config"},
		"psql":  {".psqlrc", ".pgpass", ".pg_service.conf"},
		"git":   {".gitconfig", ".config/git/config", ".ssh/config"},
		"aws":   {".aws/config"},
		"make":  {},
	}
	for _, n := range names {
		for _, rel := range cfg[n] {
			f.add(filepath.Join(f.spec.Home, rel), n+" reads it")
		}
	}
}

// namedFiles pins the files a script or makefile names literally: any
// word of it that is the path of an existing file (relative to base).
func (f *finder) namedFiles(file, base, reason string) {
	for _, line := range readLines(file) {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, w := range strings.FieldsFunc(line, func(r rune) bool {
			return r == ' ' || r == '\t' || r == ';' || r == '&' || r == '|' || r == '(' || r == ')' || r == '<' || r == '>' || r == '"' || r == '\'' || r == '`' || r == '='
		}) {
			if w == "" || strings.ContainsAny(w, "$*?") || len(w) > 512 {
				continue
			}
			if p := joinAbs(base, w); isFile(p) {
				f.add(p, reason)
				f.script(p)
			}
		}
	}
}

// makefiles: GNU make reads the first of GNUmakefile, makefile, Makefile
// (all three are pinned, present or not), or -f FILE, then its includes.
func (f *finder) makefiles(args []string) {
	dir := f.spec.Cwd
	var files []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case (a == "-C" || a == "--directory") && i+1 < len(args):
			i++
			dir = joinAbs(dir, args[i])
		case strings.HasPrefix(a, "--directory="):
			dir = joinAbs(dir, strings.TrimPrefix(a, "--directory="))
		case (a == "-f" || a == "--file" || a == "--makefile") && i+1 < len(args):
			i++
			files = append(files, args[i])
		case strings.HasPrefix(a, "--file=") || strings.HasPrefix(a, "--makefile="):
			_, v, _ := strings.Cut(a, "=")
			files = append(files, v)
		}
	}
	if len(files) == 0 {
		for _, n := range []string{"GNUmakefile", "makefile", "Makefile"} {
			f.add(filepath.Join(dir, n), "make reads the first of these")
			if isFile(filepath.Join(dir, n)) {
				files = append(files, filepath.Join(dir, n))
				break
			}
		}
	}
	for _, mf := range files {
		f.makeIncludes(joinAbs(dir, mf), dir, 0)
	}
}

func (f *finder) makeIncludes(mf, dir string, depth int) {
	f.add(mf, "a makefile")
	// Recipes run programs and scripts by name: `./scripts/deploy.sh`.
	f.namedFiles(mf, dir, "named by "+filepath.Base(mf))
	var recipes []string
	for _, line := range readLines(mf) {
		if strings.HasPrefix(line, "\t") {
			recipes = append(recipes, line)
		}
	}
	f.commandLines(recipes)
	if depth > maxTreeDepth {
		return
	}
	for _, line := range readLines(mf) {
		w := strings.Fields(line)
		if len(w) < 2 || (w[0] != "include" && w[0] != "-include" && w[0] != "sinclude") {
			continue
		}
		for _, inc := range w[1:] {
			if strings.ContainsAny(inc, "$*?%") {
				f.note("%s includes a file named at run time (%s): not pinned", filepath.Base(mf), clip(inc))
				continue
			}
			p := joinAbs(dir, inc)
			if !f.seen[canonical(p)] {
				f.makeIncludes(p, dir, depth+1)
			}
		}
	}
	f.note("make: files the recipes name at run time ($(wildcard …), variables) are not pinned")
}

// npm and friends: the project's package.json decides what `npm run X`
// runs; lockfiles decide what is installed; .npmrc can set script-shell.
func (f *finder) npm(args []string) {
	root := f.spec.Cwd
	for d := root; ; d = filepath.Dir(d) {
		if isFile(filepath.Join(d, "package.json")) {
			root = d
			break
		}
		if d == "/" {
			break
		}
	}
	pkg := filepath.Join(root, "package.json")
	f.add(pkg, "the project's package.json")
	for _, n := range []string{"package-lock.json", "npm-shrinkwrap.json", "pnpm-lock.yaml", "yarn.lock", ".npmrc", ".yarnrc", ".yarnrc.yml", ".pnpmfile.cjs"} {
		f.add(filepath.Join(root, n), "read by the package manager")
	}
	if tool := npxTool(f.spec.Argv); tool != "" {
		f.nodeBin(root, tool)
	}
	script := npmScript(args)
	if script == "" {
		f.note("node_modules is not pinned")
		return
	}
	var manifest struct {
		Scripts map[string]string `json:"scripts"`
	}
	if b, err := readFile(pkg); err == nil {
		json.Unmarshal(b, &manifest)
	}
	for _, name := range []string{"pre" + script, script, "post" + script} {
		line, ok := manifest.Scripts[name]
		if !ok {
			continue
		}
		for _, w := range strings.Fields(line) {
			w = strings.Trim(w, `"'`)
			if p := joinAbs(root, w); isFile(p) {
				f.add(p, "named by the "+name+" script")
				f.script(p)
			}
		}
		// The script's commands: node_modules/.bin tools it runs, the
		// configs and PATH lookups of the others.
		for _, w := range commandWords([]string{"-c", line}) {
			f.nodeBin(root, w)
		}
		f.commandLines([]string{line})
	}
	f.note("node_modules is not pinned")
}

// nodeBin pins the entry script of a node_modules/.bin tool (`npx tool`, a
// package.json script running `wrangler deploy`) and the modules beside it;
// the rest of node_modules is not pinned.
func (f *finder) nodeBin(root, name string) {
	bin := filepath.Join(root, "node_modules", ".bin", name)
	if !isFile(bin) {
		return
	}
	f.add(bin, "node_modules/.bin/"+name)
	f.scanned[canonical(bin)] = true
	f.scriptModules("node", canonical(bin))
}

// npxTool names the node_modules/.bin tool of `npx TOOL`, `npm exec
// TOOL`, `pnpm exec TOOL`, `yarn exec TOOL` or `pnpm dlx TOOL`.
func npxTool(argv []string) string {
	var ops []string
	for _, a := range argv[1:] {
		if a == "--" {
			continue
		}
		if !strings.HasPrefix(a, "-") {
			ops = append(ops, a)
		}
	}
	switch {
	case len(ops) > 0 && filepath.Base(argv[0]) == "npx":
		return ops[0]
	case len(ops) > 1 && slices.Contains([]string{"exec", "x", "dlx"}, ops[0]):
		return ops[1]
	}
	return ""
}

func isNodeRunner(script string) bool {
	b := filepath.Base(script)
	return b == "npm-cli.js" || b == "npx-cli.js" || b == "pnpm.cjs" || b == "yarn.js"
}

// npmScript names the package.json script a command line runs.
func npmScript(args []string) string {
	var ops []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			ops = append(ops, a)
		}
	}
	if len(ops) == 0 {
		return ""
	}
	switch ops[0] {
	case "run", "run-script", "rum", "urn":
		if len(ops) > 1 {
			return ops[1]
		}
		return ""
	case "start", "test", "stop", "restart":
		return ops[0]
	case "install", "i", "ci", "add", "exec", "x", "dlx":
		return ""
	}
	return ops[0] // yarn X / pnpm X run the script X
}

// git: the hooks and config of the repository around the cwd decide what
// `git push` or `git commit` runs.
var gitHooks = []string{
	"applypatch-msg", "pre-applypatch", "post-applypatch", "pre-commit", "pre-merge-commit",
	"prepare-commit-msg", "commit-msg", "post-commit", "pre-rebase", "post-checkout", "post-merge",
	"pre-push", "pre-receive", "update", "proc-receive", "post-receive", "post-update",
	"reference-transaction", "push-to-checkout", "pre-auto-gc", "post-rewrite", "sendemail-validate",
	"fsmonitor-watchman", "p4-changelist", "p4-prepare-changelist", "p4-post-changelist", "p4-pre-submit",
	"post-index-change",
}

func (f *finder) git() {
	gitdir, worktree := findGitDir(f.spec.Cwd)
	var configs []string
	if f.spec.Home != "" {
		configs = append(configs, filepath.Join(f.spec.Home, ".gitconfig"), filepath.Join(f.spec.Home, ".config/git/config"))
	}
	if gitdir != "" {
		configs = append(configs, filepath.Join(gitdir, "config"), filepath.Join(gitdir, "config.worktree"))
		f.hooks(filepath.Join(gitdir, "hooks"))
		f.add(filepath.Join(gitdir, "info", "attributes"), "git filters")
	}
	if worktree != "" {
		f.add(filepath.Join(worktree, ".gitattributes"), "git filters")
	}
	for _, c := range configs {
		f.add(c, "git config")
		for _, inc := range gitConfigPaths(c, "include", "path") {
			f.add(expandHome(inc, f.spec.Home, filepath.Dir(c)), "included by "+c)
		}
		for _, hp := range gitConfigPaths(c, "core", "hookspath") {
			f.hooks(expandHome(hp, f.spec.Home, worktree))
		}
		// A remote on this machine (a path or file:// URL): pushing runs
		// its receive hooks, as the user, with the run's environment.
		for _, key := range []string{"url", "pushurl"} {
			for _, u := range gitConfigPaths(c, "remote", key) {
				f.localRemote(u, filepath.Dir(c))
			}
		}
	}
	for _, a := range f.spec.Argv[1:] {
		if strings.HasPrefix(a, "/") || strings.HasPrefix(a, "file://") || strings.HasPrefix(a, "./") || strings.HasPrefix(a, "../") {
			f.localRemote(a, f.spec.Cwd)
		}
	}
	f.note("git: includeIf sections are not followed")
}

// localRemote pins the config and hooks of a repository on this machine
// that git would push to or fetch from.
func (f *finder) localRemote(url, base string) {
	p, ok := strings.CutPrefix(url, "file://")
	if !ok && (strings.Contains(url, "://") || (strings.Contains(url, ":") && !strings.HasPrefix(url, "/") && !strings.HasPrefix(url, "."))) {
		return // ssh, https, host:path — another machine's hooks
	}
	p = expandHome(p, f.spec.Home, base)
	gitdir := p
	if st, err := os.Stat(filepath.Join(p, ".git")); err == nil && st.IsDir() {
		gitdir = filepath.Join(p, ".git")
	} else if !isFile(filepath.Join(p, "HEAD")) {
		return
	}
	cfg := filepath.Join(gitdir, "config")
	f.add(cfg, "config of the local remote "+p)
	f.hooks(filepath.Join(gitdir, "hooks"))
	for _, hp := range gitConfigPaths(cfg, "core", "hookspath") {
		f.hooks(expandHome(hp, f.spec.Home, p))
	}
}

func (f *finder) hooks(dir string) {
	for _, h := range gitHooks {
		p := filepath.Join(dir, h)
		f.add(p, "git hook")
		// What a present hook sources, names and runs (husky's
		// `./scripts/check.sh`, `npx lint-staged`) is its closure too.
		if c := canonical(p); isFile(c) && !f.scanned[c] {
			f.scanned[c] = true
			f.scriptModules("shell", c)
		}
	}
}

func findGitDir(cwd string) (gitdir, worktree string) {
	for d := cwd; ; d = filepath.Dir(d) {
		g := filepath.Join(d, ".git")
		if st, err := os.Stat(g); err == nil {
			if st.IsDir() {
				return g, d
			}
			if b, err := readFile(g); err == nil {
				if rest, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir:"); ok {
					return joinAbs(d, strings.TrimSpace(rest)), d
				}
			}
		}
		if d == "/" {
			return "", ""
		}
	}
}

// gitConfigPaths reads `key = value` lines of a [section] from a git
// config file (plain sections only, which is what an attacker would edit).
func gitConfigPaths(file, section, key string) []string {
	var out []string
	in := false
	for _, line := range readLines(file) {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "[") {
			name := strings.ToLower(strings.Trim(strings.Fields(strings.Trim(t, "[]") + " ")[0], `"`))
			in = name == section
			continue
		}
		if !in {
			continue
		}
		k, v, ok := strings.Cut(t, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), key) {
			out = append(out, strings.Trim(strings.TrimSpace(v), `"`))
		}
	}
	return out
}

func expandHome(p, home, base string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok && home != "" {
		return filepath.Join(home, rest)
	}
	return joinAbs(base, p)
}

func (f *finder) pinTree(root string) error {
	n := 0
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return fmt.Errorf("--pin %s: %w", root, err)
			}
			return nil
		}
		if d.IsDir() {
			if strings.Count(strings.TrimPrefix(p, root), "/") > maxTreeDepth {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			if n++; n > MaxFiles {
				return fmt.Errorf("%w: --pin %s has more than %d files", ErrTooLarge, root, MaxFiles)
			}
			f.add(p, "--pin")
		}
		return nil
	})
}

func joinAbs(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

func readFile(p string) ([]byte, error) {
	fh, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b := make([]byte, maxScanBytes)
	n, _ := fh.Read(b)
	return b[:n], nil
}

func readLines(p string) []string {
	b, err := readFile(p)
	if err != nil {
		return nil
	}
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}
