package policy

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestWriteTable(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	past := now.Add(-time.Hour)
	rules := []Rule{
		{ID: "r1", Binary: "/usr/bin/curl", SHA256: strings.Repeat("ab", 32), Argv: []string{"-s", "a b"},
			Grants: []Grant{{Secret: "API_KEY", Delivery: DeliverEnv, Env: "API_KEY"}}, Sandbox: "standard"},
		{ID: "r2", Binary: "/bin/true", SHA256: "cd", Sandbox: "lockdown", Expires: &past},
		{ID: "r3", Binary: "/usr/bin/gh", SHA256: "ef", Argv: []string{"pr", "123"}, AnyArg: 2, Sandbox: "standard"},
	}
	var b bytes.Buffer
	if err := WriteTable(&b, rules, now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID") {
		t.Fatalf("table:\n%s", b.String())
	}
	for i, want := range [][]string{
		{"r1", strings.Repeat("ab", 6) + " ", `"-s" "a b"`, "API_KEY → $API_KEY", "never"},
		{"r2", "(none)", "lockdown", "(expired)"},
		{"r3", `"pr" [2]=<any>`},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i+1], w) {
				t.Errorf("row %d %q lacks %q", i+1, lines[i+1], w)
			}
		}
	}
	if strings.Contains(lines[1], strings.Repeat("ab", 7)) {
		t.Errorf("hash not shortened to 12 digits: %q", lines[1])
	}
}

func TestWriteJSONEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, nil); err != nil || b.String() != "[]\n" {
		t.Errorf("WriteJSON(nil) = %q, %v; want []", b.String(), err)
	}
}
