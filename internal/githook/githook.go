// Package githook is the pre-commit hook's check: it reads what a commit
// adds (`git diff --cached -U0`) and finds likely secrets (detect's scan
// rules) and the values of stored secrets in it. Values are matched by the
// checkpoint (launch.Checkpoint.ScanValues) of the broker when one answers
// and is unlocked, else of this process with the passphrase typed here;
// the hook learns names and offsets, never a value. It also writes and
// removes the hook script itself (install.go), never a hook it did not
// write.
package githook

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/detect"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/term"
	"github.com/envseal/envseal/internal/vault"
)

// File is what a commit adds to one file: its new lines, numbered.
type File struct {
	Path  string
	lines []int // line numbers in the new file
	Text  []byte
	// starts[i] is the offset in Text of line i.
	starts []int
}

// Wipe clears the added text.
func (f *File) Wipe() { clear(f.Text) }

// ParseDiff reads `git diff -U0` output: the file from "+++ b/PATH", the
// new line numbers from "@@ -a,b +c,d @@", the added lines from "+".
func ParseDiff(diff []byte) []*File {
	var files []*File
	var cur *File
	inHeader := false
	next := 0
	for _, l := range bytes.SplitAfter(diff, []byte("\n")) {
		line := bytes.TrimSuffix(l, []byte("\n"))
		switch {
		case bytes.HasPrefix(line, []byte("diff --git ")):
			inHeader, cur = true, nil
		case inHeader && bytes.HasPrefix(line, []byte("+++ ")):
			name := string(line[4:])
			if strings.HasPrefix(name, `"`) {
				if u, err := strconv.Unquote(name); err == nil {
					name = u
				}
			}
			if name == "/dev/null" {
				cur = nil
				continue
			}
			cur = &File{Path: strings.TrimPrefix(name, "b/")}
			files = append(files, cur)
		case bytes.HasPrefix(line, []byte("@@ ")):
			inHeader = false
			next = hunkStart(line)
		case !inHeader && cur != nil && len(line) > 0 && line[0] == '+':
			cur.starts = append(cur.starts, len(cur.Text))
			cur.lines = append(cur.lines, next)
			cur.Text = append(cur.Text, line[1:]...)
			cur.Text = append(cur.Text, '\n')
			next++
		case !inHeader && len(line) > 0 && line[0] == ' ':
			next++
		}
	}
	return files
}

// hunkStart returns c from "@@ -a,b +c,d @@".
func hunkStart(h []byte) int {
	i := bytes.Index(h, []byte(" +"))
	if i < 0 {
		return 0
	}
	rest := h[i+2:]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	n, _ := strconv.Atoi(string(rest[:j]))
	return n
}

// LineAt maps an offset in f.Text to the file's line number.
func (f *File) LineAt(off int) int {
	i := sort.SearchInts(f.starts, off+1) - 1
	if i < 0 {
		i = 0
	}
	return f.lines[i]
}

// ScanRules applies detect's scan rules to the added lines: one
// "PATH:LINE: likely secret: KIND" per finding.
func ScanRules(files []*File) []string {
	var problems []string
	for _, f := range files {
		for _, fd := range detect.ScanText(f.Path, f.Text) {
			s, _ := fd.Span()
			problems = append(problems, fmt.Sprintf("%s:%d: likely secret: %s", f.Path, f.LineAt(s), kindName(fd)))
			fd.Wipe()
		}
	}
	return problems
}

func kindName(f detect.Finding) string {
	if f.Name != "" {
		return f.Kind + " (" + f.Name + ")"
	}
	return f.Kind
}

// Checker finds stored secrets' values in the added lines.
type Checker struct {
	// Socket is the broker's socket ("" is the default).
	Socket string
	// Local is the direct path: its OpenVault opens the vault, its
	// checkpoint's Unlock asks the passphrase (term.ErrNoTTY when there
	// is no terminal to ask on).
	Local *client.Local
	// Warnf reports what was not checked, and why; never a value.
	Warnf func(format string, args ...any)
}

// StoredValues finds stored secrets' values in the added lines: through
// the broker if one answers and can scan (unlocked, within its budget),
// else with the passphrase typed here, else not at all (one warning
// saying so and how to fix it). One "PATH:LINE: value of stored secret
// NAME" per hit.
func (c *Checker) StoredValues(files []*File) ([]string, error) {
	var blob []byte
	var bases []int
	for _, f := range files {
		bases = append(bases, len(blob))
		blob = append(blob, f.Text...)
	}
	defer clear(blob)
	if len(blob) == 0 {
		return nil, nil
	}
	v, err := c.Local.OpenVault()
	if errors.Is(err, vault.ErrNotInitialized) {
		return nil, nil // no vault: nothing stored to find
	}
	if err != nil {
		return nil, err
	}
	if ents, err := v.List(); err == nil && len(ents) == 0 {
		return nil, nil
	}
	res, why, berr := c.viaBroker(blob)
	if berr != nil {
		res, err = c.Local.ScanValues(blob)
		if errors.Is(err, term.ErrNoTTY) {
			fix := "start 'envseal broker' in your own terminal, or commit from a terminal"
			if !errors.Is(berr, wire.ErrNoBroker) {
				fix = "commit from a terminal, or unlock the broker (its next run asks on its terminal)"
			}
			c.Warnf("the values of stored secrets were not checked (%s, and there is no terminal to ask the passphrase on); %s", why, fix)
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		for _, u := range res.Unreadable {
			if u.Err != nil {
				c.Warnf("secret %s could not be read and was not checked: %v", u.Name, u.Err)
			}
		}
	}
	var out []string
	for _, h := range res.Hits {
		i := sort.SearchInts(bases, h.Offset+1) - 1
		f := files[i]
		out = append(out, fmt.Sprintf("%s:%d: value of stored secret %s", f.Path, f.LineAt(h.Offset-bases[i]), h.Name))
	}
	return out, nil
}

// viaBroker asks a running, unlocked broker (the client cuts the content
// into pieces the broker takes). why says, for the warning, what failed.
func (c *Checker) viaBroker(blob []byte) (res *launch.ScanResult, why string, err error) {
	svc, err := client.Connect(client.Options{Socket: c.Socket})
	if err != nil {
		return nil, "no broker is running", err
	}
	res, err = svc.ScanValues(blob)
	if err != nil {
		return nil, strings.ReplaceAll(err.Error(), "\n", " "), err
	}
	return res, "", nil
}
