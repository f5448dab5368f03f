package launch

import (
	"errors"
	"strings"
	"testing"
)

// TestParseOnLeak: scrub, kill and "" (scrub) are the actions; anything
// else is ErrUnknownOnLeak with a message naming both.
func TestParseOnLeak(t *testing.T) {
	for in, want := range map[string]OnLeak{"": LeakScrub, "scrub": LeakScrub, "kill": LeakKill} {
		got, err := ParseOnLeak(in)
		if err != nil || got != want || !got.Valid() {
			t.Errorf("ParseOnLeak(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"Kill", "stop", "kill "} {
		got, err := ParseOnLeak(bad)
		if !errors.Is(err, ErrUnknownOnLeak) || got != "" || !strings.Contains(err.Error(), "want scrub or kill") {
			t.Errorf("ParseOnLeak(%q) = %q, %v", bad, got, err)
		}
		if OnLeak(bad).Valid() {
			t.Errorf("OnLeak(%q) is valid", bad)
		}
	}
	if !LeakKill.Kill() || LeakScrub.Kill() || OnLeak("").Kill() {
		t.Error("Kill: only kill stops the child")
	}
}
