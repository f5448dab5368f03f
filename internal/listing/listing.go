package listing

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/envseal/envseal/internal/vault"
)

// Secret is one secret's metadata plus what the audit log says of its use.
type Secret struct {
	vault.Entry
	LastUsed time.Time
	// UseUnknown: not used within the part of the audit log that was read
	// (audit.LastUseScan), so "never" cannot be claimed.
	UseUnknown bool
}

// Entry is one row of `envseal list --json` (a stable schema).
type Entry struct {
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

// ToEntry is s's row as of now.
func ToEntry(s Secret, now time.Time) Entry {
	le := Entry{Name: s.Name}
	if s.Err != nil {
		le.Error = s.Err.Error()
		return le
	}
	cr, up := s.Created, s.Updated
	le.Created, le.Updated, le.Generation = &cr, &up, s.Generation
	le.Provider, le.Weak = s.Provider, s.Weak
	if le.RotateDays = s.RotationDays(); le.RotateDays > 0 {
		d := s.RotationDue()
		le.Due, le.Overdue = &d, !now.Before(d)
	}
	if !s.LastUsed.IsZero() {
		lu := s.LastUsed
		le.LastUsed = &lu
	}
	le.UseUnknown = s.LastUsed.IsZero() && s.UseUnknown
	return le
}

// Rows are the secrets' rows as of now, in order; dueOnly keeps only
// those whose rotation is due (`list --due`).
func Rows(secrets []Secret, now time.Time, dueOnly bool) []Entry {
	out := make([]Entry, 0, len(secrets))
	for _, s := range secrets {
		if e := ToEntry(s, now); e.Overdue || !dueOnly {
			out = append(out, e)
		}
	}
	return out
}

// WriteJSON writes rows as one indented JSON array.
func WriteJSON(w io.Writer, rows []Entry) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rows); err != nil {
		return err
	}
	return bw.Flush()
}

// WriteTable writes rows as the table `envseal list` shows, ages and due
// dates as of now.
func WriteTable(w io.Writer, rows []Entry, now time.Time) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	tw := tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPROVIDER\tUPDATED\tAGE\tLAST USED\tROTATE\tDUE\tGEN")
	for _, e := range rows {
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
			used = Ago(now.Sub(*e.LastUsed))
		case e.UseUnknown:
			used = "-"
		}
		rot, dueS := "never", "-"
		if e.RotateDays > 0 {
			rot = fmt.Sprintf("%dd", e.RotateDays)
			if left := e.Due.Sub(now); left > 0 {
				dueS = "in " + Days(left)
			} else {
				dueS = "OVERDUE " + Days(-left)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", e.Name, prov, e.Updated.Local().Format(time.DateTime),
			Days(now.Sub(*e.Updated)), used, rot, dueS, e.Generation)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return bw.Flush()
}

// Days renders a duration as whole days ("0d" under a day).
func Days(d time.Duration) string { return fmt.Sprintf("%dd", int64(d/(24*time.Hour))) }

// Ago renders how long ago something happened, coarsely.
func Ago(d time.Duration) string {
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
