package approve

import (
	"fmt"
	"strings"
)

// Request is everything the human is shown before a program gets secrets.
// Every string in it may be attacker-controlled; Text sanitizes all of it.
type Request struct {
	// Path is the resolved absolute path of the program that will run.
	// For a #! script it is the script, and Interpreter is set.
	Path string
	// SHA256 is the lower-case hex SHA-256 of the bytes at Path.
	SHA256 string
	// PrevSHA256 is the hash pinned by an existing rule for Path when the
	// file has changed since ("hash changed from Prev to SHA256").
	PrevSHA256 string

	// Interpreter, InterpreterSHA256 and PrevInterpreterSHA256 describe
	// the #! interpreter of a script (empty for a binary).
	Interpreter           string
	InterpreterSHA256     string
	PrevInterpreterSHA256 string

	Argv    []string // full argv, argv[0] included
	Cwd     string
	Secrets []Secret
	Sandbox string // sandbox tier, e.g. "standard", "hardened", "lockdown"

	// Chain is the requesting process and its ancestors, nearest first
	// (see ProcessChain).
	Chain []Proc

	// ShortSecrets names secrets whose values are shorter than
	// ShortSecretLen bytes: the output scrubber does not replace them.
	ShortSecrets []string

	// Warnings are extra warnings from the caller (environment signals,
	// policy notes). Text also shows Warnings(r), which need not be added
	// here.
	Warnings []string

	// SecondFactor, when set, is checked after the human approves: the
	// approver asks for a one-time code on the same channel and denies
	// unless it is accepted (see confirm).
	SecondFactor SecondFactor

	// Context rows (context.go): what the rule binds besides the program —
	// environment, pinned files, what the sandbox lets the program touch,
	// what is not pinned — and, for a changed context, what changed.
	Context []Row

	// Store, when set, makes this a request to store a new secret
	// (`envseal request`, MCP request_secret) rather than to run a
	// program: nothing runs, so there is no program, hash or argv to show,
	// and nothing to save a rule for. Path, SHA256, Argv, Cwd, Secrets and
	// Sandbox are then ignored.
	Store *StoreAsk
}

// StoreAsk is what an agent's request to store a secret says: the name it
// wants and its stated purpose (both agent-controlled, both sanitized).
type StoreAsk struct {
	Name    string
	Purpose string
}

// title is the first line of every rendering: what kind of request this is.
func (r *Request) title() string {
	if r.Store != nil {
		return "envseal: an agent asks you to store a new secret"
	}
	return "envseal: a program asks for secrets"
}

// dialogTitle is the window title of a dialog or pinentry asking about r.
func (r *Request) dialogTitle() string {
	if r.Store != nil {
		return "envseal: approve storing a new secret"
	}
	return "envseal: approve program run"
}

// canAlways reports whether "allow always" means anything for r: a store
// request saves no rule, so it is offered only for runs.
func (r *Request) canAlways() bool { return r.Store == nil }

// ShortSecretLen is the length under which a value is not scrubbed from
// output (matching strings that short would mangle ordinary output).
const ShortSecretLen = 6

// Delivery is how a secret reaches the program.
type Delivery int

const (
	DeliverEnv      Delivery = iota // environment variable Env=value
	DeliverStdin                    // written once to stdin, then closed
	DeliverFD                       // sealed memfd as FD, Env=/dev/fd/FD
	DeliverTemplate                 // put into the rendered Template, a sealed memfd as FD, Env=/dev/fd/FD
)

// Secret is one secret the program would receive.
type Secret struct {
	Name     string // vault name
	Delivery Delivery
	Env      string // variable name (DeliverEnv, DeliverFD)
	FD       int    // descriptor number (DeliverFD, DeliverTemplate)
	Template string // the template's path (DeliverTemplate)
}

// Proc is one process of the requesting chain. Exe is empty when
// /proc/<pid>/exe could not be read. Comm is the kernel's short name, which
// the process can set itself; Exe is what it actually runs.
type Proc struct {
	PID  int
	PPID int
	Exe  string
	Comm string
}

// ShortHash is the first 12 hex digits of a hash, for the human to compare
// at a glance; the full hash is always shown next to it.
func ShortHash(hexHash string) string {
	if len(hexHash) <= 12 {
		return hexHash
	}
	return hexHash[:12]
}

// rendering accumulates sanitized lines plus the notes that sanitizing
// produced, so that the human is told when text was escaped or cut.
type rendering struct {
	lines   []line
	escaped bool
	cut     []string
}

// line is one "label  value" row. Dialogs with little room show the
// essential rows first and skip full hashes (the short hash stays).
type line struct {
	label, value string
	group        int
}

const (
	rowWhat  = iota // what runs, with what arguments and secrets
	rowHash         // 64 hex digits
	rowWhere        // where, how, and who asked
)

func (w *rendering) field(what string, c cleaned) string {
	w.escaped = w.escaped || c.escaped
	if c.truncated > 0 {
		w.cut = append(w.cut, fmt.Sprintf("%s is longer than %d bytes: %d bytes are not shown", what, maxField, c.truncated))
	}
	return c.text
}

func (w *rendering) add(group int, label, value string) {
	w.lines = append(w.lines, line{label, value, group})
}

// maxArgsShown bounds the argv listing for the same reason as maxField.
const maxArgsShown = 64

// body renders every field except the warnings, one row per item, so no
// field can spill into another's row.
func (r *Request) body() *rendering {
	w := &rendering{}
	if r.Store != nil {
		return r.storeBody(w)
	}
	if r.Interpreter != "" {
		w.add(rowWhat, "script", w.field("script path", clean(r.Path, false)))
		w.add(rowHash, "script sha256", w.field("hash", clean(r.SHA256, false)))
		w.add(rowWhat, "interpreter", w.field("interpreter path", clean(r.Interpreter, false)))
		w.add(rowHash, "interp sha256", w.field("hash", clean(r.InterpreterSHA256, false)))
	} else {
		w.add(rowWhat, "program", w.field("program path", clean(r.Path, false)))
		w.add(rowHash, "sha256", w.field("hash", clean(r.SHA256, false)))
	}
	w.add(rowWhat, "short hash", w.field("hash", clean(ShortHash(r.SHA256), false)))
	for i, a := range r.Argv {
		if i == maxArgsShown {
			w.cut = append(w.cut, fmt.Sprintf("only the first %d of %d arguments are shown", maxArgsShown, len(r.Argv)))
			w.add(rowWhat, "", fmt.Sprintf("... %d more arguments not shown", len(r.Argv)-maxArgsShown))
			break
		}
		w.add(rowWhat, first(i, "argv"), fmt.Sprintf("[%d] %s", i, w.field(fmt.Sprintf("argument %d", i), quoted(a))))
	}
	if len(r.Argv) == 0 {
		w.add(rowWhat, "argv", "(empty)")
	}
	for i, s := range r.Secrets {
		w.add(rowWhat, first(i, "secrets"), w.field("secret name", clean(s.Name, false))+" -> "+s.render(w))
	}
	if len(r.Secrets) == 0 {
		w.add(rowWhat, "secrets", "(none)")
	}
	w.add(rowWhere, "cwd", w.field("cwd", clean(r.Cwd, false)))
	sandbox := r.Sandbox
	if sandbox == "" {
		sandbox = "(none)"
	}
	w.add(rowWhere, "sandbox", w.field("sandbox", clean(sandbox, false)))
	r.contextBody(w)
	for i, p := range r.Chain {
		w.add(rowWhere, first(i, "requested by"), p.render(w))
	}
	if len(r.Chain) == 0 {
		w.add(rowWhere, "requested by", "(unknown)")
	}
	return w
}

// storeBody renders a store request: the name asked for, the purpose the
// agent gave and who asked. No value is shown: none exists yet, the human
// types it after approving.
func (r *Request) storeBody(w *rendering) *rendering {
	w.add(rowWhat, "new secret", w.field("secret name", clean(r.Store.Name, false)))
	purpose := r.Store.Purpose
	if purpose == "" {
		purpose = "(none given)"
	}
	w.add(rowWhat, "purpose", w.field("purpose", clean(purpose, false)))
	w.add(rowWhat, "value", "typed by you on this channel after you approve; the agent never sees it")
	for i, p := range r.Chain {
		w.add(rowWhere, first(i, "requested by"), p.render(w))
	}
	if len(r.Chain) == 0 {
		w.add(rowWhere, "requested by", "(unknown)")
	}
	return w
}

// first labels only the first row of a list.
func first(i int, label string) string {
	if i == 0 {
		return label
	}
	return ""
}

func (s Secret) render(w *rendering) string {
	env := w.field("variable name", clean(s.Env, false))
	switch s.Delivery {
	case DeliverEnv:
		return "env " + env
	case DeliverStdin:
		return "stdin"
	case DeliverFD:
		return fmt.Sprintf("fd %d (%s=/dev/fd/%d)", s.FD, env, s.FD)
	case DeliverTemplate:
		return fmt.Sprintf("template %s, fd %d (%s=/dev/fd/%d)", w.field("template path", clean(s.Template, false)), s.FD, env, s.FD)
	}
	return fmt.Sprintf("unknown delivery %d", int(s.Delivery))
}

func (p Proc) render(w *rendering) string {
	exe := "(exe unreadable)"
	if p.Exe != "" {
		exe = w.field("process exe", clean(p.Exe, false))
	}
	s := fmt.Sprintf("pid %d %s", p.PID, exe)
	if p.Comm != "" {
		s += " [" + w.field("process name", clean(p.Comm, false)) + "]"
	}
	return s
}

// allWarnings is Warnings(r), then the caller's, then notes about short
// secrets and about what sanitizing did, without duplicates.
func (r *Request) allWarnings(w *rendering) []string {
	var out []string
	seen := map[string]bool{}
	addw := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, s := range Warnings(r) {
		addw(s)
	}
	for _, s := range r.Warnings {
		addw(w.field("warning", clean(s, false)))
	}
	for _, n := range r.ShortSecrets {
		addw(fmt.Sprintf("secret %s is shorter than %d bytes: its value is NOT scrubbed from the program's output",
			w.field("secret name", clean(n, false)), ShortSecretLen))
	}
	for _, s := range w.cut {
		addw(s)
	}
	if w.escaped {
		addw(`some text contains control, invisible or non-ASCII characters; they are shown escaped (\x.., \u....)`)
	}
	return out
}

// Text renders the request for a terminal: pure printable ASCII and
// newlines, whatever the fields contain. Warnings come last, next to the
// prompt, where the human's eyes are.
func (r *Request) Text() string {
	w := r.body()
	var b strings.Builder
	b.WriteString(r.title() + "\n")
	for _, l := range w.lines {
		fmt.Fprintf(&b, "  %-13s %s\n", l.label, l.value)
	}
	if ws := r.allWarnings(w); len(ws) > 0 {
		b.WriteString("WARNINGS\n")
		for _, s := range ws {
			b.WriteString("  ! " + s + "\n")
		}
	}
	return b.String()
}

// compact renders the request in at most budget bytes for dialogs with a
// size limit (an Assuan line is 1000 bytes): what runs and with which
// secrets, then the warnings, then context; full hashes are left out (the
// short hash stays). What does not fit is replaced by a note saying so.
func (r *Request) compact(budget int) string {
	w := r.body()
	var rows []string
	for _, l := range w.lines {
		if l.group == rowWhat {
			rows = append(rows, strings.TrimSpace(l.label+" "+l.value))
		}
	}
	for _, s := range r.allWarnings(w) {
		rows = append(rows, "! "+s)
	}
	for _, l := range w.lines {
		if l.group == rowWhere {
			rows = append(rows, strings.TrimSpace(l.label+" "+l.value))
		}
	}
	const cutNote = "(more not shown: this dialog has no room)\n"
	var b strings.Builder
	b.WriteString(r.title() + "\n")
	for i, row := range rows {
		rest := 0
		if i < len(rows)-1 {
			rest = len(cutNote)
		}
		if b.Len()+len(row)+1+rest > budget {
			b.WriteString(cutNote)
			break
		}
		b.WriteString(row + "\n")
	}
	out := b.String()
	if len(out) > budget {
		out = out[:budget]
	}
	return out
}
