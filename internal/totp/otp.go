package totp

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"hash"
	"time"
)

// Parameters envseal uses (RFC 6238 §4.1 and the otpauth:// defaults that
// every authenticator app supports).
const (
	Digits    = 6
	Period    = 30 * time.Second
	SeedSize  = 20 // 160 bits, RFC 4226 §4 R6
	Skew      = 1  // steps accepted either side of now (RFC 6238 §5.2)
	maxDigits = 9  // 10^9 still fits the 31-bit truncated value
)

// Algorithm is the HMAC hash (RFC 6238 §1.2).
type Algorithm uint8

// The algorithms. The numbers are stored in totp.seal; never renumber.
const (
	SHA1   Algorithm = 1
	SHA256 Algorithm = 2
	SHA512 Algorithm = 3
)

func (a Algorithm) String() string {
	switch a {
	case SHA1:
		return "SHA1"
	case SHA256:
		return "SHA256"
	case SHA512:
		return "SHA512"
	}
	return fmt.Sprintf("Algorithm(%d)", uint8(a))
}

func (a Algorithm) hash() (func() hash.Hash, error) {
	switch a {
	case SHA1:
		return sha1.New, nil
	case SHA256:
		return sha256.New, nil
	case SHA512:
		return sha512.New, nil
	}
	return nil, fmt.Errorf("unknown totp algorithm %d", uint8(a))
}

// HOTP is RFC 4226 §5.3: HMAC(key, counter as 8 big-endian bytes), dynamic
// truncation to 31 bits, the low digits decimal digits, zero-padded.
func HOTP(alg Algorithm, key []byte, counter uint64, digits int) (string, error) {
	if digits < 1 || digits > maxDigits {
		return "", fmt.Errorf("totp: %d digits (want 1..%d)", digits, maxDigits)
	}
	v, err := truncated(alg, key, counter)
	if err != nil {
		return "", err
	}
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, v%mod), nil
}

// truncated is DT(HMAC) of RFC 4226 §5.3 as a 31-bit number.
func truncated(alg Algorithm, key []byte, counter uint64) (uint32, error) {
	h, err := alg.hash()
	if err != nil {
		return 0, err
	}
	mac := hmac.New(h, key)
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], counter)
	mac.Write(c[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	return binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff, nil
}

// Step is the RFC 6238 §4.2 time step T = floor((t - T0) / X) with T0 = 0.
// Times before the epoch are step 0.
func Step(t time.Time, period time.Duration) uint64 {
	s := t.Unix()
	p := int64(period / time.Second)
	if s < 0 || p <= 0 {
		return 0
	}
	return uint64(s / p)
}

// TOTP is the code for time t (RFC 6238 §4.2).
func TOTP(alg Algorithm, key []byte, t time.Time, period time.Duration, digits int) (string, error) {
	return HOTP(alg, key, Step(t, period), digits)
}

// Code is envseal's code for seed at time t: HMAC-SHA1, 6 digits, 30 s.
func Code(seed []byte, t time.Time) string {
	c, _ := TOTP(SHA1, seed, t, Period, Digits) // the fixed parameters cannot fail
	return c
}

// CodeAt is envseal's code for seed at time step step.
func CodeAt(seed []byte, step uint64) string {
	c, _ := HOTP(SHA1, seed, step, Digits)
	return c
}

func constantTimeEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// matchStep compares code with the codes of steps now-Skew..now+Skew in
// constant time (all of them are computed and compared, so timing does not
// say which step matched) and returns the highest matching step.
func matchStep(alg Algorithm, seed []byte, digits int, code string, now uint64) (uint64, bool, error) {
	var (
		found bool
		step  uint64
	)
	lo := now - min(now, Skew)
	for s := lo; s <= now+Skew; s++ {
		want, err := HOTP(alg, seed, s, digits)
		if err != nil {
			return 0, false, err
		}
		if constantTimeEqual([]byte(want), []byte(code)) {
			found, step = true, s
		}
	}
	return step, found, nil
}
