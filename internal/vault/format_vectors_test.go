package vault

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/seal"
)

// Known-answer files for format version 1, described in docs/FORMAT.md.
// testdata/vectors holds a vault made with passphrase vectorPass, KDF
// t=1 m=64KiB p=1, and one secret KAT = vectorValue stored at vectorTime.
// They were written once with -update-vectors; if this test fails, the
// on-disk format changed and every existing vault would stop opening.
var updateVectors = flag.Bool("update-vectors", false, "rewrite testdata/vectors (only when deliberately changing the format)")

// KAT2.seal is a version 2 secret added to the same vault: a JWT-shaped
// value (provider "jwt") with a 30-day rotation period, stored at
// vectorTime. Written once with -update-vectors-v2.
var updateVectorsV2 = flag.Bool("update-vectors-v2", false, "add testdata/vectors/secrets/KAT2.seal")

const vectorValueV2 = "eyJhbGciOiJub25lIn0.eyJrYXQiOjJ9.a2F0LXZlY3Rvci0y"

const (
	vectorPass  = "envseal test vector passphrase"
	vectorValue = "known-answer value 0123456789"
)

var vectorTime = time.Date(2026, 11, 27, 1, 2, 3, 456789000, time.UTC)

func vectorDir(t *testing.T) string {
	src := filepath.Join("testdata", "vectors")
	if *updateVectors {
		tmp := filepath.Join(t.TempDir(), "v")
		v, k, err := Create(tmp, []byte(vectorPass), seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		fixed := func() time.Time { return vectorTime }
		if _, err := v.Store(k, "KAT", []byte(vectorValue), StoreOptions{Now: fixed}); err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(src, SecretsDir), 0o755)
		for _, f := range []string{MasterKeyFile, filepath.Join(SecretsDir, "KAT.seal")} {
			b, _ := os.ReadFile(filepath.Join(tmp, f))
			if err := os.WriteFile(filepath.Join(src, f), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Git does not keep 0600/0700, which the vault insists on: copy.
	dst := filepath.Join(t.TempDir(), "vault")
	os.MkdirAll(filepath.Join(dst, SecretsDir), 0o700)
	for _, f := range []string{MasterKeyFile, filepath.Join(SecretsDir, "KAT.seal"), filepath.Join(SecretsDir, "KAT2.seal")} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if os.IsNotExist(err) && *updateVectorsV2 {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dst, f), b, 0o600)
	}
	if *updateVectorsV2 {
		v, _ := Open(dst)
		k, err := v.Unlock([]byte(vectorPass))
		if err != nil {
			t.Fatal(err)
		}
		fixed := func() time.Time { return vectorTime }
		if _, err := v.Store(k, "KAT2", []byte(vectorValueV2), StoreOptions{Now: fixed, RotateDays: 30}); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(dst, SecretsDir, "KAT2.seal"))
		if err := os.WriteFile(filepath.Join(src, SecretsDir, "KAT2.seal"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestFormatVectors(t *testing.T) {
	dir := vectorDir(t)
	mk, _ := os.ReadFile(filepath.Join(dir, MasterKeyFile))
	if len(mk) != 107 {
		t.Fatalf("master.key is %d bytes, FORMAT.md says 107", len(mk))
	}
	// "envsealK", version 1, KDF 1 (Argon2id), t=1, m=64 KiB, p=1.
	wantHdr := hex.EncodeToString([]byte("envsealK")) + "01" + "01" + "00000001" + "00000040" + "01"
	if got := hex.EncodeToString(mk[:19]); got != wantHdr {
		t.Errorf("master.key header = %s, want %s", got, wantHdr)
	}
	sf, _ := os.ReadFile(filepath.Join(dir, SecretsDir, "KAT.seal"))
	hdr := hex.EncodeToString([]byte("envsealS")) + "01" + "03" + hex.EncodeToString([]byte("KAT"))
	if got := hex.EncodeToString(sf[:13]); got != hdr {
		t.Errorf("secret header = %s, want %s", got, hdr)
	}
	if want := 13 + 24 + 24 + len(vectorValue) + 16; len(sf) != want {
		t.Errorf("KAT.seal is %d bytes, FORMAT.md says %d", len(sf), want)
	}
	ts := make([]byte, 8)
	for i := range ts {
		ts[i] = byte(uint64(vectorTime.UnixNano()) >> (56 - 8*i))
	}
	if !bytes.Equal(sf[13:21], ts) || !bytes.Equal(sf[21:29], ts) {
		t.Error("created/updated timestamps are not big-endian Unix nanoseconds at offsets 13 and 21")
	}
	if !bytes.Equal(sf[29:37], []byte{0, 0, 0, 0, 0, 0, 0, 1}) {
		t.Error("generation is not 1 at offset 29")
	}

	v, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	k, err := v.Unlock([]byte(vectorPass))
	if err != nil {
		t.Fatalf("vector vault does not unlock: %v", err)
	}
	got, meta, err := v.Get(k, "KAT")
	if err != nil {
		t.Fatalf("vector secret does not open: %v", err)
	}
	if string(got) != vectorValue {
		t.Error("vector secret decrypted to the wrong value")
	}
	if !meta.Created.Equal(vectorTime) || meta.Generation != 1 {
		t.Errorf("vector meta = %+v", meta)
	}
}

func TestFormatVectorsV2(t *testing.T) {
	dir := vectorDir(t)
	sf, _ := os.ReadFile(filepath.Join(dir, SecretsDir, "KAT2.seal"))
	// magic, version 2, name length 4, name, created, updated, generation,
	// rotation days (uint32), provider length, provider, flags.
	ts := hex.EncodeToString(binary.BigEndian.AppendUint64(nil, uint64(vectorTime.UnixNano())))
	want := hex.EncodeToString([]byte("envsealS")) + "02" + "04" + hex.EncodeToString([]byte("KAT2")) +
		ts + ts + "0000000000000001" + "0000001e" + "03" + hex.EncodeToString([]byte("jwt")) + "00"
	hdrLen := len(want) / 2
	if got := hex.EncodeToString(sf[:hdrLen]); got != want {
		t.Errorf("v2 secret header = %s, want %s", got, want)
	}
	if n := hdrLen + 24 + len(vectorValueV2) + 16; len(sf) != n {
		t.Errorf("KAT2.seal is %d bytes, FORMAT.md says %d", len(sf), n)
	}
	v, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	k, err := v.Unlock([]byte(vectorPass))
	if err != nil {
		t.Fatal(err)
	}
	got, meta, err := v.Get(k, "KAT2")
	if err != nil {
		t.Fatalf("v2 vector secret does not open: %v", err)
	}
	if string(got) != vectorValueV2 {
		t.Error("v2 vector secret decrypted to the wrong value")
	}
	if meta.Format != 2 || meta.RotateDays != 30 || meta.Provider != "jwt" || meta.Weak || !meta.Updated.Equal(vectorTime) {
		t.Errorf("v2 vector meta = %+v", meta)
	}
	// The version 1 file still opens, with the defaults a v1 file implies.
	_, m1, err := v.Get(k, "KAT")
	if err != nil || m1.Format != 1 || m1.RotateDays != 0 || m1.Provider != "" {
		t.Errorf("v1 vector: meta %+v, err %v", m1, err)
	}
	// Editing any v2 metadata byte makes the value fail to open.
	for _, off := range []int{hdrLen - 1 - 3 - 1 - 4, hdrLen - 1 - 3, hdrLen - 2, hdrLen - 1} {
		b := bytes.Clone(sf)
		b[off] ^= 1
		os.WriteFile(filepath.Join(dir, SecretsDir, "KAT2.seal"), b, 0o600)
		if _, _, err := v.Get(k, "KAT2"); err == nil {
			t.Errorf("flipping header byte %d still opened", off)
		}
	}
}
