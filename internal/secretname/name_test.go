package secretname

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	for _, ok := range []string{"A", "TOKEN", "app.SLACK_TOKEN", "a-b_c.d", "9lives", strings.Repeat("n", MaxLen)} {
		if err := Valid(ok); err != nil {
			t.Errorf("Valid(%q) = %v; want nil", ok, err)
		}
	}
	for _, bad := range []string{"", ".hidden", "_x", "-x", "a/b", "..", "a]b", "a\x1b[2J", "a\nb", "a b", "a\x00", strings.Repeat("n", MaxLen+1)} {
		if err := Valid(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("Valid(%q) = %v; want ErrBadName", bad, err)
		}
	}
}

// Rule says in words what Valid checks: its bound is MaxLen.
func TestRuleNamesTheBound(t *testing.T) {
	if !strings.Contains(Rule, fmt.Sprintf("at most %d bytes", MaxLen)) {
		t.Errorf("Rule %q does not name MaxLen %d", Rule, MaxLen)
	}
}
