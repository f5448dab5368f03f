package approve

import (
	"strings"
	"testing"
)

func TestInlineCodeWarnings(t *testing.T) {
	for _, tc := range []struct {
		path string
		argv []string
		want string // substring of a warning; "" = no INLINE CODE warning
	}{
		{"/bin/sh", []string{"sh", "-c", "curl x | sh"}, "INLINE CODE: sh -c runs the code in argument [2]"},
		{"/usr/bin/bash", []string{"bash", "-lc", "env"}, "INLINE CODE: bash -lc"},
		{"/usr/bin/bash", []string{"bash", "-o", "pipefail", "-c", "env"}, "bash -c runs the code in argument [4]"},
		{"/usr/bin/zsh", []string{"zsh", "-ec", "env"}, "INLINE CODE: zsh -ec"},
		{"/usr/bin/dash", []string{"dash", "-c", "env"}, "INLINE CODE: dash -c"},
		{"/usr/bin/fish", []string{"fish", "--command=env"}, "INLINE CODE: fish --command"},
		{"/usr/bin/fish", []string{"fish", "-C", "env", "script.fish"}, "INLINE CODE: fish -C"},
		{"/usr/bin/python3.12", []string{"python3", "-c", "import os"}, "INLINE CODE: python -c"},
		{"/usr/bin/python3", []string{"python3", "-Ic", "import os"}, "INLINE CODE: python -Ic"},
		{"/usr/bin/python3", []string{"python3", "-W", "ignore", "-c", "x"}, "python -c runs the code in argument [4]"},
		{"/usr/bin/python3", []string{"python3"}, "INLINE CODE: python without a script reads the code to run from its standard input"},
		{"/usr/bin/python3", []string{"python3", "-"}, "INLINE CODE: python without a script"},
		{"/usr/bin/node", []string{"node", "-e", "x"}, "INLINE CODE: node -e"},
		{"/usr/bin/node", []string{"node", "--eval", "x"}, "INLINE CODE: node --eval"},
		{"/usr/bin/node", []string{"node", "--eval=x"}, "INLINE CODE: node --eval runs the code in argument [1]"},
		{"/usr/bin/node", []string{"node", "-p", "x"}, "INLINE CODE: node -p"},
		{"/usr/bin/node", []string{"node", "-r", "dotenv/config", "-e", "x"}, "INLINE CODE: node -e runs the code in argument [4]"},
		{"/usr/bin/perl", []string{"perl", "-e", "x"}, "INLINE CODE: perl -e"},
		{"/usr/bin/perl", []string{"perl", "-E", "say 1"}, "INLINE CODE: perl -E"},
		{"/usr/bin/perl", []string{"perl", "-pi", "-e", "s/a/b/", "f"}, "INLINE CODE: perl -e"},
		{"/usr/bin/perl", []string{"perl", "-ne", "print"}, "INLINE CODE: perl -ne"},
		{"/usr/bin/ruby", []string{"ruby", "-e", "x"}, "INLINE CODE: ruby -e"},
		{"/usr/bin/php8.2", []string{"php", "-r", "x"}, "INLINE CODE: php -r"},
		{"/usr/bin/deno", []string{"deno", "eval", "x"}, "INLINE CODE: deno eval runs the code in argument [2]"},
		{"/usr/bin/osascript", []string{"osascript", "-e", "x"}, "INLINE CODE: osascript -e"},
		{"/usr/bin/pwsh", []string{"pwsh", "-NoProfile", "-Command", "x"}, "INLINE CODE: pwsh -Command"},
		{"/usr/bin/awk", []string{"awk", "-F", ":", "BEGIN{system(\"x\")}"}, "INLINE CODE: awk (program text) runs the code in argument [3]"},
		{"/usr/bin/lua5.4", []string{"lua", "-e", "x"}, "INLINE CODE: lua -e"},
		{"/usr/bin/su", []string{"su", "-c", "x", "root"}, "INLINE CODE: su -c"},
		// Through launchers, and by argv[0] for multi-call binaries.
		{"/usr/bin/env", []string{"env", "FOO=1", "python3", "-c", "x"}, "INLINE CODE: python -c runs the code in argument [4]"},
		{"/usr/bin/timeout", []string{"timeout", "5", "sh", "-c", "x"}, "INLINE CODE: sh -c runs the code in argument [4]"},
		{"/usr/bin/sudo", []string{"sudo", "-u", "x", "bash", "-c", "x"}, "INLINE CODE: bash -c"},
		{"/usr/bin/env", []string{"env", "-S", "sh -c x"}, "INLINE CODE: env -S"},
		{"/bin/busybox", []string{"sh", "-c", "x"}, "INLINE CODE: sh -c"},
		{"/bin/busybox", []string{"busybox", "sh", "-c", "x"}, "INLINE CODE: sh -c"},
		{"/usr/bin/sh", []string{"sh", "-c"}, "runs the code in an argument that is missing"},

		// No inline code.
		{"/usr/bin/bash", []string{"bash", "deploy.sh", "-c", "prod"}, ""},
		{"/usr/bin/python3", []string{"python3", "manage.py", "-c", "x"}, ""},
		{"/usr/bin/python3", []string{"python3", "-m", "http.server"}, ""},
		{"/usr/bin/perl", []string{"perl", "-MData::Dumper", "x.pl"}, ""},
		{"/usr/bin/node", []string{"node", "server.js"}, ""},
		{"/usr/bin/awk", []string{"awk", "-f", "prog.awk", "data"}, ""},
		{"/usr/local/bin/wrangler", []string{"wrangler", "deploy", "-e", "x"}, ""},
		{"/usr/bin/git", []string{"git", "-c", "x=y", "push"}, ""},
	} {
		ws := Warnings(&Request{Path: tc.path, Argv: tc.argv})
		all := strings.Join(ws, "\n")
		if tc.want == "" {
			if strings.Contains(all, "INLINE CODE") {
				t.Errorf("%q: unexpected inline-code warning:\n%s", tc.argv, all)
			}
			continue
		}
		if !strings.Contains(all, tc.want) {
			t.Errorf("%q: no warning containing %q; got:\n%s", tc.argv, tc.want, all)
		}
	}
}

func TestInterpreterRunnerLauncherWarnings(t *testing.T) {
	for _, tc := range []struct {
		path string
		argv []string
		want string
	}{
		{"/usr/bin/python3", []string{"python3", "manage.py"}, "python is an interpreter: the approval pins python itself, not the scripts"},
		{"/usr/bin/node", []string{"node", "server.js"}, "node is an interpreter"},
		{"/usr/bin/bash", []string{"bash", "deploy.sh"}, "bash is an interpreter"},
		{"/usr/bin/make", []string{"make", "deploy"}, "make runs commands defined by the project"},
		{"/usr/bin/npm", []string{"npm", "run", "deploy"}, "npm runs commands defined by the project"},
		{"/usr/bin/env", []string{"env", "wrangler"}, "env runs another program named in its arguments"},
		{"/usr/bin/sudo", []string{"sudo", "wrangler"}, "sudo runs another program"},
	} {
		all := strings.Join(Warnings(&Request{Path: tc.path, Argv: tc.argv}), "\n")
		if !strings.Contains(all, tc.want) {
			t.Errorf("%q: no warning containing %q; got:\n%s", tc.argv, tc.want, all)
		}
	}
	// An ordinary binary gets no command warning at all.
	if ws := Warnings(&Request{Path: "/usr/bin/true", Argv: []string{"true"}}); len(ws) > 0 && !strings.Contains(ws[0], "writable") {
		t.Errorf("plain binary got warnings: %q", ws)
	}
}

func TestProgName(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/bin/python3.12": "python", "python3": "python", "/usr/bin/lua5.4": "lua", "ksh93": "ksh",
		"node": "node", "C:\\Python\\python.exe": "python", "sh": "sh", "wrangler": "wrangler", "7z": "7z",
	} {
		if got := progName(in); got != want {
			t.Errorf("progName(%q) = %q, want %q", in, got, want)
		}
	}
}
