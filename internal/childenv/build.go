package childenv

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

var (
	// ErrDuplicateName means two secrets target the same variable. Which
	// one the child would see is ambiguous, so neither is delivered.
	ErrDuplicateName = errors.New("two secrets map to the same environment variable")

	// ErrNULInValue means a secret value contains a NUL byte. execve(2)
	// would silently cut the value there, so the child would run with a
	// different secret than the one stored.
	ErrNULInValue = errors.New("secret value contains a NUL byte, which an environment variable cannot carry")
)

// KV is one secret on its way into a child's environment: the variable name
// and the plaintext. It formats as "NAME=[redacted]" under every fmt verb so
// that a log line or a test failure cannot print the value.
type KV struct {
	Name  string
	Value []byte
}

// String returns the name and a placeholder, never the value.
func (kv KV) String() string { return kv.Name + "=[redacted]" }

// GoString keeps %#v from printing the value bytes.
func (kv KV) GoString() string {
	return fmt.Sprintf("childenv.KV{Name: %q, Value: [redacted]}", kv.Name)
}

// Format applies to every verb (%d and %x included, which would otherwise
// print the struct's bytes).
func (kv KV) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, kv.GoString())
		return
	}
	fmt.Fprint(f, kv.String())
}

// cleanNames is the default allow-list: what almost every program needs to
// find its tools, its home, its locale and its terminal, and nothing that
// loads code.
var cleanNames = map[string]bool{
	"PATH": true, "HOME": true, "USER": true, "LOGNAME": true, "LANG": true,
	"TERM": true, "TZ": true, "TMPDIR": true,
}

func allowedClean(name string) bool {
	return cleanNames[name] || strings.HasPrefix(name, "LC_")
}

// unsafeLocale reports a locale variable whose value is a path. glibc
// treats a locale name containing '/' as a directory to load locale data
// from (CVE-2014-0475 is the ".." variant), and that data includes the
// translated printf formats of LC_MESSAGES: a format-string attack on the
// approved program. No real locale name contains '/' or "..".
func unsafeLocale(name, value string) bool {
	if name != "LANG" && name != "LANGUAGE" && !strings.HasPrefix(name, "LC_") {
		return false
	}
	return strings.Contains(value, "/") || strings.Contains(value, "..")
}

// Build returns the environment for an approved child, sorted by name.
//
// From parent ("NAME=value" entries, as os.Environ returns) it keeps the
// allow-list (PATH, HOME, USER, LOGNAME, LANG, LC_*, TERM, TZ, TMPDIR) or,
// with inherit, every entry. In both modes it drops injection variables
// (IsInjection), ENVSEAL_* variables, entries whose name is not a POSIX name
// (bash exported functions travel as "BASH_FUNC_f%%"), and locale variables
// whose value is a path. When parent names a variable twice, the first entry
// wins, as with getenv(3) and os.Getenv: the child sees the PATH envseal
// itself resolved the binary with.
//
// Then it adds secrets; a secret replaces an inherited variable of the same
// name. A secret whose name fails ValidName, two secrets with one name, or a
// value containing NUL is an error naming the variable, never the value.
func Build(parent []string, inherit bool, secrets []KV) ([]string, error) {
	env := make(map[string]string, len(parent)+len(secrets))
	for _, entry := range parent {
		name, value, ok := strings.Cut(entry, "=")
		if !ok || !isPOSIXName(name) || IsInjection(name) || isReserved(name) {
			continue
		}
		if !inherit && !allowedClean(name) {
			continue
		}
		if unsafeLocale(name, value) {
			continue
		}
		if _, seen := env[name]; seen {
			continue
		}
		env[name] = value
	}

	fromSecret := make(map[string]bool, len(secrets))
	for _, s := range secrets {
		if err := ValidName(s.Name); err != nil {
			return nil, fmt.Errorf("secret target: %w", err)
		}
		if fromSecret[s.Name] {
			return nil, fmt.Errorf("environment variable %s: %w", s.Name, ErrDuplicateName)
		}
		for _, b := range s.Value {
			if b == 0 {
				return nil, fmt.Errorf("environment variable %s: %w", s.Name, ErrNULInValue)
			}
		}
		fromSecret[s.Name] = true
		env[s.Name] = string(s.Value)
	}

	names := make([]string, 0, len(env))
	for name := range env {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, name := range names {
		out[i] = name + "=" + env[name]
	}
	return out, nil
}

// Context is the child's environment apart from the secrets, built from
// the human's side: the clean variables (PATH, HOME, USER, LANG, LC_*,
// TERM, TZ, TMPDIR) come from human — the broker's own environment, or in
// direct mode envseal's — and never from the requester, whose HOME, PATH
// or TMPDIR would pick the code an approved program runs (usercustomize.py,
// a shadow curl, .curlrc). With inherit, the requester's other variables
// are added (injection variables still dropped); they become part of the
// rule, so the human sees and approves each one.
func Context(human, requester []string, inherit bool) []string {
	base, _ := Build(human, false, nil)
	if !inherit {
		return base
	}
	have := make(map[string]bool, len(base))
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		have[name] = true
	}
	extra, _ := Build(requester, true, nil)
	out := base
	for _, kv := range extra {
		name, _, _ := strings.Cut(kv, "=")
		if !have[name] && !allowedClean(name) {
			out = append(out, kv)
		}
	}
	sort.Strings(out)
	return out
}
