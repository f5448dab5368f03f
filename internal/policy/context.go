package policy

import (
	"slices"
	"strings"
)

// File is one file of a run's closure: something the program reads or
// executes from a place the agent can write. SHA256 is empty for a file
// that was absent when the rule was made: its appearing (a new git hook, a
// module that would shadow another) changes the run as much as an edit.
type File struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256,omitempty"`
	// Text is the content of a small text file, kept (sealed, like the
	// rest of the policy) so a later approval can show a diff.
	Text string `json:"text,omitempty"`
}

// Absent reports whether the file did not exist.
func (f File) Absent() bool { return f.SHA256 == "" }

// SameContext reports whether q runs in exactly the context r was
// approved for: same working directory, same environment, same closure.
func (r *Rule) SameContext(q Query) bool {
	if r.Cwd == "" || r.Cwd != q.Cwd || !slices.Equal(r.Env, q.Env) || len(r.Files) != len(q.Files) {
		return false
	}
	for i := range r.Files {
		if r.Files[i].Path != q.Files[i].Path || r.Files[i].SHA256 != q.Files[i].SHA256 {
			return false
		}
	}
	return true
}

// ContextDiff says how q's context differs from r's, for the approval
// screen: the working directory, the environment variables whose value
// changed (or that came or went), and the files that changed.
type ContextDiff struct {
	Cwd   [2]string // old, new; both empty when unchanged
	Env   []EnvChange
	Files []FileChange
}

// EnvChange is one environment variable that differs.
type EnvChange struct {
	Name     string
	Old, New string
	WasSet   bool
	IsSet    bool
}

// FileChange is one closure file that differs.
type FileChange struct {
	Path     string
	Old, New File
}

// Empty reports whether nothing differs.
func (d ContextDiff) Empty() bool {
	return d.Cwd == [2]string{} && len(d.Env) == 0 && len(d.Files) == 0
}

// DiffContext compares q's context with r's.
func (r *Rule) DiffContext(q Query) ContextDiff {
	var d ContextDiff
	if r.Cwd != q.Cwd {
		d.Cwd = [2]string{r.Cwd, q.Cwd}
	}
	oldEnv, newEnv := envMap(r.Env), envMap(q.Env)
	for _, name := range unionKeys(oldEnv, newEnv) {
		o, wasSet := oldEnv[name]
		n, isSet := newEnv[name]
		if wasSet != isSet || o != n {
			d.Env = append(d.Env, EnvChange{Name: name, Old: o, New: n, WasSet: wasSet, IsSet: isSet})
		}
	}
	oldF, newF := fileMap(r.Files), fileMap(q.Files)
	for _, p := range unionKeys(oldF, newF) {
		o, wasThere := oldF[p]
		n, isThere := newF[p]
		if wasThere != isThere || o.SHA256 != n.SHA256 {
			if !wasThere {
				o = File{Path: p}
			}
			if !isThere {
				n = File{Path: p}
			}
			d.Files = append(d.Files, FileChange{Path: p, Old: o, New: n})
		}
	}
	return d
}

func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func fileMap(fs []File) map[string]File {
	m := make(map[string]File, len(fs))
	for _, f := range fs {
		m[f.Path] = f
	}
	return m
}

func unionKeys[V any](a, b map[string]V) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
