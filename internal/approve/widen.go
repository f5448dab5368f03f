package approve

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/envseal/envseal/internal/widen"
)

// Widening a rule (policy/widen.go): the human answers CODE!*N (or
// CODE+8h*N) to save a rule in which argument [N] may be any value of a
// constrained form. It is never a default, only one position, and only
// where the argument is data: a shell's, an interpreter's, a launcher's or
// a task runner's arguments are code (sh -c X, python3 X, env X, make X),
// so any value there would be any program.

// ErrBadWiden: the right code with a "*N" that names no argument that can
// be widened; denied rather than saved as something else.
var ErrBadWiden = errors.New("approval widening refused")

// Decisions carry the widened position in the bits above widenShift, so a
// Decision stays one value (see AllowFor).
const (
	widenShift = 32
	widenMask  = Decision(0xff) << widenShift
)

// Widen returns d with argument pos widened.
func (d Decision) Widen(pos int) Decision {
	return d&^widenMask | Decision(pos&0xff)<<widenShift
}

// Widened is the argument position a decision widens (0: none, the exact
// argv).
func (d Decision) Widened() int { return int((d & widenMask) >> widenShift) }

// base is d without its widening.
func (d Decision) base() Decision { return d &^ widenMask }

// canWiden says whether r's argument pos may become a wildcard, and if not
// why.
func (r *Request) canWiden(pos int) error {
	if !r.canAlways() {
		return fmt.Errorf("%w: a store request saves no rule", ErrBadWiden)
	}
	names := []string{progName(r.Path)}
	if len(r.Argv) > 0 {
		names = append(names, progName(r.Argv[0]))
	}
	// (A #! script's interpreter is not asked: it runs the pinned script,
	// and the arguments are the script's, as they are a binary's.)
	for _, n := range names {
		info, known := programs[n]
		if known || launchers[n] {
			what := map[progKind]string{kindShell: "a shell", kindInterpreter: "an interpreter", kindAlwaysCode: "a program whose operands are code",
				kindRunner: "a task runner", kindLauncher: "a launcher"}[info.kind]
			if what == "" {
				what = "a launcher"
			}
			return fmt.Errorf("%w: %s is %s: any value of its arguments could be any program", ErrBadWiden, clean(n, false).text, what)
		}
	}
	if err := widen.Check(r.Argv, pos); err != nil {
		return fmt.Errorf("%w: %w", ErrBadWiden, err)
	}
	return nil
}

// widenable are the positions the screen offers.
func (r *Request) widenable() []int {
	var out []int
	for i := 1; i < len(r.Argv) && i <= maxArgsShown; i++ {
		if r.canWiden(i) == nil {
			out = append(out, i)
		}
	}
	return out
}

// cutWiden splits "CODE!*3" into "CODE!" and 3 (0 without a "*").
func cutWiden(a string) (string, int, error) {
	rest, n, ok := strings.Cut(a, "*")
	if !ok {
		return a, 0, nil
	}
	pos, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || pos < 1 || pos > 255 {
		return rest, -1, fmt.Errorf("%w: %q is not an argument number", ErrBadWiden, n)
	}
	return rest, pos, nil
}

// widenHelp is the answer line for widening, with what it hands the agent.
func widenHelp(r *Request, code string) string {
	ps := r.widenable()
	if len(ps) == 0 {
		return ""
	}
	last := ps[len(ps)-1]
	var b strings.Builder
	fmt.Fprintf(&b, "  %s!*%d   allow always, and argument [%d] may then be ANY value the agent chooses (or *N for another [N]: ",
		code, last, last)
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d", p)
	}
	b.WriteString(")\n")
	fmt.Fprintf(&b, "              the value must be %s; the rest stays exact\n", widen.Rule)
	return b.String()
}
