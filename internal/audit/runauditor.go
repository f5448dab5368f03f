package audit

import (
	"maps"
	"os"
	"strconv"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/seal"
)

// RunAuditor is the checkpoint's Auditor for a run (`envseal run`, the
// broker, the MCP server): the audit log, with the approval channel added
// to the approval events, since the checkpoint only sees an Approver
// interface, and the requesting process chain written as strings.
type RunAuditor struct {
	Log     *Log
	Channel string
}

// Event implements launch.Auditor.
func (r RunAuditor) Event(key seal.Key, kind Event, fields map[string]any) {
	if kind == ApprovalRequested || kind == ApprovalDecided {
		fields = maps.Clone(fields)
		if fields == nil {
			fields = map[string]any{}
		}
		fields["channel"] = r.Channel
		if ps, ok := fields["chain"].([]approve.Proc); ok {
			fields["chain"] = ProcStrings(ps)
		}
	}
	r.Log.Event(key, kind, fields)
}

// ProcStrings renders a process chain for a record's "chain" field, one
// "PID EXE (COMM)" string a process.
func ProcStrings(ps []approve.Proc) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		s := strconv.Itoa(p.PID) + " " + p.Exe
		if p.Comm != "" {
			s += " (" + p.Comm + ")"
		}
		out = append(out, s)
	}
	return out
}

// ProcessChain is pid and up to three of its ancestors, as a record's
// "chain" field.
func ProcessChain(pid int) []string { return ProcStrings(approve.ProcessChain(pid, 4)) }

// WrongPassphrase records a failed unlock by this process. There is no
// key yet, so the record is unkeyed; the next keyed record covers it. Who
// asked is the useful part: an agent guessing passphrases shows up as its
// arguments and process chain.
func (l *Log) WrongPassphrase() {
	l.Event(seal.Key{}, UnlockFailed, map[string]any{
		"reason": "wrong passphrase",
		"argv":   os.Args[1:],
		"chain":  ProcessChain(os.Getpid()),
	})
}
