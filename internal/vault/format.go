package vault

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/envseal/envseal/internal/detect"
	"github.com/envseal/envseal/internal/seal"
)

// On-disk formats. docs/FORMAT.md describes them byte by byte;
// format_vectors_test.go pins them with known-answer files. master.key is
// version 1; secret files are written as version 2 (version 1 still read).
const (
	masterMagic   = "envsealK"
	secretMagic   = "envsealS"
	formatV1      = 1
	secretV2      = 2 // adds rotation period, provider guess and flags
	kdfArgon2id   = 1
	masterHdrLen  = 8 + 1 + 1 + 4 + 4 + 1 + seal.SaltSize // 35
	masterFileLen = masterHdrLen + seal.NonceSize + seal.KeySize + seal.TagSize
	// MaxValueLen bounds a secret value; larger files are refused unread.
	MaxValueLen   = 1 << 20
	maxSecretFile = secretHeaderMax + seal.NonceSize + MaxValueLen + seal.TagSize
	// MaxProviderLen bounds the stored provider guess.
	MaxProviderLen = 32
	// RotateNever, as Meta.RotateDays, turns rotation reminders off.
	RotateNever = ^uint32(0)
	// DefaultRotateDays applies when Meta.RotateDays is 0.
	DefaultRotateDays = 90
)

// Secret flags (version 2).
const (
	flagWeak   = 1 << 0 // the value looked low-entropy or a placeholder when stored
	flagsKnown = flagWeak
)

// ErrFormat means a file is not in a format this envseal understands:
// wrong magic, unknown version, or wrong length. Every parse error wraps it.
var ErrFormat = errors.New("malformed file")

// masterFile is the parsed master key file.
type masterFile struct {
	params  seal.KDFParams
	salt    []byte
	nonce   []byte
	wrapped []byte // ciphertext||tag of the 32-byte master key
	header  []byte // bytes authenticated as associated data
}

func encodeMaster(p seal.KDFParams, salt, nonce, wrapped []byte) []byte {
	b := masterHeader(p, salt)
	b = append(b, nonce...)
	return append(b, wrapped...)
}

func masterHeader(p seal.KDFParams, salt []byte) []byte {
	b := make([]byte, 0, masterFileLen)
	b = append(b, masterMagic...)
	b = append(b, formatV1, kdfArgon2id)
	b = binary.BigEndian.AppendUint32(b, p.Time)
	b = binary.BigEndian.AppendUint32(b, p.MemoryKiB)
	b = append(b, p.Threads)
	return append(b, salt...)
}

// parseMaster parses a master key file. It checks the structure and that the
// KDF parameters are within seal's caps, so a hostile header is refused
// before any expensive work.
func parseMaster(b []byte) (*masterFile, error) {
	if len(b) < 10 || string(b[:8]) != masterMagic {
		return nil, fmt.Errorf("%w: not an envseal master key file", ErrFormat)
	}
	if b[8] != formatV1 {
		return nil, fmt.Errorf("%w: unknown master key format version %d (this envseal reads version %d; upgrade envseal)", ErrFormat, b[8], formatV1)
	}
	if b[9] != kdfArgon2id {
		return nil, fmt.Errorf("%w: unknown key derivation function %d", ErrFormat, b[9])
	}
	if len(b) != masterFileLen {
		return nil, fmt.Errorf("%w: master key file is %d bytes, want %d", ErrFormat, len(b), masterFileLen)
	}
	m := &masterFile{
		params: seal.KDFParams{
			Time:      binary.BigEndian.Uint32(b[10:14]),
			MemoryKiB: binary.BigEndian.Uint32(b[14:18]),
			Threads:   b[18],
		},
		salt:    b[19:masterHdrLen],
		nonce:   b[masterHdrLen : masterHdrLen+seal.NonceSize],
		wrapped: b[masterHdrLen+seal.NonceSize:],
		header:  b[:masterHdrLen],
	}
	if err := m.params.Check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return m, nil
}

// Meta is a secret's metadata. It is stored in the clear in the file header
// (so `envseal list` works without the passphrase) and authenticated as
// associated data, so it is verified every time the value is decrypted; it
// never comes from the file's mtime.
type Meta struct {
	Name       string
	Created    time.Time
	Updated    time.Time
	Generation uint64 // 1 on first store, +1 on every --force overwrite
	// Len is the value's length in bytes, known from the ciphertext's
	// length without decrypting (authenticated only when decrypted; used
	// to warn about values too short to scrub, before any decryption).
	Len int
	// RotateDays is the rotation period in days: 0 means the default
	// (DefaultRotateDays), RotateNever means no reminder. Version 2.
	RotateDays uint32
	// Provider is the provider guessed from the value's shape when it was
	// stored (detect.Provider), "" if none. Version 2.
	Provider string
	// Weak says the value looked low-entropy or like a placeholder when it
	// was stored. Version 2.
	Weak bool
	// Format is the secret file's format version (1 or 2).
	Format byte
}

// RotationPeriod is the effective rotation period (0: never).
func (m Meta) RotationPeriod() time.Duration {
	switch m.RotateDays {
	case RotateNever:
		return 0
	case 0:
		return DefaultRotateDays * 24 * time.Hour
	}
	return time.Duration(m.RotateDays) * 24 * time.Hour
}

// RotationDays is the rotation period in whole days, -1 when rotation is
// off: how `list --json` and the audit log write it.
func (m Meta) RotationDays() int64 {
	if p := m.RotationPeriod(); p > 0 {
		return int64(p / (24 * time.Hour))
	}
	return -1
}

// RotationDue is when the value should be replaced: its last update plus
// the rotation period; zero when rotation is off.
func (m Meta) RotationDue() time.Time {
	p := m.RotationPeriod()
	if p == 0 {
		return time.Time{}
	}
	return m.Updated.Add(p)
}

// secretFile is a parsed secret file.
type secretFile struct {
	meta       Meta
	nonce      []byte
	ciphertext []byte
	header     []byte
}

// secretHeader encodes m's header in format m.Format (version 2 when
// unset).
func secretHeader(m Meta) []byte {
	v := m.Format
	if v == 0 {
		v = secretV2
	}
	b := make([]byte, 0, secretHeaderMax)
	b = append(b, secretMagic...)
	b = append(b, v, byte(len(m.Name)))
	b = append(b, m.Name...)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Created.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(m.Updated.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, m.Generation)
	if v == formatV1 {
		return b
	}
	b = binary.BigEndian.AppendUint32(b, m.RotateDays)
	b = append(b, byte(len(m.Provider)))
	b = append(b, m.Provider...)
	var flags byte
	if m.Weak {
		flags |= flagWeak
	}
	return append(b, flags)
}

func encodeSecret(hdr, nonce, ct []byte) []byte {
	b := make([]byte, 0, len(hdr)+len(nonce)+len(ct))
	b = append(b, hdr...)
	b = append(b, nonce...)
	return append(b, ct...)
}

// secretHeaderMax is the most bytes a secret file's header can take
// (version 2: magic, version, name length, name, created, updated,
// generation, rotation days, provider length, provider, flags).
const secretHeaderMax = 10 + MaxNameLen + 24 + 4 + 1 + MaxProviderLen + 1

// parseSecretHeader parses the clear header of a secret file of total
// size bytes, given at least its first min(size, secretHeaderMax) bytes.
// It returns the metadata and the header's length.
func parseSecretHeader(b []byte, size int64) (Meta, int, error) {
	if len(b) < 10 || string(b[:8]) != secretMagic {
		return Meta{}, 0, fmt.Errorf("%w: not an envseal secret file", ErrFormat)
	}
	v := b[8]
	if v != formatV1 && v != secretV2 {
		return Meta{}, 0, fmt.Errorf("%w: unknown secret format version %d (this envseal reads versions %d and %d; upgrade envseal)", ErrFormat, v, formatV1, secretV2)
	}
	n := int(b[9])
	hdrLen := 10 + n + 24
	if v == secretV2 {
		hdrLen += 4 + 1 // rotation days, provider length; then provider, flags
		if len(b) >= hdrLen {
			hdrLen += int(b[hdrLen-1]) + 1
		}
	}
	if size < int64(hdrLen+seal.NonceSize+seal.TagSize+1) || len(b) < hdrLen {
		return Meta{}, 0, fmt.Errorf("%w: secret file truncated (%d bytes)", ErrFormat, size)
	}
	name := string(b[10 : 10+n])
	if err := ValidName(name); err != nil {
		return Meta{}, 0, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	p := b[10+n:]
	m := Meta{
		Name:       name,
		Created:    time.Unix(0, int64(binary.BigEndian.Uint64(p[0:8]))).UTC(),
		Updated:    time.Unix(0, int64(binary.BigEndian.Uint64(p[8:16]))).UTC(),
		Generation: binary.BigEndian.Uint64(p[16:24]),
		Len:        int(size) - hdrLen - seal.NonceSize - seal.TagSize,
		Format:     v,
	}
	if v == secretV2 {
		m.RotateDays = binary.BigEndian.Uint32(p[24:28])
		k := int(p[28])
		m.Provider = string(p[29 : 29+k])
		flags := p[29+k]
		if k > MaxProviderLen || (k > 0 && !detect.ValidProviderID(m.Provider)) {
			return Meta{}, 0, fmt.Errorf("%w: invalid provider field", ErrFormat)
		}
		if flags&^flagsKnown != 0 {
			return Meta{}, 0, fmt.Errorf("%w: unknown flags %#x (upgrade envseal)", ErrFormat, flags)
		}
		m.Weak = flags&flagWeak != 0
	}
	if m.Generation == 0 {
		return Meta{}, 0, fmt.Errorf("%w: generation 0", ErrFormat)
	}
	if !bytes.Equal(secretHeader(m), b[:hdrLen]) {
		// Only reachable if a timestamp does not round-trip; keeps the
		// encoding canonical so one header has one meaning.
		return Meta{}, 0, fmt.Errorf("%w: non-canonical header", ErrFormat)
	}
	return m, hdrLen, nil
}

// parseSecret parses a secret file's structure (not its ciphertext).
func parseSecret(b []byte) (*secretFile, error) {
	m, hdrLen, err := parseSecretHeader(b, int64(len(b)))
	if err != nil {
		return nil, err
	}
	return &secretFile{
		meta:       m,
		header:     b[:hdrLen],
		nonce:      b[hdrLen : hdrLen+seal.NonceSize],
		ciphertext: b[hdrLen+seal.NonceSize:],
	}, nil
}
