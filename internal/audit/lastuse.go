package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"time"
)

// LastUseScan bounds how much of the log's tail LastUse reads: enough for
// months of ordinary use, and a fixed cost on a huge log.
const LastUseScan = 64 << 20

// LastUse returns, for each secret named in a run_started record within
// the last LastUseScan bytes of the log, the time of its latest run. The
// records' MACs are not checked (no key is needed), so the answer is
// informational (what `envseal list` shows), not attested; `envseal audit
// verify` attests. Unkeyed records are ignored. A
// missing log is an empty answer. complete is false when the log is larger
// than what was read (older uses are not reported).
func (l *Log) LastUse() (uses map[string]time.Time, complete bool, err error) {
	uses = map[string]time.Time{}
	f, size, err := l.Snapshot()
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return uses, true, nil
		}
		return nil, false, err
	}
	defer f.Close()
	start := max(0, size-LastUseScan)
	buf := make([]byte, size-start)
	if _, err := f.ReadAt(buf, start); err != nil && err != io.EOF {
		return nil, false, err
	}
	if start > 0 {
		// Drop the partial first line.
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		} else {
			buf = nil
		}
	}
	needle := []byte(`"event":"run_started"`)
	for len(buf) > 0 {
		line := buf
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			line, buf = buf[:i], buf[i+1:]
		} else {
			buf = nil
		}
		if !bytes.Contains(line, needle) {
			continue
		}
		r, err := ParseRecord(line)
		// Runs are always recorded with the key; an unkeyed run_started
		// is something another process appended, and does not count.
		if err != nil || r.Event != "run_started" || !r.Keyed() {
			continue
		}
		var fl struct {
			Secrets []string `json:"secrets"`
		}
		if json.Unmarshal(r.Fields, &fl) != nil {
			continue
		}
		for _, s := range fl.Secrets {
			if r.Time.After(uses[s]) {
				uses[s] = r.Time
			}
		}
	}
	return uses, start == 0, nil
}
