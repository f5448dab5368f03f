package shellhook

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/envseal/envseal/internal/detect"
)

// The bash hook is a DEBUG trap: BASH_COMMAND is the simple command about
// to run; its regex keeps ordinary commands from starting a process, and
// __envseal_last stops a loop body from warning on every turn. zsh and
// fish get the whole line from a preexec hook.
//
//go:embed hook.bash hook.zsh hook.fish
var scripts embed.FS

// Shells are the shells there is a hook for.
var Shells = []string{"bash", "zsh", "fish"}

// ErrUnknownShell is a shell with no hook.
var ErrUnknownShell = errors.New("unknown shell")

// Script is the hook for shell, calling envseal at self.
func Script(shell, self string) (string, error) {
	b, err := scripts.ReadFile("hook." + shell)
	if err != nil || strings.Contains(shell, "/") {
		return "", fmt.Errorf("%w %q", ErrUnknownShell, shell)
	}
	return strings.Replace(string(b), "@ENVSEAL@", quote(self), 1), nil
}

// quote quotes s for bash, zsh and fish alike: single quotes, with each '
// written as '\” (fish accepts that too).
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// MaxLine bounds what Check reads: a command line is short; a pasted blob
// is not worth scanning past this.
const MaxLine = 64 << 10

// Warning is one likely secret on a command line: what it looks like, and
// the secret name to store it under. Never the value.
type Warning struct {
	What string // "a GitHub token in GH_TOKEN", "a key-like value"
	Name string
}

// Check reads one command line from r and says what in it looks like a
// secret, each suggested name once.
func Check(r io.Reader) []Warning {
	line, _ := io.ReadAll(io.LimitReader(r, MaxLine))
	defer clear(line)
	fs := detect.ScanText("command line", bytes.TrimRight(line, "\n"))
	defer func() {
		for i := range fs {
			fs[i].Wipe()
		}
	}()
	var ws []Warning
	seen := map[string]bool{}
	for i := range fs {
		f := &fs[i]
		name := detect.SuggestName(f, "")
		if seen[name] {
			continue
		}
		seen[name] = true
		what := "a key-like value"
		if d := detect.ProviderDescription(f.Kind); d != "" {
			what = "a " + d
		}
		if f.Name != "" {
			what += " in " + f.Name
		}
		ws = append(ws, Warning{What: what, Name: name})
	}
	return ws
}
