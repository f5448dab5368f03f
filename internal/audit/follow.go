package audit

import (
	"bytes"
	"context"
	"os"
	"slices"
	"time"
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
