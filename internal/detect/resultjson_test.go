package detect

import (
	"bytes"
	"testing"
)

// TestResultJSONShape: an empty result is two empty arrays, never null, so
// a script can iterate without a check.
func TestResultJSONShape(t *testing.T) {
	var b bytes.Buffer
	if err := (&Result{}).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"findings\": [],\n  \"skipped\": []\n}\n"; b.String() != want {
		t.Errorf("empty result = %q, want %q", b.String(), want)
	}
	b.Reset()
	if err := (&Result{Skipped: []Skipped{{Path: "big.bin", Reason: "over 10 MiB", Notice: true}}}).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b.Bytes(), []byte(`"path": "big.bin"`)) || bytes.Contains(b.Bytes(), []byte("Notice")) {
		t.Errorf("skipped file JSON = %s", b.Bytes())
	}
}
