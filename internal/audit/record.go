package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"time"
)

// Sizes and limits of the record format (docs/FORMAT.md, "audit.log").
const (
	// HashSize is the size of a record hash and of a MAC (SHA-256).
	HashSize = sha256.Size
	// MaxLine bounds one record line (without its newline). A longer line
	// is refused by the parser, so a hostile log cannot make a reader
	// buffer without limit.
	MaxLine = 64 << 10
	// maxFields is what a writer lets the fields object take; larger
	// fields are replaced by a summary (see encodeFields).
	maxFields = 32 << 10
	// maxEvent is the longest event name.
	maxEvent = 64
)

// TimeFormat is how a record's time is written: UTC, RFC 3339 with all
// nine fractional digits, so every time has the same width and the bytes
// never depend on the value (time.RFC3339Nano drops trailing zeros).
const TimeFormat = "2006-01-02T15:04:05.000000000Z"

const timeLen = len(TimeFormat)

// The fixed pieces of a line, in order. The MAC covers the "prefix": every
// byte of the line before `,"mac":`.
const (
	partSeq    = `{"seq":`
	partTime   = `,"time":"`
	partEvent  = `","event":"`
	partFields = `","fields":`
	partPrev   = `,"prev":"`
	partMAC    = `,"mac":"`
	endKeyed   = `"}`
	endUnkeyed = `,"mac":null}`
)

// prefixTail is `,"prev":"<64 hex>"`, the fixed end of every prefix.
const prefixTail = len(partPrev) + 2*HashSize + 1

// keyedTail is `,"mac":"<64 hex>"}`, the fixed end of a keyed line.
const keyedTail = len(partMAC) + 2*HashSize + len(endKeyed)

// Record is one parsed line of the log.
type Record struct {
	Seq    uint64
	Time   time.Time
	Event  string
	Fields json.RawMessage // a JSON object, exactly as stored
	Prev   [HashSize]byte  // SHA-256 of the previous line; zero for a new vault's first record
	MAC    []byte          // nil for a record written before the key was available
}

// Keyed reports whether the record carries a MAC of its own.
func (r *Record) Keyed() bool { return r.MAC != nil }

// FieldMap decodes the fields (numbers as json.Number).
func (r *Record) FieldMap() (map[string]any, error) {
	m := map[string]any{}
	d := json.NewDecoder(bytes.NewReader(r.Fields))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("record %d fields: %w", r.Seq, err)
	}
	return m, nil
}

// ErrSyntax is wrapped by every parse failure.
var ErrSyntax = errors.New("not a valid audit record")

// rawRecord is a parsed line as slices of the line itself: what the
// verifier needs, without copying or decoding JSON.
type rawRecord struct {
	seq    uint64
	time   []byte
	event  []byte
	fields []byte
	prev   []byte // 64 lowercase hex digits
	mac    []byte // 64 lowercase hex digits; nil when unkeyed
	prefix []byte // the bytes the MAC covers
}

func syntaxErr(what string) error { return fmt.Errorf("%w: %s", ErrSyntax, what) }

// parseLine splits one line (without its newline) into its parts and checks
// everything but the fields' JSON and the MAC. It accepts exactly what
// encodeLine writes: a line that parses is byte-for-byte reproducible from
// its parts (FuzzParseRecord checks this), so there is no second spelling
// of a record for an attacker to hide behind.
func parseLine(line []byte) (rawRecord, error) {
	var r rawRecord
	n := len(line)
	if n > MaxLine {
		return r, syntaxErr(fmt.Sprintf("line is %d bytes, over the limit of %d", n, MaxLine))
	}
	if bytes.HasPrefix(line, []byte(`{"v":`)) {
		// Reserved for a later format version (docs/FORMAT.md): say so,
		// rather than call a newer envseal's record damage.
		return r, syntaxErr("written by a newer envseal (upgrade envseal to read it)")
	}
	body, err := r.parseEnd(line)
	if err != nil {
		return r, err
	}
	if err := r.parseStart(body); err != nil {
		return r, err
	}
	return r, nil
}

// parseEnd parses the fixed-width end of line from the back — the "mac"
// member (or its absence) and "prev" — into r, and returns what is left:
// the line up to "prev".
func (r *rawRecord) parseEnd(line []byte) ([]byte, error) {
	n := len(line)
	switch {
	case bytes.HasSuffix(line, []byte(endUnkeyed)):
		r.prefix = line[:n-len(endUnkeyed)]
	case n >= keyedTail && bytes.HasSuffix(line, []byte(endKeyed)) &&
		string(line[n-keyedTail:n-keyedTail+len(partMAC)]) == partMAC:
		r.mac = line[n-keyedTail+len(partMAC) : n-len(endKeyed)]
		if !isHex(r.mac) {
			return nil, syntaxErr("mac is not 64 lowercase hex digits")
		}
		r.prefix = line[:n-keyedTail]
	default:
		return nil, syntaxErr(`line does not end with a "mac" member`)
	}
	p := r.prefix
	if len(p) < prefixTail || string(p[len(p)-prefixTail:len(p)-prefixTail+len(partPrev)]) != partPrev || p[len(p)-1] != '"' {
		return nil, syntaxErr(`no "prev" member before "mac"`)
	}
	r.prev = p[len(p)-prefixTail+len(partPrev) : len(p)-1]
	if !isHex(r.prev) {
		return nil, syntaxErr("prev is not 64 lowercase hex digits")
	}
	return p[:len(p)-prefixTail], nil
}

// parseStart parses the start, {"seq":N,"time":"T","event":"E","fields":
// and the fields object up to "prev", into r.
func (r *rawRecord) parseStart(body []byte) error {
	if !bytes.HasPrefix(body, []byte(partSeq)) {
		return syntaxErr(`line does not start with {"seq":`)
	}
	body, err := r.parseSeq(body[len(partSeq):])
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(body, []byte(partTime)) || len(body) < len(partTime)+timeLen {
		return syntaxErr(`no "time" member after "seq"`)
	}
	r.time = body[len(partTime) : len(partTime)+timeLen]
	if !timeShape(r.time) {
		return syntaxErr("time is not " + TimeFormat)
	}
	body = body[len(partTime)+timeLen:]
	if !bytes.HasPrefix(body, []byte(partEvent)) {
		return syntaxErr(`no "event" member after "time"`)
	}
	body = body[len(partEvent):]
	j := 0
	for j < len(body) && j <= maxEvent && isEventByte(body[j]) {
		j++
	}
	if j == 0 || j > maxEvent || body[0] < 'a' || body[0] > 'z' {
		return syntaxErr("event is not a name of lowercase letters, digits and '_'")
	}
	r.event = body[:j]
	body = body[j:]
	if !bytes.HasPrefix(body, []byte(partFields)) {
		return syntaxErr(`no "fields" member after "event"`)
	}
	r.fields = body[len(partFields):]
	if len(r.fields) < 2 || r.fields[0] != '{' || r.fields[len(r.fields)-1] != '}' {
		return syntaxErr("fields is not a JSON object")
	}
	return nil
}

// parseSeq parses the sequence number at the start of body into r and
// returns the rest.
func (r *rawRecord) parseSeq(body []byte) ([]byte, error) {
	i := 0
	for i < len(body) && i < 21 && body[i] >= '0' && body[i] <= '9' {
		i++
	}
	if i == 0 || body[0] == '0' {
		return nil, syntaxErr("seq is not a positive decimal number without leading zeros")
	}
	seq, err := strconv.ParseUint(string(body[:i]), 10, 64)
	if err != nil || seq > 1<<62 {
		return nil, syntaxErr("seq is out of range")
	}
	r.seq = seq
	return body[i:], nil
}

// ParseRecord parses one line (with or without its trailing newline),
// including the fields' JSON. It does not check the MAC or the chain; that
// is Verify's job.
func ParseRecord(line []byte) (Record, error) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	raw, err := parseLine(line)
	if err != nil {
		return Record{}, err
	}
	return raw.record()
}

func (raw *rawRecord) record() (Record, error) {
	if !validFields(raw.fields) {
		return Record{}, syntaxErr("fields is not one valid JSON object")
	}
	t, err := time.Parse(TimeFormat, string(raw.time))
	if err != nil || t.Format(TimeFormat) != string(raw.time) {
		return Record{}, syntaxErr("time is not a real UTC time in " + TimeFormat)
	}
	r := Record{
		Seq: raw.seq, Time: t, Event: string(raw.event),
		Fields: json.RawMessage(bytes.Clone(raw.fields)),
	}
	decodeHex(r.Prev[:], raw.prev)
	if raw.mac != nil {
		r.MAC = make([]byte, HashSize)
		decodeHex(r.MAC, raw.mac)
	}
	return r, nil
}

// validFields reports whether b is exactly one JSON object. encoding/json
// runs only here — on unkeyed records and when a record is shown — never on
// the verifier's hot path.
func validFields(b []byte) bool {
	if !json.Valid(b) {
		return false
	}
	return len(b) >= 2 && b[0] == '{' // json.Valid already rejected trailing data
}

// appendPrefix writes the MAC-covered part of a line.
func appendPrefix(dst []byte, seq uint64, t time.Time, event string, fields []byte, prev *[HashSize]byte) []byte {
	dst = append(dst, partSeq...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, partTime...)
	dst = t.UTC().AppendFormat(dst, TimeFormat)
	dst = append(dst, partEvent...)
	dst = append(dst, event...)
	dst = append(dst, partFields...)
	dst = append(dst, fields...)
	dst = append(dst, partPrev...)
	dst = appendHex(dst, prev[:])
	return append(dst, '"')
}

// encodeLine returns the full line (without newline) for one record. mac
// is nil for an unkeyed record; otherwise a fresh HMAC keyed with the audit
// subkey, which encodeLine resets and uses.
func encodeLine(seq uint64, t time.Time, event string, fields []byte, prev *[HashSize]byte, mac hash.Hash) []byte {
	line := appendPrefix(make([]byte, 0, 256+len(fields)), seq, t, event, fields, prev)
	if mac == nil {
		return append(line, endUnkeyed...)
	}
	mac.Reset()
	mac.Write(line)
	var sum [HashSize]byte
	mac.Sum(sum[:0])
	line = append(line, partMAC...)
	line = appendHex(line, sum[:])
	return append(line, endKeyed...)
}

// validEvent reports whether name can be an event type.
func validEvent(name string) bool {
	if len(name) == 0 || len(name) > maxEvent || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isEventByte(name[i]) {
			return false
		}
	}
	return true
}

func isEventByte(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' }

// timeShape checks the fixed layout of TimeFormat cheaply (digits and
// separators in place); record() parses it for real.
func timeShape(b []byte) bool {
	if len(b) != timeLen {
		return false
	}
	for i, c := range []byte(TimeFormat) {
		switch c {
		case '-', 'T', ':', '.', 'Z':
			if b[i] != c {
				return false
			}
		default:
			if b[i] < '0' || b[i] > '9' {
				return false
			}
		}
	}
	return true
}

const hexDigits = "0123456789abcdef"

func appendHex(dst, src []byte) []byte {
	for _, c := range src {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
	}
	return dst
}

// hexVal maps a lowercase hex digit to its value and anything else to 0xff.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < 16; i++ {
		t[hexDigits[i]] = byte(i)
	}
	return t
}()

// isHex reports whether b is 2*HashSize lowercase hex digits (uppercase
// would be a second spelling of the same hash).
func isHex(b []byte) bool {
	if len(b) != 2*HashSize {
		return false
	}
	for _, c := range b {
		if hexVal[c] == 0xff {
			return false
		}
	}
	return true
}

// decodeHex decodes src (already checked by isHex) into dst.
func decodeHex(dst, src []byte) {
	for i := range dst {
		dst[i] = hexVal[src[2*i]]<<4 | hexVal[src[2*i+1]]
	}
}

// hexEqual compares a hash with its hex spelling without allocating.
func hexEqual(h *[HashSize]byte, hexb []byte) bool {
	if len(hexb) != 2*HashSize {
		return false
	}
	for i, c := range h {
		if hexb[2*i] != hexDigits[c>>4] || hexb[2*i+1] != hexDigits[c&15] {
			return false
		}
	}
	return true
}
