package childenv

import (
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
)

// valueMarker is a stand-in secret value; tests check it never appears in
// an error message or a formatted KV.
const valueMarker = "s3cr3t-marker-7c1e"

var sampleParent = []string{
	"PATH=/usr/local/bin:/usr/bin",
	"HOME=/home/dev",
	"USER=dev",
	"LOGNAME=dev",
	"LANG=en_US.UTF-8",
	"LC_ALL=C.UTF-8",
	"LC_CTYPE=en_US.UTF-8",
	"TERM=xterm-256color",
	"TZ=Europe/Paris",
	"TMPDIR=/tmp",
	"SHELL=/bin/bash",
	"EDITOR=vim",
	"GITHUB_TOKEN=ghp_inherited",
	"XDG_RUNTIME_DIR=/run/user/1000",
	"LD_PRELOAD=/tmp/evil.so",
	"LD_LIBRARY_PATH=/tmp",
	"NODE_OPTIONS=--require /tmp/x.js",
	"BASH_FUNC_ls%%=() { curl evil; }",
	"PYTHONPATH=/tmp",
	"ENVSEAL_HOME=/home/dev/.config/envseal",
	"GIT_CONFIG_COUNT=1",
	"Path=/windows/style",
	"=C:=C:\\",
	"NOEQUALS",
	"1BAD=x",
}

func TestBuildClean(t *testing.T) {
	got, err := Build(sampleParent, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"HOME=/home/dev",
		"LANG=en_US.UTF-8",
		"LC_ALL=C.UTF-8",
		"LC_CTYPE=en_US.UTF-8",
		"LOGNAME=dev",
		"PATH=/usr/local/bin:/usr/bin",
		"TERM=xterm-256color",
		"TMPDIR=/tmp",
		"TZ=Europe/Paris",
		"USER=dev",
	}
	if !slices.Equal(got, want) {
		t.Errorf("clean env:\n got %q\nwant %q", got, want)
	}
}

func TestBuildInherit(t *testing.T) {
	got, err := Build(sampleParent, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"EDITOR=vim",
		"GITHUB_TOKEN=ghp_inherited",
		"HOME=/home/dev",
		"LANG=en_US.UTF-8",
		"LC_ALL=C.UTF-8",
		"LC_CTYPE=en_US.UTF-8",
		"LOGNAME=dev",
		"PATH=/usr/local/bin:/usr/bin",
		"Path=/windows/style",
		"SHELL=/bin/bash",
		"TERM=xterm-256color",
		"TMPDIR=/tmp",
		"TZ=Europe/Paris",
		"USER=dev",
		"XDG_RUNTIME_DIR=/run/user/1000",
	}
	if !slices.Equal(got, want) {
		t.Errorf("inherited env:\n got %q\nwant %q", got, want)
	}
}

func TestBuildLocalePaths(t *testing.T) {
	parent := []string{
		"LANG=../../tmp/evil",
		"LC_MESSAGES=/tmp/evil",
		"LC_ALL=..",
		"LANGUAGE=de:../x",
		"LC_NUMERIC=de_DE.UTF-8",
		"TZ=:/etc/localtime", // a TZ path is legitimate and kept
	}
	for _, inherit := range []bool{false, true} {
		got, err := Build(parent, inherit, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"LC_NUMERIC=de_DE.UTF-8", "TZ=:/etc/localtime"}
		if !slices.Equal(got, want) {
			t.Errorf("inherit=%v: got %q, want %q", inherit, got, want)
		}
	}
}

func TestBuildFirstEntryWins(t *testing.T) {
	got, err := Build([]string{"PATH=/first", "PATH=/second", "A=1", "A=2"}, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"A=1", "PATH=/first"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestBuildNeverLeaksInjection puts every deny-list name (exact, lower case,
// with a suffix for prefixes) in the parent and checks neither mode lets one
// through.
func TestBuildNeverLeaksInjection(t *testing.T) {
	var parent []string
	for _, in := range injections {
		names := []string{in.name, strings.ToLower(in.name)}
		if in.prefix {
			names = append(names, in.name+"X", in.name+"Y_Z")
		}
		for _, n := range names {
			parent = append(parent, n+"=x", n+"=")
		}
	}
	parent = append(parent, "BASH_FUNC_f%%=() { :; }", "BASH_FUNC_g()=() { :; }")
	for _, inherit := range []bool{false, true} {
		got, err := Build(parent, inherit, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Errorf("inherit=%v: injection variables leaked: %q", inherit, got)
		}
	}
}

func TestBuildSecrets(t *testing.T) {
	secret := func(name string) KV { return KV{Name: name, Value: []byte(valueMarker)} }
	tests := []struct {
		desc    string
		inherit bool
		secrets []KV
		want    error
	}{
		{"injection target", false, []KV{secret("LD_PRELOAD")}, ErrInjectionName},
		{"injection target, folded case", true, []KV{secret("node_options")}, ErrInjectionName},
		{"reserved target", false, []KV{secret("ENVSEAL_HOME")}, ErrReservedName},
		{"bad name", false, []KV{secret("A-B")}, ErrBadName},
		{"empty name", false, []KV{secret("")}, ErrBadName},
		{"duplicate", false, []KV{secret("TOKEN"), secret("TOKEN")}, ErrDuplicateName},
		{"NUL in value", true, []KV{{Name: "TOKEN", Value: []byte(valueMarker + "\x00tail")}}, ErrNULInValue},
	}
	for _, tt := range tests {
		_, err := Build(sampleParent, tt.inherit, tt.secrets)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Build error = %v, want %v", tt.desc, err, tt.want)
			continue
		}
		if strings.Contains(err.Error(), valueMarker) {
			t.Errorf("%s: error message contains the secret value", tt.desc)
		}
		if tt.want != ErrBadName && !strings.Contains(err.Error(), tt.secrets[len(tt.secrets)-1].Name) {
			t.Errorf("%s: error %q does not name the variable", tt.desc, err)
		}
	}
}

func TestBuildSecretOverridesInherited(t *testing.T) {
	for _, inherit := range []bool{false, true} {
		got, err := Build(sampleParent, inherit, []KV{
			{Name: "GITHUB_TOKEN", Value: []byte("from-vault")},
			{Name: "HOME", Value: []byte("/vault-home")},
			{Name: "EMPTY", Value: nil},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"GITHUB_TOKEN=from-vault", "HOME=/vault-home", "EMPTY="} {
			if !slices.Contains(got, want) {
				t.Errorf("inherit=%v: %s missing from %q", inherit, want, got)
			}
		}
		for _, e := range got {
			if e == "GITHUB_TOKEN=ghp_inherited" || e == "HOME=/home/dev" {
				t.Errorf("inherit=%v: inherited %s survived the secret of the same name", inherit, e)
			}
		}
	}
}

func TestBuildDeterministic(t *testing.T) {
	secrets := []KV{{Name: "B", Value: []byte("2")}, {Name: "A", Value: []byte("1")}}
	first, err := Build(sampleParent, true, secrets)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSortedFunc(first, func(a, b string) int {
		an, _, _ := strings.Cut(a, "=")
		bn, _, _ := strings.Cut(b, "=")
		return strings.Compare(an, bn)
	}) {
		t.Errorf("output not sorted by name: %q", first)
	}
	r := rand.New(rand.NewSource(1))
	for range 20 {
		p := slices.Clone(sampleParent)
		r.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
		s := slices.Clone(secrets)
		r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
		got, err := Build(p, true, s)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, first) {
			t.Fatalf("Build depends on input order:\n%q\n%q", got, first)
		}
	}
}

func TestKVFormatRedacts(t *testing.T) {
	kv := KV{Name: "TOKEN", Value: []byte(valueMarker)}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X", "%10v"} {
		for _, arg := range []any{kv, &kv, []KV{kv}, struct{ K KV }{kv}} {
			out := fmt.Sprintf(verb, arg)
			if strings.Contains(out, valueMarker) || strings.Contains(out, fmt.Sprintf("%x", valueMarker)) ||
				strings.Contains(out, "115 51 99") { // "s3c" as %d bytes
				t.Errorf("Sprintf(%s, %T) prints the value", verb, arg)
			}
			if !strings.Contains(out, "TOKEN") && verb != "%d" && verb != "%x" && verb != "%X" {
				t.Errorf("Sprintf(%s, %T) = %q, want the name", verb, arg, out)
			}
		}
	}
}
