//go:build linux

package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/envseal/envseal/internal/totp"
)

// seedRE finds the seed in the otpauth:// URI `envseal totp enable` shows
// on the terminal — the only place it ever appears, which is what this test
// reads, like a phone scanning the screen.
var seedRE = regexp.MustCompile(`otpauth://totp/[^?\s]+\?secret=([A-Z2-7]+)&`)

// totphuman [-pass FILE] [-exit N] STEPS CMD ARGS… runs CMD on a fresh pty
// (its controlling terminal, as `human` does) and answers the prompts in
// STEPS, a comma-separated list, in order:
//
//	once | always | deny   the approval prompt: CODE, CODE!, or n
//	next                   a TOTP prompt: the code of the next unused step
//	reuse                  a TOTP prompt: the last code typed again
//	wrong                  a TOTP prompt: a code valid for no step near now
//	none                   no prompt at all may appear
//
// The seed is read off the terminal when enable shows it and kept in
// $WORK/.totp-seed; the last step typed in $WORK/.totp-step, so "next"
// always moves forward within the ±1 step window (it waits for the clock
// only if it must). The transcript is saved as $WORK/tty.out.
func cmdTOTPHuman(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("use -exit N instead of !")
	}
	var passFile string
	wantExit := 0
	for len(args) > 1 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-pass":
			passFile = ts.MkAbs(args[1])
		case "-exit":
			n, err := strconv.Atoi(args[1])
			if err != nil {
				ts.Fatalf("bad -exit: %v", err)
			}
			wantExit = n
		default:
			ts.Fatalf("unknown option %s", args[0])
		}
		args = args[2:]
	}
	if len(args) < 2 {
		ts.Fatalf("usage: totphuman [-pass FILE] [-exit N] STEPS CMD [ARGS...]")
	}
	steps := strings.Split(args[0], ",")
	cmd, master, _, stdout, stderr := startOnPty(ts, args[1:], passFile, "", false, "GORACE=atexit_sleep_ms=0")
	defer master.Close()

	var mu sync.Mutex
	var transcript bytes.Buffer
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			transcript.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	snapshot := func() []byte {
		mu.Lock()
		defer mu.Unlock()
		return bytes.Clone(transcript.Bytes())
	}
	fail := func(format string, a ...any) {
		cmd.Process.Kill()
		ts.Logf("[tty]\n%s", snapshot())
		ts.Stderr().Write(stderr.Bytes())
		ts.Fatalf(format, a...)
	}

	pos := 0 // prompts are looked for after the last one answered
	var err2 error
	for _, step := range steps {
		if step == "none" {
			break
		}
		approval := step == "once" || step == "always" || step == "deny"
		deadline := time.Now().Add(30 * time.Second)
	prompt:
		for {
			t := snapshot()
			if m := seedRE.FindSubmatch(t); m != nil {
				os.WriteFile(ts.MkAbs(".totp-seed"), m[1], 0o600)
			}
			rest := t[pos:]
			if approval {
				if m := codeRE.FindSubmatchIndex(rest); m != nil {
					if i := bytes.Index(rest[m[1]:], []byte("approval code: ")); i >= 0 {
						code := string(rest[m[2]:m[3]])
						pos += m[1] + i + len("approval code: ")
						switch step {
						case "once":
							io.WriteString(master, code+"\r")
						case "always":
							io.WriteString(master, code+"!\r")
						case "deny":
							io.WriteString(master, "n\r")
						}
						break prompt
					}
				}
			} else if i := bytes.Index(rest, []byte(approvePromptTOTP)); i >= 0 {
				pos += i + len(approvePromptTOTP)
				io.WriteString(master, totpAnswer(ts, step)+"\r")
				break prompt
			}
			select {
			case err2 = <-waitErr:
				fail("%s exited (%v) before the %q prompt", args[1], err2, step)
			case <-time.After(10 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				fail("no prompt for step %q within 30s", step)
			}
		}
	}
	select {
	case err2 = <-waitErr:
	case <-time.After(60 * time.Second):
		fail("%s did not exit", args[1])
	}
	select {
	case <-readDone:
	case <-time.After(2 * time.Second):
	}
	t := snapshot()
	os.WriteFile(ts.MkAbs("tty.out"), bytes.ReplaceAll(t, []byte("\r\n"), []byte("\n")), 0o644)
	// Any prompt after the last answered one was not expected.
	if rest := t[pos:]; bytes.Contains(rest, []byte("approval code: ")) || bytes.Contains(rest, []byte(approvePromptTOTP)) {
		ts.Logf("[tty]\n%s", t)
		ts.Fatalf("an unexpected prompt appeared after the steps %s", args[0])
	}
	ts.Stdout().Write(stdout.Bytes())
	ts.Stderr().Write(stderr.Bytes())
	checkExit(ts, err2, wantExit)
}

// approvePromptTOTP is how every TOTP prompt ends (approve.CodePrompt and
// the enable/disable prompt).
const approvePromptTOTP = "TOTP code: "

// totpAnswer computes what to type at a TOTP prompt for step kind.
func totpAnswer(ts *testscript.TestScript, kind string) string {
	b, err := os.ReadFile(ts.MkAbs(".totp-seed"))
	if err != nil {
		ts.Fatalf("no TOTP seed seen on the terminal yet (run totp enable first): %v", err)
	}
	seed, err := totp.DecodeSeed(string(b))
	if err != nil {
		ts.Fatalf("seed: %v", err)
	}
	var last uint64
	if b, err := os.ReadFile(ts.MkAbs(".totp-step")); err == nil {
		last, _ = strconv.ParseUint(string(b), 10, 64)
	}
	now := totp.Step(time.Now(), totp.Period)
	switch kind {
	case "next":
		s := max(last+1, now-1)
		for s > totp.Step(time.Now(), totp.Period)+1 {
			time.Sleep(200 * time.Millisecond) // only if the window has not caught up
		}
		os.WriteFile(ts.MkAbs(".totp-step"), []byte(strconv.FormatUint(s, 10)), 0o600)
		return totp.CodeAt(seed, s)
	case "reuse":
		if last == 0 {
			ts.Fatalf("reuse: no code typed yet")
		}
		return totp.CodeAt(seed, last)
	case "wrong":
		for i := 0; ; i++ {
			c := fmt.Sprintf("%06d", (i*7919)%1000000)
			ok := true
			for s := now - 2; s <= now+2; s++ {
				ok = ok && c != totp.CodeAt(seed, s)
			}
			if ok {
				return c
			}
		}
	}
	ts.Fatalf("unknown TOTP step %q", kind)
	return ""
}
