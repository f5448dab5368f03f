package moving

import (
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"

	"github.com/envseal/envseal/internal/vault"
)

// WriteTable shows what moves and what stays, with why, so the human can
// check the guess before (`import --dry-run`) or after the fact. Names
// only, never a value.
func (p *DotenvPlan) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tLINE\tACTION\tWHY")
	for _, r := range p.Rows {
		action := "stays in " + filepath.Base(p.Path)
		if r.Move {
			action = "moves to secret " + r.Secret
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", r.Key, r.Line, action, r.Why)
	}
	return tw.Flush()
}

// Secrets are the names of the secrets the plan stores, in file order.
func (p *DotenvPlan) Secrets() []string {
	names := make([]string, len(p.Items))
	for i, it := range p.Items {
		names[i] = it.Secret
	}
	return names
}

// Weak are those of names whose stored value the vault marked weak (a
// placeholder, or under 64 bits of estimated entropy), in order.
func Weak(v *vault.Vault, names []string) []string {
	var weak []string
	for _, n := range names {
		if m, err := v.Stat(n); err == nil && m.Weak {
			weak = append(weak, n)
		}
	}
	return weak
}
