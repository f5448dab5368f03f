package detect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// MaxFileSize is the largest file scanned; a larger one is skipped with a
// notice (a 10 MiB text file is data, not configuration).
const MaxFileSize = 10 << 20

// binarySniff is how much of a file is checked for a NUL byte: a file with
// one there is binary and skipped, as git and grep decide.
const binarySniff = 8 << 10

// Skipped is a file that was not scanned, and why. Notice is set when a
// human should hear about it (a file too large, one that could not be
// read); binary files and symlinks are skipped quietly.
type Skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
	Notice bool   `json:"-"`
}

// Result is what a scan found.
type Result struct {
	Findings []Finding
	Skipped  []Skipped
	Files    int // files scanned
}

// WalkOptions configures ScanPaths.
type WalkOptions struct {
	// SkipDirs are never entered (the vault directory: its files are
	// ciphertext, and scanning them is pointless and noisy).
	SkipDirs []string
	// MaxSize overrides MaxFileSize when > 0.
	MaxSize int64
}

// skipDirNames are directory names never descended into.
var skipDirNames = map[string]bool{".git": true, "node_modules": true}

// Scan is what `envseal scan` looks at: paths (default ".", unless only
// the history is asked for) and, with history, the shells' history files
// of this user (ScanHistoryFiles).
func Scan(paths []string, history bool, o WalkOptions) (*Result, error) {
	if len(paths) == 0 && !history {
		paths = []string{"."}
	}
	res := &Result{}
	if len(paths) > 0 {
		r, err := ScanPaths(paths, o)
		if err != nil {
			return nil, err
		}
		res = r
	}
	if history {
		home, _ := os.UserHomeDir()
		res.ScanHistoryFiles(home, os.Getenv)
	}
	return res, nil
}

// ScanPaths scans files and, recursively, directories. Symlinks are not
// followed (a link named on the command line is skipped too): a link
// could lead the scan, and an --import rewrite, outside the tree.
func ScanPaths(paths []string, o WalkOptions) (*Result, error) {
	if o.MaxSize <= 0 {
		o.MaxSize = MaxFileSize
	}
	skip := map[string]bool{}
	for _, d := range o.SkipDirs {
		if a, err := filepath.Abs(d); err == nil {
			skip[a] = true
		}
	}
	r := &Result{}
	for _, root := range paths {
		fi, err := os.Lstat(root)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			r.scanFile(root, fi, o.MaxSize)
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				r.Skipped = append(r.Skipped, Skipped{Path: p, Reason: errReason(err), Notice: true})
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				if p != root && skipDirNames[d.Name()] {
					return fs.SkipDir
				}
				if a, err := filepath.Abs(p); err == nil && skip[a] {
					return fs.SkipDir
				}
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return nil // gone meanwhile
			}
			r.scanFile(p, fi, o.MaxSize)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Line < b.Line
	})
	return r, nil
}

func errReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return err.Error()
}

func (r *Result) scanFile(p string, fi fs.FileInfo, maxSize int64) {
	if !fi.Mode().IsRegular() {
		if fi.Mode()&fs.ModeSymlink != 0 {
			r.Skipped = append(r.Skipped, Skipped{Path: p, Reason: "symlink, not followed"})
		}
		return
	}
	if fi.Size() > maxSize {
		r.Skipped = append(r.Skipped, Skipped{Path: p, Reason: fmt.Sprintf("larger than %d MiB", maxSize>>20), Notice: true})
		return
	}
	data, err := ReadFile(p, maxSize)
	if err != nil {
		r.Skipped = append(r.Skipped, Skipped{Path: p, Reason: errReason(err), Notice: true})
		return
	}
	defer clear(data)
	if IsBinary(data) {
		r.Skipped = append(r.Skipped, Skipped{Path: p, Reason: "binary"})
		return
	}
	r.Files++
	r.Findings = append(r.Findings, ScanText(p, data)...)
}

// ErrTooLarge is returned by ReadFile for a file over the limit.
var ErrTooLarge = errors.New("file too large to scan")

// ReadFile reads a regular file, not following a symlink, up to max bytes.
func ReadFile(p string, max int64) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		clear(b)
		return nil, fmt.Errorf("%s: %w (over %d MiB)", p, ErrTooLarge, max>>20)
	}
	return b, nil
}

// IsBinary reports whether data has a NUL byte in its first 8 KiB.
func IsBinary(data []byte) bool {
	return bytes.IndexByte(data[:min(len(data), binarySniff)], 0) >= 0
}

// Wipe clears the values of every finding in memory.
func (r *Result) Wipe() {
	for i := range r.Findings {
		r.Findings[i].Wipe()
	}
}

// WriteJSON writes r as `envseal scan --json` does: an indented object of
// the findings (locations and kinds, never values) and the skipped files,
// each an array even when empty.
func (r *Result) WriteJSON(w io.Writer) error {
	out := struct {
		Findings []Finding `json:"findings"`
		Skipped  []Skipped `json:"skipped"`
	}{r.Findings, r.Skipped}
	if out.Findings == nil {
		out.Findings = []Finding{}
	}
	if out.Skipped == nil {
		out.Skipped = []Skipped{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
