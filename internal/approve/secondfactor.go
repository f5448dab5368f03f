package approve

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// SecondFactor checks the one-time code (TOTP) a human types after
// approving, when the vault has a second factor enabled. Verify consumes
// the code: it is called at most once per approval, and a non-nil error
// denies.
type SecondFactor interface {
	Verify(code string) error
}

// ErrSecondFactor: the human approved, but the one-time code was refused
// or not given. It wraps the verifier's error (wrong, reused, rate limited,
// damaged state), so callers can match that too.
var ErrSecondFactor = errors.New("second factor refused")

// CodePrompt ends every one-time-code prompt, on every channel.
const CodePrompt = "TOTP code: "

// secondFactorText is shown above the one-time-code prompt.
const secondFactorText = "Second factor: type the 6-digit code your authenticator app shows for envseal.\n" +
	"A wrong or reused code denies this approval; repeated wrong codes lock approvals for a while.\n"

// confirm asks for the one-time code after the human approved, on the
// channel that asked the approval and within the same session (the broker's
// serial approver still holds its turn), and denies unless r.SecondFactor
// accepts it. It runs before the approver returns, so before anything is
// decrypted or a rule is written. Without a second factor, or when the
// human did not approve, the decision passes through unchanged.
//
// An empty answer is the human declining: it denies without calling
// Verify, so it does not count as a failed guess.
func confirm(d Decision, err error, r *Request, ask func() (string, error)) (Decision, error) {
	if err != nil || d == Deny || r.SecondFactor == nil {
		return d, err
	}
	code, err := ask()
	if err != nil {
		return Deny, err
	}
	if strings.TrimSpace(code) == "" {
		return Deny, fmt.Errorf("%w: no code was typed", ErrSecondFactor)
	}
	if err := r.SecondFactor.Verify(code); err != nil {
		return Deny, fmt.Errorf("%w: %w", ErrSecondFactor, err)
	}
	return d, nil
}

// askCode asks on the terminal the approval used. Input typed or injected
// before the prompt is discarded, as for the approval itself. The human
// gets a full timeout again (they may have to find their phone).
func (a *ttyApprover) askCode(ctx context.Context, t *ttyConn) (string, error) {
	if err := t.flushInput(); err != nil {
		return "", noTTY(a.c.ttyPath, fmt.Errorf("flush terminal input: %w", err))
	}
	deadline := a.c.deadline(ctx)
	if err := t.writeAll(ctx, []byte("\n"+secondFactorText+CodePrompt), deadline); err != nil {
		return "", err
	}
	return t.readLine(ctx, deadline)
}

// askCode asks in the same pinentry session as the approval. Cancel is an
// empty answer (deny).
func (a *pinentryApprover) askCode(ctx context.Context, conn *assuanConn) (string, error) {
	for _, c := range []string{
		"SETDESC " + percentEscape(secondFactorText),
		"SETPROMPT " + percentEscape(strings.TrimSpace(CodePrompt)),
		"SETOK " + percentEscape("OK"),
	} {
		if _, err := conn.transact(ctx, c); err != nil {
			return "", pinentryErr(err)
		}
	}
	pin, err := conn.transact(ctx, "GETPIN")
	if err != nil {
		return "", pinentryErr(err)
	}
	return pin, nil
}

// Approve asks with the dialog, then, when a second factor is set, for the
// code in a second dialog of the same program (an entry field).
func (a *dialogApprover) Approve(ctx context.Context, r *Request) (Decision, error) {
	d, err := a.approveOnce(ctx, r)
	return confirm(d, err, r, func() (string, error) { return a.askCode(ctx) })
}

// askCode runs zenity --entry or kdialog --inputbox. Cancel is an empty
// answer (deny).
func (a *dialogApprover) askCode(ctx context.Context) (string, error) {
	prog, err := a.program()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithDeadline(ctx, a.c.deadline(ctx))
	defer cancel()
	var args []string
	if a.kind == KindZenity {
		secs := int((a.c.timeout + time.Second - 1) / time.Second)
		args = []string{"--entry", "--title=envseal: second factor", "--text=" + secondFactorText,
			"--timeout=" + strconv.Itoa(secs)}
	} else {
		args = []string{"--title", "envseal: second factor", "--inputbox", secondFactorText}
	}
	out, err := runDialog(ctx, prog, args)
	if ctx.Err() != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrTimeout, a.kind, ctx.Err())
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 1 {
			return "", nil // cancelled
		}
		if errors.As(err, &ee) && ee.ExitCode() == 5 && a.kind == KindZenity {
			return "", fmt.Errorf("%w: zenity", ErrTimeout)
		}
		return "", fmt.Errorf("%w: run %s: %w", ErrDialog, prog, err)
	}
	return strings.TrimSpace(out), nil
}
