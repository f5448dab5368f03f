//go:build linux

package approve

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeFactor accepts exactly want, once, and records what it was asked.
type fakeFactor struct {
	mu   sync.Mutex
	want string
	got  []string
}

var errFakeWrong = errors.New("fake: wrong code")

func (f *fakeFactor) Verify(code string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, code)
	if code != f.want {
		return errFakeWrong
	}
	f.want = "" // once
	return nil
}

func (f *fakeFactor) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...)
}

func startApproveReq(t *testing.T, tt *testTTY, r *Request) <-chan result {
	t.Helper()
	a, err := New(KindTTY, withTTYPath(tt.slave.Name()))
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan result, 1)
	go func() {
		d, err := a.Approve(context.Background(), r)
		ch <- result{d, err}
	}()
	return ch
}

// On the terminal, an approval with a second factor asks for the code
// after the challenge code, on the same terminal, and only an accepted code
// lets the decision through.
func TestTTYSecondFactor(t *testing.T) {
	for _, tc := range []struct {
		name      string
		approve   func(code string) string
		totp      string // typed at the TOTP prompt; "" = no prompt expected
		want      Decision
		wantErr   error
		wantCalls int
	}{
		{"code and right totp allow once", func(c string) string { return c + "\n" }, "123456\n", AllowOnce, nil, 1},
		{"code! and right totp allow always", func(c string) string { return c + "!\n" }, "123 456\n", AllowAlways, nil, 1},
		{"wrong totp denies", func(c string) string { return c + "\n" }, "654321\n", Deny, errFakeWrong, 1},
		{"empty totp denies without a check", func(c string) string { return c + "\n" }, "\n", Deny, ErrSecondFactor, 0},
		{"EOF at totp denies", func(c string) string { return c + "\n" }, "\x04", Deny, ErrNoAnswer, 0},
		{"a denial never asks for the totp", func(string) string { return "n\n" }, "", Deny, nil, 0},
		{"a wrong challenge code never asks for the totp", func(c string) string { return notCode(c) + "\n" }, "", Deny, ErrWrongCode, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tt := newTestTTY(t)
			f := &fakeFactor{want: "123456"}
			if strings.Contains(tc.totp, " ") {
				f.want = "123 456" // normalising is the verifier's business
			}
			r := testRequest()
			r.SecondFactor = f
			ch := startApproveReq(t, tt, r)
			tt.typeIn(t, tc.approve(tt.waitCode(t)))
			if tc.totp != "" {
				tt.waitScreen(t, CodePrompt)
				tt.typeIn(t, tc.totp)
			}
			res := wait(t, ch)
			if res.d != tc.want || !errors.Is(res.err, tc.wantErr) || (tc.wantErr == nil && res.err != nil) {
				t.Fatalf("got (%v, %v), want (%v, %v)", res.d, res.err, tc.want, tc.wantErr)
			}
			if tc.wantErr == errFakeWrong && !errors.Is(res.err, ErrSecondFactor) {
				t.Fatalf("%v does not match ErrSecondFactor", res.err)
			}
			if n := len(f.calls()); n != tc.wantCalls {
				t.Fatalf("Verify called %d times, want %d", n, tc.wantCalls)
			}
			if tc.totp == "" && strings.Contains(tt.screen(), CodePrompt) {
				t.Fatal("a TOTP prompt appeared although the approval was refused")
			}
		})
	}
}

// Keys queued on the terminal before the TOTP prompt (typed ahead, or
// injected by an agent) are discarded, like before the approval prompt.
func TestTTYSecondFactorFlushesTypeAhead(t *testing.T) {
	tt := newTestTTY(t)
	f := &fakeFactor{want: "123456"}
	r := testRequest()
	r.SecondFactor = f
	ch := startApproveReq(t, tt, r)
	code := tt.waitCode(t)
	// The answer and a guessed TOTP in one write (one burst into the
	// terminal's input queue, so the guess is queued before the TOTP prompt
	// exists; TIOCSTI injects a byte per call and could race the reader).
	tt.typeIn(t, code+"\n999999\n")
	tt.waitScreen(t, CodePrompt)
	tt.typeIn(t, "123456\n")
	res := wait(t, ch)
	if res.d != AllowOnce || res.err != nil {
		t.Fatalf("got (%v, %v), want allow once", res.d, res.err)
	}
	if c := f.calls(); len(c) != 1 || c[0] != "123456" {
		t.Fatalf("Verify saw %d codes; the queued guess must be flushed", len(c))
	}
}

func TestPinentrySecondFactor(t *testing.T) {
	// The first GETPIN answers the challenge code, the second the TOTP.
	reply := `n=$((n+1)); if [ "$n" = 1 ]; then printf 'D %s\nOK\n' "$code"; else printf 'D %s\nOK\n' "$TOTP"; fi`
	for _, tc := range []struct {
		totp    string
		want    Decision
		wantErr error
	}{
		{"123456", AllowOnce, nil},
		{"000000", Deny, ErrSecondFactor},
	} {
		path, log := fakePinentry(t, greet, "echo OK", reply)
		script, _ := os.ReadFile(path)
		os.WriteFile(path, []byte(strings.Replace(string(script), "#!/bin/sh\n", "#!/bin/sh\nTOTP="+tc.totp+"\n", 1)), 0o755)
		a, err := New(KindPinentry, WithPinentry(path), withTrust(trustAll), withTTYName("/dev/pts/99"))
		if err != nil {
			t.Fatal(err)
		}
		r := testRequest()
		f := &fakeFactor{want: "123456"}
		r.SecondFactor = f
		d, err := a.Approve(context.Background(), r)
		if d != tc.want || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
			t.Fatalf("totp %s: got (%v, %v), want (%v, %v)", tc.totp, d, err, tc.want, tc.wantErr)
		}
		if c := f.calls(); len(c) != 1 || c[0] != tc.totp {
			t.Fatalf("Verify saw %d codes", len(c))
		}
		b, _ := os.ReadFile(log)
		if strings.Count(string(b), "GETPIN") != 2 || !strings.Contains(string(b), "SETPROMPT TOTP code:") {
			t.Fatalf("one session with two GETPINs expected:\n%s", b)
		}
	}
}

func TestDialogSecondFactor(t *testing.T) {
	t.Setenv("DISPLAY", ":0")
	for _, kind := range []string{KindZenity, KindKdialog} {
		dir, log := fakeDialog(t, kind, "123456", 0, "")
		a, _ := New(kind, withDialogDirs(dir), withTrust(trustAll))
		r := testRequest()
		f := &fakeFactor{want: "123456"}
		r.SecondFactor = f
		d, err := a.Approve(context.Background(), r)
		if d != AllowOnce || err != nil {
			t.Fatalf("%s: got (%v, %v)", kind, d, err)
		}
		args, _ := os.ReadFile(log)
		if !strings.Contains(string(args), "--entry") && !strings.Contains(string(args), "--inputbox") {
			t.Fatalf("%s: the last dialog was not a code entry: %q", kind, args)
		}
		// A cancelled entry denies without a check.
		dir2, _ := fakeDialog(t, kind, "", 0, `case "$*" in *--entry*|*--inputbox*) exit 1;; esac`)
		a, _ = New(kind, withDialogDirs(filepath.Clean(dir2)), withTrust(trustAll))
		f = &fakeFactor{want: "123456"}
		r.SecondFactor = f
		if d, err := a.Approve(context.Background(), r); d != Deny || !errors.Is(err, ErrSecondFactor) || len(f.calls()) != 0 {
			t.Fatalf("%s cancelled entry: got (%v, %v), %d checks", kind, d, err, len(f.calls()))
		}
	}
}
