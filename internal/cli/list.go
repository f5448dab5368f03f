package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/vault"
)

type listEntry struct {
	Name       string     `json:"name"`
	Created    *time.Time `json:"created,omitempty"`
	Updated    *time.Time `json:"updated,omitempty"`
	Generation uint64     `json:"generation,omitempty"`
	Provider   string     `json:"provider,omitempty"`
	Weak       bool       `json:"weak,omitempty"`
	RotateDays int64      `json:"rotate_every_days,omitempty"` // -1: never
	Due        *time.Time `json:"rotation_due,omitempty"`
	Overdue    bool       `json:"overdue,omitempty"`
	LastUsed   *time.Time `json:"last_used,omitempty"`
	UseUnknown bool       `json:"last_used_unknown,omitempty"` // not in the audit log's recent part`
	Error      string     `json:"error,omitempty"`
}

// secretHealth is one secret's metadata plus what the audit log says of
// its use.
type secretHealth struct {
	vault.Entry
	LastUsed time.Time
	// UseUnknown: not used within the part of the audit log that was read
	// (audit.LastUseScan), so "never" cannot be claimed.
	UseUnknown bool
}

func (a *app) listCmd() *cobra.Command {
	var asJSON, due bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List secret names and health (never values)",
		Long: `List the secrets in the vault: names, the provider guessed from each
value's shape when it was stored, age (since the value was last replaced),
last use (from the audit log), rotation period and when rotation is due.
"weak" marks a value that looked low-entropy or like a placeholder.

No passphrase is needed and no value is shown. Metadata comes from each
secret's header, which is authenticated every time the value is decrypted;
last use comes from the last 4 MiB of the audit log (about 2,000 runs;
"-" when a secret was not used within it) without checking its MACs
('envseal audit verify' does that). Inside 'envseal jail' the broker answers.

--due lists only the secrets whose rotation is due (and exits 1 if there
are any, so it can gate a script); set a period with
'envseal rotation NAME 30d' or 'envseal store NAME --rotate-every 30d'.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ents, err := listEntries()
			if err != nil {
				return err
			}
			now := time.Now()
			out := make([]listEntry, 0, len(ents))
			for _, e := range ents {
				le := toListEntry(e, now)
				if e.Err != nil {
					a.warnf("%v", e.Err)
				}
				if due && !le.Overdue {
					continue
				}
				out = append(out, le)
			}
			if asJSON {
				bw := bufio.NewWriterSize(a.stdout, 64<<10)
				enc := json.NewEncoder(bw)
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					return err
				}
				if err := bw.Flush(); err != nil {
					return err
				}
			} else if err := a.printList(out, len(ents), due, now); err != nil {
				return err
			}
			if due && len(out) > 0 {
				return &exitErr{err: errors.New("secrets are due for rotation"), code: exitError, silent: true}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().BoolVar(&due, "due", false, "only secrets due for rotation (exit 1 if any)")
	return c
}

func toListEntry(e secretHealth, now time.Time) listEntry {
	le := listEntry{Name: e.Name}
	if e.Err != nil {
		le.Error = e.Err.Error()
		return le
	}
	cr, up := e.Created, e.Updated
	le.Created, le.Updated, le.Generation = &cr, &up, e.Generation
	le.Provider, le.Weak = e.Provider, e.Weak
	if p := e.RotationPeriod(); p > 0 {
		le.RotateDays = int64(p / (24 * time.Hour))
		d := e.RotationDue()
		le.Due, le.Overdue = &d, !now.Before(d)
	} else {
		le.RotateDays = -1
	}
	if !e.LastUsed.IsZero() {
		lu := e.LastUsed
		le.LastUsed = &lu
	}
	le.UseUnknown = e.LastUsed.IsZero() && e.UseUnknown
	return le
}

func (a *app) printList(out []listEntry, total int, due bool, now time.Time) error {
	if total == 0 {
		a.infof("the vault is empty; add a secret with 'envseal store NAME'")
		return nil
	}
	if due && len(out) == 0 {
		a.infof("no secret is due for rotation")
		return nil
	}
	bw := bufio.NewWriterSize(a.stdout, 64<<10)
	tw := tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPROVIDER\tUPDATED\tAGE\tLAST USED\tROTATE\tDUE\tGEN")
	for _, e := range out {
		if e.Error != "" {
			fmt.Fprintf(tw, "%s\t(unreadable)\t\t\t\t\t\t\n", e.Name)
			continue
		}
		prov := e.Provider
		if prov == "" {
			prov = "-"
		}
		if e.Weak {
			prov += " (weak)"
		}
		used := "never"
		switch {
		case e.LastUsed != nil:
			used = ago(now.Sub(*e.LastUsed))
		case e.UseUnknown:
			used = "-"
		}
		rot, dueS := "never", "-"
		if e.RotateDays > 0 {
			rot = fmt.Sprintf("%dd", e.RotateDays)
			if left := e.Due.Sub(now); left > 0 {
				dueS = "in " + days(left)
			} else {
				dueS = "OVERDUE " + days(-left)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", e.Name, prov, e.Updated.Local().Format(time.DateTime),
			days(now.Sub(*e.Updated)), used, rot, dueS, e.Generation)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return bw.Flush()
}

// days renders a duration as whole days ("0d" under a day).
func days(d time.Duration) string { return fmt.Sprintf("%dd", int64(d/(24*time.Hour))) }

// ago renders how long ago something happened, coarsely.
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
}

// listEntries asks the broker when its socket answers (inside envseal jail
// the vault directory is hidden, the broker can still read it), else reads
// the vault and its audit log directly.
func listEntries() ([]secretHealth, error) {
	svc, err := client.Connect(client.Options{Local: &client.Local{OpenVault: openVault}})
	if err != nil {
		return nil, err
	}
	les, err := svc.List()
	if err != nil {
		return nil, err
	}
	out := make([]secretHealth, 0, len(les))
	for _, le := range les {
		e := secretHealth{Entry: vault.Entry{Meta: vault.Meta{
			Name: le.Name, Created: le.Created, Updated: le.Updated, Generation: le.Generation,
			RotateDays: le.RotateDays, Provider: le.Provider, Weak: le.Weak,
		}}, LastUsed: le.LastUsed, UseUnknown: le.UseUnknown}
		if le.Error != "" {
			e.Err = errors.New(le.Error)
		}
		out = append(out, e)
	}
	return out, nil
}

// parseRotation parses a rotation period: "30d", "12w", "never" or
// "default" (0, meaning vault.DefaultRotateDays).
func parseRotation(s string) (uint32, error) {
	switch strings.ToLower(s) {
	case "never", "off":
		return vault.RotateNever, nil
	case "default":
		return 0, nil
	}
	mult := uint64(0)
	switch {
	case strings.HasSuffix(s, "d"):
		mult = 1
	case strings.HasSuffix(s, "w"):
		mult = 7
	}
	var n uint64
	if mult == 0 || len(s) < 2 {
		return 0, withHint(fmt.Errorf("rotation period %q is not understood", s), "use days or weeks, e.g. 30d or 12w, or 'never'")
	}
	if _, err := fmt.Sscanf(s[:len(s)-1], "%d", &n); err != nil || n == 0 || n*mult > 36500 || fmt.Sprint(n) != s[:len(s)-1] {
		return 0, withHint(fmt.Errorf("rotation period %q is not understood", s), "use a whole number of days or weeks from 1d to 36500d, e.g. 30d or 12w, or 'never'")
	}
	return uint32(n * mult), nil
}
