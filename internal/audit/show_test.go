package audit

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDetails(t *testing.T) {
	var f map[string]any
	in := `{"zeta":1,"error":"","binary":"/usr/bin/x","secret":"API","binary_sha256":"0123456789abcdef0123",` +
		`"argv":["a b","\u001b[2Jfake"],"leaks":{"API":2},"exit":0}`
	dec := json.NewDecoder(strings.NewReader(in))
	dec.UseNumber()
	if err := dec.Decode(&f); err != nil {
		t.Fatal(err)
	}
	got := Details(f)
	want := `secret=API binary=/usr/bin/x argv=["a b","\x1b[2Jfake"] exit=0 leaks={API:2} binary_sha256=0123456789ab zeta=1`
	if got != want {
		t.Errorf("Details =\n%s\nwant\n%s", got, want)
	}
	if strings.ContainsRune(got, 0x1b) {
		t.Error("an escape character reached the table")
	}
}
