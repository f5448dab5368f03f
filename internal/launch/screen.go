package launch

import (
	"fmt"
	"strings"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/exeseal"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/sandbox"
)

// What the approval screen says about a run's context: the environment
// the child gets, the files pinned, what the sandbox lets the program
// touch, and what is not pinned. The human approves all of it.

const maxFilesShown = 24

func (c *Checkpoint) contextRows(req *Request, pin *exeseal.Pinned, rc *runContext) []approve.Row {
	var rows []approve.Row
	for _, kv := range rc.env {
		rows = append(rows, approve.Row{Label: "environment", Value: clipValue(kv)})
	}
	if req.InheritEnv {
		rows = append(rows, approve.Row{Label: "environment", Value: "(--inherit-env: the variables above beyond PATH, HOME, USER, LANG, TERM, TZ, TMPDIR are the requester's, and are part of the rule)"})
	}
	present, absent := 0, 0
	for _, f := range rc.files {
		if f.Absent() {
			absent++
		} else {
			present++
		}
	}
	rows = append(rows, approve.Row{Label: "pinned files", Value: fmt.Sprintf("%d files pinned by hash and served read-only at their paths; %d absent paths that must stay absent", present, absent)})
	shown := 0
	for _, f := range rc.files {
		if f.Absent() {
			continue
		}
		if shown++; shown > maxFilesShown {
			rows = append(rows, approve.Row{Label: "pinned files", Value: fmt.Sprintf("… and %d more", present-maxFilesShown)})
			break
		}
		rows = append(rows, approve.Row{Label: "pinned files", Value: f.Path + "  " + approve.ShortHash(f.SHA256)})
	}
	if pin.Writable && pin.IsScript() {
		rows = append(rows, approve.Row{Label: "pinned files", Value: pin.Path + "  (the script; served at its path)"})
	}
	if rc.python {
		rows = append(rows, approve.Row{Label: "pinned files", Value: "python bytecode: a cache private to this run (PYTHONPYCACHEPREFIX), never __pycache__"})
	}
	for _, n := range rc.notes {
		rows = append(rows, approve.Row{Label: "not pinned", Value: n})
	}
	rows = append(rows, c.containmentRows(req)...)
	return rows
}

// containmentRows say what the program can and cannot touch.
func (c *Checkpoint) containmentRows(req *Request) []approve.Row {
	net := "off (own loopback only)"
	if c.network(req) {
		net = "on (host network)"
	}
	if !c.Contain && tierOrDefault(req.Sandbox) != sandbox.Lockdown {
		return []approve.Row{{Label: "can touch", Value: "everything you can (not contained: direct mode, " + string(tierOrDefault(req.Sandbox)) + " tier)"}}
	}
	w := []string{"the working directory"}
	w = append(w, req.RW...)
	rows := []approve.Row{
		{Label: "can touch", Value: "write: " + strings.Join(w, ", ") + "; a private /tmp"},
		{Label: "can touch", Value: "read: the rest of the filesystem, read-only"},
		{Label: "can touch", Value: "network: " + net},
		{Label: "cannot", Value: "see the vault, the runtime dir, control sockets or other processes"},
	}
	if c.Contain {
		rows = append(rows, approve.Row{Label: "cannot", Value: "reach your terminal (/dev/tty, /dev/pts), or outlive the run"})
	}
	return rows
}

// changeRows say what differs from the rule's context.
func changeRows(d policy.ContextDiff) []approve.Row {
	var rows []approve.Row
	if d.Cwd != [2]string{} {
		rows = append(rows, approve.Row{Label: "changed", Value: fmt.Sprintf("working directory: was %s", d.Cwd[0])})
	}
	for _, e := range d.Env {
		switch {
		case !e.WasSet:
			rows = append(rows, approve.Row{Label: "changed", Value: "new variable " + clipValue(e.Name+"="+e.New)})
		case !e.IsSet:
			rows = append(rows, approve.Row{Label: "changed", Value: "variable " + e.Name + " is gone (was " + clipValue(e.Old) + ")"})
		default:
			rows = append(rows, approve.Row{Label: "changed", Value: "variable " + e.Name + ": " + clipValue(e.Old) + " -> " + clipValue(e.New)})
		}
	}
	for _, f := range d.Files {
		switch {
		case f.Old.Absent() && !f.New.Absent():
			rows = append(rows, approve.Row{Label: "changed", Value: "new file " + f.Path})
		case f.New.Absent():
			rows = append(rows, approve.Row{Label: "changed", Value: "file removed: " + f.Path})
		default:
			rows = append(rows, approve.Row{Label: "changed", Value: "file edited: " + f.Path})
		}
		if f.Old.Text != "" || f.New.Text != "" {
			for _, l := range textDiff(f.Old.Text, f.New.Text, 12) {
				rows = append(rows, approve.Row{Label: "changed", Value: "    " + l})
			}
		}
	}
	return rows
}

// contextChangeNames are the audit's view of a changed context (names
// and paths, never values).
func contextChangeNames(d policy.ContextDiff) []string {
	var out []string
	if d.Cwd != [2]string{} {
		out = append(out, "cwd")
	}
	for _, e := range d.Env {
		out = append(out, "env:"+e.Name)
	}
	for _, f := range d.Files {
		out = append(out, "file:"+f.Path)
	}
	return out
}

// serves reports whether the run needs pinned files served (a mount
// namespace): any present closure file, or a script.
func (rc *runContext) serves(pin *exeseal.Pinned) bool {
	if pin.IsScript() {
		return true
	}
	for _, f := range rc.files {
		if !f.Absent() {
			return true
		}
	}
	return false
}

func clipValue(s string) string {
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}
