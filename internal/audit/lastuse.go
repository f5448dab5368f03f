package audit

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"time"
)

// LastUseScan bounds how much of the log's tail LastUse reads: about
// 2,000 runs' records, at a cost `envseal list` can pay every time (a few
// ms; BenchmarkLastUse1M).
const LastUseScan = 4 << 20

// lastUseChunk is how much LastUse reads at a time, newest first.
const lastUseChunk = 1 << 20

var (
	// RunStarted as it appears in a line, split at its rare '_': the tail
	// is searched for, the head before it checked separately.
	runStartedTag = []byte(string(RunStarted)[len("run"):] + `","fields":{`)
	runEventKey   = []byte(`,"event":"` + string(RunStarted)[:len("run")])
	secretsTag    = []byte(`"secrets":[`)
	keyedEnd      = []byte(`"}`) // a keyed line ends with the MAC's closing quote; an unkeyed one with null}
)

// LastUse returns, for each secret in names, the time of the latest keyed
// run_started record naming it, reading the log backwards and stopping when
// every name is found or LastUseScan bytes were read. The records' MACs are
// not checked (no key is needed), so the answer is informational (what
// `envseal list` shows), not attested; `envseal audit verify` attests.
// Unkeyed records, which any process can append, are ignored. A missing
// log is an empty answer. complete is false when the scan stopped at the
// bound with names not found: their last use may be older.
func (l *Log) LastUse(names []string) (uses map[string]time.Time, complete bool, err error) {
	uses = map[string]time.Time{}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	f, size, err := l.Snapshot()
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return uses, true, nil
		}
		return nil, false, err
	}
	defer f.Close()
	floor := max(0, size-LastUseScan)
	end := size
	// carry is the start of a line cut by the previous (later) chunk; it
	// is appended after the next read. Lines are at most MaxLine bytes, so
	// a buffer with that much room never reallocates.
	var carry []byte
	buf := make([]byte, lastUseChunk+MaxLine+1)
	for end > floor && len(uses) < len(want) {
		start := max(floor, end-lastUseChunk)
		n := int(end - start)
		chunk := append(buf[:n], carry...) // carry is a clone: no overlap
		if _, err := f.ReadAt(chunk[:n], start); err != nil && err != io.EOF {
			return nil, false, err
		}
		// Lines wholly inside chunk begin after its first newline (unless
		// the chunk starts the file or the scan).
		first := 0
		if start > 0 {
			i := bytes.IndexByte(chunk, '\n')
			if i < 0 {
				carry = bytes.Clone(chunk)
				end = start
				continue
			}
			first = i + 1
		}
		lastUseLines(chunk[first:], want, uses)
		carry = bytes.Clone(chunk[:first])
		end = start
	}
	return uses, len(uses) == len(want) || floor == 0, nil
}

// lastUseLines records, from the whole lines in b, the latest keyed run of
// each wanted secret not yet in uses (lines are visited newest first).
func lastUseLines(b []byte, want map[string]bool, uses map[string]time.Time) {
	// Find the run_started lines forwards (bytes.Index is vectorised,
	// LastIndex is not), then take them newest first.
	var spans [][2]int
	for off := 0; off < len(b); {
		i := bytes.Index(b[off:], runStartedTag)
		if i < 0 {
			break
		}
		i += off
		if !bytes.HasSuffix(b[:i], runEventKey) {
			off = i + 1
			continue
		}
		ls := bytes.LastIndexByte(b[:i], '\n') + 1
		le := len(b)
		if j := bytes.IndexByte(b[i:], '\n'); j >= 0 {
			le = i + j
		}
		spans = append(spans, [2]int{ls, le})
		off = le + 1
	}
	for k := len(spans) - 1; k >= 0; k-- {
		line := b[spans[k][0]:spans[k][1]]
		if !bytes.HasSuffix(line, keyedEnd) {
			continue // unkeyed (…"mac":null}) or damaged
		}
		t, ok := recordTime(line)
		if !ok {
			continue
		}
		i := bytes.Index(line, secretsTag)
		if i < 0 {
			continue
		}
		rest := line[i+len(secretsTag):]
		stop := bytes.IndexByte(rest, ']')
		if stop < 0 {
			continue
		}
		// Names are [A-Za-z0-9._-]: no escapes inside the quotes.
		for _, q := range bytes.Split(rest[:stop], []byte{','}) {
			if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
				continue
			}
			name := string(q[1 : len(q)-1])
			if want[name] {
				if _, seen := uses[name]; !seen {
					uses[name] = t
				}
			}
		}
	}
}

// recordTime reads the time of a line that starts {"seq":N,"time":"…".
func recordTime(line []byte) (time.Time, bool) {
	const pre = `"time":"`
	i := bytes.Index(line, []byte(pre))
	if i < 0 || i > 40 || len(line) < i+len(pre)+30 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(line[i+len(pre):i+len(pre)+30]))
	return t, err == nil
}
