package approve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// dialogApprover asks with zenity or kdialog. These offer no challenge
// code: on X11 any client of the same user can read and click them, so
// they are the weakest channel and the one to use only where no terminal
// exists. zenity offers Allow once / Allow always / Deny (Deny is the
// default button, so a blind Enter denies); kdialog offers Allow once /
// Deny only.
type dialogApprover struct {
	c    config
	kind string // KindZenity or KindKdialog
}

// approveOnce asks for the decision; Approve (secondfactor.go) adds the
// one-time code when one is required.
func (a *dialogApprover) approveOnce(ctx context.Context, r *Request) (Decision, error) {
	if r == nil {
		return Deny, errors.New("approve: nil request")
	}
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return Deny, fmt.Errorf("%w: DISPLAY and WAYLAND_DISPLAY are unset; use the tty approver", ErrNoDisplay)
	}
	prog, err := a.program()
	if err != nil {
		return Deny, err
	}
	ctx, cancel := context.WithDeadline(ctx, a.c.deadline(ctx))
	defer cancel()

	var args []string
	text := r.Text()
	title, yes := r.dialogTitle(), "Allow once"
	if r.Store != nil {
		yes = "Allow"
	}
	if a.kind == KindZenity {
		secs := int((a.c.timeout + time.Second - 1) / time.Second)
		args = []string{
			"--question", "--no-markup", "--default-cancel", "--width=760",
			"--title=" + title,
			// zenity runs --text through g_strcompress, which would turn
			// an escape shown as \033 back into ESC: double every
			// backslash so what arrives is the sanitized text.
			"--text=" + strings.ReplaceAll(text, `\`, `\\`),
			"--ok-label=" + yes, "--cancel-label=Deny",
		}
		if r.canAlways() {
			args = append(args, "--extra-button=Allow for 8 hours", "--extra-button=Allow always")
		}
		args = append(args, "--timeout="+strconv.Itoa(secs))
	} else {
		// kdialog treats text that looks like HTML as rich text; make it
		// always rich text and escape it, so argv cannot inject markup.
		args = []string{
			"--title", title,
			"--warningyesno", "<qt><pre>" + html.EscapeString(text) + "</pre></qt>",
			"--yes-label", yes, "--no-label", "Deny",
		}
	}
	out, err := runDialog(ctx, prog, args)
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return Deny, fmt.Errorf("%w: %s: %w", ErrTimeout, a.kind, ctx.Err())
		}
		return Deny, fmt.Errorf("approval cancelled: %w", ctx.Err())
	}
	status := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return Deny, fmt.Errorf("%w: run %s: %w", ErrDialog, prog, err)
		}
		status = ee.ExitCode()
	}
	switch {
	case status == 0:
		return AllowOnce, nil
	case status == 1 && a.kind == KindZenity && r.canAlways() && strings.TrimSpace(out) == "Allow always":
		return AllowAlways, nil
	case status == 1 && a.kind == KindZenity && r.canAlways() && strings.TrimSpace(out) == "Allow for 8 hours":
		return AllowFor(DefaultAllowFor), nil
	case status == 1:
		return Deny, nil
	case status == 5 && a.kind == KindZenity:
		return Deny, fmt.Errorf("%w: zenity", ErrTimeout)
	}
	return Deny, fmt.Errorf("%w: %s exited with status %d", ErrDialog, a.kind, status)
}

// runDialog runs the dialog program with the dialog environment and
// returns what it printed and how it ended (cmd.Run's error).
func runDialog(ctx context.Context, prog string, args []string) (string, error) {
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = dialogEnv(os.Environ())
	cmd.WaitDelay = time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	return out.String(), err
}

// program resolves the dialog binary from fixed system directories only,
// never PATH, and only if it passes the root-owned check.
func (a *dialogApprover) program() (string, error) {
	if real, err := firstTrusted(a.c.dialogDirs, a.kind, a.c.trust); real != "" || err != nil {
		return real, err
	}
	return "", fmt.Errorf("%w: %s is not in %s; install it or use the tty approver",
		ErrProgramNotFound, a.kind, strings.Join(a.c.dialogDirs, " or "))
}

// dialogEnv keeps what a dialog needs to reach the human's display and
// nothing else: LD_PRELOAD, GTK_MODULES, QT_PLUGIN_PATH, GTK_PATH,
// PYTHONPATH and friends would let the agent load its own code into the
// dialog and answer for the human. PATH is fixed for the same reason.
func dialogEnv(environ []string) []string {
	keep := map[string]bool{
		"DISPLAY": true, "WAYLAND_DISPLAY": true, "XAUTHORITY": true, "XDG_RUNTIME_DIR": true,
		"DBUS_SESSION_BUS_ADDRESS": true, "HOME": true, "USER": true, "LOGNAME": true,
		"LANG": true, "LANGUAGE": true, "TERM": true, "TZ": true,
	}
	out := []string{"PATH=/usr/bin:/bin"}
	for _, kv := range environ {
		k, _, ok := strings.Cut(kv, "=")
		if ok && (keep[k] || strings.HasPrefix(k, "LC_")) {
			out = append(out, kv)
		}
	}
	return out
}

// firstTrusted returns the first dir/name (absolute dirs only, in order)
// that exists and passes trust. If some existed but none passed, it
// returns the first refusal, so a planted copy is reported rather than
// skipped in silence; if none existed, it returns "", nil.
func firstTrusted(dirs []string, name string, trust func(string) (string, error)) (string, error) {
	var rejected error
	for _, dir := range dirs {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		real, err := trust(p)
		if err == nil {
			return real, nil
		}
		if rejected == nil {
			rejected = err
		}
	}
	return "", rejected
}
