package runspec

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/envseal/envseal/internal/envfile"
	"github.com/envseal/envseal/internal/policy"
)

var (
	// ErrNothingRequested: no secret was named and no .envseal file was
	// found from the working directory up.
	ErrNothingRequested = errors.New("no secrets requested and no .envseal file found")
	// ErrNoGrants: the .envseal file maps no secrets.
	ErrNoGrants = errors.New("maps no secrets")
)

// SpecError is a flag value that is not of the form the flag wants.
type SpecError struct{ Flag, Spec, Want string }

func (e *SpecError) Error() string { return fmt.Sprintf("%s %q: want %s", e.Flag, e.Spec, e.Want) }

// FindError is a .envseal file that was found but cannot be used (a
// symlink, not a regular file).
type FindError struct{ Err error }

func (e *FindError) Error() string { return e.Err.Error() }
func (e *FindError) Unwrap() error { return e.Err }

// Flags are the secrets `envseal run` names on its command line.
type Flags struct {
	Secrets     []string // --secret ENV=NAME, or NAME for ENV=EnvName(NAME)
	FileSecrets []string // --file-secret ENV=NAME
	StdinSecret string   // --stdin-secret NAME
	Templates   []string // --template-file ENV=TEMPLATE
	EnvsealFile string   // --envseal-file PATH
}

// Grants are the secrets f asks for: those named by the flags, and the
// .envseal file's mappings when the flags name none (the nearest one from
// cwd up) or name the file.
func (f *Flags) Grants(cwd string) ([]policy.Grant, error) {
	var gs []policy.Grant
	for _, s := range f.Secrets {
		env, name, ok := strings.Cut(s, "=")
		if !ok {
			name, env = s, EnvName(s)
		}
		if env == "" || name == "" {
			return nil, &SpecError{"--secret", s, "ENV=NAME or NAME"}
		}
		gs = append(gs, policy.Grant{Secret: name, Delivery: policy.DeliverEnv, Env: env})
	}
	for _, s := range f.FileSecrets {
		env, name, ok := strings.Cut(s, "=")
		if !ok || env == "" || name == "" {
			return nil, &SpecError{"--file-secret", s, "ENV=NAME"}
		}
		gs = append(gs, policy.Grant{Secret: name, Delivery: policy.DeliverFD, Env: env})
	}
	if f.StdinSecret != "" {
		gs = append(gs, policy.Grant{Secret: f.StdinSecret, Delivery: policy.DeliverStdin})
	}
	for _, s := range f.Templates {
		env, path, ok := strings.Cut(s, "=")
		if !ok || env == "" || path == "" {
			return nil, &SpecError{"--template-file", s, "ENV=TEMPLATE"}
		}
	}
	if (len(gs) > 0 || len(f.Templates) > 0) && f.EnvsealFile == "" {
		return gs, nil
	}
	path := f.EnvsealFile
	if path == "" {
		p, err := envfile.Find(cwd)
		if errors.Is(err, envfile.ErrNotFound) {
			return nil, ErrNothingRequested
		}
		if err != nil {
			return nil, &FindError{err}
		}
		path = p
	}
	more, err := Envseal(path)
	if err != nil {
		return nil, err
	}
	return append(gs, more...), nil
}

// Envseal reads the .envseal file at path as environment grants; a file
// that maps none is an error (ErrNoGrants).
func Envseal(path string) ([]policy.Grant, error) {
	ms, err := envfile.Load(path)
	if err != nil {
		return nil, err
	}
	var gs []policy.Grant
	for _, m := range ms {
		gs = append(gs, policy.Grant{Secret: m.Secret, Delivery: policy.DeliverEnv, Env: m.Env})
	}
	if len(gs) == 0 {
		return nil, fmt.Errorf("%s %w", path, ErrNoGrants)
	}
	return gs, nil
}

// TemplateList is f's --template-file flags, paths made absolute (the
// checkpoint resolves symlinks, reads and pins them). Grants has checked
// their form.
func (f *Flags) TemplateList(cwd string) []policy.Template {
	var out []policy.Template
	for _, s := range f.Templates {
		env, path, _ := strings.Cut(s, "=")
		if !filepath.IsAbs(path) {
			path = filepath.Join(cwd, path)
		}
		out = append(out, policy.Template{Env: env, Path: filepath.Clean(path)})
	}
	return out
}

// EnvName is the variable a secret named alone is delivered in: NAME
// upper-cased with '-' and '.' turned into '_'.
func EnvName(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '.' {
			return '_'
		}
		return r
	}, strings.ToUpper(name))
}

// Canonical makes paths (--rw directories, --pin files and trees)
// absolute (relative to cwd) and canonical, so the rule records the path
// that is really meant.
func Canonical(cwd string, paths []string) []string {
	var out []string
	for _, d := range paths {
		if !filepath.IsAbs(d) {
			d = filepath.Join(cwd, d)
		}
		if r, err := filepath.EvalSymlinks(d); err == nil {
			d = r
		}
		out = append(out, filepath.Clean(d))
	}
	return out
}
