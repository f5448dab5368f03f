package childenv

import (
	"errors"
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	long := strings.Repeat("A", MaxNameLen)
	tests := []struct {
		name string
		want error // nil = valid
	}{
		{"A", nil},
		{"_", nil},
		{"a_b", nil},
		{"A1", nil},
		{"_1", nil},
		{"GITHUB_TOKEN", nil},
		{"NODE_ENV", nil},
		{"LDFLAGS", nil},     // not LD_*
		{"ENVIRONMENT", nil}, // ENV is exact
		{"ENVSEAL", nil},     // only the ENVSEAL_ prefix is reserved
		{long, nil},

		{"", ErrBadName},
		{"1A", ErrBadName},
		{"A-B", ErrBadName},
		{"A B", ErrBadName},
		{" A", ErrBadName},
		{"A=B", ErrBadName},
		{"A.B", ErrBadName},
		{"Ä", ErrBadName},
		{"A\x00", ErrBadName},
		{"BASH_FUNC_f%%", ErrBadName}, // not POSIX: refused before the deny-list is even asked
		{long + "A", ErrBadName},

		{"LD_PRELOAD", ErrInjectionName},
		{"ld_preload", ErrInjectionName},
		{"Ld_Library_Path", ErrInjectionName},
		{"LD_ANYTHING_NEW", ErrInjectionName},
		{"DYLD_INSERT_LIBRARIES", ErrInjectionName},
		{"BASH_ENV", ErrInjectionName},
		{"ENV", ErrInjectionName},
		{"BASH_FUNC_x", ErrInjectionName},
		{"NODE_OPTIONS", ErrInjectionName},
		{"GIT_CONFIG_COUNT", ErrInjectionName},
		{"MALLOC_CHECK_", ErrInjectionName},
		{"LUA_INIT_5_4", ErrInjectionName},
		{"SSLKEYLOGFILE", ErrInjectionName},

		{"ENVSEAL_HOME", ErrReservedName},
		{"envseal_broker", ErrReservedName},
	}
	for _, tt := range tests {
		err := ValidName(tt.name)
		if tt.want == nil {
			if err != nil {
				t.Errorf("ValidName(%.20q) = %v, want nil", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("ValidName(%.20q) = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestValidNameErrorIsShort(t *testing.T) {
	err := ValidName(strings.Repeat("-", 1<<20))
	if err == nil || len(err.Error()) > 300 {
		t.Fatalf("error for a 1 MiB name is %d bytes, want a short message", len(err.Error()))
	}
}

// TestInjectionRequired pins every name the design asks to strip, so that
// shortening the table is a visible test failure.
func TestInjectionRequired(t *testing.T) {
	required := []string{
		"LD_PRELOAD", "LD_AUDIT", "LD_LIBRARY_PATH", "LD_BIND_NOW", "LD_DEBUG_OUTPUT",
		"DYLD_INSERT_LIBRARIES", "DYLD_LIBRARY_PATH", "DYLD_FRAMEWORK_PATH",
		"BASH_ENV", "ENV", "BASH_FUNC_ls%%", "BASH_FUNC_ls()", "PS4", "SHELLOPTS", "BASHOPTS",
		"PROMPT_COMMAND", "IFS", "CDPATH", "ZDOTDIR",
		"PYTHONSTARTUP", "PYTHONPATH", "PYTHONHOME", "PYTHONINSPECT", "PYTHONUSERBASE",
		"PYTHONBREAKPOINT", "PYTHONWARNINGS",
		"NODE_OPTIONS", "NODE_PATH", "NODE_REPL_EXTERNAL_MODULE",
		"PERL5OPT", "PERL5LIB", "PERLLIB", "PERL5DB", "RUBYOPT", "RUBYLIB",
		"JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH",
		"GCONV_PATH", "LOCPATH", "MALLOC_CHECK_", "MALLOC_PERTURB_", "MALLOC_CONF", "GLIBC_TUNABLES",
		"HOSTALIASES", "RESOLV_HOST_CONF", "NLSPATH",
		"GIT_EXEC_PATH", "GIT_SSH_COMMAND", "GIT_SSH", "GIT_CONFIG", "GIT_CONFIG_GLOBAL",
		"GIT_CONFIG_KEY_0", "GIT_CONFIG_VALUE_0", "GIT_CONFIG_PARAMETERS",
		"OPENSSL_CONF", "SSLKEYLOGFILE",
	}
	for _, name := range required {
		if !IsInjection(name) {
			t.Errorf("IsInjection(%q) = false, want true", name)
		}
	}
}

func TestInjectionTable(t *testing.T) {
	for _, in := range injections {
		if in.why == "" {
			t.Errorf("%s: no reason given", in.name)
		}
		if in.name != upperASCII(in.name) {
			t.Errorf("%s: table entries must be upper case (matching folds the name)", in.name)
		}
		names := []string{in.name, strings.ToLower(in.name)}
		if in.prefix {
			names = append(names, in.name+"X", strings.ToLower(in.name)+"x_1")
		}
		for _, n := range names {
			if !IsInjection(n) {
				t.Errorf("IsInjection(%q) = false for table entry %s", n, in.name)
			}
		}
		if why, ok := injectionReason(in.name); !ok || why != in.why {
			t.Errorf("injectionReason(%q) = %q, %v", in.name, why, ok)
		}
	}
}

func TestInjectionNotOverbroad(t *testing.T) {
	benign := []string{
		"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TERM", "TZ", "TMPDIR",
		"LDFLAGS", "ENVIRONMENT", "NODE_ENV", "PYTHONUNBUFFERED", "GIT_AUTHOR_NAME",
		"GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "OPENAI_API_KEY", "DATABASE_URL",
		"EDITOR", "PAGER", "HTTPS_PROXY", "SSL_CERT_FILE", "PS1", "LUA_PATH",
	}
	for _, name := range benign {
		if IsInjection(name) {
			t.Errorf("IsInjection(%q) = true, want false", name)
		}
	}
}

func TestUpperASCIIOnlyFoldsASCII(t *testing.T) {
	// U+017F (long s) upper-cases to 'S' under strings.ToUpper; a loader
	// would never read "PYTHONPATH" from it, and neither do we.
	if got := upperASCII("ld_\u017fx"); got != "LD_\u017fX" {
		t.Fatalf("upperASCII = %q", got)
	}
}
