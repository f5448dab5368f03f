package approve

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// What a program does with its arguments, as far as approving it goes. The
// approval pins a program's bytes and argv; a shell or interpreter turns
// argv (or files, or stdin) into arbitrary code, so "approve python3" with
// an inline -c is approving whatever the agent wrote in that string.
type progKind int

const (
	kindShell       progKind = iota + 1 // sh -c CODE, reads stdin without operands
	kindInterpreter                     // python/node/perl…: code from argv, files, stdin
	kindAlwaysCode                      // awk, watch: an operand is always code
	kindRunner                          // make, npm…: runs project-defined commands
	kindLauncher                        // env, sudo, timeout…: runs another program
)

type progInfo struct {
	kind progKind
	// cluster: a short-option cluster containing one of these letters
	// takes inline code (sh -ec, perl -ne, python3 -Ic).
	cluster string
	// flags: exact options that take inline code; "--eval=" style
	// prefixes are matched for entries ending in '='.
	flags []string
	// subcmds: a first operand that means inline code (deno eval).
	subcmds []string
	// stdin: without an operand, the program reads code from stdin.
	stdin bool
	// fileFlags: options that make kindAlwaysCode read code from a file.
	fileFlags []string
	// fold: compare options case-insensitively (PowerShell).
	fold bool
	// argOpts: options whose value is the next argument, so that value is
	// not mistaken for the script (bash -o pipefail -c CODE).
	argOpts []string
	// valueLetters: in a short cluster, a letter that takes the rest of
	// the cluster as its value (perl -MData::Dumper is not -e).
	valueLetters string
}

var shellInfo = progInfo{kind: kindShell, cluster: "c", flags: []string{"--command"}, stdin: true,
	argOpts: []string{"-o", "+o", "-O", "+O", "--rcfile", "--init-file"}, valueLetters: "oO"}

var pythonInfo = progInfo{kind: kindInterpreter, cluster: "c", stdin: true,
	argOpts: []string{"-W", "-X", "-Q"}, valueLetters: "WXQm"}

var nodeInfo = progInfo{kind: kindInterpreter, stdin: true,
	flags:   []string{"-e", "--eval", "--eval=", "-p", "-pe", "--print", "--print="},
	argOpts: []string{"-r", "--require", "--import", "--loader", "--experimental-loader", "-C", "--conditions"}}

var perlInfo = progInfo{kind: kindInterpreter, cluster: "eE", stdin: true, valueLetters: "IMmixdDl0CV"}

var awkInfo = progInfo{kind: kindAlwaysCode, fileFlags: []string{"-f", "--file"},
	argOpts: []string{"-F", "-v", "-f", "--field-separator", "--assign", "--file"}}

var programs = map[string]progInfo{
	"sh": shellInfo, "bash": shellInfo, "rbash": shellInfo, "dash": shellInfo, "ash": shellInfo,
	"zsh": shellInfo, "ksh": shellInfo, "mksh": shellInfo, "lksh": shellInfo, "oksh": shellInfo,
	"yash": shellInfo, "posh": shellInfo, "csh": shellInfo, "tcsh": shellInfo,
	"fish": {kind: kindShell, cluster: "cC", flags: []string{"--command", "--command=", "--init-command", "--init-command="}, stdin: true},

	"python":    pythonInfo,
	"pypy":      pythonInfo,
	"node":      nodeInfo,
	"nodejs":    nodeInfo,
	"bun":       {kind: kindInterpreter, flags: []string{"-e", "--eval", "--eval=", "-p", "--print", "--print="}},
	"deno":      {kind: kindInterpreter, flags: []string{"--eval", "--eval="}, subcmds: []string{"eval"}},
	"perl":      perlInfo,
	"ruby":      {kind: kindInterpreter, cluster: "e", stdin: true, valueLetters: "IrCxFKTW0"},
	"jruby":     {kind: kindInterpreter, cluster: "e", stdin: true, valueLetters: "IrCxFKTW0"},
	"php":       {kind: kindInterpreter, flags: []string{"-r", "--run", "-B", "--process-begin", "-R", "--process-code", "-E", "--process-end"}},
	"lua":       {kind: kindInterpreter, cluster: "e", stdin: true, argOpts: []string{"-l"}, valueLetters: "l"},
	"luajit":    {kind: kindInterpreter, cluster: "e", stdin: true, argOpts: []string{"-l"}, valueLetters: "lbjO"},
	"tclsh":     {kind: kindInterpreter, stdin: true},
	"expect":    {kind: kindInterpreter, cluster: "c"},
	"Rscript":   {kind: kindInterpreter, flags: []string{"-e"}},
	"R":         {kind: kindInterpreter, flags: []string{"-e"}},
	"julia":     {kind: kindInterpreter, flags: []string{"-e", "--eval", "-E", "--print"}},
	"guile":     {kind: kindInterpreter, flags: []string{"-c"}},
	"racket":    {kind: kindInterpreter, flags: []string{"-e", "--eval"}},
	"elixir":    {kind: kindInterpreter, flags: []string{"-e", "--eval"}},
	"erl":       {kind: kindInterpreter, flags: []string{"-eval"}},
	"groovy":    {kind: kindInterpreter, flags: []string{"-e"}},
	"osascript": {kind: kindInterpreter, flags: []string{"-e"}},
	"pwsh": {kind: kindInterpreter, fold: true,
		flags: []string{"-c", "-command", "-e", "-ec", "-encodedcommand", "-commandwithargs", "-cwa"}},
	"powershell": {kind: kindInterpreter, fold: true,
		flags: []string{"-c", "-command", "-e", "-ec", "-encodedcommand"}},

	"awk": awkInfo, "gawk": awkInfo, "mawk": awkInfo, "nawk": awkInfo,
	"watch":   {kind: kindAlwaysCode, argOpts: []string{"-n", "--interval"}}, // operands are run by sh -c
	"su":      {kind: kindLauncher, flags: []string{"-c", "--command", "--command=", "--session-command"}},
	"runuser": {kind: kindLauncher, flags: []string{"-c", "--command", "--command="}},
	"script":  {kind: kindLauncher, flags: []string{"-c", "--command", "--command="}},
	"flock":   {kind: kindLauncher, flags: []string{"-c", "--command"}},
	"env":     {kind: kindLauncher, flags: []string{"-S", "--split-string", "--split-string="}},

	"make": {kind: kindRunner}, "gmake": {kind: kindRunner}, "just": {kind: kindRunner}, "task": {kind: kindRunner},
	"npm": {kind: kindRunner}, "npx": {kind: kindRunner}, "pnpm": {kind: kindRunner}, "pnpx": {kind: kindRunner},
	"yarn": {kind: kindRunner}, "bunx": {kind: kindRunner}, "cargo": {kind: kindRunner}, "go": {kind: kindRunner},
	"gradle": {kind: kindRunner}, "gradlew": {kind: kindRunner}, "mvn": {kind: kindRunner}, "rake": {kind: kindRunner},
	"bundle": {kind: kindRunner}, "poetry": {kind: kindRunner}, "uv": {kind: kindRunner}, "uvx": {kind: kindRunner},
	"pipx": {kind: kindRunner}, "tox": {kind: kindRunner}, "nox": {kind: kindRunner},
}

// launchers run a program named in their arguments; the approval pins the
// launcher, not that program. (su, env… are in programs because they also
// take inline commands.)
var launchers = map[string]bool{
	"sudo": true, "doas": true, "nice": true, "nohup": true, "timeout": true, "stdbuf": true,
	"ionice": true, "chrt": true, "taskset": true, "xargs": true, "time": true, "setsid": true,
	"unshare": true, "nsenter": true, "firejail": true, "bwrap": true, "strace": true,
	"ltrace": true, "valgrind": true, "busybox": true, "parallel": true, "find": true, "exec": true,
}

// progName normalizes a program name: base name, no ".exe", no trailing
// version ("python3.12" → "python", "lua5.4" → "lua", "ksh93" → "ksh").
func progName(p string) string {
	n := filepath.Base(strings.ReplaceAll(p, `\`, "/"))
	n = strings.TrimSuffix(strings.TrimSuffix(n, ".exe"), ".EXE")
	if _, ok := programs[n]; ok || launchers[n] {
		return n
	}
	return strings.TrimRight(n, "0123456789.")
}

// commandWarnings inspects a command by the names of both the resolved
// binary and argv[0] (busybox and multi-call binaries dispatch on argv[0];
// a symlink's target may be python3.12 while argv[0] says python3).
//
// off is the index of argv[0] in the request's argv, so that warnings can
// point at the argument holding the code instead of repeating it.
func commandWarnings(path string, argv []string, off, depth int) []string {
	var args []string
	names := []string{progName(path)}
	if len(argv) > 0 {
		args = argv[1:]
		if n := progName(argv[0]); n != names[0] {
			names = append(names, n)
		}
	}
	var out []string
	for _, name := range names {
		out = append(out, nameWarnings(name, args, off+1, depth)...)
	}
	return out
}

func nameWarnings(name string, args []string, off, depth int) []string {
	shown := clean(name, false).text
	info, known := programs[name]
	var out []string
	if flag, at, ok := inlineCode(info, args); known && ok {
		where := "argument [" + strconv.Itoa(off+at) + "]"
		if at >= len(args) {
			where = "an argument that is missing"
		}
		out = append(out, fmt.Sprintf("INLINE CODE: %s %s runs the code in %s: approving it approves whatever that code does, and the agent wrote it",
			shown, clean(flag, false).text, where))
	} else if known {
		switch info.kind {
		case kindShell, kindInterpreter:
			if info.stdin && firstOperand(info, args) < 0 {
				out = append(out, fmt.Sprintf("INLINE CODE: %s without a script reads the code to run from its standard input, which the agent controls", shown))
			} else {
				out = append(out, fmt.Sprintf("%s is an interpreter: the approval pins %s itself, not the scripts or modules it loads, which an agent may be able to edit", shown, shown))
			}
		case kindRunner:
			out = append(out, fmt.Sprintf("%s runs commands defined by the project (Makefile, package.json, build scripts…), which the approval does not pin and an agent may be able to edit", shown))
		}
	}
	if info.kind == kindLauncher || launchers[name] {
		out = append(out, fmt.Sprintf("%s runs another program named in its arguments: the approval pins %s, not that program", shown, shown))
		// Look through the launcher for the program it runs: "env
		// python3 -c", "timeout 5 sh -c", "sudo -u x bash -c".
		if depth < 4 {
			for i, a := range args {
				if _, ok := programs[progName(a)]; ok || launchers[progName(a)] {
					out = append(out, commandWarnings(a, args[i:], off+i, depth+1)...)
					break
				}
			}
		}
	}
	return out
}

// inlineCode finds the option that carries inline code, and the index in
// args of the code.
// Only options before the first operand count: in "bash deploy.sh -c x"
// the -c belongs to the script.
func inlineCode(info progInfo, args []string) (flag string, at int, ok bool) {
	first := firstOperand(info, args)
	opts := args
	if first >= 0 {
		opts = args[:first]
	}
	if info.kind == kindAlwaysCode {
		for _, a := range opts {
			for _, f := range info.fileFlags {
				if a == f || strings.HasPrefix(a, f+"=") || (len(f) == 2 && strings.HasPrefix(a, f)) {
					return "", 0, false
				}
			}
		}
		if first >= 0 {
			return "(program text)", first, true
		}
		return "", 0, false
	}
	for i, a := range opts {
		cmp := a
		if info.fold {
			cmp = strings.ToLower(a)
		}
		for _, f := range info.flags {
			if strings.HasSuffix(f, "=") && strings.HasPrefix(cmp, f) {
				return strings.TrimSuffix(a[:len(f)], "="), i, true
			}
			if cmp == f {
				return a, i + 1, true
			}
		}
		if info.cluster != "" && inCluster(a, info) {
			return a, i + 1, true
		}
	}
	if first >= 0 {
		for _, s := range info.subcmds {
			if args[first] == s {
				return s, first + 1, true
			}
		}
	}
	return "", 0, false
}

// inCluster reports whether a is a short-option cluster (-ec, -lc, never
// --long) holding one of info.cluster's letters before any letter that
// takes a value.
func inCluster(a string, info progInfo) bool {
	if len(a) < 2 || a[0] != '-' || a[1] == '-' {
		return false
	}
	for _, l := range a[1:] {
		if strings.ContainsRune(info.cluster, l) {
			return true
		}
		if strings.ContainsRune(info.valueLetters, l) {
			return false
		}
	}
	return false
}

// firstOperand is the index of the first argument that is not an option or
// an option's value, or -1. "-" (read the program from stdin) is not an
// operand.
func firstOperand(info progInfo, args []string) int {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if i+1 < len(args) && args[i+1] != "-" {
				return i + 1
			}
			return -1
		case a == "-":
			return -1
		case strings.HasPrefix(a, "-") || (info.kind == kindShell && strings.HasPrefix(a, "+")):
			for _, o := range info.argOpts {
				if a == o {
					i++ // the option's value is not an operand
				}
			}
		default:
			return i
		}
	}
	return -1
}
