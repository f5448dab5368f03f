package childenv

import (
	"strings"
	"testing"
)

func FuzzValidName(f *testing.F) {
	f.Add("GITHUB_TOKEN")  // ordinary target
	f.Add("ld_preload")    // injection, folded case
	f.Add("BASH_FUNC_f%%") // exported-function name, not POSIX
	f.Add("ENVSEAL_HOME")  // reserved
	f.Add("A=B")           // '=' would split the entry
	f.Add("LD_\u017fX")    // non-ASCII letter that strings.ToUpper folds to 'S'
	f.Add("")              // empty
	f.Fuzz(func(t *testing.T, name string) {
		err := ValidName(name)
		if err != nil {
			return
		}
		if IsInjection(name) || isReserved(name) || strings.ContainsAny(name, "=\x00") {
			t.Fatalf("ValidName accepted %q", name)
		}
		// Whatever ValidName accepts, Build delivers under exactly that name.
		env, err := Build(nil, false, []KV{{Name: name, Value: []byte("v")}})
		if err != nil || len(env) != 1 || env[0] != name+"=v" {
			t.Fatalf("Build with accepted name %q = %q, %v", name, env, err)
		}
	})
}

func FuzzBuildParent(f *testing.F) {
	f.Add("PATH=/bin\nLD_PRELOAD=x\nFOO=bar", true)
	f.Add("BASH_FUNC_a%%=() { :; }\nLANG=../x\nHOME=/h", false)
	f.Add("ld_audit=1\n=C:=C:\\\nENVSEAL_X=1", true)
	f.Fuzz(func(t *testing.T, parent string, inherit bool) {
		env, err := Build(strings.Split(parent, "\n"), inherit, nil)
		if err != nil {
			t.Fatalf("Build without secrets failed: %v", err)
		}
		seen := map[string]bool{}
		for _, e := range env {
			name, value, ok := strings.Cut(e, "=")
			if !ok || !isPOSIXName(name) || IsInjection(name) || isReserved(name) || unsafeLocale(name, value) {
				t.Fatalf("Build let %q through", name)
			}
			if !inherit && !allowedClean(name) {
				t.Fatalf("clean Build let %q through", name)
			}
			if seen[name] {
				t.Fatalf("Build output names %q twice", name)
			}
			seen[name] = true
		}
	})
}
