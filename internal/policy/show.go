package policy

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteJSON writes rules as `envseal policy list --json` does: an indented
// JSON array, [] when there are none.
func WriteJSON(w io.Writer, rules []Rule) error {
	if rules == nil {
		rules = []Rule{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rules)
}

// WriteTable writes rules as the table `envseal policy list` shows: the
// program's hash shortened to 12 digits, the arguments as ArgvString
// renders them (a widened one as [N]=<any>), and the expiry as of now.
func WriteTable(w io.Writer, rules []Rule, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tBINARY\tSHA256\tARGS\tSECRETS\tSANDBOX\tEXPIRES")
	for _, r := range rules {
		exp := "never"
		if r.Expires != nil {
			exp = r.Expires.Local().Format(time.DateTime)
			if r.Expired(now) {
				exp += " (expired)"
			}
		}
		var gs []string
		for _, g := range r.Grants {
			gs = append(gs, g.String())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Binary, r.SHA256[:min(len(r.SHA256), 12)],
			r.ArgvString(), strings.Join(gs, ", "), r.Sandbox, exp)
	}
	return tw.Flush()
}
