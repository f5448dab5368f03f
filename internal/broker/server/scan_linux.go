package server

import (
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/detect"
	"github.com/envseal/envseal/internal/redact"
)

// The scan frame is an oracle ("does this text contain a stored value?"),
// so it is bounded: content at most wire.MaxScanSize, at most
// scanBudgetBytes and scanBudgetCount scans per scanWindow for the whole
// broker (whoever asks), one scan at a time, never an unlock prompt (a
// locked broker refuses), and one audit record per scan with the size and
// hit count.
const (
	scanWindow      = 10 * time.Minute
	scanBudgetBytes = 32 << 20
	scanBudgetCount = 120
)

// scanSeals must all be set on the content memfd: the broker reads bytes
// that cannot change under it, and F_GET_SEALS fails on anything but a
// memfd, so a FIFO or a file on a slow filesystem cannot stall the broker.
const scanSeals = unix.F_SEAL_WRITE | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW

// scanLimiter is the broker-wide budget of value scans.
type scanLimiter struct {
	busy sync.Mutex // one scan at a time: bounds memory to one blob
	mu   sync.Mutex
	log  []scanRecord
}

type scanRecord struct {
	at    time.Time
	bytes int64
}

// allow charges n bytes to the budget, or says how long to wait.
func (l *scanLimiter) allow(now time.Time, n int64) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	keep := l.log[:0]
	var total int64
	for _, r := range l.log {
		if now.Sub(r.at) < scanWindow {
			keep = append(keep, r)
			total += r.bytes
		}
	}
	l.log = keep
	if len(l.log) >= scanBudgetCount || total+n > scanBudgetBytes {
		wait := scanWindow
		if len(l.log) > 0 {
			wait = scanWindow - now.Sub(l.log[0].at)
		}
		return false, wait
	}
	l.log = append(l.log, scanRecord{at: now, bytes: n})
	return true, 0
}

// serveScan answers where stored values occur in the content sent.
func (s *Server) serveScan(c *net.UnixConn, f wire.Frame, fds []int, peerPID int) {
	defer closeFDs(fds)
	m, err := wire.DecodeScan(f.Payload)
	if err != nil {
		writeError(c, err.Error())
		return
	}
	if len(fds) != 1 {
		writeError(c, "a scan request carries exactly one descriptor (a sealed memfd)")
		return
	}
	seals, err := unix.FcntlInt(uintptr(fds[0]), unix.F_GET_SEALS, 0)
	if err != nil || seals&scanSeals != scanSeals {
		writeError(c, "scan content must be a memfd sealed against write, shrink and grow")
		return
	}
	var st unix.Stat_t
	if err := unix.Fstat(fds[0], &st); err != nil || st.Size != m.Size {
		writeError(c, "scan content size does not match the request")
		return
	}
	s.mu.Lock()
	locked := !s.key.Valid()
	s.mu.Unlock()
	if locked {
		// No unlock prompt for a scan: an agent must not be able to make
		// the human's terminal ask for the passphrase at will.
		writeError(c, "the broker is locked: stored values cannot be checked until the human unlocks it (the next run asks)")
		return
	}
	lim := &s.scans
	if ok, wait := lim.allow(time.Now(), m.Size); !ok {
		s.cfg.Logf("refused a value scan from pid %d: over the scan budget", peerPID)
		writeError(c, fmt.Sprintf("too many value scans: try again in %s", wait.Round(time.Second)))
		return
	}
	lim.busy.Lock()
	defer lim.busy.Unlock()
	data := make([]byte, m.Size)
	defer clear(data)
	for off := 0; off < len(data); {
		n, err := unix.Pread(fds[0], data[off:], int64(off))
		if err != nil || n == 0 {
			writeError(c, "read scan content: short read")
			return
		}
		off += n
	}
	k, err := s.unlock() // a copy of the cached key; no prompt when unlocked
	if err != nil {
		writeError(c, "the broker is locked")
		return
	}
	defer k.Wipe()
	ents, err := s.cfg.Vault.List()
	if err != nil {
		writeError(c, "list: "+err.Error())
		return
	}
	res := &wire.ScanResultMsg{Hits: []detect.ValueHit{}}
	var secrets []redact.Secret
	defer func() {
		for _, sec := range secrets {
			clear(sec.Value)
		}
	}()
	for _, e := range ents {
		if e.Err != nil {
			res.Unreadable = append(res.Unreadable, e.Name)
			continue
		}
		v, _, err := s.cfg.Vault.Get(k, e.Name)
		if err != nil {
			res.Unreadable = append(res.Unreadable, e.Name)
			continue
		}
		secrets = append(secrets, redact.Secret{Name: e.Name, Value: v})
	}
	res.Secrets = len(secrets)
	hits, total, err := detect.FindValues(secrets, data)
	if err != nil {
		writeError(c, "value scan: "+err.Error())
		return
	}
	if hits != nil {
		res.Hits = hits
	}
	res.Total = total
	s.cfg.Audit.Event(k, "value_scan", map[string]any{"bytes": m.Size, "hits": total, "secrets": res.Secrets, "pid": peerPID})
	writeFrame(c, wire.TypeScanOK, res)
}
