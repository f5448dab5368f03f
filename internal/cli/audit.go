package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/safefile"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

func (a *app) auditCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "audit",
		Short: "Read and check the log of every decision taken on your secrets",
		Long: `Every secret stored or revoked, every run asked for, approved, denied, started
and finished, every changed binary or policy and every failed unlock is a line
of audit.log in the vault directory. Each line is chained to the one before by
SHA-256 and carries an HMAC under a key derived from the vault key, so a
program running as you can read the log but not rewrite it unnoticed. No line
ever holds a secret value.`,
	}
	c.AddCommand(a.auditShowCmd(), a.auditVerifyCmd())
	return c
}

type showFlags struct {
	asJSON bool
	n      int
	follow bool
	secret string
	since  string
}

func (a *app) auditShowCmd() *cobra.Command {
	var f showFlags
	c := &cobra.Command{
		Use:   "show",
		Short: "Print the audit log (no passphrase needed)",
		Long: `Print the audit log as a table, or as the stored JSON lines with --json.
Needs no passphrase: the log holds no values. Records are checked for a whole,
unbroken hash chain; their MACs are checked only by 'envseal audit verify'.
Records marked * were written before the vault was unlocked (a failed unlock)
and have no MAC of their own; the next MAC'd record covers them.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return a.auditShow(&f) },
	}
	fl := c.Flags()
	fl.BoolVar(&f.asJSON, "json", false, "print the records as stored, one JSON object per line")
	fl.IntVarP(&f.n, "lines", "n", 0, "show only the last `N` records (after filtering; 0 = all)")
	fl.BoolVar(&f.follow, "follow", false, "keep printing records as they are written (Ctrl-C to stop)")
	fl.StringVar(&f.secret, "secret", "", "only records about the secret `NAME`")
	fl.StringVar(&f.since, "since", "", "only records from the last `DUR` (e.g. 90m, 36h, 7d)")
	return c
}

func (a *app) auditVerifyCmd() *cobra.Command {
	var pf passphraseFlag
	c := &cobra.Command{
		Use:   "verify [FILE]",
		Short: "Check every record of the audit log (needs the passphrase)",
		Long: `Check the whole audit log: every line parses, sequence numbers have no gap,
each line's hash chain to the one before holds, every MAC verifies under the
vault key, and the log reaches the last record envseal anchored in audit.head.
Prints a one-line summary and exits 0 if the log is intact; otherwise names the
first bad record and what was done to it (edited, deleted, reordered, inserted,
truncated) and exits 1. FILE checks another log of this vault instead, such as
one moved aside as audit.log.corrupt-<time>.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return pf.withKey(func(v *vault.Vault, k seal.Key) error {
				var err error
				var sum audit.Summary
				if len(args) == 1 {
					f, ferr := safefile.OpenFile(args[0])
					if ferr != nil {
						return ferr
					}
					sum, err = audit.Verify(f, k)
					f.Close()
				} else {
					sum, err = a.auditLog(v.Dir()).Verify(k)
				}
				if errors.Is(err, audit.ErrTampered) {
					hint := "it was changed outside envseal: keep a copy to inspect; the next record envseal writes moves it aside and starts a new chain that points to it"
					if len(args) == 1 {
						hint = "this copy was changed after envseal wrote it; the record named is the first one that cannot be trusted"
					}
					return withHint(fmt.Errorf("audit log does not verify: %w", err), hint)
				}
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, sum)
				return nil
			})
		},
	}
	c.Flags().IntVar(&pf.fd, "passphrase-fd", -1, "read the vault passphrase from file descriptor `N`")
	return c
}

// auditLog is the vault's audit log, warning on a.stderr.
func (a *app) auditLog(dir string) *audit.Log { return newAuditLog(dir, a.stderr) }

// newAuditLog is the audit log of dir; its warnings (a log moved aside, a
// record that could not be written) follow the output contract on w.
func newAuditLog(dir string, w io.Writer) *audit.Log {
	l := audit.New(dir)
	l.Warn = func(msg string) { fmt.Fprintf(w, "envseal: warning: %s\n", msg) }
	return l
}

// auditUnlockFailed records a wrong passphrase. There is no key yet, so
// the record is unkeyed; the next keyed record covers it. Who asked is the
// useful part: an agent guessing passphrases shows up as its process chain.
func auditUnlockFailed(l *audit.Log, err error) {
	if !errors.Is(err, vault.ErrWrongPassphrase) {
		return
	}
	l.Event(seal.Key{}, audit.UnlockFailed, map[string]any{
		"reason": "wrong passphrase",
		"argv":   os.Args[1:],
		"chain":  processChain(os.Getpid()),
	})
}

// processChain is pid and its ancestors as "PID EXE (COMM)" strings.
func processChain(pid int) []string { return procStrings(approve.ProcessChain(pid, 4)) }

func procStrings(ps []approve.Proc) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		s := strconv.Itoa(p.PID) + " " + p.Exe
		if p.Comm != "" {
			s += " (" + p.Comm + ")"
		}
		out = append(out, s)
	}
	return out
}

// valueSource names where a stored value came from (never the value).
func valueSource(generated, fromStdin bool) string {
	switch {
	case generated:
		return "generate"
	case fromStdin:
		return "stdin"
	}
	return "tty"
}

// runAuditor is the checkpoint's Auditor for `envseal run`: the audit log,
// with the approval channel added to the approval events (the checkpoint
// only sees an Approver interface).
type runAuditor struct {
	log     *audit.Log
	channel string
}

func (a *app) runAuditor(dir, channel string) runAuditor {
	return runAuditor{log: a.auditLog(dir), channel: channel}
}

// Event implements launch.Auditor.
func (r runAuditor) Event(key seal.Key, kind audit.Event, fields map[string]any) {
	if kind == audit.ApprovalRequested || kind == audit.ApprovalDecided {
		fields = maps.Clone(fields)
		if fields == nil {
			fields = map[string]any{}
		}
		fields["channel"] = r.channel
		if ps, ok := fields["chain"].([]approve.Proc); ok {
			fields["chain"] = procStrings(ps)
		}
	}
	r.log.Event(key, kind, fields)
}

func (a *app) auditShow(f *showFlags) error {
	if f.n < 0 {
		return withHint(fmt.Errorf("-n %d is negative", f.n), "give a number of records, or 0 for all")
	}
	var filter audit.Filter
	filter.Secret = f.secret
	if f.since != "" {
		d, err := parseSince(f.since)
		if err != nil {
			return withHint(err, "use a duration such as 90m, 36h or 7d")
		}
		filter.Since = time.Now().Add(-d)
	}
	v, err := openVault()
	if err != nil {
		return err
	}
	l := a.auditLog(v.Dir())
	file, size, err := l.Snapshot()
	if errors.Is(err, fs.ErrNotExist) {
		return withHint(fmt.Errorf("no audit log in %s yet", v.Dir()), "envseal starts it with the next thing it records")
	}
	if err != nil {
		return err
	}
	defer file.Close()
	data := make([]byte, size)
	if _, err := io.ReadFull(file, data); err != nil {
		return fmt.Errorf("read %s: %w", l.Path(), err)
	}
	// The chain is checked without the key: it catches damage, not a
	// deliberate rewrite, which is what 'audit verify' is for.
	sum, verr := audit.Verify(bytes.NewReader(data), seal.Key{})
	out := filter.Entries(data)
	if f.n > 0 && len(out) > f.n {
		out = out[len(out)-f.n:]
	}
	if err := a.printShown(out, f.asJSON, true); err != nil {
		return err
	}
	switch {
	case verr != nil:
		a.warnf("the log does not verify: %v; records are shown as they are (run 'envseal audit verify')", verr)
	case !f.asJSON && !f.follow:
		a.infof("%d of %d records shown; hash chain intact, MACs not checked (run 'envseal audit verify')", len(out), sum.Records)
	}
	if !f.follow {
		return nil
	}
	// Ctrl-C is how following ends, so it ends it cleanly (exit 0).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return l.Follow(ctx, file, size, filter, func() { a.warnf("the audit log was moved aside; following the new one") },
		func(es []*audit.Entry) error { return a.printShown(es, f.asJSON, false) })
}

func (a *app) printShown(recs []*audit.Entry, asJSON, header bool) error {
	if asJSON {
		for _, s := range recs {
			if s.Err != nil {
				continue // not JSON we could vouch for; the warning names it
			}
			a.stdout.Write(append(s.Raw, '\n'))
		}
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	if header {
		fmt.Fprintln(tw, "SEQ\tTIME\tEVENT\tDETAILS")
	}
	for _, s := range recs {
		if s.Err != nil {
			fmt.Fprintf(tw, "?\t\t(unreadable)\t%s\n", strconv.Quote(s.Err.Error()))
			continue
		}
		seq := strconv.FormatUint(s.Record.Seq, 10)
		if !s.Record.Keyed() {
			seq += "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", seq, s.Record.Time.Local().Format(time.DateTime), s.Record.Event, audit.Details(s.Fields))
	}
	return tw.Flush()
}

// parseSince accepts a Go duration or a whole number of days ("7d").
func parseSince(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 || n > 100000 {
			return 0, fmt.Errorf("--since %q is not a duration", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("--since %q is not a duration", s)
	}
	return d, nil
}
