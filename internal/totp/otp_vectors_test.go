package totp

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"testing"
	"time"
)

// RFC 4226 Appendix D: secret = ASCII "12345678901234567890", counts 0–9,
// with the intermediate HMAC-SHA1 values, the truncated 31-bit values and
// the 6-digit HOTP values.
var rfc4226 = []struct {
	hmac      string
	truncated uint32
	hotp      string
}{
	{"cc93cf18508d94934c64b65d8ba7667fb7cde4b0", 1284755224, "755224"},
	{"75a48a19d4cbe100644e8ac1397eea747a2d33ab", 1094287082, "287082"},
	{"0bacb7fa082fef30782211938bc1c5e70416ff44", 137359152, "359152"},
	{"66c28227d03a2d5529262ff016a1e6ef76557ece", 1726969429, "969429"},
	{"a904c900a64b35909874b33e61c5938a8e15ed1c", 1640338314, "338314"},
	{"a37e783d7b7233c083d4f62926c7a25f238d0316", 868254676, "254676"},
	{"bc9cd28561042c83f219324d3c607256c03272ae", 1918287922, "287922"},
	{"a4fb960c0bc06e1eabb804e5b397cdc4b45596fa", 82162583, "162583"},
	{"1b3c89f65e6c9e883012052823443f048b4332db", 673399871, "399871"},
	{"1637409809a679dc698207310c8c7fc07290d9e5", 645520489, "520489"},
}

func TestRFC4226Vectors(t *testing.T) {
	key := []byte("12345678901234567890")
	for count, v := range rfc4226 {
		m := hmac.New(sha1.New, key)
		var c [8]byte
		binary.BigEndian.PutUint64(c[:], uint64(count))
		m.Write(c[:])
		if got := hex.EncodeToString(m.Sum(nil)); got != v.hmac {
			t.Errorf("count %d: HMAC %s, want %s", count, got, v.hmac)
		}
		tr, err := truncated(SHA1, key, uint64(count))
		if err != nil || tr != v.truncated {
			t.Errorf("count %d: truncated %d (%v), want %d", count, tr, err, v.truncated)
		}
		got, err := HOTP(SHA1, key, uint64(count), 6)
		if err != nil || got != v.hotp {
			t.Errorf("count %d: HOTP %q (%v), want %q", count, got, err, v.hotp)
		}
	}
}

// RFC 6238 Appendix B: 8-digit TOTP, X = 30, T0 = 0, with the seeds the
// reference implementation uses for each hash (20, 32 and 64 ASCII bytes).
var rfc6238 = []struct {
	unix int64
	step string // T as 16 hex digits
	alg  Algorithm
	totp string
}{
	{59, "0000000000000001", SHA1, "94287082"},
	{59, "0000000000000001", SHA256, "46119246"},
	{59, "0000000000000001", SHA512, "90693936"},
	{1111111109, "00000000023523EC", SHA1, "07081804"},
	{1111111109, "00000000023523EC", SHA256, "68084774"},
	{1111111109, "00000000023523EC", SHA512, "25091201"},
	{1111111111, "00000000023523ED", SHA1, "14050471"},
	{1111111111, "00000000023523ED", SHA256, "67062674"},
	{1111111111, "00000000023523ED", SHA512, "99943326"},
	{1234567890, "000000000273EF07", SHA1, "89005924"},
	{1234567890, "000000000273EF07", SHA256, "91819424"},
	{1234567890, "000000000273EF07", SHA512, "93441116"},
	{2000000000, "0000000003F940AA", SHA1, "69279037"},
	{2000000000, "0000000003F940AA", SHA256, "90698825"},
	{2000000000, "0000000003F940AA", SHA512, "38618901"},
	{20000000000, "0000000027BC86AA", SHA1, "65353130"},
	{20000000000, "0000000027BC86AA", SHA256, "77737706"},
	{20000000000, "0000000027BC86AA", SHA512, "47863826"},
}

func rfc6238Seed(a Algorithm) []byte {
	const s = "1234567890123456789012345678901234567890123456789012345678901234"
	switch a {
	case SHA256:
		return []byte(s[:32])
	case SHA512:
		return []byte(s[:64])
	}
	return []byte(s[:20])
}

func TestRFC6238Vectors(t *testing.T) {
	for _, v := range rfc6238 {
		tm := time.Unix(v.unix, 0)
		var step [8]byte
		binary.BigEndian.PutUint64(step[:], Step(tm, Period))
		if got := hex.EncodeToString(step[:]); got != toLower(v.step) {
			t.Errorf("t=%d: T=%s, want %s", v.unix, got, v.step)
		}
		got, err := TOTP(v.alg, rfc6238Seed(v.alg), tm, Period, 8)
		if err != nil || got != v.totp {
			t.Errorf("t=%d %s: TOTP %q (%v), want %q", v.unix, v.alg, got, err, v.totp)
		}
	}
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// The 6-digit code envseal shows is the low 6 digits of the RFC value.
func TestCodeIsSixDigitSHA1(t *testing.T) {
	seed := rfc6238Seed(SHA1)
	if got := Code(seed, time.Unix(59, 0)); got != "287082" {
		t.Errorf("Code(t=59) = %q, want 287082", got)
	}
	if got := CodeAt(seed, 1); got != "287082" {
		t.Errorf("CodeAt(1) = %q, want 287082", got)
	}
}

func TestHOTPRejectsBadParameters(t *testing.T) {
	if _, err := HOTP(SHA1, []byte("k"), 0, 0); err == nil {
		t.Error("0 digits accepted")
	}
	if _, err := HOTP(SHA1, []byte("k"), 0, 10); err == nil {
		t.Error("10 digits accepted")
	}
	if _, err := HOTP(Algorithm(9), []byte("k"), 0, 6); err == nil {
		t.Error("unknown algorithm accepted")
	}
}
