package childenv

import "strings"

// injection is one deny-list entry: an exact name, or a prefix when prefix
// is set. why is the attack the entry stops; it is kept next to the name so
// that nobody removes an entry without reading it.
type injection struct {
	name   string
	prefix bool
	why    string
}

// injections lists variables that let whoever sets them run code inside the
// child, or read its secrets in flight. It covers the loaders and the
// runtimes an approved command most likely is; it cannot be complete, which
// is why Build's default is an allow-list. Names are matched ASCII
// case-insensitively: Windows environments are case-insensitive, and
// refusing a harmless "ld_foo" costs nothing.
//
// Deliberately absent: EDITOR, VISUAL, PAGER and SHELL (command-valued, but
// expected by anyone who asks to inherit the environment); HTTP(S)_PROXY,
// SSL_CERT_FILE, REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS (corporate setups
// need them, and a secret may legitimately be a CA file delivered as
// /dev/fd/N); package-manager knobs (GEM_HOME, npm_config_*, PIP_*,
// GOFLAGS). In inherit mode those reach the child as set — the package doc
// says so.
var injections = []injection{
	// Dynamic loaders.
	{"LD_", true, "glibc/musl ld.so: LD_PRELOAD and LD_AUDIT load a library into the process, LD_LIBRARY_PATH replaces libc, LD_DEBUG_OUTPUT/LD_PROFILE write files; no ordinary program needs any LD_*"},
	{"DYLD_", true, "macOS dyld: DYLD_INSERT_LIBRARIES, DYLD_LIBRARY_PATH, DYLD_FRAMEWORK_PATH load code"},
	{"GLIBC_TUNABLES", false, "tunes ld.so and malloc; the vector of CVE-2023-4911 and a way to make heap exploits reliable"},
	{"MALLOC_", true, "glibc/jemalloc allocator knobs (MALLOC_CHECK_, MALLOC_PERTURB_, MALLOC_CONF): attacker-chosen heap behaviour"},
	{"GCONV_PATH", false, "iconv loads conversion modules (shared objects) from this directory"},
	{"LOCPATH", false, "locale data from an attacker directory, including translated printf formats (format-string attacks)"},
	{"NLSPATH", false, "catopen(3) message catalogs from an attacker path, again printf formats"},
	{"HOSTALIASES", false, "the resolver rewrites host names from this file: the secret goes to the attacker's host"},
	{"RESOLV_HOST_CONF", false, "older glibc reads resolver configuration from this path"},

	// Shells.
	{"BASH_ENV", false, "non-interactive bash sources this file before running any script"},
	{"ENV", false, "sh/dash/ksh (and bash in POSIX mode) source this file at startup"},
	{"BASH_FUNC_", true, "exported bash functions (BASH_FUNC_name%%): redefine any command a bash script runs"},
	{"SHELLOPTS", false, "bash imports these options at startup (xtrace makes PS4 expand on every command)"},
	{"BASHOPTS", false, "bash imports these shopt options at startup"},
	{"PS4", false, "expanded, command substitution included, on every traced command"},
	{"PROMPT_COMMAND", false, "run before every prompt of an interactive bash"},
	{"IFS", false, "changes how a shell splits words, so a script's commands mean something else"},
	{"CDPATH", false, "makes a script's `cd dir` land in an attacker directory"},
	{"ZDOTDIR", false, "zsh reads .zshenv from here on every start, interactive or not"},

	// Python.
	{"PYTHONSTARTUP", false, "file executed when Python starts interactively"},
	{"PYTHONPATH", false, "modules imported from an attacker directory ahead of the real ones"},
	{"PYTHONHOME", false, "replaces the whole standard library"},
	{"PYTHONINSPECT", false, "drops into an interactive prompt after the script, with its secrets"},
	{"PYTHONUSERBASE", false, "user site-packages location; its .pth files run code at startup"},
	{"PYTHONBREAKPOINT", false, "breakpoint() imports and calls this callable"},
	{"PYTHONWARNINGS", false, "a warning category names a module that Python imports (a known exec gadget)"},
	{"PYTHONEXECUTABLE", false, "macOS framework builds re-exec this path"},

	// Node.js.
	{"NODE_OPTIONS", false, "--require/--import/--loader load code into every node process"},
	{"NODE_PATH", false, "modules resolved from an attacker directory"},
	{"NODE_REPL_EXTERNAL_MODULE", false, "node loads this module instead of starting the REPL"},

	// Perl, Ruby, Lua, PHP.
	{"PERL5OPT", false, "command-line switches (-M module) applied to every perl"},
	{"PERL5LIB", false, "modules loaded from an attacker directory"},
	{"PERLLIB", false, "modules loaded from an attacker directory"},
	{"PERL5DB", false, "debugger code run under perl -d"},
	{"RUBYOPT", false, "command-line switches (-r library) applied to every ruby"},
	{"RUBYLIB", false, "libraries loaded from an attacker directory"},
	{"LUA_INIT", true, "Lua runs this chunk (or @file) before the script (LUA_INIT_5_4 too)"},
	{"PHPRC", false, "php.ini from an attacker path (auto_prepend_file runs code)"},
	{"PHP_INI_SCAN_DIR", false, "extra .ini files from an attacker directory"},

	// JVM.
	{"JAVA_TOOL_OPTIONS", false, "-javaagent: loads code into every JVM"},
	{"_JAVA_OPTIONS", false, "JVM options (-javaagent:) applied to every JVM"},
	{"JDK_JAVA_OPTIONS", false, "options (-javaagent:) prepended by the java launcher"},
	{"CLASSPATH", false, "classes loaded from an attacker location"},

	// TLS libraries.
	{"OPENSSL_CONF", false, "an OpenSSL config can load engines or providers (shared objects)"},
	{"OPENSSL_ENGINES", false, "directory OpenSSL loads engine shared objects from"},
	{"OPENSSL_MODULES", false, "directory OpenSSL loads provider shared objects from"},
	{"SSLKEYLOGFILE", false, "TLS libraries write session keys here: the agent decrypts the secret in flight"},

	// Git and ssh: the tools most likely approved together with a token.
	{"GIT_EXEC_PATH", false, "git runs its sub-commands from this directory"},
	{"GIT_SSH", false, "program git runs instead of ssh"},
	{"GIT_SSH_COMMAND", false, "command git runs instead of ssh"},
	{"GIT_PROXY_COMMAND", false, "command git runs for git:// connections"},
	{"GIT_ASKPASS", false, "program git runs, and hands credential prompts to"},
	{"SSH_ASKPASS", false, "program ssh runs, and hands credential prompts to"},
	{"GIT_EXTERNAL_DIFF", false, "command git runs for every diff"},
	{"GIT_TEMPLATE_DIR", false, "hooks copied into every repository git creates"},
	{"GIT_CONFIG", false, "extra git configuration file (core.sshCommand, core.fsmonitor, credential.helper run commands)"},
	{"GIT_CONFIG_", true, "GIT_CONFIG_COUNT/KEY_n/VALUE_n, _GLOBAL, _SYSTEM, _PARAMETERS: arbitrary git configuration, same commands"},
}

// IsInjection reports whether name is on the deny-list: a variable that lets
// whoever sets it run code in a child or read its secrets. Build drops these
// in both modes; ValidName refuses them as secret targets. Matching is ASCII
// case-insensitive.
func IsInjection(name string) bool {
	_, ok := injectionReason(name)
	return ok
}

// injectionReason returns why name is denied, for tests and diagnostics.
func injectionReason(name string) (string, bool) {
	up := upperASCII(name)
	for _, in := range injections {
		if in.prefix && strings.HasPrefix(up, in.name) || !in.prefix && up == in.name {
			return in.why, true
		}
	}
	return "", false
}
