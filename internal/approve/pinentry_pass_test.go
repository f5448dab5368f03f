//go:build unix

package approve

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

// The broker run as a service unlocks through the same trusted pinentry.
func TestPinentryAskPassphrase(t *testing.T) {
	path, log := fakePinentry(t, greet, "echo OK", `printf 'D correct horse%%25 staple\nOK\n'`)
	a, err := New(KindPinentry, WithPinentry(path), withTrust(trustAll), withTTYName("/dev/pts/99"))
	if err != nil {
		t.Fatal(err)
	}
	pa, ok := a.(PassphraseAsker)
	if !ok {
		t.Fatal("the pinentry approver cannot ask for a passphrase")
	}
	pass, err := pa.AskPassphrase(context.Background(), "Unlock envseal (broker)")
	if err != nil {
		t.Fatal(err)
	}
	if string(pass) != "correct horse% staple" {
		t.Fatalf("passphrase not percent-decoded (%d bytes)", len(pass))
	}
	b, _ := os.ReadFile(log)
	if !strings.Contains(string(b), "SETDESC Unlock envseal (broker)") || !strings.Contains(string(b), "SETPROMPT Passphrase:") {
		t.Fatalf("conversation:\n%s", b)
	}

	// Cancel: no passphrase, an error (never an empty passphrase).
	path2, _ := fakePinentry(t, greet, "echo OK", `echo 'ERR 83886179 Operation cancelled <Pinentry>'`)
	a2, _ := New(KindPinentry, WithPinentry(path2), withTrust(trustAll), withTTYName("/dev/pts/99"))
	if p, err := a2.(PassphraseAsker).AskPassphrase(context.Background(), "x"); err == nil || p != nil {
		t.Fatalf("cancel gave %d bytes, err %v", len(p), err)
	}
	// A planted pinentry is refused before it runs.
	a3, _ := New(KindPinentry, WithPinentry(path))
	if _, err := a3.(PassphraseAsker).AskPassphrase(context.Background(), "x"); !errors.Is(err, ErrUntrustedProgram) {
		t.Fatalf("untrusted pinentry: %v", err)
	}
}
