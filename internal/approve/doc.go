// Package approve is the only place where envseal talks to the human about
// a program run: the Request (everything the human is shown) and the
// channels that ask (terminal, pinentry, zenity, kdialog).
//
// The attacker is a same-uid agent. It controls argv, the working
// directory, file names, PATH and the environment envseal inherits; it can
// open /dev/tty, inject keystrokes with TIOCSTI and write to the terminal,
// but it cannot see the human's screen or type on the keyboard. Hence:
//
//   - Every field of a Request is rendered through one sanitizer that lets
//     only printable ASCII through and escapes everything else (controls,
//     ANSI escapes, bidi overrides, zero-width and other invisible
//     characters, and all non-ASCII letters, which defeats homoglyphs and
//     right-to-left reordering). Each argument sits on its own line, so an
//     argument cannot forge another line of the request.
//   - The terminal approver reads and writes /dev/tty only, never
//     stdin/stdout (which the agent owns). It flushes pending tty input
//     just before the prompt appears (keystrokes queued or injected
//     earlier are discarded), shows a fresh 6-character code from
//     crypto/rand and accepts exactly CODE (allow once) or CODE! (allow
//     always). A blind TIOCSTI guess succeeds with probability 31^-6 and
//     costs the agent the prompt: a wrong answer denies, it is not retried.
//   - The pinentry approver uses the same code, typed into a GETPIN field,
//     for both "allow once" and "allow always", rather than a CONFIRM
//     button: pinentry-curses reads the same terminal, and a blind Enter
//     injected with TIOCSTI (or a synthetic X11 key press for a GUI
//     pinentry) would otherwise press the OK button.
//   - With a second factor (Request.SecondFactor, TOTP), every channel asks
//     for the one-time code after the human's yes, in the same session
//     (same terminal, after flushing it again; same pinentry; a second
//     dialog), and denies unless the verifier accepts it — before the
//     approver returns, so before anything is decrypted or saved.
//   - Dialog programs (pinentry, zenity, kdialog) run only from a root-owned
//     file in root-owned directories that neither group nor others can
//     write, with a scrubbed environment (no LD_*, GTK_*, QT_* …): a
//     program the agent wrote, or one it can load code into, would answer
//     "allow" for it.
//
// Every outcome is explicit. Decision's zero value is Deny, and every error
// (no terminal, timeout, wrong code, protocol garbage) comes with Deny.
//
// Known limits of the direct (non-broker) mode, stated in THREAT_MODEL.md:
// a same-uid process that already holds the terminal open can read the
// human's answer before envseal does (turning an "allow once" into a denial,
// or replaying CODE as CODE!), and can write over the request on screen; an
// agent that runs envseal inside a pty it owns sees the code. GUI dialogs on
// X11 can be read and clicked by any X client. The broker, which asks on its
// own terminal outside the agent's jail, is the answer to all of these.
package approve
