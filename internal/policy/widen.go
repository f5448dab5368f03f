package policy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Widening: a rule is the exact argv unless the human, on the approval
// screen, chose one argument position to be any value (AnyArg). What the
// agent then controls is that one argument, so the value is constrained
// where it is matched (ArgAllowed), not only when the rule is made: it can
// never be a flag (git push origin --upload-pack=CMD, --exec=…), an
// assignment, a refspec with '+' or ':' (force or delete a ref), or carry
// spaces or shell and glob characters.

// ErrCannotWiden is matched by the errors CanWiden returns.
var ErrCannotWiden = errors.New("this argument cannot be widened")

// ArgAllowed reports whether v may stand in a widened position: one or
// more of A-Z a-z 0-9 . _ / -, not starting with '-', and no ".." path
// element (a widened path stays where it was approved to be named).
func ArgAllowed(v string) bool {
	if v == "" || len(v) > 255 || v[0] == '-' {
		return false
	}
	for _, c := range []byte(v) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '/' || c == '-'
		if !ok {
			return false
		}
	}
	for _, el := range strings.Split(v, "/") {
		if el == ".." {
			return false
		}
	}
	return true
}

// ArgRule describes ArgAllowed for the approval screen and --help.
const ArgRule = "letters, digits, '.', '_', '/' and '-', not starting with '-' (never a flag), no '..', no '=', ':', '+', spaces or shell characters"

// CanWiden says whether argument pos of argv (argv[0] is the program; pos
// counts from 1, as the approval screen numbers them) may become a
// wildcard: the value approved now must itself pass ArgAllowed, and the
// argument before it must not be an option (in "git -C DIR push" DIR is
// -C's value: any directory is any repository, with its hooks).
func CanWiden(argv []string, pos int) error {
	switch {
	case pos < 1 || pos >= len(argv):
		return fmt.Errorf("%w: there is no argument [%d]", ErrCannotWiden, pos)
	case !ArgAllowed(argv[pos]):
		return fmt.Errorf("%w: argument [%d] is not made of %s", ErrCannotWiden, pos, ArgRule)
	case pos > 1 && strings.HasPrefix(argv[pos-1], "-"):
		return fmt.Errorf("%w: argument [%d] is the value of option %s", ErrCannotWiden, pos, strconv.Quote(argv[pos-1]))
	}
	return nil
}

// argvMatches compares a rule's argv with a run's: equal, except that a
// widened position takes any value ArgAllowed accepts.
func (r *Rule) argvMatches(argv []string) bool {
	if len(r.Argv) != len(argv) {
		return false
	}
	for i := range argv {
		if r.AnyArg == i+1 {
			if !ArgAllowed(argv[i]) {
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
