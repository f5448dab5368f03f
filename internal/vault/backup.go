package vault

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/envseal/envseal/internal/safefile"
	"github.com/envseal/envseal/internal/seal"
)

// Backup archive format, version 1 (docs/FORMAT.md, "Backup archive").
// The header carries master.key as it is on disk (already wrapped by the
// passphrase), so the archive opens on any machine with the passphrase and
// nothing else. Everything after the header is one stream of entries,
// encrypted in chunks under HKDF(master key, DomainBackup); each chunk's
// associated data binds the header (so chunks cannot move between
// archives), the chunk's index (no reordering) and whether it is the last
// (no truncation). No byte of a secret, a rule or an audit record is in
// the clear, not even the names.
const (
	backupMagic    = "envsealB"
	backupV1       = 1
	backupIDSize   = 16
	backupChunk    = 64 << 10 // plaintext bytes per chunk
	backupChunkCT  = seal.NonceSize + backupChunk + seal.TagSize
	backupHdrLen   = 8 + 1 + backupIDSize + 8 + 2 + masterFileLen
	entryFile      = 'F'
	entryEnd       = 'E'
	maxBackupEntry = 1 << 32 // one file (an audit log) may be large, not unbounded
)

// ErrBackupCorrupt means an archive failed to parse or authenticate: it
// is damaged, truncated, edited or not a backup. Nothing was written.
var ErrBackupCorrupt = errors.New("backup archive is corrupt or was tampered with")

// BackupInfo describes an archive written or restored.
type BackupInfo struct {
	ID      [backupIDSize]byte
	Created time.Time
	Secrets int
	Files   []string // other files carried (policy.seal, audit.log, …)
}

// BackupAdd adds one more file (a name from the caller's allowed list) to
// an archive being written.
type BackupAdd func(name string, r io.Reader, size int64) error

// File adds the file at path (opened with safefile's checks) as name.
func (add BackupAdd) File(name, path string) error {
	f, err := safefile.OpenFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	return add(name, f, st.Size())
}

// Backup writes an encrypted archive of the vault to w: master.key, every
// secret file, the files of extra (top-level names, e.g. policy.seal) that
// exist, and whatever more adds (the audit log, read under its own lock).
// It holds the vault lock throughout, so the archive is one consistent
// state. master must be the vault's unlocked key.
func (v *Vault) Backup(w io.Writer, master seal.Key, extra []string, more func(BackupAdd) error) (BackupInfo, error) {
	var info BackupInfo
	lk, err := v.lockFor(master)
	if err != nil {
		return info, err
	}
	defer lk.Unlock()
	mk, err := safefile.ReadFile(v.path(MasterKeyFile), 4096)
	if err != nil {
		return info, err
	}
	if _, err := parseMaster(mk); err != nil {
		return info, &CorruptError{v.path(MasterKeyFile), err}
	}
	rand.Read(info.ID[:])
	info.Created = time.Now().UTC()
	hdr := backupHeader(info, mk)
	if _, err := w.Write(hdr); err != nil {
		return info, err
	}
	k := master.Subkey(seal.DomainBackup)
	defer k.Wipe()
	sw := &streamWriter{w: w, k: k, hdr: hdr, buf: make([]byte, 0, backupChunk)}
	if err := v.backupFiles(sw.entry, extra, &info); err != nil {
		return info, err
	}
	if more != nil {
		if err := more(func(name string, r io.Reader, size int64) error {
			if err := sw.entry(name, r, size); err != nil {
				return err
			}
			info.Files = append(info.Files, name)
			return nil
		}); err != nil {
			return info, err
		}
	}
	sw.Write([]byte{entryEnd})
	return info, sw.Close()
}

// backupHeader is an archive's clear header: magic, version, id, time and
// the vault's master.key file (mk).
func backupHeader(info BackupInfo, mk []byte) []byte {
	hdr := make([]byte, 0, backupHdrLen)
	hdr = append(hdr, backupMagic...)
	hdr = append(hdr, backupV1)
	hdr = append(hdr, info.ID[:]...)
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(info.Created.UnixNano()))
	hdr = binary.BigEndian.AppendUint16(hdr, uint16(len(mk)))
	return append(hdr, mk...)
}

// backupFiles adds every secret file, and the extra files that exist,
// counting them in info.
func (v *Vault) backupFiles(add BackupAdd, extra []string, info *BackupInfo) error {
	ents, err := os.ReadDir(v.path(SecretsDir))
	if err != nil {
		return err
	}
	for _, e := range ents {
		fn := e.Name()
		if strings.HasPrefix(fn, ".") || !strings.HasSuffix(fn, secretExt) || ValidName(strings.TrimSuffix(fn, secretExt)) != nil {
			continue
		}
		if err := add.File(SecretsDir+"/"+fn, v.path(SecretsDir, fn)); err != nil {
			return err
		}
		info.Secrets++
	}
	for _, name := range extra {
		err := add.File(name, v.path(name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		info.Files = append(info.Files, name)
	}
	return nil
}

// entry writes one file entry of size bytes read from r (a BackupAdd).
func (s *streamWriter) entry(name string, r io.Reader, size int64) error {
	if size < 0 || size > maxBackupEntry {
		return fmt.Errorf("back up %s: %d bytes is over the limit", name, size)
	}
	e := []byte{entryFile}
	e = binary.BigEndian.AppendUint16(e, uint16(len(name)))
	e = append(e, name...)
	e = binary.BigEndian.AppendUint64(e, uint64(size))
	s.Write(e)
	n, err := io.Copy(s, io.LimitReader(r, size))
	if err == nil && n != size {
		err = fmt.Errorf("%s changed size while being read", name)
	}
	if err != nil {
		return fmt.Errorf("back up %s: %w", name, err)
	}
	return s.err
}

// streamWriter seals what it is given in backupChunk-sized chunks.
type streamWriter struct {
	w   io.Writer
	k   seal.Key
	hdr []byte
	buf []byte
	n   uint64
	err error
}

func chunkAD(hdr []byte, n uint64, last bool) []byte {
	ad := append([]byte(nil), hdr...)
	ad = binary.BigEndian.AppendUint64(ad, n)
	if last {
		return append(ad, 1)
	}
	return append(ad, 0)
}

func (s *streamWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 && s.err == nil {
		// A full chunk is flushed only once more data follows, so Close
		// always has a non-empty last chunk to mark as the last.
		if len(s.buf) == backupChunk {
			s.flush(false)
			continue
		}
		m := min(len(p), backupChunk-len(s.buf))
		s.buf, p = append(s.buf, p[:m]...), p[m:]
	}
	if s.err != nil {
		return 0, s.err
	}
	return total, nil
}

func (s *streamWriter) flush(last bool) {
	nonce, ct := seal.Seal(s.k, s.buf, chunkAD(s.hdr, s.n, last))
	clear(s.buf)
	s.buf = s.buf[:0]
	s.n++
	if _, err := s.w.Write(append(nonce, ct...)); err != nil {
		s.err = err
	}
}

func (s *streamWriter) Close() error {
	if s.err == nil {
		s.flush(true)
	}
	return s.err
}

// OpenedBackup is an archive whose header was read and whose master key
// was unwrapped with the passphrase; Restore then writes it out.
type OpenedBackup struct {
	r      *bufio.Reader
	hdr    []byte
	master seal.Key
	mk     []byte
	Info   BackupInfo
}

// OpenBackup reads an archive's header and unwraps its master key with
// passphrase (ErrWrongPassphrase if it does not open).
func OpenBackup(r io.Reader, passphrase []byte) (*OpenedBackup, error) {
	br := bufio.NewReaderSize(r, backupChunkCT+1)
	hdr := make([]byte, backupHdrLen)
	if _, err := io.ReadFull(br, hdr[:8+1]); err != nil || string(hdr[:8]) != backupMagic {
		return nil, fmt.Errorf("%w: not an envseal backup", ErrBackupCorrupt)
	}
	if hdr[8] != backupV1 {
		return nil, fmt.Errorf("%w: unknown backup format version %d (this envseal reads version %d; upgrade envseal)", ErrBackupCorrupt, hdr[8], backupV1)
	}
	if _, err := io.ReadFull(br, hdr[9:]); err != nil {
		return nil, fmt.Errorf("%w: header truncated", ErrBackupCorrupt)
	}
	p := hdr[9:]
	b := &OpenedBackup{r: br, hdr: hdr}
	copy(b.Info.ID[:], p[:backupIDSize])
	b.Info.Created = time.Unix(0, int64(binary.BigEndian.Uint64(p[backupIDSize:]))).UTC()
	if int(binary.BigEndian.Uint16(p[backupIDSize+8:])) != masterFileLen {
		return nil, fmt.Errorf("%w: master key length", ErrBackupCorrupt)
	}
	b.mk = hdr[backupHdrLen-masterFileLen:]
	m, err := parseMaster(b.mk)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBackupCorrupt, err)
	}
	kek, err := seal.PassphraseKey(passphrase, m.salt, m.params)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBackupCorrupt, err)
	}
	defer kek.Wipe()
	if b.master, err = seal.UnwrapKey(kek, m.nonce, m.wrapped, m.header); err != nil {
		return nil, ErrWrongPassphrase
	}
	return b, nil
}

// Close wipes the archive's master key.
func (b *OpenedBackup) Close() { b.master.Wipe() }

// Restore decrypts the whole archive into a new private directory next
// to dir, then moves it into place in one rename: dir either keeps what it
// had or gets the complete archive, never a mix. allowed lists the
// top-level names (besides master.key and secrets/) an archive may carry;
// anything else is refused as tampering. An existing vault in dir is
// replaced only with force, and is then kept as the returned aside path.
func (b *OpenedBackup) Restore(dir string, allowed []string, force bool) (info BackupInfo, aside string, err error) {
	info = b.Info
	if _, err := Open(dir); err == nil && !force {
		return info, "", fmt.Errorf("vault in %s: %w", dir, ErrExists)
	} else if err != nil && !errors.Is(err, ErrNotInitialized) {
		return info, "", err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return info, "", err
	}
	stage, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".restore-")
	if err != nil {
		return info, "", err
	}
	defer func() {
		if stage != "" {
			os.RemoveAll(stage)
		}
	}()
	if err := os.Chmod(stage, 0o700); err != nil {
		return info, "", err
	}
	if err := safefile.MkdirPrivate(filepath.Join(stage, SecretsDir)); err != nil {
		return info, "", err
	}
	if err := b.extract(stage, allowed, &info); err != nil {
		return info, "", err
	}
	if err := safefile.CreateExclusive(stage, MasterKeyFile, b.mk); err != nil {
		return info, "", err
	}
	// One flush of the whole staging tree before it becomes the vault:
	// the rename must never publish files whose bytes are not on disk.
	if err := syncTree(stage); err != nil {
		return info, "", err
	}
	if aside, err = swapIn(stage, dir, force); err != nil {
		return info, "", err
	}
	stage = ""
	return info, aside, safefile.SyncDir(parent)
}

// extract decrypts the entry stream into stage.
func (b *OpenedBackup) extract(stage string, allowed []string, info *BackupInfo) error {
	k := b.master.Subkey(seal.DomainBackup)
	defer k.Wipe()
	sr := &streamReader{r: b.r, k: k, hdr: b.hdr}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBackupCorrupt, fmt.Sprintf(format, args...))
	}
	seen := map[string]bool{}
	for {
		var kind [1]byte
		if _, err := io.ReadFull(sr, kind[:]); err != nil {
			return bad("entry: %v", sr.cause(err))
		}
		if kind[0] == entryEnd {
			if _, err := sr.Read(kind[:]); err != io.EOF {
				return bad("data after the end marker")
			}
			sort.Strings(info.Files)
			return nil
		}
		if kind[0] != entryFile {
			return bad("unknown entry type %d", kind[0])
		}
		var hl [2]byte
		if _, err := io.ReadFull(sr, hl[:]); err != nil {
			return bad("entry: %v", sr.cause(err))
		}
		nb := make([]byte, binary.BigEndian.Uint16(hl[:]))
		var sz [8]byte
		if _, err := io.ReadFull(sr, nb); err != nil {
			return bad("entry: %v", sr.cause(err))
		}
		if _, err := io.ReadFull(sr, sz[:]); err != nil {
			return bad("entry: %v", sr.cause(err))
		}
		name, size := string(nb), binary.BigEndian.Uint64(sz[:])
		sub, fn, ok := strings.Cut(name, "/")
		isSecret := ok && sub == SecretsDir && strings.HasSuffix(fn, secretExt) && ValidName(strings.TrimSuffix(fn, secretExt)) == nil
		if !isSecret && (ok || !contains(allowed, name)) {
			return bad("unexpected file %q", name)
		}
		if seen[name] {
			return bad("%q twice", name)
		}
		seen[name] = true
		if size > maxBackupEntry || isSecret && size > maxSecretFile {
			return bad("%q is %d bytes", name, size)
		}
		if err := writeEntry(filepath.Join(stage, filepath.FromSlash(name)), io.LimitReader(sr, int64(size)), int64(size)); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, ErrBackupCorrupt) {
				return bad("%q: %v", name, sr.cause(err))
			}
			return err
		}
		if isSecret {
			info.Secrets++
		} else {
			info.Files = append(info.Files, name)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// writeEntry writes size bytes from r to a new 0600 file at path (O_EXCL:
// the stage is fresh, so an existing file means a duplicate entry). It is
// not fsynced here: syncTree flushes the whole stage once.
func writeEntry(path string, r io.Reader, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, r)
	if err == nil && n != size {
		err = io.ErrUnexpectedEOF
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// streamReader opens the chunks streamWriter sealed.
type streamReader struct {
	r    *bufio.Reader
	k    seal.Key
	hdr  []byte
	n    uint64
	buf  []byte
	done bool
	err  error // the first authentication or read failure
}

func (s *streamReader) cause(err error) error {
	if s.err != nil {
		return s.err
	}
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (s *streamReader) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		if s.done {
			return 0, io.EOF
		}
		s.next()
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

func (s *streamReader) next() {
	ct := make([]byte, backupChunkCT)
	n, err := io.ReadFull(s.r, ct)
	switch {
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		s.done = true
	case err != nil:
		s.err = err
		return
	default:
		_, perr := s.r.Peek(1)
		s.done = perr == io.EOF
	}
	ct = ct[:n]
	if n < seal.NonceSize+seal.TagSize {
		s.err = fmt.Errorf("%w: stream truncated", ErrBackupCorrupt)
		return
	}
	pt, err := seal.Open(s.k, ct[:seal.NonceSize], ct[seal.NonceSize:], chunkAD(s.hdr, s.n, s.done))
	if err != nil {
		s.err = fmt.Errorf("%w: chunk %d does not authenticate", ErrBackupCorrupt, s.n)
		return
	}
	s.n++
	s.buf = pt
}
