package totp

import (
	"strings"
	"testing"
)

func TestGroupedAndAccount(t *testing.T) {
	seed := make([]byte, 20)
	g := Grouped(seed)
	if g != "AAAA AAAA AAAA AAAA AAAA AAAA AAAA AAAA" {
		t.Errorf("Grouped = %q", g)
	}
	if a := Account(); strings.Count(a, "@") != 1 || strings.HasPrefix(a, "@") || strings.HasSuffix(a, "@") {
		t.Errorf("Account = %q, want USER@HOST", a)
	}
}
