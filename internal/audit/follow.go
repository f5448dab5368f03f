package audit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/envseal/envseal/internal/seal"
)

// Entry is one line of the log as read for display: its record and
// fields, or why it could not be read.
type Entry struct {
	Raw    []byte
	Record Record
	Fields map[string]any
	Err    error
}

// ParseEntry reads one line of the log (without its newline).
func ParseEntry(line []byte) *Entry {
	e := &Entry{Raw: line}
	e.Record, e.Err = ParseRecord(line)
	if e.Err == nil {
		e.Fields, e.Err = e.Record.FieldMap()
	}
	return e
}

// ParseSince reads the age of a Filter's Since as `audit show --since`
// takes it: a Go duration ("90m", "36h") or a whole number of days
// ("7d", at most 100000); a negative one is refused.
func ParseSince(s string) (time.Duration, bool) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 || n > 100000 {
			return 0, false
		}
		return time.Duration(n) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, false
	}
	return d, true
}

// Filter picks the entries `envseal audit show` prints: those about one
// secret, those since a time; the zero Filter keeps every entry.
type Filter struct {
	Secret string
	Since  time.Time
}

// Keep reports whether e passes the filter. A line that cannot be read
// passes only the zero Filter: what it is about is unknown.
func (f Filter) Keep(e *Entry) bool {
	if e.Err != nil {
		return f.Secret == "" && f.Since.IsZero()
	}
	return (f.Since.IsZero() || !e.Record.Time.Before(f.Since)) && (f.Secret == "" || AboutSecret(e.Fields, f.Secret))
}

// Entries parses data, whole lines of the log, and keeps those f keeps.
func (f Filter) Entries(data []byte) []*Entry {
	data = bytes.TrimSuffix(data, []byte("\n"))
	if len(data) == 0 {
		return nil
	}
	var out []*Entry
	for _, line := range bytes.Split(data, []byte("\n")) {
		if e := ParseEntry(line); f.Keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// AboutSecret reports whether a record's fields concern secret name:
// "secret", "secrets" and "leaks" are where events name secrets.
func AboutSecret(fields map[string]any, name string) bool {
	if fields["secret"] == name {
		return true
	}
	if l, ok := fields["secrets"].([]any); ok && slices.Contains(l, any(name)) {
		return true
	}
	if m, ok := fields["leaks"].(map[string]any); ok {
		if _, ok := m[name]; ok {
			return true
		}
	}
	return false
}

// followEvery is how often Follow looks for new records.
const followEvery = 250 * time.Millisecond

// Follow hands each batch of records appended to the log after off in
// file (a Snapshot) that f keeps to each, until ctx ends (not an error).
// When the log is moved aside it calls movedAside and follows the new one
// from its start. A line still being written waits for its newline.
func (l *Log) Follow(ctx context.Context, file *os.File, off int64, f Filter, movedAside func(), each func([]*Entry) error) error {
	tick := time.NewTicker(followEvery)
	defer tick.Stop()
	defer func() { file.Close() }()
	var partial []byte
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if cur, err := os.Stat(l.Path()); err == nil {
			if old, err := file.Stat(); err == nil && !os.SameFile(cur, old) {
				movedAside()
				nf, _, err := l.Snapshot()
				if err != nil {
					return err
				}
				file.Close()
				file, off, partial = nf, 0, nil
			}
		}
		fi, err := file.Stat()
		if err != nil || fi.Size() <= off {
			continue
		}
		buf := make([]byte, fi.Size()-off)
		n, _ := file.ReadAt(buf, off)
		off += int64(n)
		partial = append(partial, buf[:n]...)
		cut := bytes.LastIndexByte(partial, '\n') + 1
		out := f.Entries(partial[:cut])
		partial = append(partial[:0], partial[cut:]...)
		if err := each(out); err != nil {
			return err
		}
	}
}

// Shown is what `envseal audit show` reads of the log at one moment.
type Shown struct {
	// Entries are the records f kept, the last n only when n > 0.
	Entries []*Entry
	// Records is how many records the log holds; VerifyErr is what the
	// hash-chain check without the key found (nil: the chain is whole).
	// It catches damage, not a deliberate rewrite: Verify with the key
	// does that.
	Records   int
	VerifyErr error
	// File and Size are the snapshot, for Follow to go on from; the
	// caller closes File.
	File *os.File
	Size int64
}

// Show reads the log as it is now, checks its hash chain without the key,
// and keeps the records f keeps (the last n when n > 0). A log that does
// not exist yet is an fs.ErrNotExist.
func (l *Log) Show(f Filter, n int) (*Shown, error) {
	file, size, err := l.Snapshot()
	if err != nil {
		return nil, err
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(file, data); err != nil {
		file.Close()
		return nil, fmt.Errorf("read %s: %w", l.Path(), err)
	}
	sum, verr := Verify(bytes.NewReader(data), seal.Key{})
	out := f.Entries(data)
	if n > 0 && len(out) > n {
		out = out[len(out)-n:]
	}
	return &Shown{Entries: out, Records: sum.Records, VerifyErr: verr, File: file, Size: size}, nil
}
