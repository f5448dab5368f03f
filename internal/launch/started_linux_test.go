package launch

import (
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/seal"
)

// Request.Started gets the child's own pid (the broker opens a pidfd on
// it to forward signals), once, before the run is over.
func TestStartedGetsTheChildsPID(t *testing.T) {
	e := newCtxEnv(t)
	var mu sync.Mutex
	var pids []int
	started := func(r *Request) {
		r.Started = func(pid int) { mu.Lock(); pids = append(pids, pid); mu.Unlock() }
	}
	cwd := t.TempDir()
	out := e.allowAlways(cwd, []string{"/bin/sh", "-c", "echo $$"}, started)
	got, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("child printed %q", out)
	}
	mu.Lock()
	defer mu.Unlock()
	// allowAlways runs twice (the second run is its control).
	if len(pids) != 2 || pids[0] != got {
		t.Fatalf("Started saw %v; the first child's pid was %d", pids, got)
	}
}

type scanAudit struct {
	mu    sync.Mutex
	kinds []audit.Event
	f     []map[string]any
}

func (a *scanAudit) Event(_ seal.Key, kind audit.Event, f map[string]any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.kinds, a.f = append(a.kinds, kind), append(a.f, f)
}

// ScanValues finds a stored value in content by name and offset (never
// the value), and audits one value_scan; Readable opens a stored secret
// and refuses a missing one.
func TestCheckpointScanValues(t *testing.T) {
	e := newCtxEnv(t)
	au := &scanAudit{}
	cp := New(Config{Vault: e.v, Unlock: func() (seal.Key, error) { return e.v.Unlock([]byte("pw")) }, Audit: au})
	content := []byte("a = 1\ntoken = " + ctxValue + "\n")
	res, err := cp.ScanValues(content, 4242)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Index(string(content), ctxValue)
	if res.Total != 1 || len(res.Hits) != 1 || res.Hits[0].Name != "TOKEN" || res.Hits[0].Offset != want || res.Secrets != 1 || len(res.Unreadable) != 0 {
		t.Fatalf("scan = %+v, want one hit of TOKEN at %d", res, want)
	}
	if len(au.kinds) != 1 || au.kinds[0] != audit.ValueScan || au.f[0]["pid"] != 4242 || au.f[0]["hits"] != 1 {
		t.Fatalf("audit = %v %v, want one value_scan", au.kinds, au.f)
	}
	// Control: content without the value has no hit.
	if res, err := cp.ScanValues([]byte("nothing here\n"), 1); err != nil || res.Total != 0 {
		t.Fatalf("clean content: %+v %v", res, err)
	}
	if err := cp.Readable("TOKEN"); err != nil {
		t.Errorf("Readable(TOKEN) = %v", err)
	}
	if err := cp.Readable("NOPE"); err == nil {
		t.Errorf("Readable(NOPE) = nil, want an error")
	}
}
