package totp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/envseal/envseal/internal/safefile"
	"github.com/envseal/envseal/internal/seal"
)

// FileName is the TOTP state file inside the vault directory.
const FileName = "totp.seal"

// The rate limit (RFC 4226 §7.3). After MaxFailures wrong or reused codes
// in a row, checks are refused for BaseLockout, doubling with each further
// failure, at most MaxLockout. A 6-digit code then takes on the order of
// 10^5 lockouts to guess, while a human who mistypes twice waits nothing.
const (
	MaxFailures = 5
	BaseLockout = 30 * time.Second
	MaxLockout  = 15 * time.Minute
)

const (
	magic     = "envsealT"
	versionV1 = 1
	hdrLen    = len(magic) + 1
	maxFile   = 4096
	minSeed   = 16 // RFC 4226 §4 R6: at least 128 bits
	maxSeed   = 64
)

// ErrEnabled: enroll on a vault that already has a totp.seal.
var ErrEnabled = errors.New("TOTP is already enabled")

// state is the plaintext of totp.seal (docs/FORMAT.md, "totp.seal").
type state struct {
	alg       Algorithm
	digits    int
	period    time.Duration
	seed      []byte
	last      uint64 // last accepted step; 0 before the first (step 0 is 1970)
	failures  uint32 // consecutive wrong or reused codes
	lockUntil int64  // Unix nanoseconds; 0 = not locked
}

func (st *state) marshal() []byte {
	b := make([]byte, 0, 5+len(st.seed)+20)
	b = append(b, byte(st.alg), byte(st.digits))
	b = binary.BigEndian.AppendUint16(b, uint16(st.period/time.Second))
	b = append(b, byte(len(st.seed)))
	b = append(b, st.seed...)
	b = binary.BigEndian.AppendUint64(b, st.last)
	b = binary.BigEndian.AppendUint32(b, st.failures)
	return binary.BigEndian.AppendUint64(b, uint64(st.lockUntil))
}

func unmarshal(b []byte) (*state, error) {
	if len(b) < 5 {
		return nil, errors.New("too short")
	}
	st := &state{alg: Algorithm(b[0]), digits: int(b[1]), period: time.Duration(binary.BigEndian.Uint16(b[2:4])) * time.Second}
	n := int(b[4])
	if len(b) != 5+n+20 {
		return nil, fmt.Errorf("%d bytes for a %d-byte seed", len(b), n)
	}
	if _, err := st.alg.hash(); err != nil {
		return nil, err
	}
	if st.digits < 6 || st.digits > 8 || st.period <= 0 || n < minSeed || n > maxSeed {
		return nil, errors.New("parameters out of range")
	}
	st.seed = append([]byte(nil), b[5:5+n]...)
	r := b[5+n:]
	st.last = binary.BigEndian.Uint64(r[0:8])
	st.failures = binary.BigEndian.Uint32(r[8:12])
	st.lockUntil = int64(binary.BigEndian.Uint64(r[12:20]))
	return st, nil
}

func (st *state) wipe() { clear(st.seed) }

// Store reads and writes totp.seal of one vault directory.
type Store struct {
	dir string
	key seal.Key // the TOTP subkey
}

// NewStore returns the store of vault directory dir, keyed by the TOTP
// subkey of master. Wipe it when done.
func NewStore(dir string, master seal.Key) *Store {
	return &Store{dir: dir, key: master.Subkey(seal.DomainTOTP)}
}

// Wipe destroys the store's subkey.
func (s *Store) Wipe() { s.key.Wipe() }

// Path is totp.seal's path.
func (s *Store) Path() string { return filepath.Join(s.dir, FileName) }

// Present reports whether dir holds a totp.seal (of any kind: a file of
// that name that is not a valid state still means TOTP is on, and denies).
func Present(dir string) (bool, error) {
	_, err := os.Lstat(filepath.Join(dir, FileName))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return true, err // cannot tell: treat as on, so the caller denies
}

// Active reports whether approvals need a code: the sealed policy says so
// (policyFlag) or totp.seal exists. Either suffices, so deleting the file
// does not turn TOTP off, and neither does a policy rolled back to before
// `envseal totp enable` while the file is there.
func Active(dir string, policyFlag bool) bool {
	if policyFlag {
		return true
	}
	p, _ := Present(dir)
	return p
}

func header() []byte { return append([]byte(magic), versionV1) }

func (s *Store) load() (*state, error) {
	b, err := safefile.ReadFile(s.Path(), maxFile)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, &StateError{Path: s.Path(), Reason: "is missing (deleted?)", Missing: true}
		case errors.Is(err, safefile.ErrTooLarge):
			return nil, &StateError{Path: s.Path(), Reason: "is too large"}
		}
		return nil, &StateError{Path: s.Path(), Reason: "cannot be used: " + err.Error(), Err: err}
	}
	if len(b) < hdrLen || string(b[:len(magic)]) != magic {
		return nil, &StateError{Path: s.Path(), Reason: "is not a TOTP state file"}
	}
	if b[len(magic)] != versionV1 {
		return nil, &StateError{Path: s.Path(), Reason: fmt.Sprintf("has unknown format version %d (upgrade envseal)", b[len(magic)])}
	}
	if len(b) < hdrLen+seal.NonceSize+seal.TagSize {
		return nil, &StateError{Path: s.Path(), Reason: "is truncated"}
	}
	pt, err := seal.Open(s.key, b[hdrLen:hdrLen+seal.NonceSize], b[hdrLen+seal.NonceSize:], b[:hdrLen])
	if err != nil {
		return nil, &StateError{Path: s.Path(), Reason: "does not authenticate (edited, truncated, or from another vault)"}
	}
	defer clear(pt)
	st, err := unmarshal(pt)
	if err != nil {
		// Authenticated but unparsable is a bug, not an attacker; still
		// refuse rather than guess.
		return nil, &StateError{Path: s.Path(), Reason: "holds an unreadable state: " + err.Error()}
	}
	return st, nil
}

// save writes st atomically. The caller holds the vault lock.
func (s *Store) save(st *state) error {
	pt := st.marshal()
	defer clear(pt)
	hdr := header()
	nonce, ct := seal.Seal(s.key, pt, hdr)
	out := append(append(hdr, nonce...), ct...)
	if err := safefile.WriteAtomic(s.dir, FileName, out); err != nil {
		return fmt.Errorf("write %s: %w", s.Path(), err)
	}
	return nil
}

// Enroll starts TOTP with seed once the human has typed code, the
// confirming code their authenticator app shows (proof that it holds the
// seed and that its clock agrees). The confirming code's step counts as
// used. A wrong code writes nothing and returns ErrBadCode.
func (s *Store) Enroll(seed []byte, code string, now time.Time) error {
	if len(seed) < minSeed || len(seed) > maxSeed {
		return fmt.Errorf("totp seed is %d bytes (want %d..%d)", len(seed), minSeed, maxSeed)
	}
	lk, err := safefile.LockDir(s.dir)
	if err != nil {
		return err
	}
	defer lk.Unlock()
	if p, err := Present(s.dir); p || err != nil {
		return fmt.Errorf("%w (%s exists)", ErrEnabled, s.Path())
	}
	code, ok := normalize(code, Digits)
	if !ok {
		return ErrBadCode
	}
	step, ok, err := matchStep(SHA1, seed, Digits, code, Step(now, Period))
	if err != nil {
		return err
	}
	if !ok {
		return ErrBadCode
	}
	st := &state{alg: SHA1, digits: Digits, period: Period, seed: seed, last: step}
	return s.save(st)
}

// normalize drops spaces (authenticator apps show "123 456") and checks
// that what is left is digits decimal digits.
func normalize(code string, digits int) (string, bool) {
	code = strings.Join(strings.Fields(code), "")
	if len(code) != digits {
		return "", false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return "", false
		}
	}
	return code, true
}

// Verify checks code at time now, under the vault lock, and records the
// outcome in totp.seal before returning it, so neither a reused code nor the
// failure count can escape by starting another process. While locked out it
// returns a *RateLimitedError without looking at the code. A wrong code is
// ErrBadCode; a code for a step at or before the last accepted one is
// ErrReused; both count as failures.
func (s *Store) Verify(code string, now time.Time) error {
	lk, err := safefile.LockDir(s.dir)
	if err != nil {
		return err
	}
	defer lk.Unlock()
	st, err := s.load()
	if err != nil {
		return err
	}
	defer st.wipe()
	if wait := st.lockedFor(now); wait > 0 {
		return &RateLimitedError{Wait: wait, Failures: int(st.failures)}
	}
	verdict := ErrBadCode
	if c, ok := normalize(code, st.digits); ok {
		cur := Step(now, st.period)
		lo := cur - min(cur, Skew)
		for step := lo; step <= cur+Skew; step++ {
			want, err := HOTP(st.alg, st.seed, step, st.digits)
			if err != nil {
				return err
			}
			if !hmacEqual(want, c) {
				continue
			}
			if step > st.last {
				verdict = nil
				st.last = step
				break
			}
			verdict = ErrReused
		}
	}
	if verdict == nil {
		st.failures, st.lockUntil = 0, 0
	} else {
		st.failures++
		if st.failures >= MaxFailures {
			st.lockUntil = now.Add(lockout(st.failures)).UnixNano()
		}
	}
	if err := s.save(st); err != nil {
		// Unrecorded, a success could be replayed and a failure not
		// counted: deny.
		return err
	}
	return verdict
}

// hmacEqual compares two codes in constant time.
func hmacEqual(a, b string) bool { return constantTimeEqual([]byte(a), []byte(b)) }

// lockout is the lockout after n consecutive failures (n ≥ MaxFailures).
func lockout(n uint32) time.Duration {
	d := BaseLockout
	for i := uint32(MaxFailures); i < n && d < MaxLockout; i++ {
		d *= 2
	}
	return min(d, MaxLockout)
}

func (st *state) lockedFor(now time.Time) time.Duration {
	if st.lockUntil == 0 {
		return 0
	}
	wait := time.Unix(0, st.lockUntil).Sub(now)
	if wait <= 0 {
		return 0
	}
	// A clock set back must not turn a lockout into a longer one than the
	// policy allows.
	return min(wait, MaxLockout)
}

// Status is what `envseal totp status` shows (no seed).
type Status struct {
	Failures  int
	LockedFor time.Duration
	LastStep  uint64
}

// Status reads the state without changing it.
func (s *Store) Status(now time.Time) (Status, error) {
	st, err := s.load()
	if err != nil {
		return Status{}, err
	}
	defer st.wipe()
	return Status{Failures: int(st.failures), LockedFor: st.lockedFor(now), LastStep: st.last}, nil
}

// Check loads and authenticates the state, so that a missing or damaged
// file denies before the human is asked anything, and a lockout is
// reported up front.
func (s *Store) Check(now time.Time) error {
	st, err := s.Status(now)
	if err != nil {
		return err
	}
	if st.LockedFor > 0 {
		return &RateLimitedError{Wait: st.LockedFor, Failures: st.Failures}
	}
	return nil
}

// Remove deletes totp.seal (after the caller cleared the policy flag).
func (s *Store) Remove() error {
	lk, err := safefile.LockDir(s.dir)
	if err != nil {
		return err
	}
	defer lk.Unlock()
	if err := safefile.Remove(s.dir, FileName); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
