package guard

import (
	"net"
	"path/filepath"
	"runtime"
	"testing"
)

// TestGatherVault: a named vault directory is judged and its audit chain
// checked, except inside the jail, where the directory is the jail's cover;
// no directory, no vault facts.
func TestGatherVault(t *testing.T) {
	dir := t.TempDir()
	f := Gather(Sources{VaultDir: dir})
	if f.VaultDir != dir || f.CheckVaultDir == nil || f.Audit == nil {
		t.Fatalf("vault facts missing: dir %q, check %v, audit %v", f.VaultDir, f.CheckVaultDir != nil, f.Audit != nil)
	}
	if err := f.CheckVaultDir(filepath.Join(dir, "nope")); err == nil {
		t.Error("a missing vault directory checked out")
	}
	if f.Secrets != nil || f.TOTP != nil {
		t.Error("secrets or TOTP facts for a directory that holds no vault")
	}
	if j := Gather(Sources{VaultDir: dir, Jailed: true}); j.CheckVaultDir != nil || j.Audit != nil {
		t.Error("inside the jail the vault cover was judged")
	}
	if n := Gather(Sources{}); n.VaultDir != "" || n.CheckVaultDir != nil || n.Audit != nil {
		t.Error("vault facts without a vault directory")
	}
}

// TestGatherBroker: the broker fact dials the socket it is given.
func TestGatherBroker(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the broker runs on Linux only")
	}
	sock := filepath.Join(t.TempDir(), "broker.sock")
	f := Gather(Sources{BrokerSocket: sock})
	if p, err := f.Broker(); p != sock || err == nil {
		t.Fatalf("Broker() with no listener = %q, %v; want %q and an error", p, err, sock)
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := f.Broker(); err != nil {
		t.Fatalf("Broker() with a listener: %v", err)
	}
}
