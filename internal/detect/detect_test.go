package detect

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func TestProvider(t *testing.T) {
	cases := []struct{ value, want string }{
		{"sk-ant-api03-" + strings.Repeat("aB3_", 10), "anthropic"},
		{"sk-proj-" + strings.Repeat("Zx9", 12), "openai"},
		{"sk-" + strings.Repeat("Zx9", 12), "openai"},
		{"ghp_" + strings.Repeat("a1B2", 9), "github"},
		{"github_pat_" + strings.Repeat("a1_B", 10), "github"},
		{"glpat-" + strings.Repeat("x1Y2", 5), "gitlab"},
		{"AKIAIOSFODNN7EXAMPLE", "aws"},
		{"xoxb-1234567890-abcdefghij", "slack"},
		{"sk_live_" + strings.Repeat("a1", 12), "stripe"},
		{"AIza" + strings.Repeat("b", 35), "google"},
		{"npm_" + strings.Repeat("c3", 18), "npm"},
		{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.abcdefghijkl", "jwt"},
		{"-----BEGIN OPENSSH PRIVATE KEY-----\nabc", "private-key"},
		{"  ghp_" + strings.Repeat("a1B2", 9) + "\n", "github"},
		{"hello world", ""},
		{"sk-short", ""},
		{"ghp_tooshort", ""},
		{"AKIAlowercase0000000", ""},
	}
	for _, c := range cases {
		if got := Provider([]byte(c.value)); got != c.want {
			t.Errorf("Provider(case for %s) = %q, want %q", c.want, got, c.want)
		}
		if c.want != "" && (ProviderDescription(c.want) == "" || !ValidProviderID(c.want)) {
			t.Errorf("provider id %q has no description or is not a valid id", c.want)
		}
	}
	for _, bad := range []string{"", "UPPER", "a b", strings.Repeat("a", 33), "x/y"} {
		if ValidProviderID(bad) {
			t.Errorf("ValidProviderID(%q) = true", bad)
		}
	}
}

func TestWeakness(t *testing.T) {
	weak := []string{
		"changeme", "CHANGE_ME", "your-api-key-here", "YOUR_TOKEN", "insert_key_here", "<token>", "${API_KEY}",
		"xxxxxxxxxxxxxxxxxxxx", "sk-xxxxxxxxxxxx", "password", "123456789", "hunter2", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"abcabcabcabcabcabcabcabcabcabcabcabc", "hunter2hunter2hunter2hunter2", "deadbeef", "todo", "dummy",
	}
	for _, w := range weak {
		if Weakness([]byte(w)) == "" {
			t.Errorf("Weakness(%q) = \"\", want a reason", w)
		}
	}
	for i := 0; i < 50; i++ {
		b := make([]byte, 24)
		rand.Read(b)
		for _, v := range []string{base64.RawURLEncoding.EncodeToString(b), hex.EncodeToString(b[:16]), "ghp_" + base64.RawStdEncoding.EncodeToString(b)[:32]} {
			if r := Weakness([]byte(v)); r != "" {
				t.Fatalf("a random value (%d chars) was called weak: %s", len(v), r)
			}
		}
	}
	if r := Weakness([]byte("correct-horse-battery-staple-2026")); r != "" {
		t.Errorf("a long passphrase-style value was called weak: %s", r)
	}
	if r := Weakness([]byte("changeme")); strings.Contains(r, "changeme") {
		t.Errorf("the reason repeats the value")
	}
}

func TestEstimateBits(t *testing.T) {
	if b := EstimateBits(nil); b != 0 {
		t.Errorf("EstimateBits(nil) = %v", b)
	}
	if b := EstimateBits([]byte("aaaa")); b != 0 {
		t.Errorf("EstimateBits(aaaa) = %v, want 0", b)
	}
	short, long := EstimateBits([]byte("a1B2c3")), EstimateBits([]byte("a1B2c3d4E5f6g7H8"))
	if !(short < long) {
		t.Errorf("longer random-looking value did not score higher: %v vs %v", short, long)
	}
	if b := EstimateBits([]byte("0123456789abcdef0123456789abcdef")); b > 64 {
		t.Errorf("a repeated unit scored %v bits", b)
	}
}

func FuzzWeakness(f *testing.F) {
	f.Add([]byte("changeme"))
	f.Add([]byte("ghp_abc"))
	f.Fuzz(func(t *testing.T, v []byte) {
		r := Weakness(v)
		if len(v) >= 4 && r != "" && strings.Contains(r, string(v)) {
			t.Fatalf("the reason contains the value")
		}
		_ = Provider(v)
	})
}
