//go:build unix

package approve

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakePinentry writes a shell script that speaks Assuan like pinentry:
// it logs every command to log, reads the code off the SETDESC line (as
// the human would read it off the dialog) and answers GETPIN with reply.
func fakePinentry(t *testing.T, greeting, onSetdesc, reply string) (path, log string) {
	t.Helper()
	dir := t.TempDir()
	path, log = filepath.Join(dir, "pinentry"), filepath.Join(dir, "log")
	script := `#!/bin/sh
log='` + log + `'
env > "$log.env"
echo '` + greeting + `'
while IFS= read -r line; do
  printf '%s\n' "$line" >> "$log"
  case "$line" in
    SETDESC*) code=$(printf '%s' "$line" | grep -o '[A-Z2-9]\{6\}  *allow' | cut -c1-6); ` + onSetdesc + ` ;;
    GETPIN) ` + reply + ` ;;
    BYE) echo 'OK closing connection'; exit 0 ;;
    *) echo OK ;;
  esac
done
`
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, log
}

func runPinentry(t *testing.T, path string, opts ...Option) (Decision, error) {
	t.Helper()
	a, err := New(KindPinentry, append([]Option{WithPinentry(path), withTrust(trustAll), withTTYName("/dev/pts/99")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	r := testRequest()
	r.Argv = append(r.Argv, "100%", "line\nbreak")
	return a.Approve(context.Background(), r)
}

const greet = "OK Pleased to meet you"

func TestPinentryAnswers(t *testing.T) {
	for _, tc := range []struct {
		name            string
		greeting, reply string
		want            Decision
		err             error
	}{
		{"code allows once", greet, `echo '# comment'; echo 'S PROGRESS 1'; printf 'D %s\nOK\n' "$code"`, AllowOnce, nil},
		{"code! allows always", greet, `printf 'D %s%%21\nOK\n' "$code"`, AllowAlways, nil},
		{"wrong code denies", greet, `printf 'D ZZZZZ1\nOK\n'`, Deny, ErrWrongCode},
		{"empty pin denies", greet, `echo OK`, Deny, nil},
		{"cancel denies", greet, `echo 'ERR 83886179 Operation cancelled <Pinentry>'`, Deny, nil},
		{"pinentry timeout", greet, `echo 'ERR 83886142 Timeout <Pinentry>'`, Deny, ErrTimeout},
		{"other ERR", greet, `echo 'ERR 83918950 Inappropriate ioctl for device <Pinentry>'`, Deny, ErrDialog},
		{"garbage reply", greet, `echo 'HELLO THERE'`, Deny, ErrProtocol},
		{"garbage greeting", "220 smtp.example.com ESMTP", `echo OK`, Deny, ErrProtocol},
		{"bad error line", greet, `echo 'ERR lots'`, Deny, ErrProtocol},
		{"bad escape in data", greet, `echo 'D %zz'; echo OK`, Deny, ErrProtocol},
		{"exits mid-dialog", greet, `exit 0`, Deny, ErrNoAnswer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, _ := fakePinentry(t, tc.greeting, "echo OK", tc.reply)
			d, err := runPinentry(t, path)
			if d != tc.want || !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("got (%v, %v), want (%v, %v)", d, err, tc.want, tc.err)
			}
		})
	}
}

func TestPinentryInquireIsCancelled(t *testing.T) {
	path, log := fakePinentry(t, greet, "echo OK",
		`echo 'INQUIRE PINENTRY_LAUNCHED 1'; read -r can; printf '%s\n' "$can" >> "$log"; echo 'ERR 83886179 cancelled'`)
	if d, err := runPinentry(t, path); d != Deny || err != nil {
		t.Fatalf("got (%v, %v), want (deny, nil)", d, err)
	}
	if b, _ := os.ReadFile(log); !strings.Contains(string(b), "\nCAN\n") {
		t.Fatalf("INQUIRE not answered with CAN:\n%s", b)
	}
}

func TestPinentrySetdescFailureDenies(t *testing.T) {
	path, _ := fakePinentry(t, greet, "echo 'ERR 536870981 line too long'", `printf 'D %s\nOK\n' "$code"`)
	if d, err := runPinentry(t, path); d != Deny || !errors.Is(err, ErrDialog) {
		t.Fatalf("got (%v, %v), want Deny with ErrDialog", d, err)
	}
}

func TestPinentryHangTimesOut(t *testing.T) {
	path, _ := fakePinentry(t, greet, "echo OK", `exec sleep 10`)
	start := time.Now()
	d, err := runPinentry(t, path, WithTimeout(300*time.Millisecond))
	if d != Deny || !errors.Is(err, ErrTimeout) {
		t.Fatalf("got (%v, %v), want Deny with ErrTimeout", d, err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("a 300ms timeout took %v", el)
	}
}

// What the dialog is told: every parameter percent-escaped, the request
// and the code in SETDESC, labels set, options from the environment
// escaped too, and a scrubbed environment.
func TestPinentryConversation(t *testing.T) {
	t.Setenv("TERM", "xterm\nGETPIN")
	t.Setenv("GTK_MODULES", "agent-module")
	path, log := fakePinentry(t, greet, "echo OK", `printf 'D %s\nOK\n' "$code"`)
	if d, err := runPinentry(t, path); d != AllowOnce || err != nil {
		t.Fatalf("got (%v, %v)", d, err)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	var desc string
	for _, l := range lines {
		if len(l)+1 > assuanMaxLine {
			t.Errorf("command of %d bytes exceeds the Assuan line limit", len(l)+1)
		}
		if strings.HasPrefix(l, "SETDESC ") {
			desc = strings.TrimPrefix(l, "SETDESC ")
		}
	}
	for _, want := range []string{
		"OPTION ttyname=/dev/pts/99", "OPTION ttytype=xterm%0AGETPIN", "SETTITLE envseal: approve program run",
		"SETPROMPT Code:", "SETOK Allow", "SETCANCEL Deny", "SETTIMEOUT 60", "GETPIN", "BYE",
	} {
		if !strings.Contains("\n"+string(b), "\n"+want+"\n") {
			t.Errorf("pinentry was not sent %q; log:\n%s", want, b)
		}
	}
	if strings.Contains(desc, "\r") || !strings.Contains(desc, "%0A") || !strings.Contains(desc, `"100%25"`) {
		t.Errorf("SETDESC not percent-escaped: %q", desc)
	}
	plain, err := percentDecode(desc)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"program /usr/bin/wrangler", `[2] "100%"`, `[3] "line\nbreak"`, "cf-token -> env CLOUDFLARE_API_TOKEN", "allow always"} {
		if !strings.Contains(plain, want) {
			t.Errorf("SETDESC does not show %q:\n%s", want, plain)
		}
	}
	env, _ := os.ReadFile(log + ".env")
	if bytes.Contains(env, []byte("GTK_MODULES")) || !bytes.Contains(env, []byte("PATH=/usr/bin:/bin\n")) {
		t.Errorf("pinentry environment not scrubbed:\n%s", env)
	}
}

// A pinentry planted by the agent (here: in a world-writable temp tree, on
// PATH) is refused by the real owner check and never runs.
func TestPinentryUntrustedRefused(t *testing.T) {
	path, log := fakePinentry(t, greet, "echo OK", `printf 'D %s\nOK\n' "$code"`)
	for _, opt := range []Option{WithPinentry(path), withTTYPath("unused")} {
		t.Setenv("PATH", filepath.Dir(path))
		a, _ := New(KindPinentry, opt)
		d, err := a.Approve(context.Background(), testRequest())
		if d != Deny || !errors.Is(err, ErrUntrustedProgram) {
			t.Fatalf("got (%v, %v), want Deny with ErrUntrustedProgram", d, err)
		}
	}
	if _, err := os.Stat(log + ".env"); err == nil {
		t.Fatal("the untrusted pinentry was run")
	}
	// Found on PATH when trusted.
	t.Setenv("PATH", "relative/dir:"+filepath.Dir(path))
	a, _ := New(KindPinentry, withTrust(trustAll))
	if d, err := a.Approve(context.Background(), testRequest()); d != AllowOnce || err != nil {
		t.Fatalf("pinentry from PATH: got (%v, %v)", d, err)
	}
	t.Setenv("PATH", t.TempDir())
	a, _ = New(KindPinentry)
	if _, err := a.Approve(context.Background(), testRequest()); !errors.Is(err, ErrProgramNotFound) {
		t.Fatalf("no pinentry on PATH: %v", err)
	}
}
