package approve

import (
	"strings"
	"testing"
)

func TestPercentEscape(t *testing.T) {
	if got, want := percentEscape("100% sure\r\nBYE\x01"), "100%25 sure%0D%0ABYE%01"; got != want {
		t.Fatalf("percentEscape = %q, want %q", got, want)
	}
	for _, bad := range []string{"%", "%4", "%zz"} {
		if _, err := percentDecode(bad); err == nil {
			t.Errorf("percentDecode(%q) accepted", bad)
		}
	}
}

func FuzzPercentEscape(f *testing.F) {
	f.Add("plain")                  // nothing to escape
	f.Add("%0A already escaped")    // a literal percent sign must survive
	f.Add("line\nSETDESC injected") // LF would start a new Assuan command
	f.Add("\r\x00\x7f")             // CR, NUL, DEL
	f.Fuzz(func(t *testing.T, s string) {
		e := percentEscape(s)
		if strings.ContainsAny(e, "\r\n") {
			t.Fatalf("escaped form has a line break: %q", e)
		}
		d, err := percentDecode(e)
		if err != nil || d != s {
			t.Fatalf("round trip of %q: %q, %v", s, d, err)
		}
	})
}
