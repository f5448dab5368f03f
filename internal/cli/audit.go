package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

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
		Use:  "show",
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
	return keyed("verify [FILE]", cobra.MaximumNArgs(1), func(args []string, v *vault.Vault, k seal.Key) error {
		verify := a.auditLog(v.Dir()).Verify
		if len(args) == 1 {
			verify = func(k seal.Key) (audit.Summary, error) { return audit.VerifyFile(args[0], k) }
		}
		sum, err := verify(k)
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

// auditUnlockFailed records err in l if it is a wrong passphrase.
func auditUnlockFailed(l *audit.Log, err error) {
	if errors.Is(err, vault.ErrWrongPassphrase) {
		l.WrongPassphrase()
	}
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

// runAuditor is the checkpoint's Auditor for a run approved on channel.
func (a *app) runAuditor(dir, channel string) audit.RunAuditor {
	return audit.RunAuditor{Log: a.auditLog(dir), Channel: channel}
}

func (a *app) auditShow(f *showFlags) error {
	if f.n < 0 {
		return withHint(fmt.Errorf("-n %d is negative", f.n), "give a number of records, or 0 for all")
	}
	var filter audit.Filter
	filter.Secret = f.secret
	if f.since != "" {
		d, ok := audit.ParseSince(f.since)
		if !ok {
			return withHint(fmt.Errorf("--since %q is not a duration", f.since), "use a duration such as 90m, 36h or 7d")
		}
		filter.Since = time.Now().Add(-d)
	}
	v, err := openVault()
	if err != nil {
		return err
	}
	l := a.auditLog(v.Dir())
	sh, err := l.Show(filter, f.n)
	if errors.Is(err, fs.ErrNotExist) {
		return withHint(fmt.Errorf("no audit log in %s yet", v.Dir()), "envseal starts it with the next thing it records")
	}
	if err != nil {
		return err
	}
	defer sh.File.Close()
	if err := audit.WriteEntries(a.stdout, sh.Entries, f.asJSON, true); err != nil {
		return err
	}
	switch {
	case sh.VerifyErr != nil:
		a.warnf("the log does not verify: %v; records are shown as they are (run 'envseal audit verify')", sh.VerifyErr)
	case !f.asJSON && !f.follow:
		a.infof("%d of %d records shown; hash chain intact, MACs not checked (run 'envseal audit verify')", len(sh.Entries), sh.Records)
	}
	if !f.follow {
		return nil
	}
	// Ctrl-C is how following ends, so it ends it cleanly (exit 0).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return l.Follow(ctx, sh.File, sh.Size, filter, func() { a.warnf("the audit log was moved aside; following the new one") },
		func(es []*audit.Entry) error { return audit.WriteEntries(a.stdout, es, f.asJSON, false) })
}
