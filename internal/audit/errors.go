package audit

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind says what was done to a log that does not verify.
type Kind string

// The kinds of damage Verify tells apart. A record that fails its MAC
// where no record should be missing is "edited"; a genuine record in the
// wrong place is "reordered"; a seq that repeats, or a line that is not
// part of the chain, is "inserted"; a gap is "deleted"; a log that ends
// before its anchor, or mid-line, is "truncated".
const (
	Edited    Kind = "edited"
	Deleted   Kind = "deleted"
	Reordered Kind = "reordered"
	Inserted  Kind = "inserted"
	Truncated Kind = "truncated"
)

// ErrTampered is matched (errors.Is) by every *TamperError.
var ErrTampered = errors.New("audit log does not verify")

// TamperError names the first bad record of a log and what is wrong with
// it.
type TamperError struct {
	Line   int    // 1-based line of the first bad record; 0 means audit.head
	Seq    uint64 // the seq that line claims, 0 if it has none
	Kind   Kind
	Reason string
}

func (e *TamperError) Error() string {
	var where string
	switch {
	case e.Line == 0:
		where = HeadFile
	case e.Seq != 0 && e.Seq != uint64(e.Line):
		where = fmt.Sprintf("line %d (seq %d)", e.Line, e.Seq)
	default:
		where = fmt.Sprintf("record %d", e.Line)
	}
	return fmt.Sprintf("%s: %s: %s", where, e.Kind, e.Reason)
}

// Is makes errors.Is(err, ErrTampered) hold.
func (e *TamperError) Is(target error) bool { return target == ErrTampered }

// Summary describes a log that verified.
type Summary struct {
	Records     int       // lines in the log
	FirstSeq    uint64    // seq of the first line
	LastSeq     uint64    // seq of the last line
	First, Last time.Time // times of the first and last records
	Unkeyed     int       // records written before unlock (no MAC of their own)
	Uncovered   int       // trailing unkeyed records no MAC covers yet
	MACs        bool      // every MAC was checked (false: hash chain only, no key)
	Anchored    bool      // the tail was checked against audit.head
	RotatedFrom string    // the file the chain continues, when it began with audit_rotated
	LastHash    [HashSize]byte
	Bytes       int64 // bytes read
}

// String is the one-line summary `envseal audit verify` prints.
func (s Summary) String() string {
	if s.Records == 0 {
		return "audit log is empty"
	}
	var b strings.Builder
	if s.MACs {
		b.WriteString("audit log intact: ")
	} else {
		b.WriteString("audit log hash chain intact (MACs not checked): ")
	}
	fmt.Fprintf(&b, "%d record%s, seq %d-%d, %s to %s",
		s.Records, plural(s.Records), s.FirstSeq, s.LastSeq,
		s.First.UTC().Format(time.DateTime), s.Last.UTC().Format("2006-01-02 15:04:05 UTC"))
	if s.Unkeyed > 0 {
		fmt.Fprintf(&b, "; %d written before unlock", s.Unkeyed)
		if s.Uncovered > 0 {
			fmt.Fprintf(&b, ", %d of them not yet covered by a MAC", s.Uncovered)
		}
	}
	if s.RotatedFrom != "" {
		fmt.Fprintf(&b, "; continues %s", s.RotatedFrom)
	}
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
