package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/envseal/envseal/internal/safefile"
	"github.com/envseal/envseal/internal/seal"
)

// Files in the vault directory.
const (
	LogFile  = "audit.log"  // the records
	HeadFile = "audit.head" // the anchor: seq, offset and hash of the last keyed record
	LockFile = "audit.lock" // flock(2) target that serialises appenders
	// CorruptPrefix starts the name a damaged log is moved to, followed by
	// the UTC time of the move (20060102T150405.000000000Z).
	CorruptPrefix = LogFile + ".corrupt-"
)

// Log is the audit log of one vault directory. It implements the launch
// checkpoint's Auditor interface (Event) and has Append for callers that
// want the error.
type Log struct {
	dir string
	// Warn is told, in one lower-case sentence, when the log was moved
	// aside or a record could not be written. nil drops the message.
	Warn func(msg string)
	now  func() time.Time

	mu   sync.Mutex
	last *mark // see mark
}

// New returns the log of vault directory dir. Nothing is read or written
// until the first call.
func New(dir string) *Log { return &Log{dir: dir, now: time.Now} }

// Path is the log file's path.
func (l *Log) Path() string { return filepath.Join(l.dir, LogFile) }

func (l *Log) warn(format string, args ...any) {
	if l.Warn != nil {
		l.Warn(fmt.Sprintf(format, args...))
	}
}

// Event records an event and reports a failure through Warn: the caller
// (the run checkpoint) goes on, since a vault that stops working because
// the disk is full helps nobody — and the missing record is visible in the
// warning. master is the master key, or the zero Key before unlock.
func (l *Log) Event(master seal.Key, kind Event, fields map[string]any) {
	if err := l.Append(master, kind, fields); err != nil {
		l.warn("could not write the audit record %s: %v", kind, err)
	}
}

// Append adds one record and fsyncs it before returning. With a valid
// master key the record carries a MAC under the audit subkey and the log is
// checked first (see tail); with the zero Key it is written unkeyed (see
// the package doc). fields
// must hold no secret value: names, paths, hashes, argv, decisions, counts.
// A log that does not verify is moved aside first (see rotate); that is
// reported through Warn, not as an error.
func (l *Log) Append(master seal.Key, event Event, fields map[string]any) error {
	if !validEvent(string(event)) {
		return fmt.Errorf("audit event %q: not a lowercase name of at most %d bytes", event, maxEvent)
	}
	fb, err := encodeFields(fields)
	if err != nil {
		return err
	}
	var (
		sub seal.Key
		mac hash.Hash
	)
	if master.Valid() {
		sub = master.Subkey(seal.DomainAudit)
		defer sub.Wipe()
		mac = seal.NewMAC(sub)
	}
	if err := safefile.CheckDir(l.dir); err != nil {
		return err
	}
	release, err := lockAudit(l.dir, true)
	if err != nil {
		return err
	}
	defer release()
	mk := l.mark()
	l.setMark(nil) // set again only once this append has succeeded

	f, st, problem, err := l.openTail(sub, event, mk)
	if err != nil {
		return err
	}
	var out []byte
	switch {
	case problem != "":
		if f, st, out, err = l.rotate(f, st.size, problem, mac); err != nil {
			return err
		}
	case st.size == 0 && event != VaultInit:
		// No log (a vault from before the audit log, or one deleted whole):
		// say so in the first record rather than start a chain that looks
		// complete.
		out = l.startChain(&st, map[string]any{"reason": "there was no audit log"}, [HashSize]byte{}, mac)
		l.warn("there was no audit log in %s; started a new one whose first record says so", l.dir)
	}
	defer f.Close()
	line := encodeLine(st.next, l.now(), string(event), fb, &st.prev, mac)
	return l.write(f, st, out, line, mac)
}

// openTail opens the log for appending and reads its tail (tail): the
// state the next record continues, or the problem for which the log is
// to be rotated (an unsafe file is one).
func (l *Log) openTail(sub seal.Key, event Event, mk *mark) (*os.File, tailState, string, error) {
	f, err := openLog(l.Path(), true)
	var st tailState
	problem := ""
	switch {
	case errors.Is(err, safefile.ErrUnsafe):
		problem = err.Error() // a planted symlink or hard link is moved aside too
	case err != nil:
		return nil, st, "", err
	default:
		st, problem, err = l.tail(f, sub, string(event), mk)
		if err != nil {
			f.Close()
			return nil, st, "", err
		}
	}
	return f, st, problem, nil
}

// write appends out (a rotation's or a new chain's first record, if any)
// and line to f, fsyncs it and, keyed, moves the head anchor to line.
func (l *Log) write(f *os.File, st tailState, out, line []byte, mac hash.Hash) error {
	lineOff := st.size + int64(len(out))
	out = append(append(out, line...), '\n')
	// One write(2) on an O_APPEND descriptor: the line lands whole at the
	// end, and we hold the lock, so nothing interleaves.
	if n, err := f.Write(out); err != nil || n != len(out) {
		f.Truncate(st.size) // never leave half a record behind
		if err == nil {
			err = io.ErrShortWrite
		}
		return fmt.Errorf("append to %s: %w", l.Path(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", l.Path(), err)
	}
	if mac != nil {
		h := head{seq: st.next, offset: lineOff, hash: sha256.Sum256(line)}
		if err := writeHeadFile(filepath.Join(l.dir, HeadFile), h.encode(mac)); err != nil {
			return fmt.Errorf("update %s: %w", HeadFile, err)
		}
		if fi, err := f.Stat(); err == nil {
			l.setMark(&mark{fi: fi, head: h})
		}
	}
	return nil
}

// mark is the last keyed record this Log appended, in the file fi. The
// next append by the same process checks only what came after it, so the
// several records of one `envseal run` cost one full check, not several.
type mark struct {
	fi os.FileInfo
	head
}

func (l *Log) mark() *mark {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

func (l *Log) setMark(m *mark) {
	l.mu.Lock()
	l.last = m
	l.mu.Unlock()
}

// fullCheckLimit is the log size up to which every append checks every
// record (about 25,000 records, 20 ms here). A longer log is checked from
// the anchor on, so an append stays cheap however long the log grows;
// `envseal audit verify` always checks everything.
const fullCheckLimit = 8 << 20

// tailState is where the next record goes.
type tailState struct {
	size int64          // current length of the log
	next uint64         // seq of the next record
	prev [HashSize]byte // hash of the last line
}

// tail checks the log before an append and says where the next record
// goes, or what is wrong with the log ("problem"). A key holder checks
// every record of a log up to fullCheckLimit, and beyond that the records
// from the anchor on; within one process, the records after its own last
// keyed record (mk). An appender without the key can only check that the
// last line is a whole record. err is an I/O error, not damage.
func (l *Log) tail(f *os.File, sub seal.Key, event string, mk *mark) (st tailState, problem string, err error) {
	fi, err := f.Stat()
	if err != nil {
		return st, "", err
	}
	st.size = fi.Size()
	hb, herr := safefile.ReadFile(filepath.Join(l.dir, HeadFile), int64(headLen)+1)
	headMissing := errors.Is(herr, fs.ErrNotExist)
	if st.size == 0 {
		st.next = 1
		if !headMissing {
			return st, "audit.log is empty but " + HeadFile + " exists: its records were removed", nil
		}
		return st, "", nil
	}
	if event == string(VaultInit) {
		return st, "a new vault was created where an audit log already was", nil
	}
	if !sub.Valid() {
		return l.tailNoKey(f, st)
	}
	var h *head
	switch {
	case herr == nil:
		if h, err = parseHead(hb, seal.NewMAC(sub)); err != nil {
			return st, err.Error(), nil
		}
		if h.offset >= st.size {
			return st, fmt.Sprintf("audit.log ends before the record %s points at (seq %d): records were cut from the end", HeadFile, h.seq), nil
		}
	case !headMissing:
		return st, herr.Error(), nil
	}
	o := verifyOpts{sub: sub}
	switch {
	case mk != nil && os.SameFile(mk.fi, fi) && st.size > mk.offset:
		// This process appended the last keyed record it knows of and
		// checked everything before it then: check from there on.
		if h == nil {
			return st, HeadFile + " is missing: records cut from the end would go unnoticed", nil
		}
		if h.seq < mk.seq {
			return st, fmt.Sprintf("%s went back from seq %d to seq %d", HeadFile, mk.seq, h.seq), nil
		}
		o.segment, o.startSeq, o.startHash, o.base, o.anchor = true, mk.seq, mk.hash, mk.offset, h
	case h != nil && st.size > fullCheckLimit:
		// A long log: check what was written since the last keyed append.
		o.segment, o.startSeq, o.startHash, o.base = true, h.seq, h.hash, h.offset
	default:
		o.genesis, o.anchor = true, h
	}
	r := io.NewSectionReader(f, o.base, st.size-o.base)
	sum, err := verifyStream(r, o)
	var te *TamperError
	if errors.As(err, &te) {
		if o.segment && te.Line > 0 {
			te.Line += int(o.startSeq) - 1 // the lines before the start all verified earlier
		}
		return st, te.Error(), nil
	}
	if err != nil {
		return st, "", fmt.Errorf("read %s: %w", l.Path(), err)
	}
	if headMissing && sum.Records > sum.Unkeyed {
		return st, HeadFile + " is missing: records cut from the end would go unnoticed", nil
	}
	st.next, st.prev = sum.LastSeq+1, sum.LastHash
	return st, "", nil
}

// tailNoKey chains onto the last line without being able to check any MAC.
func (l *Log) tailNoKey(f *os.File, st tailState) (tailState, string, error) {
	line, torn, err := lastLine(f, st.size)
	if err != nil {
		return st, "", err
	}
	switch {
	case torn:
		return st, "the last line is cut short", nil
	case line == nil:
		return st, "the log does not end with a whole record", nil
	}
	raw, err := parseLine(line)
	if err != nil {
		return st, "the last line is not a record: " + trimSyntax(err), nil
	}
	st.next, st.prev = raw.seq+1, sha256.Sum256(line)
	return st, "", nil
}

// lastLine returns the last newline-terminated line of the first size
// bytes of f (nil if there is none within MaxLine) and whether bytes
// without a newline follow it.
func lastLine(f *os.File, size int64) (line []byte, torn bool, err error) {
	n := min(size, int64(MaxLine)+2)
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, size-n); err != nil {
		return nil, false, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	end := bytes.LastIndexByte(buf, '\n')
	torn = end != len(buf)-1
	if end < 0 {
		return nil, torn, nil
	}
	start := bytes.LastIndexByte(buf[:end], '\n') + 1
	if start == 0 && size > n {
		return nil, torn, nil // the line starts before the window: too long
	}
	return buf[start:end], torn, nil
}

// rotate moves a damaged log aside as audit.log.corrupt-<time> (never
// deleting it), removes the anchor that belonged to it, and opens a new log
// whose first record, audit_rotated, names the old file, its SHA-256 and
// the reason, and has the old file's last line's hash as its prev. It
// returns the new log, where the next record goes, and the first line to
// write. old may be nil when the log could not even be opened safely.
func (l *Log) rotate(old *os.File, size int64, reason string, mac hash.Hash) (*os.File, tailState, []byte, error) {
	now := l.now().UTC()
	name := CorruptPrefix + now.Format("20060102T150405.000000000Z")
	fields := map[string]any{"file": name, "reason": reason}
	var final [HashSize]byte
	if old != nil {
		if line, _, err := lastLine(old, size); err == nil && line != nil {
			final = sha256.Sum256(line)
		}
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(old, 0, size)); err == nil {
			fields["file_sha256"] = hex.EncodeToString(h.Sum(nil))
			fields["bytes"] = size
		}
		old.Close()
	}
	if _, err := os.Lstat(filepath.Join(l.dir, name)); err == nil {
		return nil, tailState{}, nil, fmt.Errorf("move %s aside: %s already exists", l.Path(), name)
	}
	if err := os.Rename(l.Path(), filepath.Join(l.dir, name)); err != nil {
		return nil, tailState{}, nil, fmt.Errorf("move %s aside: %w", l.Path(), err)
	}
	if err := os.Remove(filepath.Join(l.dir, HeadFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, tailState{}, nil, fmt.Errorf("remove %s: %w", HeadFile, err)
	}
	if err := safefile.SyncDir(l.dir); err != nil {
		return nil, tailState{}, nil, err
	}
	f, err := openLog(l.Path(), true)
	if err != nil {
		return nil, tailState{}, nil, err
	}
	var st tailState
	out := l.startChain(&st, fields, final, mac)
	l.warn("the audit log did not verify (%s); it was moved to %s and a new log starts with a record pointing to it", reason, filepath.Join(l.dir, name))
	return f, st, out, nil
}

// startChain returns record 1 of a new chain, audit_rotated, and sets st
// to follow it.
func (l *Log) startChain(st *tailState, fields map[string]any, prev [HashSize]byte, mac hash.Hash) []byte {
	fb, _ := encodeFields(fields) // strings and numbers only: cannot fail
	line := encodeLine(1, l.now(), string(AuditRotated), fb, &prev, mac)
	*st = tailState{size: 0, next: 2, prev: sha256.Sum256(line)}
	return append(line, '\n')
}

// encodeFields serialises fields as compact JSON with sorted keys
// (encoding/json sorts map keys, so the bytes are deterministic). Fields
// larger than maxFields are replaced by their size, keys and SHA-256, so
// one huge argv cannot make a record too long to read back.
func encodeFields(fields map[string]any) ([]byte, error) {
	if len(fields) == 0 {
		return []byte("{}"), nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(fields); err != nil {
		return nil, fmt.Errorf("encode audit fields: %w", err)
	}
	out := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	if len(out) <= maxFields {
		return out, nil
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	sum := sha256.Sum256(out)
	return json.Marshal(map[string]any{"truncated": true, "bytes": len(out), "sha256": hex.EncodeToString(sum[:]), "keys": keys})
}

// Verify checks the whole log and its anchor under master's audit subkey
// (see the package Verify), holding a shared lock only while it takes a
// consistent snapshot (size and anchor), so appenders wait at most for that.
// A missing or empty log, or a missing anchor after keyed records, is a
// *TamperError too: deleting the evidence must not verify.
func (l *Log) Verify(master seal.Key) (Summary, error) {
	if !master.Valid() {
		return Summary{}, errors.New("verifying the audit log needs the vault key")
	}
	sub := master.Subkey(seal.DomainAudit)
	defer sub.Wipe()
	f, size, hb, herr, err := l.snapshot(true)
	if errors.Is(err, fs.ErrNotExist) {
		return Summary{}, &TamperError{Line: 1, Kind: Deleted, Reason: LogFile + " is missing"}
	}
	if err != nil {
		return Summary{}, err
	}
	defer f.Close()
	o := verifyOpts{sub: sub, genesis: true}
	switch {
	case herr == nil:
		h, err := parseHead(hb, seal.NewMAC(sub))
		if err != nil {
			return Summary{}, &TamperError{Line: 0, Kind: Edited, Reason: err.Error()}
		}
		o.anchor = h
	case !errors.Is(herr, fs.ErrNotExist):
		return Summary{}, herr
	}
	sum, err := verifyStream(io.NewSectionReader(f, 0, size), o)
	if err != nil {
		return sum, err
	}
	if sum.Records == 0 {
		return sum, &TamperError{Line: 1, Kind: Deleted, Reason: LogFile + " is empty"}
	}
	if o.anchor == nil && sum.Records > sum.Unkeyed {
		return sum, &TamperError{Line: 0, Kind: Truncated, Reason: "it is missing, so records cut from the end would go unnoticed"}
	}
	return sum, nil
}

// Snapshot opens the log for reading and returns it with its size at this
// moment (taken under the shared lock, so no append is half-written
// within it). Read at most size bytes; later appends follow them.
func (l *Log) Snapshot() (*os.File, int64, error) {
	f, size, _, _, err := l.snapshot(false)
	return f, size, err
}

func (l *Log) snapshot(withHead bool) (f *os.File, size int64, hb []byte, herr, err error) {
	release, err := lockAudit(l.dir, false)
	if err != nil {
		return nil, 0, nil, nil, err
	}
	defer release()
	f, err = openLog(l.Path(), false)
	if err != nil {
		return nil, 0, nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, nil, nil, err
	}
	if withHead {
		hb, herr = safefile.ReadFile(filepath.Join(l.dir, HeadFile), int64(headLen)+1)
	}
	return f, fi.Size(), hb, herr, nil
}
