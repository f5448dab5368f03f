package vault

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/safefile"
	"github.com/envseal/envseal/internal/seal"
)

// testKDF keeps Argon2id cheap in tests; production uses seal.DefaultKDF.
var testKDF = seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

var testPass = []byte("test passphrase")

func newVault(t *testing.T) (*Vault, seal.Key) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vault")
	v, k, err := Create(dir, testPass, testKDF)
	if err != nil {
		t.Fatal(err)
	}
	return v, k
}

func TestRoundTrip(t *testing.T) {
	v, k := newVault(t)
	val := []byte("s3cr3t-value-1")
	m, err := v.Store(k, "API_TOKEN", val, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Generation != 1 || m.Created.IsZero() || !m.Created.Equal(m.Updated) {
		t.Errorf("new secret meta = %+v", m)
	}
	v2, err := Open(v.Dir())
	if err != nil {
		t.Fatal(err)
	}
	k2, err := v2.Unlock(testPass)
	if err != nil {
		t.Fatal(err)
	}
	got, meta, err := v2.Get(k2, "API_TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, val) {
		t.Error("API_TOKEN decrypted to a different value")
	}
	if meta.Name != "API_TOKEN" || !meta.Created.Equal(m.Created) {
		t.Errorf("meta after reopen = %+v, want %+v", meta, m)
	}
}

func TestForceKeepsCreatedAndBumpsGeneration(t *testing.T) {
	v, k := newVault(t)
	m1, _ := v.Store(k, "A", []byte("first-value"), StoreOptions{})
	if _, err := v.Store(k, "A", []byte("second-value"), StoreOptions{}); !errors.Is(err, ErrExists) {
		t.Fatalf("store over an existing name without force: %v", err)
	}
	m2, err := v.Store(k, "A", []byte("second-value"), StoreOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if m2.Generation != 2 || !m2.Created.Equal(m1.Created) || m2.Updated.Before(m1.Updated) {
		t.Errorf("after force: %+v (before %+v)", m2, m1)
	}
	got, _, _ := v.Get(k, "A")
	if string(got) != "second-value" {
		t.Error("A does not hold the forced value")
	}
}

func TestWrongPassphraseAndWrongKey(t *testing.T) {
	v, k := newVault(t)
	v.Store(k, "A", []byte("value-a-123"), StoreOptions{})
	if _, err := v.Unlock([]byte("nope")); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("wrong passphrase: %v", err)
	}
	other := seal.NewKey()
	_, _, err := v.Get(other, "A")
	var ce *CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, seal.ErrDecrypt) {
		t.Errorf("Get with the wrong master key: %v", err)
	}
}

func TestMovedFileDoesNotOpenUnderAnotherName(t *testing.T) {
	v, k := newVault(t)
	v.Store(k, "A", []byte("value-a-123"), StoreOptions{})
	v.Store(k, "B", []byte("value-b-456"), StoreOptions{})
	sec := filepath.Join(v.Dir(), SecretsDir)
	// Replace B's file with A's: B must not open (to A's value or at all).
	b, _ := os.ReadFile(filepath.Join(sec, "A.seal"))
	os.WriteFile(filepath.Join(sec, "B.seal"), b, 0o600)
	if got, _, err := v.Get(k, "B"); err == nil {
		t.Fatalf("B opened to a %d-byte value after A's file was copied over it", len(got))
	}
	// Even with the embedded name rewritten, the AAD binding refuses it.
	b2 := bytes.Clone(b)
	copy(b2[10:11], "B")
	os.WriteFile(filepath.Join(sec, "B.seal"), b2, 0o600)
	_, _, err := v.Get(k, "B")
	if !errors.Is(err, seal.ErrDecrypt) {
		t.Fatalf("renamed header: got %v, want an authentication failure", err)
	}
}

func TestFilesArePrivateAndNoTempLeft(t *testing.T) {
	v, k := newVault(t)
	for _, n := range []string{"A", "B", "C"} {
		v.Store(k, n, []byte("value-"+n+"-xyz"), StoreOptions{})
	}
	v.Store(k, "A", []byte("value-A-new"), StoreOptions{Force: true})
	v.Revoke(k, "B")
	filepath.WalkDir(v.Dir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		info, _ := d.Info()
		if strings.HasPrefix(d.Name(), safefile.TempPrefix) {
			t.Errorf("temp file left behind: %s", p)
		}
		if d.IsDir() && info.Mode().Perm() != 0o700 {
			t.Errorf("%s mode %v, want 0700", p, info.Mode().Perm())
		}
		if !d.IsDir() && info.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", p, info.Mode().Perm())
		}
		return nil
	})
}

func TestRefusesUnsafeFiles(t *testing.T) {
	v, k := newVault(t)
	v.Store(k, "A", []byte("value-a-123"), StoreOptions{})
	sec := filepath.Join(v.Dir(), SecretsDir)
	a := filepath.Join(sec, "A.seal")

	t.Run("hard link", func(t *testing.T) {
		link := filepath.Join(t.TempDir(), "alias")
		if err := os.Link(a, link); err != nil {
			t.Skipf("hard link across dirs not possible here: %v", err)
		}
		defer os.Remove(link)
		if _, _, err := v.Get(k, "A"); !errors.Is(err, safefile.ErrUnsafe) {
			t.Errorf("hard-linked secret file: %v", err)
		}
	})
	t.Run("group readable", func(t *testing.T) {
		os.Chmod(a, 0o640)
		defer os.Chmod(a, 0o600)
		if _, _, err := v.Get(k, "A"); !errors.Is(err, safefile.ErrUnsafe) {
			t.Errorf("0640 secret file: %v", err)
		}
	})
	t.Run("symlink", func(t *testing.T) {
		target := filepath.Join(t.TempDir(), "real")
		b, _ := os.ReadFile(a)
		os.WriteFile(target, b, 0o600)
		os.Symlink(target, filepath.Join(sec, "S.seal"))
		if _, _, err := v.Get(k, "S"); !errors.Is(err, safefile.ErrUnsafe) {
			t.Errorf("symlinked secret file: %v", err)
		}
	})
	t.Run("fifo", func(t *testing.T) {
		mkfifo(t, filepath.Join(sec, "F.seal"))
		if _, _, err := v.Get(k, "F"); !errors.Is(err, safefile.ErrUnsafe) {
			t.Errorf("fifo as secret file: %v", err)
		}
	})
}

func TestRefusesUnsafeVaultDir(t *testing.T) {
	v, _ := newVault(t)
	t.Run("symlink", func(t *testing.T) {
		link := filepath.Join(t.TempDir(), "link")
		os.Symlink(v.Dir(), link)
		if _, err := Open(link); !errors.Is(err, safefile.ErrUnsafe) {
			t.Errorf("symlinked vault dir: %v", err)
		}
	})
	t.Run("world writable", func(t *testing.T) {
		os.Chmod(v.Dir(), 0o777)
		defer os.Chmod(v.Dir(), 0o700)
		if _, err := Open(v.Dir()); !errors.Is(err, safefile.ErrUnsafe) {
			t.Errorf("0777 vault dir: %v", err)
		}
	})
	t.Run("group writable", func(t *testing.T) {
		os.Chmod(v.Dir(), 0o770)
		defer os.Chmod(v.Dir(), 0o700)
		if _, err := Open(v.Dir()); !errors.Is(err, safefile.ErrUnsafe) {
			t.Errorf("0770 vault dir: %v", err)
		}
	})
	t.Run("other owner", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("changing a directory's owner needs root (CI runs as root)")
		}
		os.Chown(v.Dir(), 65534, 65534)
		defer os.Chown(v.Dir(), 0, 0)
		if _, err := Open(v.Dir()); !errors.Is(err, safefile.ErrUnsafe) {
			t.Errorf("vault dir owned by uid 65534: %v", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		if _, err := Open(filepath.Join(t.TempDir(), "none")); !errors.Is(err, ErrNotInitialized) {
			t.Errorf("missing vault: %v", err)
		}
	})
}

func TestCreateTwiceRefused(t *testing.T) {
	v, _ := newVault(t)
	if _, _, err := Create(v.Dir(), testPass, testKDF); !errors.Is(err, ErrExists) {
		t.Errorf("second Create: %v", err)
	}
}

func TestHostileHeaderRefusedBeforeWork(t *testing.T) {
	v, _ := newVault(t)
	p := filepath.Join(v.Dir(), MasterKeyFile)
	b, _ := os.ReadFile(p)
	// m = 4 GiB, t = 2^32-1: would take hours and all memory if honoured.
	copy(b[10:14], []byte{0xff, 0xff, 0xff, 0xff})
	copy(b[14:18], []byte{0x00, 0x40, 0x00, 0x00})
	os.WriteFile(p, b, 0o600)
	_, err := v.Unlock(testPass)
	var ce *CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, seal.ErrKDFParams) {
		t.Errorf("hostile KDF header: %v", err)
	}
}

func TestRevoke(t *testing.T) {
	v, k := newVault(t)
	v.Store(k, "A", []byte("value-a-123"), StoreOptions{})
	if err := v.Revoke(k, "A"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.Get(k, "A"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after revoke: %v", err)
	}
	if err := v.Revoke(k, "A"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second revoke: %v", err)
	}
	if err := v.Revoke(seal.Key{}, "A"); err == nil {
		t.Error("revoke with a zero key accepted")
	}
}

func TestStoreRejects(t *testing.T) {
	v, k := newVault(t)
	if _, err := v.Store(k, "E", nil, StoreOptions{}); !errors.Is(err, ErrEmptyValue) {
		t.Errorf("empty value: %v", err)
	}
	if _, err := v.Store(k, "../x", []byte("value-x-123"), StoreOptions{}); !errors.Is(err, ErrBadName) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := v.Store(k, "BIG", make([]byte, MaxValueLen+1), StoreOptions{}); err == nil {
		t.Error("oversized value accepted")
	}
	// A tampered existing file is not silently replaced by --force.
	v.Store(k, "T", []byte("value-t-123"), StoreOptions{})
	p := filepath.Join(v.Dir(), SecretsDir, "T.seal")
	b, _ := os.ReadFile(p)
	b[len(b)-1] ^= 1
	os.WriteFile(p, b, 0o600)
	var ce *CorruptError
	if _, err := v.Store(k, "T", []byte("value-t-456"), StoreOptions{Force: true}); !errors.As(err, &ce) {
		t.Errorf("force over a tampered file: %v", err)
	}
}

func TestListWithoutKey(t *testing.T) {
	v, k := newVault(t)
	for _, n := range []string{"b", "a", "c.d-e_f"} {
		v.Store(k, n, []byte("value-"+n+"-1"), StoreOptions{})
	}
	os.WriteFile(filepath.Join(v.Dir(), SecretsDir, "junk.seal"), []byte("garbage"), 0o600)
	os.WriteFile(filepath.Join(v.Dir(), SecretsDir, ".tmp-123"), []byte("garbage"), 0o600)
	ents, err := v.List()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name)
		if (e.Name == "junk") != (e.Err != nil) {
			t.Errorf("entry %s err = %v", e.Name, e.Err)
		}
	}
	if strings.Join(names, ",") != "a,b,c.d-e_f,junk" {
		t.Errorf("List names = %v", names)
	}
}

func TestValidName(t *testing.T) {
	good := []string{"a", "A", "0", "API_KEY", "db.password", "x-y_z.1", strings.Repeat("a", 128)}
	bad := []string{"", ".", "..", ".hidden", "-x", "_x", "a/b", "../a", "a\x00b", "a b", "a\n", strings.Repeat("a", 129), "é", "a:b", "a\\b"}
	for _, n := range good {
		if err := ValidName(n); err != nil {
			t.Errorf("ValidName(%q) = %v", n, err)
		}
	}
	for _, n := range bad {
		if err := ValidName(n); !errors.Is(err, ErrBadName) {
			t.Errorf("ValidName(%q) accepted", n)
		}
	}
}

func TestHome(t *testing.T) {
	t.Setenv("ENVSEAL_HOME", "/x/y")
	if h, _ := Home(); h != "/x/y" {
		t.Errorf("ENVSEAL_HOME: %s", h)
	}
	t.Setenv("ENVSEAL_HOME", "")
	if _, err := Home(); err == nil {
		t.Fatal("a test binary without ENVSEAL_HOME got a vault directory")
	}
	inTestBinary = false
	defer func() { inTestBinary = true }()
	t.Setenv("XDG_CONFIG_HOME", "/cfg")
	if h, _ := Home(); h != "/cfg/envseal" {
		t.Errorf("XDG_CONFIG_HOME: %s", h)
	}
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", "/home/u")
	if h, _ := Home(); h != "/home/u/.config/envseal" {
		t.Errorf("HOME: %s", h)
	}
}

func TestStat(t *testing.T) {
	v, k := newVault(t)
	v.Store(k, "A", []byte("value-a-123"), StoreOptions{})
	m, err := v.Stat("A")
	if err != nil || m.Name != "A" || m.Len != len("value-a-123") || m.Generation != 1 {
		t.Fatalf("Stat(A) = %+v, %v", m, err)
	}
	if _, err := v.Stat("B"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat(B): %v", err)
	}
	if _, err := v.Stat("../x"); !errors.Is(err, ErrBadName) {
		t.Errorf("Stat(../x): %v", err)
	}
}

func TestHealthMetadata(t *testing.T) {
	v, k := newVault(t)
	if _, err := v.Store(k, "GH", []byte("ghp_q7Rz2LmXv9TkB4nWc8YpJd3HsF6gA1eKu5Ni"), StoreOptions{RotateDays: 30}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Store(k, "WEAK", []byte("changeme"), StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	m, err := v.Stat("GH")
	if err != nil || m.Provider != "github" || m.Weak || m.RotateDays != 30 || m.Format != 2 {
		t.Fatalf("GH meta %+v err %v", m, err)
	}
	if got := m.RotationDue().Sub(m.Updated); got != 30*24*time.Hour {
		t.Errorf("due after %v, want 30 days", got)
	}
	w, _ := v.Stat("WEAK")
	if !w.Weak || w.Provider != "" || w.RotationPeriod() != DefaultRotateDays*24*time.Hour {
		t.Errorf("WEAK meta %+v", w)
	}
	// Replacing keeps the period unless a new one is given.
	m2, err := v.Store(k, "GH", []byte("another-value-Zq8xW2pL0vN4tR6y"), StoreOptions{Force: true})
	if err != nil || m2.RotateDays != 30 || m2.Provider != "" || m2.Generation != 2 {
		t.Fatalf("replaced meta %+v err %v", m2, err)
	}
	// SetRotation re-seals with the same value, times and generation.
	before, _ := v.Stat("GH")
	m3, err := v.SetRotation(k, "GH", RotateNever)
	if err != nil {
		t.Fatal(err)
	}
	val, m4, err := v.Get(k, "GH")
	if err != nil || string(val) != "another-value-Zq8xW2pL0vN4tR6y" {
		t.Fatalf("after SetRotation: err %v, value equal %v", err, err == nil && string(val) == "another-value-Zq8xW2pL0vN4tR6y")
	}
	if m4.RotateDays != RotateNever || m3.RotationPeriod() != 0 || !m4.RotationDue().IsZero() ||
		!m4.Updated.Equal(before.Updated) || m4.Generation != before.Generation {
		t.Errorf("after SetRotation: %+v (before %+v)", m4, before)
	}
	if _, err := v.SetRotation(k, "NOPE", 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetRotation of a missing secret: %v", err)
	}
}
