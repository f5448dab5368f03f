package server

import (
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/launch"
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
	// The checkpoint decrypts; the key is a copy of the cached one (no
	// prompt: the broker is unlocked, checked above).
	cp := launch.New(launch.Config{Vault: s.cfg.Vault, Unlock: s.unlock, Audit: s.cfg.Audit})
	r, err := cp.ScanValues(data, peerPID)
	if err != nil {
		writeError(c, err.Error())
		return
	}
	res := &wire.ScanResultMsg{Hits: r.Hits, Total: r.Total, Secrets: r.Secrets}
	for _, u := range r.Unreadable {
		res.Unreadable = append(res.Unreadable, u.Name)
	}
	writeFrame(c, wire.TypeScanOK, res)
}
