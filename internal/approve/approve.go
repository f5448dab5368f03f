package approve

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
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

func (d Decision) String() string {
	switch d {
	case Deny:
		return "deny"
	case AllowOnce:
		return "allow once"
	case AllowAlways:
		return "allow always"
	}
	return fmt.Sprintf("Decision(%d)", int(d))
}

// Approver asks the human about one Request. Any non-nil error comes with
// Deny; a human who says no is (Deny, nil).
type Approver interface {
	Approve(ctx context.Context, r *Request) (Decision, error)
}

// Errors an Approver returns, matchable with errors.Is. Each one means deny.
var (
	// ErrNoTTY: there is no controlling terminal to ask on.
	ErrNoTTY = errors.New("no terminal to ask for approval")
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
	// ErrUnsupported: this approver does not work on this OS yet.
	ErrUnsupported = errors.New("approver not supported on this OS yet")
	// ErrCancelled: the request was withdrawn while it waited for the
	// human (its client went away: Ctrl-C, SIGTERM, a closed connection).
	// Whatever the human answers afterwards, nothing runs.
	ErrCancelled = errors.New("approval cancelled")
)

// DefaultTimeout is how long an approver waits for the human.
const DefaultTimeout = 60 * time.Second

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
func judge(answer, code string) (Decision, error) {
	a := strings.ToUpper(strings.TrimSpace(answer))
	switch a {
	case "", "N", "NO", "DENY":
		return Deny, nil
	}
	want := AllowOnce
	if strings.HasSuffix(a, "!") {
		a, want = strings.TrimSuffix(a, "!"), AllowAlways
	}
	if subtle.ConstantTimeCompare([]byte(a), []byte(code)) == 1 {
		return want, nil
	}
	return Deny, ErrWrongCode
}

// answerHelp is the instruction shown under the code, shared by the
// terminal and pinentry prompts so the human learns one rule.
func answerHelp(code string, timeout time.Duration) string {
	return fmt.Sprintf("Type the code to approve. Anything else, or %s without an answer, denies.\n"+
		"  %s      allow once\n"+
		"  %s!     allow always (saves a rule for this path, hash and argv)\n",
		fmtDuration(timeout), code, code)
}
