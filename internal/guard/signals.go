package guard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/sandbox"
)

// Severity orders findings. High and critical make `envseal doctor` exit 1.
type Severity string

// Severities, weakest first.
const (
	Info     Severity = "info"
	Low      Severity = "low"
	Medium   Severity = "medium"
	High     Severity = "high"
	Critical Severity = "critical"
)

// Rank is the severity's position (info 0 … critical 4).
func (s Severity) Rank() int {
	switch s {
	case Low:
		return 1
	case Medium:
		return 2
	case High:
		return 3
	case Critical:
		return 4
	}
	return 0
}

// Signal is one doctor finding. ID is stable across releases (scripts and
// the JSON output key on it); Found says what was seen, Fix the exact step
// that clears it ("" when there is nothing to do).
type Signal struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	Found    string   `json:"found"`
	Fix      string   `json:"fix,omitempty"`
}

// Report is doctor's JSON document. Version changes only when a field
// changes meaning or goes away.
type Report struct {
	Version int      `json:"version"`
	OK      bool     `json:"ok"` // nothing high or critical
	Worst   Severity `json:"worst"`
	Signals []Signal `json:"signals"`
}

// NewReport wraps signals in a Report.
func NewReport(sigs []Signal) Report {
	r := Report{Version: 1, OK: true, Worst: Info, Signals: sigs}
	if r.Signals == nil {
		r.Signals = []Signal{}
	}
	for _, s := range sigs {
		if s.Severity.Rank() > r.Worst.Rank() {
			r.Worst = s.Severity
		}
	}
	r.OK = r.Worst.Rank() < High.Rank()
	return r
}

// JSON renders the report, indented, with a trailing newline.
func (r Report) JSON() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // fixes are shell commands: keep "&&" readable
	enc.SetIndent("", "  ")
	enc.Encode(r)
	return b.Bytes()
}

// Text renders the report as `envseal doctor` prints it: per finding a
// line "SEVERITY ID: found" and, when there is one, an indented "fix:"
// line; each on one line.
func (r Report) Text() []byte {
	var b bytes.Buffer
	one := func(s string) string { return strings.ReplaceAll(s, "\n", " ") }
	for _, s := range r.Signals {
		fmt.Fprintf(&b, "%-8s %s: %s\n", strings.ToUpper(string(s.Severity)), s.ID, one(s.Found))
		if s.Fix != "" {
			fmt.Fprintf(&b, "         fix: %s\n", one(s.Fix))
		}
	}
	return b.Bytes()
}

// Serious counts the findings that are high or critical.
func (r Report) Serious() int {
	n := 0
	for _, s := range r.Signals {
		if s.Severity.Rank() >= High.Rank() {
			n++
		}
	}
	return n
}

// Facts is everything the checks look at, injectable so that tests can
// fake kernel settings they cannot change. A nil func or unset field skips
// (or reports as unknown) the checks that need it.
type Facts struct {
	OS       string                            // runtime.GOOS; kernel checks run on "linux" only
	ReadFile func(name string) ([]byte, error) // /proc and /proc/sys files
	Environ  []string                          // envseal's own environment
	PPID     int                               // the shell that ran envseal
	// CoreLimit is envseal's own soft RLIMIT_CORE as it was inherited (read
	// before Harden would have zeroed it, or from the parent).
	CoreLimit func() (uint64, error)

	VaultDir      string
	CheckVaultDir func(dir string) error // safefile.CheckDir; fs.ErrNotExist: no vault

	Tiers       map[sandbox.Tier]error // sandbox.Supported(); nil: not checked
	TierOrder   []sandbox.Tier         // sandbox.Tiers()
	TierHint    func(error) string     // the fix a tier's error names
	LandlockABI int

	LookPath func(string) (string, error)
	Trusted  func(path string) error // root owns the file and every directory above it

	Broker func() (socket string, err error) // connect to the broker socket
	Audit  func() (records int, err error)   // hash-chain check of the audit log

	Rules        []policy.Rule
	RulesChecked bool // the vault was unlocked and Rules loaded
	// Secrets is every secret's health from its header; nil: not checked
	// (no vault).
	Secrets []SecretHealth
	// TOTP reports whether totp.seal exists (nil: no vault); TOTPFlag is
	// the sealed policy's flag, known only when the rules were checked.
	TOTP     func() (bool, error)
	TOTPFlag bool
	Now      time.Time
}

// SystemFacts returns the facts of this process and machine that guard can
// gather itself; the caller adds the vault, sandbox, broker, audit and
// policy facts it owns.
func SystemFacts() Facts {
	return Facts{
		OS:        runtime.GOOS,
		ReadFile:  os.ReadFile,
		Environ:   os.Environ(),
		PPID:      os.Getppid(),
		CoreLimit: coreLimit,
		LookPath:  exec.LookPath,
		Trusted:   RootOwned,
		Now:       time.Now(),
	}
}

// Check runs every check, in a fixed order.
func Check(f Facts) []Signal {
	var out []Signal
	for _, c := range []func(Facts) []Signal{
		vaultDirSignals,
		environSignals,
		coreSignals,
		ptraceSignals,
		tiocstiSignals,
		sandboxSignals,
		brokerSignals,
		jailSignals,
		displaySignals,
		approverSignals,
		auditSignals,
		ruleSignals,
		secretSignals,
		totpSignals,
	} {
		out = append(out, c(f)...)
	}
	return out
}

func getenv(env []string, name string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if len(env[i]) > len(name) && env[i][len(name)] == '=' && env[i][:len(name)] == name {
			return env[i][len(name)+1:], true
		}
	}
	return "", false
}
