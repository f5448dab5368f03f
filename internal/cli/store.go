package cli

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/detect"
	"github.com/envseal/envseal/internal/redact"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/term"
	"github.com/envseal/envseal/internal/vault"
)

type storeFlags struct {
	pf       passphraseFlag
	fromIn   bool
	raw      bool
	force    bool
	generate int
	gen      bool // --generate was given
	rotate   string
}

func (a *app) storeCmd() *cobra.Command {
	var f storeFlags
	c := &cobra.Command{
		Use:  "store NAME",
		Args: storeArgs,
		RunE: func(c *cobra.Command, args []string) error {
			f.gen = c.Flags().Changed("generate")
			return a.store(&f, args[0])
		},
	}
	fl := c.Flags()
	fl.BoolVar(&f.fromIn, "stdin", false, "read the value from standard input")
	fl.BoolVar(&f.raw, "raw", false, "with --stdin, keep the bytes exactly (no trailing newline is dropped)")
	fl.IntVar(&f.generate, "generate", vault.GeneratedLen, "generate a random URL-safe value of `LEN` characters")
	fl.Lookup("generate").NoOptDefVal = fmt.Sprint(vault.GeneratedLen)
	fl.BoolVar(&f.force, "force", false, "replace an existing secret")
	fl.StringVar(&f.rotate, "rotate-every", "", "rotation period: `PERIOD` like 30d or 12w, or never (default 90d)")
	fl.IntVar(&f.pf.fd, "passphrase-fd", -1, "read the vault passphrase from file descriptor `N`")
	return c
}

// check refuses flags that do not go together, before anything is asked,
// and returns the rotation period.
func (f *storeFlags) check() (rotateDays uint32, err error) {
	switch {
	case f.fromIn && f.gen:
		return 0, withHint(errors.New("--stdin and --generate cannot be combined"), "choose where the value comes from")
	case f.raw && !f.fromIn:
		return 0, withHint(errors.New("--raw only applies to --stdin"), "drop --raw, or add --stdin")
	case f.fromIn && f.pf.fd == 0:
		return 0, withHint(errors.New("--stdin and --passphrase-fd 0 both read standard input"), "pass the passphrase on another descriptor, e.g. --passphrase-fd 3")
	}
	if f.rotate != "" {
		if rotateDays, err = parseRotation(f.rotate); err != nil {
			return 0, err
		}
	}
	if f.gen && (f.generate < vault.MinGeneratedLen || f.generate > vault.MaxGeneratedLen) {
		return 0, withHint(fmt.Errorf("--generate length %d is out of range", f.generate), fmt.Sprintf("use a length from %d to %d", vault.MinGeneratedLen, vault.MaxGeneratedLen))
	}
	return rotateDays, nil
}

func (a *app) store(f *storeFlags, name string) error {
	if err := vault.ValidName(name); err != nil {
		return err
	}
	rotateDays, err := f.check()
	if err != nil {
		return err
	}
	v, err := openVault()
	if err != nil {
		return err
	}
	if !f.force && v.Has(name) {
		return existsErr(name)
	}
	return f.pf.withKey(func(v *vault.Vault, k seal.Key) error {
		value, err := f.value(a, name)
		if err != nil {
			return err
		}
		defer clear(value)
		if len(value) == 0 {
			return withHint(vault.ErrEmptyValue, "a secret needs a value; nothing was stored")
		}
		// Say now, not at the first run, what output scrubbing can do
		// with this value: a run refuses values it cannot scrub.
		if _, err := redact.NewMatcher([]redact.Secret{{Name: name, Value: value}}); err != nil {
			return withHint(fmt.Errorf("the value of %s could not be scrubbed from output: %w; nothing was stored", name, err), "report this as a bug")
		}
		meta, err := v.Store(k, name, value, vault.StoreOptions{Force: f.force, RotateDays: rotateDays})
		if errors.Is(err, vault.ErrExists) {
			return existsErr(name)
		}
		if err != nil {
			return err
		}
		a.auditLog(v.Dir()).Event(k, audit.SecretStored, map[string]any{"secret": name, "generation": meta.Generation, "source": valueSource(f.gen, f.fromIn)})
		a.reportStored(f, name, value, meta)
		return nil
	})
}

// value is the value to store: generated, read from stdin or typed.
func (f *storeFlags) value(a *app, name string) ([]byte, error) {
	switch {
	case f.gen:
		return vault.Generate(f.generate), nil
	case f.fromIn:
		return readValue(a.stdin, f.raw)
	}
	return term.ReadHidden(fmt.Sprintf("Value for %s (hidden): ", name))
}

// reportStored says what was stored, and what scrubbing and the value's
// strength mean for it.
func (a *app) reportStored(f *storeFlags, name string, value []byte, meta vault.Meta) {
	how := "stored " + name
	if meta.Generation > 1 {
		how = fmt.Sprintf("replaced %s (generation %d)", name, meta.Generation)
	}
	if f.gen {
		how += fmt.Sprintf(", generated %d characters that were never shown", f.generate)
	}
	if meta.Provider != "" {
		how += " (looks like a " + detect.ProviderDescription(meta.Provider) + ")"
	}
	a.infof("%s", how)
	switch {
	case len(value) < redact.MinLen:
		a.warnf("the value of %s is shorter than %d bytes: 'envseal run' will NOT scrub it from output", name, redact.MinLen)
		a.hintf("a value that short matches ordinary output everywhere; use a longer one if the provider allows")
	case len(value) >= redact.LargeValue:
		a.infof("%s is %d bytes: output is scrubbed of it whole and of any fragment of %d bytes or more (raw, JSON, base64, hex), also wrapped", name, len(value), redact.FragmentMin)
	}
	if meta.Weak { // the reason is worked out again only to say it
		a.warnf("the value of %s %s", name, detect.Weakness(value))
		a.hintf("if it is a real credential, rotate it at its provider; for a value envseal may choose, use 'envseal store %s --force --generate'", name)
	}
}

// storeArgs is ExactArgs(1), with a hint for `--generate 48`: the length
// is optional, so pflag takes a space-separated one as a second NAME.
func storeArgs(c *cobra.Command, args []string) error {
	if len(args) == 2 && c.Flags().Changed("generate") {
		if _, err := strconv.Atoi(args[1]); err == nil {
			return withHint(fmt.Errorf("store takes one NAME, got %q and %q", args[0], args[1]),
				fmt.Sprintf("write the length with '=': --generate=%s", args[1]))
		}
	}
	return cobra.ExactArgs(1)(c, args)
}

func existsErr(name string) error {
	return withHint(fmt.Errorf("secret %q already exists", name), "add --force to replace it")
}

func readValue(r io.Reader, raw bool) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, vault.MaxValueLen+3))
	if err != nil {
		return nil, fmt.Errorf("read value from stdin: %w", err)
	}
	if !raw {
		b = dropNewline(b)
	}
	if len(b) > vault.MaxValueLen {
		clear(b)
		return nil, withHint(fmt.Errorf("value on stdin is over %d bytes (1 MiB), the vault's limit; nothing was stored", vault.MaxValueLen),
			"keep a larger file outside the vault encrypted (e.g. with age) and store its key here")
	}
	return b, nil
}

// hintf prints the one hint that follows a warning.
func (a *app) hintf(format string, args ...any) {
	fmt.Fprintf(a.stderr, "envseal: hint: "+format+"\n", args...)
}
