package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"hash"
	"io"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/envseal/envseal/internal/safefile"
	"github.com/envseal/envseal/internal/seal"
)

// Verify checks a whole log read from r: every line parses, seqs run 1, 2,
// … without a gap, each prev is the SHA-256 of the line before it, record 1
// starts a chain (vault_init, or audit_rotated pointing at a rotated-aside
// file), and — when master is a valid master key — every MAC verifies under
// its audit subkey. With the zero Key only the hash chain is checked
// (Summary.MACs is false): anyone can recompute a chain, so that proves
// nothing against a deliberate edit.
//
// The first problem comes back as a *TamperError naming the line and what
// is wrong (with a Summary of the records before it); other errors are
// read errors. Verify does not know about
// audit.head; Log.Verify checks that too.
//
// Lines are hashed and MACed in parallel (one worker per CPU); only the
// cheap comparisons of the chain run in order.
func Verify(r io.Reader, master seal.Key) (Summary, error) {
	var sub seal.Key
	if master.Valid() {
		sub = master.Subkey(seal.DomainAudit)
		defer sub.Wipe()
	}
	return verifyStream(r, verifyOpts{sub: sub, genesis: true})
}

// VerifyFile is Verify of the log file at path (a copy of this vault's
// log, such as one moved aside as audit.log.corrupt-<time>), opened the
// way the vault's own files are (safefile.OpenFile: no symlink, owned by
// this user).
func VerifyFile(path string, master seal.Key) (Summary, error) {
	f, err := safefile.OpenFile(path)
	if err != nil {
		return Summary{}, err
	}
	defer f.Close()
	return Verify(f, master)
}

// verifyOpts says what stream is checked and how.
type verifyOpts struct {
	sub     seal.Key // audit subkey; zero = hash chain only
	genesis bool     // the stream is a whole log: record 1 must start a chain
	// A segment starts at an anchored record instead: its first line must
	// have this seq and hash (its prev is not known).
	segment   bool
	startSeq  uint64
	startHash [HashSize]byte
	base      int64 // offset of the stream in the file (for anchor offsets)
	// anchor, when set, names a record that must be present and identical.
	anchor *head
}

// chunkSize is how much one worker takes at a time.
const chunkSize = 1 << 20

// chunk is a run of whole lines and what the workers found in them.
type chunk struct {
	buf     []byte
	partial bool // buf is the last bytes of the stream, without a newline
	tooLong bool // buf is a line longer than any record may be
	res     []lineResult
	done    chan struct{}
}

// lineResult is one line as the worker saw it.
type lineResult struct {
	start, end int // the line within chunk.buf, without its newline
	err        error
	seq        uint64
	hash       [HashSize]byte
	prev       [HashSize]byte
	timeAt     int // offset of the time within the line
	keyed      bool
	macOK      bool
}

func verifyStream(r io.Reader, o verifyOpts) (Summary, error) {
	bufSize := chunkSize
	if s, ok := r.(interface{ Size() int64 }); ok && s.Size() < chunkSize {
		bufSize = int(s.Size()) + 1 // the whole stream fits in one buffer
	}
	if bufSize <= smallStream {
		return verifySmall(r, bufSize, o)
	}
	workers := runtime.GOMAXPROCS(0)
	var (
		pool    = newBufPool(bufSize, 2*workers+4)
		work    = make(chan *chunk, workers)
		ordered = make(chan *chunk, 2*workers+2)
		readErr error
		skip    atomic.Bool // after the first failure: seqs only, no hashing
	)
	go func() {
		defer close(ordered)
		defer close(work)
		readErr = readChunks(r, pool, func(c *chunk) {
			c.done = make(chan struct{})
			ordered <- c
			work <- c
		})
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mac hash.Hash
			if o.sub.Valid() {
				mac = seal.NewMAC(o.sub)
			}
			for c := range work {
				scanChunk(c, mac, o.sub.Valid(), skip.Load())
				close(c.done)
			}
		}()
	}
	k := checker{o: o, expect: 1, off: o.base}
	if o.segment {
		k.expect = o.startSeq
	}
	for c := range ordered {
		<-c.done
		k.consume(c)
		if k.fail != nil {
			skip.Store(true)
		}
		pool.put(c.buf)
	}
	wg.Wait()
	if readErr != nil {
		return Summary{}, readErr
	}
	return k.finish()
}

// smallStream is the size below which verifying in the calling goroutine
// beats starting workers (an append checks only a few new records).
const smallStream = 64 << 10

// verifySmall is verifyStream for a stream known to fit in one buffer.
func verifySmall(r io.Reader, bufSize int, o verifyOpts) (Summary, error) {
	var chunks []*chunk
	if err := readChunks(r, newBufPool(bufSize, 0), func(c *chunk) { chunks = append(chunks, c) }); err != nil {
		return Summary{}, err
	}
	k := checker{o: o, expect: 1, off: o.base}
	if o.segment {
		k.expect = o.startSeq
	}
	var mac hash.Hash
	if o.sub.Valid() {
		mac = seal.NewMAC(o.sub)
	}
	for _, c := range chunks {
		scanChunk(c, mac, o.sub.Valid(), k.fail != nil)
		k.consume(c)
	}
	return k.finish()
}

// bufPool recycles the read buffers of one verification: at most the
// number in flight are ever allocated.
type bufPool struct {
	size int
	free chan []byte
}

func newBufPool(size, keep int) *bufPool { return &bufPool{size: size, free: make(chan []byte, keep)} }

func (p *bufPool) get() []byte {
	select {
	case b := <-p.free:
		return b[:p.size]
	default:
		return make([]byte, p.size)
	}
}

func (p *bufPool) put(b []byte) {
	if cap(b) != p.size {
		return // a clone (the unterminated tail), not one of ours
	}
	select {
	case p.free <- b[:p.size]:
	default:
	}
}

// readChunks cuts the stream into buffers that end at a newline and hands
// each to emit. The carried-over partial line is copied to the start of the
// next buffer.
func readChunks(r io.Reader, pool *bufPool, emit func(*chunk)) error {
	var carry []byte
	for {
		buf := pool.get()
		n := copy(buf, carry)
		m, err := io.ReadFull(r, buf[n:])
		data := buf[:n+m]
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			return err
		}
		cut := bytes.LastIndexByte(data, '\n') + 1
		switch {
		case eof:
			if cut > 0 {
				emit(&chunk{buf: data[:cut]})
			}
			if cut < len(data) {
				emit(&chunk{buf: bytes.Clone(data[cut:]), partial: true})
			}
			return nil
		case cut == 0:
			// A full buffer without a newline: no record is this long.
			emit(&chunk{buf: data, tooLong: true})
			return nil
		}
		carry = append(carry[:0], data[cut:]...)
		emit(&chunk{buf: data[:cut]})
	}
}

// scanChunk parses, hashes and MACs every line of c. With seqOnly set (a
// failure was already found) it only parses, for the classification
// lookahead.
func scanChunk(c *chunk, mac hash.Hash, haveKey, seqOnly bool) {
	if c.tooLong {
		c.res = []lineResult{{end: len(c.buf), err: syntaxErr("line is longer than any record may be")}}
		return
	}
	c.res = make([]lineResult, 0, len(c.buf)/200+1)
	var sum [HashSize]byte
	for pos := 0; pos < len(c.buf); {
		end := bytes.IndexByte(c.buf[pos:], '\n')
		if end < 0 {
			end = len(c.buf) // only in a partial chunk
		} else {
			end += pos
		}
		line := c.buf[pos:end]
		lr := lineResult{start: pos, end: end}
		pos = end + 1
		raw, err := parseLine(line)
		if err == nil && len(line) == 0 {
			err = syntaxErr("empty line")
		}
		if err != nil {
			lr.err = err
			c.res = append(c.res, lr)
			continue
		}
		lr.seq, lr.keyed = raw.seq, raw.mac != nil
		lr.timeAt = len(partSeq) + len(strconv.AppendUint(sum[:0], raw.seq, 10)) + len(partTime)
		if seqOnly {
			c.res = append(c.res, lr)
			continue
		}
		if !lr.keyed || !haveKey {
			// Not under a MAC we can check: make sure it is a whole,
			// well-formed record (the MAC would otherwise vouch for that).
			if _, err := raw.record(); err != nil {
				lr.err = err
				c.res = append(c.res, lr)
				continue
			}
		}
		lr.hash = sha256.Sum256(line)
		decodeHex(lr.prev[:], raw.prev)
		if lr.keyed && haveKey {
			mac.Reset()
			mac.Write(raw.prefix)
			lr.macOK = hexEqual((*[HashSize]byte)(mac.Sum(sum[:0])), raw.mac)
		}
		c.res = append(c.res, lr)
	}
}

// failure is the first problem found, kept until the end of the stream so
// that what follows it can tell a deletion from a reordering.
type failure struct {
	what        string // parse, mac, seq, genesis, prev, start, anchor
	line        int
	seq         uint64
	expect      uint64
	err         error
	keyed       bool
	tail        bool // the line is the stream's unterminated last bytes
	runStart    int  // first line of the unkeyed run before it (prev failures)
	prevUnkeyed bool // the line before it has no MAC
	macs        bool // MACs were being checked
	// lookahead
	nextSeq   uint64 // seq of the line after it (0: none or unreadable)
	expectAt  int    // a later line carrying the expected seq
	repeatAt  int    // a later line carrying the same seq
	afterLine int    // lines seen after it
}

// checker runs the order-dependent checks, one line at a time.
type checker struct {
	o           verifyOpts
	line        int
	off         int64
	expect      uint64
	prev        [HashSize]byte
	runStart    int  // first line of the current run of unkeyed records (0: none)
	lastUnkeyed bool // the previous line was unkeyed
	sum         Summary
	lastTime    []byte
	fail        *failure
}

func (k *checker) consume(c *chunk) {
	for i := range c.res {
		lr := &c.res[i]
		k.line++
		line := c.buf[lr.start:lr.end]
		if k.fail != nil {
			k.look(lr)
		} else {
			k.check(lr, line, c.partial)
			if k.fail == nil {
				k.accept(lr, line)
			}
		}
		k.off += int64(len(line)) + 1
	}
}

func (k *checker) failAt(what string, lr *lineResult, f failure) {
	f.what, f.line, f.seq, f.expect = what, k.line, lr.seq, k.expect
	f.keyed = lr.keyed
	f.prevUnkeyed = k.lastUnkeyed
	f.macs = k.o.sub.Valid()
	k.fail = &f
}

func (k *checker) check(lr *lineResult, line []byte, partial bool) {
	if partial {
		k.failAt("parse", lr, failure{tail: true, err: lr.err})
		return
	}
	if lr.err != nil {
		k.failAt("parse", lr, failure{err: lr.err})
		return
	}
	if lr.keyed && k.o.sub.Valid() && !lr.macOK {
		k.failAt("mac", lr, failure{})
		return
	}
	if lr.seq != k.expect {
		k.failAt("seq", lr, failure{})
		return
	}
	first := k.line == 1
	switch {
	case first && k.o.segment:
		if lr.hash != k.o.startHash {
			k.failAt("start", lr, failure{})
			return
		}
	case first && k.o.genesis:
		raw, _ := parseLine(line)
		ev := string(raw.event)
		if !(ev == string(AuditRotated) || ev == string(VaultInit) && lr.prev == [HashSize]byte{}) {
			k.failAt("genesis", lr, failure{})
			return
		}
		if ev == string(AuditRotated) {
			if r, err := raw.record(); err == nil {
				var f struct {
					File string `json:"file"`
				}
				if json.Unmarshal(r.Fields, &f) == nil {
					k.sum.RotatedFrom = f.File
				}
			}
		}
	case lr.prev != k.prev:
		k.failAt("prev", lr, failure{runStart: k.runStart})
		return
	}
	if a := k.o.anchor; a != nil && lr.seq == a.seq && (lr.hash != a.hash || k.off != a.offset) {
		k.failAt("anchor", lr, failure{})
	}
}

func (k *checker) accept(lr *lineResult, line []byte) {
	s := &k.sum
	t := line[lr.timeAt : lr.timeAt+timeLen]
	if s.Records == 0 {
		s.FirstSeq = lr.seq
		s.First, _ = time.Parse(TimeFormat, string(t))
	}
	s.Records++
	s.LastSeq = lr.seq
	s.LastHash = lr.hash
	k.lastTime = append(k.lastTime[:0], t...) // parsed once, at the end
	if lr.keyed {
		k.runStart = 0
		s.Uncovered = 0
	} else {
		s.Unkeyed++
		s.Uncovered++
		if k.runStart == 0 {
			k.runStart = k.line
		}
	}
	k.lastUnkeyed = !lr.keyed
	k.prev = lr.hash
	k.expect++
}

// look gathers what classify needs from the lines after a failure.
func (k *checker) look(lr *lineResult) {
	f := k.fail
	f.afterLine++
	if lr.err != nil {
		return
	}
	if f.afterLine == 1 {
		f.nextSeq = lr.seq
	}
	if f.expectAt == 0 && lr.seq == f.expect {
		f.expectAt = k.line
	}
	if f.repeatAt == 0 && f.seq != 0 && lr.seq == f.seq {
		f.repeatAt = k.line
	}
}

func (k *checker) finish() (Summary, error) {
	s := k.sum
	s.MACs = k.o.sub.Valid()
	s.Bytes = k.off - k.o.base
	if len(k.lastTime) > 0 {
		s.Last, _ = time.Parse(TimeFormat, string(k.lastTime))
	}
	if k.fail != nil {
		return s, k.fail.classify()
	}
	if a := k.o.anchor; a != nil {
		if s.Records == 0 || s.LastSeq < a.seq {
			return s, &TamperError{Line: s.Records + 1, Kind: Truncated,
				Reason: tailMissing(s.LastSeq, a.seq)}
		}
		s.Anchored = true
	}
	return s, nil
}

func tailMissing(last, anchored uint64) string {
	if last+1 == anchored {
		return "record " + utoa(anchored) + " is missing from the end (" + HeadFile + " records it)"
	}
	return "records " + utoa(last+1) + "-" + utoa(anchored) + " are missing from the end (" + HeadFile + " records seq " + utoa(anchored) + ")"
}

// classify turns the first failure into a TamperError, using what came
// after it to tell the kinds of damage apart.
func (f *failure) classify() *TamperError {
	te := &TamperError{Line: f.line, Seq: f.seq}
	// A line whose successor carries the seq this line should have had was
	// put in front of it: inserted, not edited.
	slotTaken := f.nextSeq != 0 && f.nextSeq == f.expect
	switch f.what {
	case "parse":
		te.Seq = 0
		switch {
		case f.tail:
			te.Kind, te.Reason = Truncated, "the last line ends without a newline: the record is cut short"
		case slotTaken:
			te.Kind, te.Reason = Inserted, "the line is not a record ("+trimSyntax(f.err)+") and the next line carries seq "+utoa(f.expect)
		default:
			te.Kind, te.Reason = Edited, "not a valid record: "+trimSyntax(f.err)
		}
	case "mac":
		if slotTaken || f.repeatAt == f.line+1 {
			te.Kind, te.Reason = Inserted, "its MAC does not match and the next line carries seq "+utoa(f.nextSeq)+": it is not a record envseal wrote"
		} else {
			te.Kind, te.Reason = Edited, "its MAC does not match: the record was changed after it was written (or belongs to another vault)"
		}
	case "seq":
		switch {
		case f.seq < f.expect && f.seq+1 == f.expect && f.prevUnkeyed && f.keyed:
			// The unkeyed line before claimed this genuine record's seq.
			te.Line, te.Seq = f.line-1, f.seq
			te.Kind, te.Reason = Inserted, "this record has no MAC and the MAC-protected record after it carries the same seq "+utoa(f.seq)
		case f.seq < f.expect:
			te.Kind, te.Reason = Inserted, "seq "+utoa(f.seq)+" appears a second time (a copy of an earlier record)"
		case f.expectAt != 0:
			te.Kind, te.Reason = Reordered, "expected seq "+utoa(f.expect)+" here; that record is at line "+itoa(f.expectAt)
		case f.repeatAt != 0:
			te.Kind, te.Reason = Inserted, "seq "+utoa(f.seq)+" appears again at line "+itoa(f.repeatAt)
		case f.seq == f.expect+1:
			te.Kind, te.Reason = Deleted, "record "+utoa(f.expect)+" is missing (seq jumps from "+utoa(f.expect-1)+" to "+utoa(f.seq)+")"
		default:
			te.Kind, te.Reason = Deleted, "records "+utoa(f.expect)+"-"+utoa(f.seq-1)+" are missing (seq jumps from "+utoa(f.expect-1)+" to "+utoa(f.seq)+")"
		}
	case "genesis":
		te.Kind, te.Reason = Deleted, "the log does not begin with vault_init or audit_rotated: the records before this one were removed"
	case "start":
		te.Kind, te.Reason = Edited, "the record "+HeadFile+" points at has changed"
	case "anchor":
		te.Kind, te.Reason = Edited, "it is not the record "+HeadFile+" recorded for seq "+utoa(f.seq)
	case "prev":
		switch {
		case f.runStart != 0:
			// The line before has no MAC: it, or one of the unkeyed records
			// before it, was changed, and this line's prev gives it away.
			last := f.line - 1
			if !f.keyed {
				last = f.line // this line's own prev is not under a MAC either
			}
			te.Line, te.Seq, te.Kind = f.runStart, 0, Edited
			if f.runStart == last {
				te.Reason = "this record has no MAC of its own and the prev of the next record does not match it: it was changed"
			} else {
				te.Reason = "one of the records at lines " + itoa(f.runStart) + "-" + itoa(last) + " (no MAC of their own) was changed: the prev of line " + itoa(f.line) + " does not match"
			}
		case slotTaken:
			te.Kind, te.Reason = Inserted, "its prev does not match the line before and the next line carries seq "+utoa(f.expect)
		case !f.macs && f.line > 1:
			// Without the key nothing vouches for either line; the likelier
			// story is that the earlier one was changed.
			te.Line, te.Seq = f.line-1, 0
			te.Kind, te.Reason = Edited, "its hash does not match the prev of the next record (checked without the key)"
		case f.keyed:
			te.Kind, te.Reason = Inserted, "it does not follow the line before (prev does not match): a record from another chain"
		default:
			te.Kind, te.Reason = Edited, "its prev does not match the line before"
		}
	}
	return te
}

func trimSyntax(err error) string {
	s := err.Error()
	if p := ErrSyntax.Error() + ": "; len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

func utoa(u uint64) string { return strconv.FormatUint(u, 10) }
func itoa(i int) string    { return strconv.Itoa(i) }
