package server

import (
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/broker/wire"
)

// The scan frame answers names and offsets (never values), refuses
// content that is not a sealed memfd, refuses while locked without asking
// the human, and stops answering once the broker-wide budget is spent.
func TestScanValues(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce, nil)
	content := []byte("line one\nkey = \"" + testToken + "\"\n")
	res, err := dialT(t, tb.sock).ScanValues(content)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Index(string(content), testToken)
	if res.Total != 1 || len(res.Hits) != 1 || res.Hits[0].Name != "tok" || res.Hits[0].Offset != want || res.Secrets != 1 {
		t.Fatalf("scan = %+v, want one hit of tok at %d", res, want)
	}

	// A plain file descriptor (here a pipe) is refused: it could block.
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: tb.sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := wire.EncodeFrame(wire.TypeScan, &wire.ScanMsg{Size: 4})
	if _, _, err := c.WriteMsgUnix(b, unix.UnixRights(int(r.Fd())), nil); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := wire.ReadFrame(c)
	if err != nil || f.Type != wire.TypeError || !strings.Contains(wire.DecodeError(f.Payload), "sealed") {
		t.Fatalf("unsealed content: frame %q err %v", f.Type, err)
	}
	c.Close()

	// Over the size limit: refused by the client and by the decoder.
	if _, err := wire.DecodeScan([]byte(`{"size":9000000}`)); !errors.Is(err, wire.ErrProtocol) {
		t.Errorf("DecodeScan(over limit) = %v", err)
	}

	// Budget: scanBudgetCount scans per window, broker-wide.
	lim := &tb.srv.scans
	now := time.Now()
	for i := 0; i < scanBudgetCount; i++ {
		lim.allow(now, 1)
	}
	_, err = dialT(t, tb.sock).ScanValues(content)
	var re *wire.ErrRefused
	if !errors.As(err, &re) || !strings.Contains(re.Msg, "too many value scans") {
		t.Fatalf("over budget: %v", err)
	}
	if ok, _ := lim.allow(now.Add(scanWindow), 1); !ok {
		t.Errorf("the budget did not refill after the window")
	}

	// Locked: refused, and the human is not asked for the passphrase.
	tb.srv.Lock()
	before := tb.unlock.Load()
	_, err = dialT(t, tb.sock).ScanValues(content)
	if !errors.As(err, &re) || !strings.Contains(re.Msg, "locked") {
		t.Fatalf("locked: %v", err)
	}
	if tb.unlock.Load() != before {
		t.Errorf("a scan asked the human to unlock")
	}
}

// The client service cuts content over wire.MaxScanSize at a line end,
// one scan per piece, and shifts the hits' offsets back: a value past the
// first piece is found at its offset in the whole content.
func TestScanValuesInPieces(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce, nil)
	line := strings.Repeat("x", 99) + "\n"
	filler := strings.Repeat(line, wire.MaxScanSize/len(line)+10)
	content := []byte(filler + "key = \"" + testToken + "\"\n")
	svc, err := client.Connect(client.Options{Socket: tb.sock})
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.ScanValues(content)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Index(string(content), testToken)
	if want < wire.MaxScanSize || len(res.Hits) != 1 || res.Hits[0].Name != "tok" || res.Hits[0].Offset != want || res.Total != 1 {
		t.Fatalf("scan in pieces = %+v, want one hit of tok at %d", res, want)
	}
}
