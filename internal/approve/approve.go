package approve

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"github.com/envseal/envseal/internal/sys"
	"github.com/envseal/envseal/internal/term"
	"io"
	"strings"
	"time"
)

// Decision is the human's answer. The zero value is Deny, so a Decision
// that was never set denies.
type Decision int

const (
	Deny Decision = iota
	AllowOnce
	AllowAlways
)

// Timed allowances ("allow for 8h") are AllowFor(d): allowForBase plus the
// period in whole minutes. Encoding the period in the Decision keeps the
// Approver interface one value wide, so every caller that compares with
// AllowOnce or AllowAlways treats a timed allowance as neither (no rule
// saved) until it asks For.
const allowForBase = 1 << 20

// Bounds of a timed allowance, and the period the approvers offer.
const (
	MinAllowFor     = time.Minute
	MaxAllowFor     = 90 * 24 * time.Hour
	DefaultAllowFor = 8 * time.Hour
)

// AllowFor is "allow, and save a rule that expires after d" (d rounded
// down to whole minutes, clamped to MinAllowFor..MaxAllowFor).
func AllowFor(d time.Duration) Decision {
	d = min(max(d, MinAllowFor), MaxAllowFor)
	return Decision(allowForBase + int(d/time.Minute))
}

// For reports the period of a timed allowance.
func (d Decision) For() (time.Duration, bool) {
	m := int(d.base()) - allowForBase
	if m < int(MinAllowFor/time.Minute) || m > int(MaxAllowFor/time.Minute) {
		return 0, false
	}
	return time.Duration(m) * time.Minute, true
}

// SavesRule reports whether the decision saves a rule: allow always, or
// allow for a while (a rule with an expiry).
func (d Decision) SavesRule() bool {
	_, timed := d.For()
	return d.base() == AllowAlways || timed
}

func (d Decision) String() string {
	if n := d.Widened(); n > 0 {
		return fmt.Sprintf("%s, argument [%d] any value", d.base(), n)
	}
	switch d {
	case Deny:
		return "deny"
	case AllowOnce:
		return "allow once"
	case AllowAlways:
		return "allow always"
	}
	if p, ok := d.For(); ok {
		return "allow for " + FormatPeriod(p)
	}
	return fmt.Sprintf("Decision(%d)", int(d))
}

// FormatPeriod writes a period the way the human types it: 30m, 8h, 7d,
// 1d12h.
func FormatPeriod(p time.Duration) string {
	var b strings.Builder
	if days := p / (24 * time.Hour); days > 0 {
		fmt.Fprintf(&b, "%dd", days)
		p -= days * 24 * time.Hour
	}
	if h := p / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dh", h)
		p -= h * time.Hour
	}
	if m := p / time.Minute; m > 0 || b.Len() == 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	return b.String()
}

// ParsePeriod reads a period typed by the human: a number and a unit (m,
// h, d, w), e.g. 30m, 8h, 7d, 2w; within MinAllowFor..MaxAllowFor.
func ParsePeriod(s string) (time.Duration, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	bad := fmt.Errorf("%q is not a period like 30m, 8h, 7d or 2w", s)
	if len(s) < 2 || len(s) > 6 {
		return 0, bad
	}
	unit := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s[len(s)-1]]
	n := 0
	for _, c := range s[:len(s)-1] {
		if c < '0' || c > '9' {
			return 0, bad
		}
		n = n*10 + int(c-'0')
	}
	p := time.Duration(n) * unit
	if unit == 0 || p < MinAllowFor || p > MaxAllowFor {
		return 0, fmt.Errorf("%q is not a period from 1m to 90d", s)
	}
	return p, nil
}

// Approver asks the human about one Request. Any non-nil error comes with
// Deny; a human who says no is (Deny, nil).
type Approver interface {
	Approve(ctx context.Context, r *Request) (Decision, error)
}

// Errors an Approver returns, matchable with errors.Is. Each one means deny.
var (
	// ErrNoTTY: there is no controlling terminal to ask on.
	ErrNoTTY = term.ErrNoTTY
	// ErrNoDisplay: a GUI approver was chosen but no display is set.
	ErrNoDisplay = errors.New("no graphical session to ask for approval")
	// ErrTimeout: nobody answered in time.
	ErrTimeout = errors.New("approval timed out")
	// ErrWrongCode: the answer did not match the challenge code. Expected
	// when keystrokes are injected into the terminal.
	ErrWrongCode = errors.New("approval code did not match")
	// ErrNoAnswer: the terminal or dialog closed before an answer (EOF,
	// hangup).
	ErrNoAnswer = errors.New("no answer to the approval prompt")
	// ErrProtocol: the pinentry program spoke something other than Assuan.
	ErrProtocol = errors.New("pinentry protocol error")
	// ErrDialog: the dialog program failed or exited in an unexpected way.
	ErrDialog = errors.New("approval dialog failed")
	// ErrProgramNotFound: the dialog program is not installed where we look.
	ErrProgramNotFound = errors.New("approval program not found")
	// ErrUntrustedProgram: the dialog program could have been written by
	// the user (and so by an agent running as the user).
	ErrUntrustedProgram = errors.New("approval program is not trusted")
	// ErrBadPeriod: the right code with a period ("+8h") that does not
	// parse; denied rather than guessed.
	ErrBadPeriod = errors.New("approval period not understood")
	// ErrUnsupported: this approver does not work on this OS yet.
	ErrUnsupported = sys.Unsupported("approver not supported on this OS yet")
	// ErrCancelled: the request was withdrawn while it waited for the
	// human (its client went away: Ctrl-C, SIGTERM, a closed connection).
	// Whatever the human answers afterwards, nothing runs.
	ErrCancelled = errors.New("approval cancelled")
)

// DefaultTimeout is how long an approver waits for the human.
const DefaultTimeout = 60 * time.Second

// MaxTimeout is the longest --approval-timeout `envseal run` and `envseal
// broker` accept.
const MaxTimeout = 10 * time.Minute

// TimeoutHint is what to do about a timeout CheckTimeout refuses.
const TimeoutHint = "use a duration from 1s to 10m"

// CheckTimeout refuses an --approval-timeout that is not positive or over
// MaxTimeout (the one rule for 'envseal run' and 'envseal broker').
func CheckTimeout(d time.Duration) error {
	if d <= 0 || d > MaxTimeout {
		return fmt.Errorf("--approval-timeout %v is out of range", d)
	}
	return nil
}

// Approver kinds accepted by New.
const (
	KindTTY      = "tty"
	KindPinentry = "pinentry"
	KindZenity   = "zenity"
	KindKdialog  = "kdialog"
)

// Option configures New.
type Option func(*config)

type config struct {
	timeout  time.Duration
	pinentry string // absolute path; "" = search PATH

	// Test-only knobs, set through unexported options from _test.go.
	ttyPath    string                            // default /dev/tty
	rand       io.Reader                         // default crypto/rand
	trust      func(path string) (string, error) // default resolveTrusted
	dialogDirs []string                          // default /usr/bin, /bin
	ttyName    func() string                     // pinentry OPTION ttyname
}

// WithTimeout sets how long to wait for the human (default 60 s). A
// context deadline that comes sooner wins.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithPinentry names the pinentry program (an absolute path) instead of
// searching PATH. It must still pass the root-owned check.
func WithPinentry(path string) Option { return func(c *config) { c.pinentry = path } }

// New returns the approver of the given kind: "tty", "pinentry", "zenity"
// or "kdialog".
func New(kind string, opts ...Option) (Approver, error) {
	c := config{
		timeout:    DefaultTimeout,
		ttyPath:    "/dev/tty",
		rand:       rand.Reader,
		trust:      resolveTrusted,
		dialogDirs: []string{"/usr/bin", "/bin"},
		ttyName:    controllingTTYName,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.timeout <= 0 {
		return nil, fmt.Errorf("approval timeout must be positive, got %v", c.timeout)
	}
	switch kind {
	case KindTTY:
		return &ttyApprover{c: c}, nil
	case KindPinentry:
		return &pinentryApprover{c: c}, nil
	case KindZenity, KindKdialog:
		return &dialogApprover{c: c, kind: kind}, nil
	}
	return nil, fmt.Errorf("unknown approver %q (want %s, %s, %s or %s)",
		kind, KindTTY, KindPinentry, KindZenity, KindKdialog)
}

// deadline is the earlier of now+timeout and the context's deadline.
func (c *config) deadline(ctx context.Context) time.Time {
	d := time.Now().Add(c.timeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		return cd
	}
	return d
}

// codeAlphabet has no 0/O, 1/I/L: a human reads the code off a screen.
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// codeLen characters of a 31-letter alphabet: a blind guess succeeds with
// probability 31^-6 ≈ 1.1e-9, and a wrong guess ends the prompt.
const codeLen = 6

// newCode draws a challenge code with rejection sampling, so every letter
// is equally likely.
func newCode(r io.Reader) (string, error) {
	const limit = 256 - 256%len(codeAlphabet)
	out := make([]byte, 0, codeLen)
	var buf [16]byte
	for len(out) < codeLen {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return "", fmt.Errorf("draw approval code: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < codeLen {
				out = append(out, codeAlphabet[int(b)%len(codeAlphabet)])
			}
		}
	}
	return string(out), nil
}

// judge maps the human's answer to a decision: CODE → allow once, CODE! →
// allow always, an empty answer or "n"/"no" → a plain deny, anything else
// → deny with ErrWrongCode (worth an audit line: it is what injection
// looks like). The code is compared in constant time.
//
// CODE+ allows for DefaultAllowFor and CODE+PERIOD (CODE+30m, CODE+7d) for
// the period the human chose: a rule is saved that expires then. A
// period that does not parse denies (ErrBadPeriod): a typo must not turn
// into "always".
func judge(answer, code string) (Decision, error) {
	a := strings.ToUpper(strings.TrimSpace(answer))
	switch a {
	case "", "N", "NO", "DENY":
		return Deny, nil
	}
	want := AllowOnce
	var periodErr error
	if c, p, ok := strings.Cut(a, "+"); ok {
		a, want = c, AllowFor(DefaultAllowFor)
		if p != "" {
			d, err := ParsePeriod(p)
			want, periodErr = AllowFor(d), err
		}
	} else if strings.HasSuffix(a, "!") {
		a, want = strings.TrimSuffix(a, "!"), AllowAlways
	}
	if subtle.ConstantTimeCompare([]byte(a), []byte(code)) == 1 {
		if periodErr != nil {
			return Deny, fmt.Errorf("%w: %w", ErrBadPeriod, periodErr)
		}
		return want, nil
	}
	return Deny, ErrWrongCode
}

// judgeFor is judge for r: where "allow always" means nothing (a store
// request saves no rule), CODE! is the same yes as CODE.
//
// CODE!*N and CODE+PERIOD*N widen argument [N] of the saved rule (widen.go);
// a "*N" that cannot be widened, or on a plain CODE (allow once, no rule),
// denies with ErrBadWiden.
func judgeFor(r *Request, answer, code string) (Decision, error) {
	a, pos, werr := cutWiden(answer)
	d, err := judge(a, code)
	if d == AllowAlways && !r.canAlways() {
		d = AllowOnce
	}
	if err != nil || d == Deny || (pos == 0 && werr == nil) {
		return d, err
	}
	switch {
	case werr != nil:
		return Deny, werr
	case !d.SavesRule():
		return Deny, fmt.Errorf("%w: only a saved rule (CODE! or CODE+PERIOD) can be widened", ErrBadWiden)
	}
	if err := r.canWiden(pos); err != nil {
		return Deny, err
	}
	return d.Widen(pos), nil
}

// answerHelp is the instruction shown under the code, shared by the
// terminal and pinentry prompts so the human learns one rule. A store
// request is offered a plain yes: there is no rule to save.
func answerHelp(r *Request, code string, timeout time.Duration) string {
	if !r.canAlways() {
		return fmt.Sprintf("Type the code to approve. Anything else, or %s without an answer, denies.\n"+
			"  %s      allow (you are then asked for the value)\n",
			fmtDuration(timeout), code)
	}
	return fmt.Sprintf("Type the code to approve. Anything else, or %s without an answer, denies.\n"+
		"  %s      allow once\n"+
		"  %s+8h   allow for 8 hours, or any period: +30m, +7d (saves a rule that expires)\n"+
		"  %s!     allow always (saves a rule for this path, hash, exact argv and context)\n",
		fmtDuration(timeout), code, code, code)
}

// ttyHelp is answerHelp plus the widening lines (widen.go), which only the
// terminal has room for: a pinentry-curses window of 24 rows does not fit
// them (the same answer is accepted there).
func ttyHelp(r *Request, code string, timeout time.Duration) string {
	return answerHelp(r, code, timeout) + widenHelp(r, code)
}
