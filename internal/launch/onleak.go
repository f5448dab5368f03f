package launch

import (
	"errors"
	"fmt"
)

// OnLeak is what a run does when its output carries a secret. Its value is
// the word of `envseal run --on-leak` and of the broker's run message
// ("on_leak"); the empty value is the default, scrub.
type OnLeak string

// The actions on a leak.
const (
	LeakScrub OnLeak = "scrub" // scrub the output and count the hits (also "")
	LeakKill  OnLeak = "kill"  // scrub, count, and stop the child (exit 126)
)

// ErrUnknownOnLeak is matched (errors.Is) by ParseOnLeak's error.
var ErrUnknownOnLeak = errors.New("unknown --on-leak action")

// ParseOnLeak returns the action named s ("" is scrub).
func ParseOnLeak(s string) (OnLeak, error) {
	o := OnLeak(s)
	if !o.Valid() {
		return "", fmt.Errorf("%w %q (want %s or %s)", ErrUnknownOnLeak, s, LeakScrub, LeakKill)
	}
	if o == "" {
		return LeakScrub, nil
	}
	return o, nil
}

// Valid reports whether o is an action: scrub, kill, or "" (scrub).
func (o OnLeak) Valid() bool { return o == "" || o == LeakScrub || o == LeakKill }

// Kill reports whether a leak stops the child.
func (o OnLeak) Kill() bool { return o == LeakKill }
