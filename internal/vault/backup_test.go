package vault

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/envseal/envseal/internal/seal"
)

func TestChangePassphrase(t *testing.T) {
	v, k := newVault(t)
	if _, err := v.Store(k, "TOKEN", []byte("value-1"), StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(v.path(MasterKeyFile))
	newPass := []byte("tidal violet umbrella marathon")
	if err := v.ChangePassphrase([]byte("wrong"), newPass, testKDF); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("wrong old passphrase: %v", err)
	}
	if after, _ := os.ReadFile(v.path(MasterKeyFile)); !bytes.Equal(before, after) {
		t.Fatal("a refused change rewrote master.key")
	}
	if err := v.ChangePassphrase(testPass, newPass, testKDF); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Unlock(testPass); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("old passphrase after change: %v", err)
	}
	k2, err := v.Unlock(newPass)
	if err != nil {
		t.Fatal(err)
	}
	if !k2.Equal(k) {
		t.Fatal("the master key changed: every secret would be lost")
	}
	if _, _, err := v.Get(k2, "TOKEN"); err != nil {
		t.Fatal(err)
	}
	assertNoTemps(t, v.Dir())
}

// Two changes racing from the same old passphrase: exactly one wins, the
// other finds the old passphrase no longer works, and the vault opens with
// the winner's passphrase.
func TestChangePassphraseConcurrent(t *testing.T) {
	v, k := newVault(t)
	news := [][]byte{[]byte("first new passphrase words"), []byte("second new passphrase words")}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range news {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = v.ChangePassphrase(testPass, news[i], testKDF) }()
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if won >= 0 {
				t.Fatal("both changes succeeded")
			}
			won = i
		case !errors.Is(err, ErrWrongPassphrase):
			t.Fatalf("change %d: %v", i, err)
		}
	}
	if won < 0 {
		t.Fatal("neither change succeeded")
	}
	k2, err := v.Unlock(news[won])
	if err != nil || !k2.Equal(k) {
		t.Fatalf("winner's passphrase: %v", err)
	}
}

func assertNoTemps(t *testing.T, dir string) {
	t.Helper()
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.HasPrefix(fi.Name(), ".tmp") {
			t.Errorf("temp file left behind: %s", p)
		}
		return nil
	})
}

// backupOf writes an archive of v with one extra file and one added file.
func backupOf(t *testing.T, v *Vault, k seal.Key, secrets int) []byte {
	t.Helper()
	if err := os.WriteFile(v.path("policy.seal"), []byte("sealed policy bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	big := bytes.Repeat([]byte("audit record\n"), 20000) // spans several chunks
	info, err := v.Backup(&buf, k, []string{"policy.seal", "totp.seal"}, func(add BackupAdd) error {
		return add("audit.log", bytes.NewReader(big), int64(len(big)))
	})
	if err != nil {
		t.Fatal(err)
	}
	if info.Secrets != secrets || strings.Join(info.Files, ",") != "policy.seal,audit.log" {
		t.Fatalf("info: %+v", info)
	}
	return buf.Bytes()
}

var restoreAllowed = []string{"policy.seal", "totp.seal", "audit.log", "audit.head"}

func TestBackupRestoreRoundTrip(t *testing.T) {
	v, k := newVault(t)
	for _, n := range []string{"A", "B"} {
		if _, err := v.Store(k, n, []byte("value of "+n), StoreOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	arch := backupOf(t, v, k, 2)
	for _, plain := range []string{"value of A", "sealed policy bytes", "audit record", "policy.seal", "secrets/A"} {
		if bytes.Contains(arch, []byte(plain)) {
			t.Errorf("archive contains %q in the clear", plain)
		}
	}
	if _, err := OpenBackup(bytes.NewReader(arch), []byte("wrong")); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "restored")
	b, err := OpenBackup(bytes.NewReader(arch), testPass)
	if err != nil {
		t.Fatal(err)
	}
	info, aside, err := b.Restore(dst, restoreAllowed, false)
	if err != nil || aside != "" {
		t.Fatal(err, aside)
	}
	if info.Secrets != 2 {
		t.Fatalf("restored %d secrets", info.Secrets)
	}
	r, err := Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := r.Unlock(testPass)
	if err != nil || !rk.Equal(k) {
		t.Fatalf("unlock restored: %v", err)
	}
	for _, n := range []string{"A", "B"} {
		got, _, err := r.Get(rk, n)
		if err != nil || string(got) != "value of "+n {
			t.Fatalf("secret %s after restore: %v", n, err)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "policy.seal")); string(got) != "sealed policy bytes" {
		t.Fatal("policy.seal not restored")
	}
	if st, _ := os.Stat(filepath.Join(dst, "audit.log")); st == nil || st.Size() != int64(len("audit record\n")*20000) || st.Mode().Perm() != 0o600 {
		t.Fatalf("audit.log after restore: %v", st)
	}

	// A second restore without force is refused and changes nothing; with
	// force the old vault is kept aside.
	b2, _ := OpenBackup(bytes.NewReader(arch), testPass)
	if _, _, err := b2.Restore(dst, restoreAllowed, false); !errors.Is(err, ErrExists) {
		t.Fatalf("restore over a vault without force: %v", err)
	}
	os.WriteFile(filepath.Join(dst, "marker"), []byte("old"), 0o600)
	b3, _ := OpenBackup(bytes.NewReader(arch), testPass)
	_, aside, err = b3.Restore(dst, restoreAllowed, true)
	if err != nil || aside == "" {
		t.Fatalf("forced restore: %v %q", err, aside)
	}
	if _, err := os.Stat(filepath.Join(aside, "marker")); err != nil {
		t.Fatalf("old vault not kept aside: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dst, "marker")); err == nil {
		t.Fatal("the restored vault has a file of the old one")
	}
	assertNoStage(t, filepath.Dir(dst))
}

func assertNoStage(t *testing.T, parent string) {
	t.Helper()
	ents, _ := os.ReadDir(parent)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".restore-") {
			t.Errorf("staging directory left behind: %s", e.Name())
		}
	}
}

// Every flipped byte, every truncation and a chunk swapped between two
// archives is refused before anything is written.
func TestBackupTamperRefused(t *testing.T) {
	v, k := newVault(t)
	if _, err := v.Store(k, "A", []byte("value of A"), StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	arch := backupOf(t, v, k, 1)
	parent := t.TempDir()
	dst := filepath.Join(parent, "vault")
	try := func(what string, data []byte) {
		t.Helper()
		b, err := OpenBackup(bytes.NewReader(data), testPass)
		if err == nil {
			_, _, err = b.Restore(dst, restoreAllowed, false)
		}
		if err == nil {
			t.Fatalf("%s: accepted", what)
		}
		if !errors.Is(err, ErrBackupCorrupt) && !errors.Is(err, ErrWrongPassphrase) {
			t.Fatalf("%s: %v", what, err)
		}
		if _, err := os.Stat(dst); err == nil {
			t.Fatalf("%s: something was written", what)
		}
		assertNoStage(t, parent)
	}
	// Every byte of the header and of the first chunk's start, then a
	// sample of the rest (each try decrypts up to the flip, so all of a
	// 260 KB archive would be quadratic).
	for i := 0; i < len(arch); i++ {
		if i > backupHdrLen+300 && i%4099 != 0 && i != len(arch)-1 {
			continue
		}
		c := bytes.Clone(arch)
		c[i] ^= 0x40
		try("flipped byte", c)
	}
	for _, n := range []int{0, 8, backupHdrLen, backupHdrLen + backupChunkCT, len(arch) - 1} {
		try("truncated", arch[:n])
	}
	try("appended", append(bytes.Clone(arch), 0))
	other := backupOf(t, v, k, 1)
	mixed := append(bytes.Clone(arch[:backupHdrLen+backupChunkCT]), other[backupHdrLen+backupChunkCT:]...)
	try("chunks of another archive", mixed)
	reordered := bytes.Clone(arch)
	c1 := arch[backupHdrLen : backupHdrLen+backupChunkCT]
	c2 := arch[backupHdrLen+backupChunkCT : backupHdrLen+2*backupChunkCT]
	copy(reordered[backupHdrLen:], c2)
	copy(reordered[backupHdrLen+backupChunkCT:], c1)
	try("reordered chunks", reordered)
}

// benchVault is a vault of 1,000 secrets of 64 bytes.
func benchVault(b *testing.B) (*Vault, seal.Key) {
	dir := filepath.Join(b.TempDir(), "vault")
	v, k, err := Create(dir, testPass, testKDF)
	if err != nil {
		b.Fatal(err)
	}
	val := bytes.Repeat([]byte("v"), 64)
	for i := range 1000 {
		if _, err := v.Store(k, "SECRET_"+strconv.Itoa(i), val, StoreOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	return v, k
}

// BenchmarkBackup writes an archive of 1,000 secrets.
func BenchmarkBackup(b *testing.B) {
	v, k := benchVault(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Backup(io.Discard, k, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRestore restores an archive of 1,000 secrets into a fresh
// directory (one fsync per file dominates).
func BenchmarkRestore(b *testing.B) {
	v, k := benchVault(b)
	var buf bytes.Buffer
	if _, err := v.Backup(&buf, k, nil, nil); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ob, err := OpenBackup(bytes.NewReader(buf.Bytes()), testPass)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := ob.Restore(filepath.Join(b.TempDir(), "r"), nil, false); err != nil {
			b.Fatal(err)
		}
	}
}
