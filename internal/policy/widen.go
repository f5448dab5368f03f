package policy

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/envseal/envseal/internal/widen"
)

// A rule is the exact argv unless the human widened one argument position
// (AnyArg) on the approval screen; the value rule is internal/widen's.

// argvMatches compares a rule's argv with a run's: equal, except that a
// widened position takes any value widen.Allowed accepts.
func (r *Rule) argvMatches(argv []string) bool {
	if len(r.Argv) != len(argv) {
		return false
	}
	for i := range argv {
		if r.AnyArg == i+1 {
			if !widen.Allowed(argv[i]) {
				return false
			}
			continue
		}
		if r.Argv[i] != argv[i] {
			return false
		}
	}
	return true
}

// ArgvString renders a rule's arguments for humans, a widened one as
// [N]=<any>.
func (r *Rule) ArgvString() string {
	if len(r.Argv) == 0 {
		return "(none)"
	}
	q := make([]string, len(r.Argv))
	for i, s := range r.Argv {
		q[i] = strconv.Quote(s)
		if r.AnyArg == i+1 {
			q[i] = fmt.Sprintf("[%d]=<any>", i+1)
		}
	}
	return strings.Join(q, " ")
}
