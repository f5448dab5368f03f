package client

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/envseal/envseal/internal/broker/wire"
)

// Connect's one rule: the broker when its socket answers; the local path
// only when no broker is there; never a quiet fallback when the socket
// directory is not ours.
func TestConnectDecides(t *testing.T) {
	local := &Local{}
	dir := filepath.Join(t.TempDir(), "envseal")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, wire.SocketName)

	// No socket: the local path, or ErrNoBroker without one.
	if svc, err := Connect(Options{Socket: sock, Local: local}); err != nil || svc.Via() != "direct" {
		t.Fatalf("no broker: %v, %v; want the local path", svc, err)
	}
	if _, err := Connect(Options{Socket: sock}); !errors.Is(err, wire.ErrNoBroker) || !NoBroker(err) {
		t.Fatalf("no broker, no local path: %v; want ErrNoBroker", err)
	}

	// A socket that answers (as our uid): the broker, even with a local path.
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if svc, err := Connect(Options{Socket: sock, Local: local}); err != nil || svc.Via() != "broker" {
		t.Fatalf("broker up: %v, %v; want the broker", svc, err)
	}
	// --direct: the local path although a broker answers.
	if svc, err := Connect(Options{Socket: sock, Direct: true, Local: local}); err != nil || svc.Via() != "direct" {
		t.Fatalf("direct: %v, %v; want the local path", svc, err)
	}

	// A socket directory others can write: an error, not the local path.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	svc, err := Connect(Options{Socket: sock, Local: local})
	if !errors.Is(err, wire.ErrUnsafeDir) || NoBroker(err) || svc != nil {
		t.Fatalf("unsafe dir: %v, %v; want ErrUnsafeDir and no fallback", svc, err)
	}
}

// The local path answers what only the broker can do with ErrBrokerOnly
// (an ErrNoBroker), and without a checkpoint refuses runs and scans.
func TestLocalBrokerOnly(t *testing.T) {
	l := &Local{}
	if _, err := l.Store("x", ""); !errors.Is(err, wire.ErrNoBroker) {
		t.Errorf("Store: %v", err)
	}
	if _, err := l.Policy(); !errors.Is(err, ErrBrokerOnly) {
		t.Errorf("Policy: %v", err)
	}
	if _, err := l.ScanValues([]byte("x")); !errors.Is(err, ErrBrokerOnly) {
		t.Errorf("ScanValues without a checkpoint: %v", err)
	}
}
