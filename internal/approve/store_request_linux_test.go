package approve

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A store request runs nothing: its screen has no program, hash, argv or
// sandbox rows, none of the program warnings an empty path would raise,
// and no "allow always" (there is no rule to save).
func TestStoreRequestText(t *testing.T) {
	r := storeRequest()
	text := r.Text()
	for _, want := range []string{
		"an agent asks you to store a new secret",
		"new secret    SLACK_TOKEN",
		"purpose       post the release notes",
		"requested by  pid 42 /usr/bin/node [node]",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("store request screen lacks %q:\n%s", want, text)
		}
	}
	help := answerHelp(r, "ABCDEF", DefaultTimeout)
	for _, bad := range []string{"sha256", "program", "not absolute", "argv", "sandbox", "a program asks"} {
		if strings.Contains(text, bad) {
			t.Errorf("store request screen shows %q:\n%s", bad, text)
		}
	}
	if strings.Contains(help, "always") || strings.Contains(help, "ABCDEF!") {
		t.Errorf("store request offers allow always:\n%s", help)
	}
	if c := r.compact(990); strings.Contains(c, "sha256") || !strings.Contains(c, "SLACK_TOKEN") {
		t.Errorf("compact store request:\n%s", c)
	}
	if d := pinentryDesc(r, "ABCDEF", DefaultTimeout); strings.Contains(d, "always") {
		t.Errorf("pinentry store request offers allow always: %s", d)
	}
	// A run request keeps its template.
	if run := testRequest(); !strings.Contains(run.Text(), "sha256") || !strings.Contains(answerHelp(run, "ABCDEF", DefaultTimeout), "ABCDEF!") {
		t.Error("run request lost its hash row or its allow always option")
	}
}

func TestStoreRequestSanitized(t *testing.T) {
	for name, h := range hostile {
		r := &Request{Store: &StoreAsk{Name: h, Purpose: h}, Chain: []Proc{{PID: 1, Exe: h, Comm: h}}}
		safeScreenText(t, name, r.Text())
		safeScreenText(t, name+" (compact)", r.compact(990))
	}
}

// On the terminal, a store request is answered with the code alone; CODE!
// (a habit from run approvals) is the same yes, never a saved rule.
func TestTTYStoreRequest(t *testing.T) {
	for _, suffix := range []string{"", "!"} {
		tt := newTestTTY(t)
		a, err := New(KindTTY, withTTYPath(tt.slave.Name()))
		if err != nil {
			t.Fatal(err)
		}
		ch := make(chan result, 1)
		go func() {
			d, err := a.Approve(context.Background(), storeRequest())
			ch <- result{d, err}
		}()
		re := regexp.MustCompile(`\n  ([A-Z2-9]{6})      allow \(you are then asked for the value\)`)
		var code string
		for end := time.Now().Add(5 * time.Second); code == "" && time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			s := tt.screen()
			if m := re.FindStringSubmatch(s); m != nil && strings.HasSuffix(strings.TrimRight(s, " "), "approval code:") {
				code = m[1]
			}
		}
		if code == "" {
			t.Fatalf("no store prompt; screen:\n%s", tt.screen())
		}
		if s := tt.screen(); strings.Contains(s, "always") || strings.Contains(s, "sha256") {
			t.Errorf("store prompt shows a run template:\n%s", s)
		}
		tt.typeIn(t, code+suffix+"\n")
		if res := wait(t, ch); res.d != AllowOnce || res.err != nil {
			t.Errorf("answer code%s: got (%v, %v), want allow once", suffix, res.d, res.err)
		}
	}
}

// pinentry for a store request: its own title and text; CODE! is a plain
// yes.
func TestPinentryStoreRequest(t *testing.T) {
	path, log := fakePinentry(t, greet, "echo OK", `printf 'D %s!\nOK\n' "$code"`)
	a, err := New(KindPinentry, WithPinentry(path), withTrust(trustAll), withTTYName("/dev/pts/99"))
	if err != nil {
		t.Fatal(err)
	}
	if d, err := a.Approve(context.Background(), storeRequest()); d != AllowOnce || err != nil {
		t.Fatalf("got (%v, %v), want allow once", d, err)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\nSETTITLE envseal: approve storing a new secret\n") {
		t.Errorf("pinentry title is not the store request's:\n%s", b)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if d, ok := strings.CutPrefix(l, "SETDESC "); ok {
			plain, _ := percentDecode(d)
			if strings.Contains(plain, "always") || strings.Contains(plain, "sha256") || !strings.Contains(plain, "SLACK_TOKEN") {
				t.Errorf("pinentry store request text:\n%s", plain)
			}
		}
	}
}
