package widen

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrCannot is matched by the errors Check returns.
var ErrCannot = errors.New("this argument cannot be widened")

// Allowed reports whether v may stand in a widened position: one or
// more of A-Z a-z 0-9 . _ / -, not starting with '-', and no ".." path
// element (a widened path stays where it was approved to be named).
func Allowed(v string) bool {
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

// Rule describes Allowed for the approval screen and --help.
const Rule = "letters, digits, '.', '_', '/' and '-', not starting with '-' (never a flag), no '..', no '=', ':', '+', spaces or shell characters"

// Check says whether argument pos of argv (argv[0] is the program; pos
// counts from 1, as the approval screen numbers them) may become a
// wildcard: the value approved now must itself pass Allowed, and the
// argument before it must not be an option (in "git -C DIR push" DIR is
// -C's value: any directory is any repository, with its hooks).
func Check(argv []string, pos int) error {
	switch {
	case pos < 1 || pos >= len(argv):
		return fmt.Errorf("%w: there is no argument [%d]", ErrCannot, pos)
	case !Allowed(argv[pos]):
		return fmt.Errorf("%w: argument [%d] is not made of %s", ErrCannot, pos, Rule)
	case pos > 1 && strings.HasPrefix(argv[pos-1], "-"):
		return fmt.Errorf("%w: argument [%d] is the value of option %s", ErrCannot, pos, strconv.Quote(argv[pos-1]))
	}
	return nil
}
