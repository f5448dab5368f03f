package approve

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// pinentryApprover asks through a pinentry program over Assuan.
//
// Design: the dialog shows the request and a fresh challenge code, and the
// human types CODE (allow once) or CODE! (allow always) into a GETPIN
// field; OK with anything else, Cancel, closing the window or the timeout
// deny. There is no CONFIRM button to press: with pinentry-curses the
// dialog reads the same terminal an agent can inject Enter into (TIOCSTI),
// and a GUI pinentry takes synthetic key presses from any X11 client, so a
// button press proves nothing while a code the agent cannot see does.
type pinentryApprover struct{ c config }

func (a *pinentryApprover) Approve(ctx context.Context, r *Request) (Decision, error) {
	if r == nil {
		return Deny, errors.New("approve: nil request")
	}
	code, err := newCode(a.c.rand)
	if err != nil {
		return Deny, err
	}
	d := Deny
	err = a.session(ctx, func(ctx context.Context, conn *assuanConn) error {
		var err error
		d, err = a.converse(ctx, conn, r, code)
		return err
	})
	if err != nil {
		return Deny, err
	}
	return d, nil
}

// session starts the trusted pinentry program, runs fn over its Assuan
// connection within the approval deadline, and says BYE if fn succeeded.
func (a *pinentryApprover) session(ctx context.Context, fn func(context.Context, *assuanConn) error) error {
	prog, err := a.program()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithDeadline(ctx, a.c.deadline(ctx))
	defer cancel()

	// CommandContext kills pinentry when the deadline passes; WaitDelay
	// bounds the wait for it afterwards.
	cmd := exec.CommandContext(ctx, prog)
	cmd.Env = dialogEnv(os.Environ())
	cmd.WaitDelay = time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("pinentry stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("pinentry stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: start %s: %w", ErrDialog, prog, err)
	}
	conn := newAssuanConn(stdin, stdout)
	defer func() {
		conn.close()
		stdin.Close()
		cancel()
		_ = cmd.Wait()
	}()
	if err := fn(ctx, conn); err != nil {
		return err
	}
	_, _ = conn.transact(ctx, "BYE")
	return nil
}

// AskPassphrase asks for the vault passphrase in the same trusted pinentry
// (the broker run as a service has no terminal). Cancel is ErrNoAnswer.
func (a *pinentryApprover) AskPassphrase(ctx context.Context, desc string) ([]byte, error) {
	var pin string
	err := a.session(ctx, func(ctx context.Context, conn *assuanConn) error {
		if err := conn.greeting(ctx); err != nil {
			return err
		}
		for _, c := range []string{
			"SETTITLE " + percentEscape("envseal: unlock the vault"),
			"SETDESC " + percentEscape(desc),
			"SETPROMPT " + percentEscape("Passphrase:"),
		} {
			if _, err := conn.transact(ctx, c); err != nil {
				return pinentryErr(err)
			}
		}
		var err error
		pin, err = conn.transact(ctx, "GETPIN")
		if err != nil {
			return pinentryErr(err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if pin == "" {
		return nil, fmt.Errorf("%w: empty passphrase", ErrNoAnswer)
	}
	return []byte(pin), nil
}

// PassphraseAsker is implemented by approvers that can also ask for the
// vault passphrase on their own channel (pinentry).
type PassphraseAsker interface {
	AskPassphrase(ctx context.Context, desc string) ([]byte, error)
}

func (a *pinentryApprover) converse(ctx context.Context, conn *assuanConn, r *Request, code string) (Decision, error) {
	if err := conn.greeting(ctx); err != nil {
		return Deny, err
	}
	optional := []string{}
	if tty := a.c.ttyName(); tty != "" {
		optional = append(optional, "OPTION ttyname="+percentEscape(tty))
	}
	if term := os.Getenv("TERM"); term != "" {
		optional = append(optional, "OPTION ttytype="+percentEscape(term))
	}
	secs := int((a.c.timeout + time.Second - 1) / time.Second)
	optional = append(optional, "SETTIMEOUT "+strconv.Itoa(secs), "SETNOTOK Deny")
	// Old pinentries reject some of these; the dialog still works without
	// them (our own deadline still applies), so ERR is not fatal here.
	for _, c := range optional {
		var ae *assuanError
		if _, err := conn.transact(ctx, c); err != nil && !errors.As(err, &ae) {
			return Deny, err
		}
	}
	// Without these the human would not see what is asked, or would see
	// the wrong labels: any failure denies.
	for _, c := range []string{
		"SETTITLE " + percentEscape(r.dialogTitle()),
		"SETDESC " + pinentryDesc(r, code, a.c.timeout),
		"SETPROMPT " + percentEscape("Code:"),
		"SETOK " + percentEscape("Allow"),
		"SETCANCEL " + percentEscape("Deny"),
	} {
		if _, err := conn.transact(ctx, c); err != nil {
			return Deny, pinentryErr(err)
		}
	}
	pin, err := conn.transact(ctx, "GETPIN")
	if err != nil {
		return Deny, pinentryErr(err)
	}
	d, err := judgeFor(r, pin, code)
	return confirm(d, err, r, func() (string, error) { return a.askCode(ctx, conn) })
}

// pinentryErr maps pinentry's ERR replies: cancel is a human's "no",
// timeout is ErrTimeout, anything else is a failed dialog.
func pinentryErr(err error) error {
	var ae *assuanError
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.code & 0xffff {
	case gpgErrCanceled, gpgErrNotConfirmed:
		return nil
	case gpgErrTimeout:
		return fmt.Errorf("%w: pinentry: %w", ErrTimeout, err)
	}
	return fmt.Errorf("%w: pinentry: %w", ErrDialog, err)
}

// pinentryDesc is the escaped SETDESC parameter: the request cut to fit
// one Assuan line, then the code and how to answer, which are never cut.
func pinentryDesc(r *Request, code string, timeout time.Duration) string {
	tail := percentEscape("\n" + answerHelp(r, code, timeout))
	room := assuanMaxLine - len("SETDESC ") - 1 - len(tail)
	budget := room
	for range 8 {
		body := percentEscape(r.compact(budget))
		if len(body) <= room {
			return body + tail
		}
		budget -= len(body) - room
	}
	return percentEscape("envseal: a program asks for secrets (too long to show here)") + tail
}

// program finds pinentry: the configured path, else the first pinentry on
// PATH that passes the root-owned check. PATH comes from the agent, so an
// untrusted candidate is skipped rather than run, and relative PATH entries
// (resolved against the agent's cwd) are ignored.
func (a *pinentryApprover) program() (string, error) {
	if a.c.pinentry != "" {
		if !filepath.IsAbs(a.c.pinentry) {
			return "", fmt.Errorf("pinentry program %q must be an absolute path", a.c.pinentry)
		}
		return a.c.trust(a.c.pinentry)
	}
	if real, err := firstTrusted(filepath.SplitList(os.Getenv("PATH")), "pinentry", a.c.trust); real != "" || err != nil {
		return real, err
	}
	return "", fmt.Errorf("%w: no pinentry on PATH; install pinentry-curses or pinentry-gnome3, or use the tty approver", ErrProgramNotFound)
}
