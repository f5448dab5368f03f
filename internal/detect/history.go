package detect

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Shell history formats.
const (
	HistoryBash = "bash"
	HistoryZsh  = "zsh"
	HistoryFish = "fish"
)

// HistoryFile is a shell history file and its format.
type HistoryFile struct {
	Path   string
	Format string
}

// HistoryFiles lists the history files of bash ($HISTFILE,
// ~/.bash_history), zsh ($HISTFILE, $ZDOTDIR/.zsh_history,
// ~/.zsh_history) and fish ($XDG_DATA_HOME/fish/fish_history), whether or
// not they exist. $HISTFILE's format is guessed from its name.
func HistoryFiles(home string, getenv func(string) string) []HistoryFile {
	var out []HistoryFile
	seen := map[string]bool{}
	add := func(p, format string) {
		if p == "" || seen[p] {
			return
		}
		seen[p] = true
		out = append(out, HistoryFile{Path: p, Format: format})
	}
	if h := getenv("HISTFILE"); h != "" && filepath.IsAbs(h) {
		f := HistoryBash
		if bytes.Contains([]byte(filepath.Base(h)), []byte("zsh")) {
			f = HistoryZsh
		}
		add(h, f)
	}
	if home != "" {
		add(filepath.Join(home, ".bash_history"), HistoryBash)
	}
	if z := getenv("ZDOTDIR"); z != "" && filepath.IsAbs(z) {
		add(filepath.Join(z, ".zsh_history"), HistoryZsh)
	}
	if home != "" {
		add(filepath.Join(home, ".zsh_history"), HistoryZsh)
	}
	data := getenv("XDG_DATA_HOME")
	if data == "" || !filepath.IsAbs(data) {
		if home == "" {
			return out
		}
		data = filepath.Join(home, ".local", "share")
	}
	add(filepath.Join(data, "fish", "fish_history"), HistoryFish)
	return out
}

// ScanHistory finds likely secrets in a history file's contents. Lines and
// columns are those of the file; spans are byte offsets in data, so that
// a value can be replaced in place.
//
//   - bash: one command per line (and "#<time>" lines), scanned as text.
//   - zsh: ": <start>:<elapsed>;<command>" with EXTENDED_HISTORY, else the
//     command alone; bytes 0x83-0x9f and a few others are "metafied" as
//     0x83 followed by the byte XOR 0x20, undone before matching so a
//     value is found (and stored) as the shell ran it.
//   - fish: YAML-like "- cmd: <command>" entries; only the commands are
//     scanned ("when:" and "paths:" lines are not commands).
func ScanHistory(h HistoryFile, data []byte) []Finding {
	switch h.Format {
	case HistoryZsh:
		return scanLines(h, data, unmetafy)
	case HistoryFish:
		return scanLines(h, data, fishCommand)
	default:
		return ScanText(h.Path, data)
	}
}

// zshMeta is zsh's metafication marker.
const zshMeta = 0x83

// unmetafy returns the command text of a zsh history line and, for each
// of its bytes, the offset in line it came from (plus one final entry for
// the end).
func unmetafy(line []byte) ([]byte, []int) {
	text := make([]byte, 0, len(line))
	idx := make([]int, 0, len(line)+1)
	for i := 0; i < len(line); i++ {
		idx = append(idx, i)
		if line[i] == zshMeta && i+1 < len(line) {
			i++
			text = append(text, line[i]^0x20)
			continue
		}
		text = append(text, line[i])
	}
	idx = append(idx, len(line))
	return text, idx
}

var fishCmdPrefix = []byte("- cmd: ")

// fishCommand returns the command of a "- cmd: " line (nil for any other
// line), with offsets into line.
func fishCommand(line []byte) ([]byte, []int) {
	if !bytes.HasPrefix(line, fishCmdPrefix) {
		return nil, nil
	}
	n := len(fishCmdPrefix)
	idx := make([]int, len(line)-n+1)
	for i := range idx {
		idx[i] = n + i
	}
	return line[n:], idx
}

// scanLines scans each line through a transform that returns the text to
// match and, for each byte of it, its offset in the line.
func scanLines(h HistoryFile, data []byte, transform func([]byte) ([]byte, []int)) []Finding {
	var out []Finding
	eachLine(data, func(n, off int, line []byte) {
		text, idx := transform(line)
		for _, m := range ScanLine(text) {
			s, e := idx[m.Start], idx[m.End]
			f := finding(h.Path, n, s+1, m.Kind, m.Name, data, off+s, off+e)
			// The value is the command's bytes, not the metafied ones.
			copy(f.value, text[m.Start:m.End])
			f.value = f.value[:m.End-m.Start]
			f.zsh = h.Format == HistoryZsh
			out = append(out, f)
		}
	})
	return out
}

// ScanHistoryFiles adds the findings of the shell history files under home
// (HistoryFiles) to r. A history file that is a symlink or cannot be read
// is Skipped with a notice; one that does not exist is not mentioned.
func (r *Result) ScanHistoryFiles(home string, getenv func(string) string) {
	for _, h := range HistoryFiles(home, getenv) {
		fi, err := os.Lstat(h.Path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil && !fi.Mode().IsRegular() {
			r.Skipped = append(r.Skipped, Skipped{Path: h.Path, Reason: "not a regular file (a symlink?), not followed", Notice: true})
			continue
		}
		data, err := ReadFile(h.Path, MaxFileSize)
		if err != nil {
			r.Skipped = append(r.Skipped, Skipped{Path: h.Path, Reason: err.Error(), Notice: true})
			continue
		}
		r.Files++
		r.Findings = append(r.Findings, ScanHistory(h, data)...)
		clear(data)
	}
}
