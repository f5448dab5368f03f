package approve

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Warnings lists what the human should think twice about before approving
// r. The texts are sanitized and safe to print. Text shows them; they are
// exported for the audit log and for callers that want to refuse
// "allow always" on some of them.
func Warnings(r *Request) []string {
	var out []string
	add := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		for _, o := range out {
			if o == s {
				return
			}
		}
		out = append(out, s)
	}
	if r.Store != nil {
		// Nothing runs: the program checks below have nothing to look at
		// (an empty path is not "not absolute").
		return nil
	}
	path := clean(r.Path, false).text

	if r.PrevSHA256 != "" && r.PrevSHA256 != r.SHA256 {
		add("the program changed since you approved it: sha256 was %s, now %s",
			clean(r.PrevSHA256, false).text, clean(r.SHA256, false).text)
	}
	if r.PrevInterpreterSHA256 != "" && r.PrevInterpreterSHA256 != r.InterpreterSHA256 {
		add("the interpreter changed since you approved it: sha256 was %s, now %s",
			clean(r.PrevInterpreterSHA256, false).text, clean(r.InterpreterSHA256, false).text)
	}
	if !filepath.IsAbs(r.Path) {
		add("the program path %s is not absolute", path)
	}

	// Files an agent can write: the approval pins their hash, but the human
	// should know the bytes may be the agent's own.
	what := "program"
	if r.Interpreter != "" {
		what = "script"
	}
	for _, f := range []struct{ what, p string }{{what, r.Path}, {"interpreter", r.Interpreter}} {
		if f.p == "" {
			continue
		}
		p := clean(f.p, false).text
		if dir := tempDirOf(f.p); dir != "" {
			add("the %s %s is in the temporary directory %s, where anyone can put files", f.what, p, dir)
		}
		if r.Cwd != "" && within(f.p, r.Cwd) {
			add("the %s %s is inside the working directory, which the requesting agent can edit", f.what, p)
		}
		if why := userWritable(f.p); why != "" {
			add("the %s %s %s: an agent running as you could have written it; check the hash", f.what, p, why)
		}
	}

	if r.Interpreter != "" {
		add("this is a #! script run by %s: the script and interpreter are pinned by hash, files the script loads are not",
			clean(r.Interpreter, false).text)
	}
	for _, s := range commandWarnings(r.Path, r.Argv, 0, 0) {
		add("%s", s)
	}
	return out
}

// tempDirOf returns the world-writable temporary directory p is under, or "".
func tempDirOf(p string) string {
	for _, d := range []string{"/tmp", "/var/tmp", "/dev/shm", os.TempDir()} {
		if within(p, d) {
			return clean(d, false).text
		}
	}
	return ""
}

// within reports whether p is dir or below it, lexically.
func within(p, dir string) bool {
	if dir == "" || !filepath.IsAbs(p) {
		return false
	}
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(p))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
