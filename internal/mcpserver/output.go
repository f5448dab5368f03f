package mcpserver

import (
	"fmt"
	"strings"
	"sync"
)

// capped keeps the first max bytes written to it and counts the rest. It
// never fails a write: a child blocked on a full pipe would hang until the
// timeout, and an error would make some children die mid-run.
type capped struct {
	mu      sync.Mutex
	max     int
	b       []byte
	dropped int64
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := c.max - len(c.b)
	if room > len(p) {
		room = len(p)
	}
	if room > 0 {
		c.b = append(c.b, p[:room]...)
	}
	c.dropped += int64(len(p) - room)
	return len(p), nil
}

// text is the kept output as valid UTF-8 (a child's garbage bytes become
// U+FFFD), with a marker when some was dropped.
func (c *capped) text() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := strings.ToValidUTF8(string(c.b), "\uFFFD")
	if c.dropped == 0 {
		return s, false
	}
	return s + fmt.Sprintf("\n[envseal: output truncated, %d more bytes not shown]", c.dropped), true
}
