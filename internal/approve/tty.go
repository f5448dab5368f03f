package approve

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ttyApprover asks on the controlling terminal. It never touches stdin or
// stdout: those belong to whoever started envseal (the agent), while
// /dev/tty is the human's terminal.
type ttyApprover struct{ c config }

// maxAnswer bounds one answer line; a longer one is wrong anyway.
const maxAnswer = 64

func (a *ttyApprover) Approve(ctx context.Context, r *Request) (Decision, error) {
	if r == nil {
		return Deny, errors.New("approve: nil request")
	}
	code, err := newCode(a.c.rand)
	if err != nil {
		return Deny, err
	}
	t, err := openTTY(a.c.ttyPath)
	if err != nil {
		return Deny, err
	}
	defer t.close()

	// Discard everything typed or injected (TIOCSTI) before the prompt
	// appears: answers an agent queued ahead of time, and keys the human
	// pressed for something else, are never judged. Only input that comes
	// after the code is on screen counts. (Flushing after writing the
	// prompt instead would race a human who already reads it.)
	if err := t.flushInput(); err != nil {
		return Deny, noTTY(a.c.ttyPath, fmt.Errorf("flush terminal input: %w", err))
	}
	deadline := a.c.deadline(ctx)
	prompt := "\n" + r.Text() + "\n" + ttyHelp(r, code, a.c.timeout) + "approval code: "
	if err := t.writeAll(ctx, []byte(prompt), deadline); err != nil {
		return Deny, err
	}
	line, err := t.readLine(ctx, deadline)
	d := Deny
	if err == nil {
		d, err = judgeFor(r, line, code)
	}
	d, err = confirm(d, err, r, func() (string, error) { return a.askCode(ctx, t) })
	// Tell the human what happened; best effort, the decision stands.
	_ = t.writeAll(context.Background(), []byte(outcome(d, err, a.c.timeout)), time.Now().Add(time.Second))
	return d, err
}

func outcome(d Decision, err error, timeout time.Duration) string {
	switch {
	case errors.Is(err, ErrTimeout):
		return fmt.Sprintf("\nenvseal: denied: no answer within %s\n", fmtDuration(timeout))
	case errors.Is(err, ErrWrongCode):
		return "envseal: denied: the code did not match\n"
	case errors.Is(err, ErrBadWiden):
		return "envseal: denied: " + err.Error() + "\n"
	case errors.Is(err, ErrSecondFactor):
		return "envseal: denied: " + err.Error() + "\n"
	case errors.Is(err, ErrCancelled):
		// The prompt ends here; the human need not answer a request whose
		// client is gone.
		why := strings.TrimPrefix(err.Error(), ErrCancelled.Error()+": ")
		if why == context.Canceled.Error() {
			why = "the client that asked went away"
		}
		return "\nenvseal: withdrawn: " + why + "\n"
	case errors.Is(err, ErrNoAnswer):
		return "\nenvseal: denied: terminal input closed\n"
	case err != nil:
		return "\nenvseal: denied\n"
	}
	return "envseal: " + d.String() + "\n"
}

// fmtDuration prints 60s as "60s" rather than "1m0s".
func fmtDuration(d time.Duration) string {
	if d >= time.Second && d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}

// noTTY is the error for a terminal that cannot be used, saying what to do.
func noTTY(path string, err error) error {
	return fmt.Errorf("%w for approval (%s: %w): run envseal from an interactive terminal, "+
		"or start `envseal broker` in one, or choose the pinentry approver", ErrNoTTY, path, err)
}
