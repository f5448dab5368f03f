package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/childenv"
	"github.com/envseal/envseal/internal/detect"
	"github.com/envseal/envseal/internal/envfile"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

// movedComment ends each line whose value import took: the key stays so a
// reader of the file sees where the value went, the value does not.
const movedComment = " # moved to envseal: secret "

func (a *app) importCmd() *cobra.Command {
	var (
		pf          passphraseFlag
		prefix      string
		envsealFile string
		keep        bool
		sel         importSelect
		dryRun      bool
	)
	c := &cobra.Command{
		Use:   "import FILE",
		Short: "Move the secret values of a .env file into the vault and write .envseal",
		Long: `Read the dotenv file FILE (quotes, escapes, 'export', multi-line values,
comments) and move the values that look secret into the vault: each is
stored as a secret named after its key (with --prefix P prepended), gets a
KEY=secret line in the .envseal next to FILE (or --envseal-file PATH), and
is removed from FILE ("KEY= # moved to envseal: secret NAME"); --keep
leaves FILE as it was.

What looks secret: a known token shape, a PEM block, a password inside a
URL, a name like *_KEY, *_TOKEN, *SECRET*, *PASSWORD*, or a high-entropy
value. Everything else (NODE_ENV=production, PORT=3000, API_URL=…) stays in
FILE as plain config: moved to the vault it would be scrubbed from every
output. A table on stdout shows what moves, what stays and why (never a
value). --all moves every non-empty value, --only NAME moves just the
variables named, --except NAME keeps those in FILE; --dry-run prints the
table and changes nothing. Keys with an empty value always stay.

Nothing is half done: every value is stored first; if one store fails, the
secrets this import stored are revoked and no file is touched. Existing
secrets are never replaced. Values are never printed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			path := args[0]
			if envsealFile == "" {
				envsealFile = filepath.Join(filepath.Dir(path), envfile.FileName)
			}
			if err := sel.check(); err != nil {
				return err
			}
			p, err := planImport(path, prefix, envsealFile, sel)
			if err != nil {
				return err
			}
			defer p.wipe()
			p.printTable(a.stdout)
			if len(p.items) == 0 {
				if sel.all || len(sel.only) > 0 {
					return withHint(fmt.Errorf("%s has no values to import", path), "nothing was changed")
				}
				return withHint(fmt.Errorf("nothing in %s looks secret", path),
					"nothing was changed; move chosen variables with --only NAME, or every value with --all")
			}
			if dryRun {
				a.infof("dry run: nothing was changed")
				return nil
			}
			v, err := openVault()
			if err != nil {
				return err
			}
			if err := p.checkVault(v); err != nil {
				return err
			}
			v, k, err := pf.unlock()
			if err != nil {
				return err
			}
			defer k.Wipe()
			log := a.auditLog(v.Dir())
			err = p.apply(v, k, keep, func(name string, gen uint64) {
				log.Event(k, audit.SecretStored, map[string]any{"secret": name, "generation": gen, "source": "import"})
			}, func(name string) {
				log.Event(k, audit.SecretRevoked, map[string]any{"secret": name, "reason": "import rolled back"})
			})
			if err != nil {
				return err
			}
			names := make([]string, len(p.items))
			for i, it := range p.items {
				names[i] = it.secret
			}
			a.infof("stored %d secrets: %s", len(names), strings.Join(names, ", "))
			var weak []string
			for _, n := range names {
				if m, err := v.Stat(n); err == nil && m.Weak {
					weak = append(weak, n)
				}
			}
			if len(weak) > 0 {
				a.warnf("values that look like placeholders or have under 64 bits of entropy: %s ('envseal list' marks them weak)", strings.Join(weak, ", "))
			}
			a.infof("wrote %s", envsealFile)
			if keep {
				a.warnf("%s still holds the values (--keep); delete it once 'envseal run' works", path)
			} else {
				a.infof("removed the values from %s", path)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&prefix, "prefix", "", "prepend `P` to every secret name (e.g. myapp.)")
	f.StringVar(&envsealFile, "envseal-file", "", "write the mapping to `PATH` (default: .envseal next to FILE)")
	f.BoolVar(&keep, "keep", false, "leave FILE untouched (its values stay in plaintext)")
	f.BoolVar(&sel.all, "all", false, "move every non-empty value, not only those that look secret")
	f.StringSliceVar(&sel.only, "only", nil, "move only the variable `NAME` (repeat, or comma-separate)")
	f.StringSliceVar(&sel.except, "except", nil, "keep the variable `NAME` in FILE (repeat, or comma-separate)")
	f.BoolVar(&dryRun, "dry-run", false, "print what would move and what would stay; change nothing")
	f.IntVar(&pf.fd, "passphrase-fd", -1, "read the vault passphrase from file descriptor `N`")
	return c
}

// importItem is one value to move: the variable, its secret, and where.
type importItem struct {
	kv     envfile.KV
	secret string
}

// importSelect is which variables move: by default those detect.Classify
// calls secret; --all every non-empty one; --only exactly those named;
// --except never those named.
type importSelect struct {
	all          bool
	only, except []string
}

func (s importSelect) check() error {
	if s.all && len(s.only) > 0 {
		return withHint(errors.New("--all and --only exclude each other"), "use one of them (--except works with either)")
	}
	for _, n := range append(slices.Clone(s.only), s.except...) {
		if slices.Contains(s.only, n) && slices.Contains(s.except, n) {
			return withHint(fmt.Errorf("%s is named by both --only and --except", n), "name it in one of them")
		}
	}
	return nil
}

// pick says whether kv moves, and why (for the table).
func (s importSelect) pick(kv envfile.KV) (bool, string) {
	secret, why := detect.Classify(kv.Key, kv.Value)
	switch {
	case len(kv.Value) == 0:
		return false, detect.WhyEmpty
	case slices.Contains(s.except, kv.Key):
		return false, "--except"
	case len(s.only) > 0:
		if slices.Contains(s.only, kv.Key) {
			return true, "--only"
		}
		return false, "not named by --only"
	case s.all && !secret:
		return true, "--all (" + why + ")"
	}
	return secret, why
}

// importRow is one line of the table import prints: never a value.
type importRow struct {
	line     int
	key, why string
	move     bool
	secret   string
}

// importPlan is everything import will do, computed before any change so
// that every refusal happens while nothing has been touched.
type importPlan struct {
	path    string
	orig    []byte // FILE as read; compared again before it is replaced
	mode    fs.FileMode
	items   []importItem
	rows    []importRow
	rewrite []byte // FILE without the imported values

	envsealPath string
	envsealOld  []byte // nil when the file does not exist
	envsealMode fs.FileMode
	envsealNew  []byte
}

func (p *importPlan) wipe() {
	clear(p.orig)
	for _, it := range p.items {
		clear(it.kv.Value)
	}
}

// readRegular reads a regular file that is not a symlink. Replacing a
// symlinked FILE by rename would leave the values in the link's target.
func readRegular(path string) ([]byte, fs.FileMode, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, withHint(fmt.Errorf("%s is not a regular file", path), "name the file itself, not a link or device")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, envfile.MaxFileSize+1))
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	return b, fi.Mode().Perm(), nil
}

func planImport(path, prefix, envsealPath string, sel importSelect) (*importPlan, error) {
	data, mode, err := readRegular(path)
	if err != nil {
		return nil, err
	}
	p := &importPlan{path: path, orig: data, mode: mode, envsealPath: envsealPath}
	ok := false
	defer func() {
		if !ok {
			p.wipe()
		}
	}()
	kvs, err := envfile.ParseDotEnv(bytes.NewReader(data), path)
	if err != nil {
		if errors.Is(err, envfile.ErrDuplicate) {
			return nil, withHint(err, "keep one definition of the variable in the file; nothing was changed")
		}
		return nil, withHint(err, "fix that line; nothing was changed")
	}
	if p.items, p.rows, err = nameItems(path, prefix, kvs, sel); err != nil {
		return nil, err
	}
	if p.rewrite, err = blankValues(data, p.items); err != nil {
		return nil, err
	}
	if err := p.planEnvseal(); err != nil {
		return nil, err
	}
	ok = true
	return p, nil
}

// nameItems pairs each value sel picks with its secret name and refuses,
// with the line, a variable a secret may not be delivered as. rows has one
// entry per variable, moved or not, for the table.
func nameItems(path, prefix string, kvs []envfile.KV, sel importSelect) (items []importItem, rows []importRow, err error) {
	seen := map[string]int{}
	have := map[string]bool{}
	for _, kv := range kvs {
		have[kv.Key] = true
	}
	for _, n := range append(slices.Clone(sel.only), sel.except...) {
		if !have[n] {
			return nil, nil, withHint(fmt.Errorf("%s has no variable %s", path, n), "name variables the file assigns; nothing was changed")
		}
	}
	for _, kv := range kvs {
		move, why := sel.pick(kv)
		row := importRow{line: kv.Line, key: kv.Key, why: why, move: move}
		if !move {
			rows = append(rows, row)
			continue
		}
		if err := childenv.ValidName(kv.Key); err != nil {
			return nil, nil, withHint(fmt.Errorf("%s:%d: %w", path, kv.Line, err),
				"a secret cannot be delivered as that variable; move the line out of the file, then import again")
		}
		name := prefix + kv.Key
		if err := vault.ValidName(name); err != nil {
			return nil, nil, withHint(fmt.Errorf("%s:%d: secret name %q for %s: %w", path, kv.Line, name, kv.Key, err),
				"choose a --prefix that starts with a letter or digit, e.g. --prefix app.")
		}
		if prev, dup := seen[name]; dup {
			return nil, nil, withHint(fmt.Errorf("%s:%d: secret name %q already used on line %d", path, kv.Line, name, prev), "nothing was changed")
		}
		seen[name] = kv.Line
		items = append(items, importItem{kv: kv, secret: name})
		row.secret = name
		rows = append(rows, row)
	}
	return items, rows, nil
}

// printTable shows what moves and what stays, with why: the human checks
// the guess before (with --dry-run) or after the fact. Names only.
func (p *importPlan) printTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tLINE\tACTION\tWHY")
	for _, r := range p.rows {
		action := "stays in " + filepath.Base(p.path)
		if r.move {
			action = "moves to secret " + r.secret
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", r.key, r.line, action, r.why)
	}
	tw.Flush()
}

// blankValues returns data with each imported assignment (all its lines,
// for a multi-line quoted value) replaced by "KEY= # moved to envseal:
// secret NAME". Everything else, comments and line endings included, is
// kept byte for byte. The result is parsed again and must hold exactly the
// same keys with the imported ones empty: a wrong span would otherwise
// leave part of a value behind.
func blankValues(data []byte, items []importItem) ([]byte, error) {
	byLine := map[int]importItem{}
	for _, it := range items {
		byLine[it.kv.Line] = it
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	var out bytes.Buffer
	for i := 0; i < len(lines); i++ {
		it, ok := byLine[i+1]
		if !ok {
			out.Write(lines[i])
			continue
		}
		eq := bytes.IndexByte(lines[i], '=')
		if eq < 0 {
			return nil, fmt.Errorf("%s: line %d: no '=' where the parser found one", it.kv.Key, i+1)
		}
		end := valueEnd(lines, i, eq+1)
		out.Write(lines[i][:eq+1])
		out.WriteString(movedComment + it.secret)
		last := lines[end]
		switch {
		case bytes.HasSuffix(last, []byte("\r\n")):
			out.WriteString("\r\n")
		case bytes.HasSuffix(last, []byte("\n")):
			out.WriteString("\n")
		}
		i = end
	}
	res := out.Bytes()
	if err := checkRewrite(data, res, items); err != nil {
		clear(res)
		return nil, err
	}
	return res, nil
}

// valueEnd returns the index of the line on which the value starting at
// lines[i][pos] ends. It mirrors envfile's quoting: a single-quoted value
// has no escapes; in a double-quoted one a backslash hides the next byte.
func valueEnd(lines [][]byte, i, pos int) int {
	l := lines[i]
	for pos < len(l) && (l[pos] == ' ' || l[pos] == '\t') {
		pos++
	}
	if pos >= len(l) || (l[pos] != '\'' && l[pos] != '"') {
		return i
	}
	q := l[pos]
	pos++
	for ; i < len(lines); i, pos = i+1, 0 {
		l = lines[i]
		for ; pos < len(l); pos++ {
			switch {
			case l[pos] == q:
				return i
			case l[pos] == '\\' && q == '"':
				pos++
				if pos >= len(l) && i+1 < len(lines) {
					// The escaped byte is the first of the next line.
					i++
					l, pos = lines[i], 0
				}
			}
		}
	}
	return len(lines) - 1
}

func checkRewrite(orig, res []byte, items []importItem) error {
	before, err := envfile.ParseDotEnv(bytes.NewReader(orig), "before")
	if err != nil {
		return err
	}
	defer func() {
		for _, kv := range before {
			clear(kv.Value)
		}
	}()
	after, err := envfile.ParseDotEnv(bytes.NewReader(res), "after")
	if err != nil {
		return fmt.Errorf("rewritten file does not parse (%v): refusing to change it", errors.Unwrap(err))
	}
	defer func() {
		for _, kv := range after {
			clear(kv.Value)
		}
	}()
	moved := map[string]bool{}
	for _, it := range items {
		moved[it.kv.Key] = true
	}
	if len(before) != len(after) {
		return fmt.Errorf("rewritten file has %d assignments, not %d: refusing to change it", len(after), len(before))
	}
	for i := range before {
		b, a := before[i], after[i]
		want := b.Value
		if moved[b.Key] {
			want = nil
		}
		if a.Key != b.Key || !bytes.Equal(a.Value, want) {
			return fmt.Errorf("rewritten file differs at %s: refusing to change it", b.Key)
		}
	}
	return nil
}

// planEnvseal reads the existing mapping file, if any, and appends one line
// per imported variable. A variable already mapped is refused: which
// secret it should get would be a guess.
func (p *importPlan) planEnvseal() error {
	p.envsealMode = 0o644
	old, mode, err := readRegular(p.envsealPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		p.envsealOld, p.envsealMode = old, mode
	}
	existing, err := envfile.Parse(bytes.NewReader(old), p.envsealPath)
	if err != nil {
		return withHint(err, "fix the mapping file first; nothing was changed")
	}
	mapped := map[string]int{}
	for _, m := range existing {
		mapped[m.Env] = m.Line
	}
	var add []envfile.Mapping
	for _, it := range p.items {
		if line, dup := mapped[it.kv.Key]; dup {
			return withHint(fmt.Errorf("%s:%d: %s is already mapped", p.envsealPath, line, it.kv.Key),
				"remove that line from the mapping file (or use --envseal-file); nothing was changed")
		}
		add = append(add, envfile.Mapping{Env: it.kv.Key, Secret: it.secret})
	}
	lines, err := envfile.Format(add)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.Write(old)
	if len(old) > 0 && !bytes.HasSuffix(old, []byte("\n")) {
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "# imported from %s by envseal import\n", filepath.Base(p.path))
	b.Write(lines)
	if _, err := envfile.Parse(bytes.NewReader(b.Bytes()), p.envsealPath); err != nil {
		return fmt.Errorf("new mapping would not parse: %w", err)
	}
	p.envsealNew = b.Bytes()
	return nil
}

// checkVault refuses names that already exist: import never replaces a
// secret, and a rollback must only ever delete what this import created.
func (p *importPlan) checkVault(v *vault.Vault) error {
	ents, err := v.List()
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, e := range ents {
		have[e.Name] = true
	}
	var clash []string
	for _, it := range p.items {
		if have[it.secret] {
			clash = append(clash, it.secret)
		}
	}
	if len(clash) > 0 {
		return withHint(fmt.Errorf("secrets already in the vault: %s", strings.Join(clash, ", ")),
			"import under other names with --prefix, or 'envseal revoke' them first; nothing was changed")
	}
	return nil
}

// secretStore is the part of the vault apply uses (a test makes it fail).
type secretStore interface {
	Store(master seal.Key, name string, value []byte, o vault.StoreOptions) (vault.Meta, error)
	Revoke(master seal.Key, name string) error
}

// apply stores every value, then writes the mapping, then replaces FILE.
// A failure at any step undoes the steps before it, so the outcome is all
// or nothing (short of a crash between steps, which leaves extra secrets
// in the vault and FILE intact — never a lost value).
func (p *importPlan) apply(st secretStore, k seal.Key, keep bool, stored func(name string, gen uint64), revoked func(name string)) (err error) {
	var done []string
	defer func() {
		if err == nil {
			return
		}
		var left []string
		for _, name := range done {
			if rerr := st.Revoke(k, name); rerr != nil {
				left = append(left, name)
			} else if revoked != nil {
				revoked(name)
			}
		}
		if len(left) > 0 {
			err = withHint(fmt.Errorf("%w; and undoing it failed for %s", err, strings.Join(left, ", ")),
				"'envseal revoke' those names, then import again")
		} else if _, ok := err.(*exitErr); !ok {
			err = withHint(err, "the secrets stored so far were revoked; nothing was changed")
		}
	}()
	for _, it := range p.items {
		meta, err := st.Store(k, it.secret, it.kv.Value, vault.StoreOptions{})
		if err != nil {
			return fmt.Errorf("%s:%d: store %s: %w", p.path, it.kv.Line, it.secret, err)
		}
		done = append(done, it.secret)
		if stored != nil {
			stored(it.secret, meta.Generation)
		}
	}
	if err := writeFileAtomic(p.envsealPath, p.envsealNew, p.envsealMode); err != nil {
		return err
	}
	if keep {
		return nil
	}
	err = p.replaceFile()
	if err != nil {
		if p.envsealOld != nil {
			writeFileAtomic(p.envsealPath, p.envsealOld, p.envsealMode)
		} else {
			os.Remove(p.envsealPath)
		}
	}
	return err
}

// replaceFile swaps FILE for its rewrite, unless it changed since it was
// read: an edit made meanwhile would otherwise be lost.
func (p *importPlan) replaceFile() error {
	now, _, err := readRegular(p.path)
	if err != nil {
		return err
	}
	same := bytes.Equal(now, p.orig)
	clear(now)
	if !same {
		return fmt.Errorf("%s changed while importing", p.path)
	}
	return writeFileAtomic(p.path, p.rewrite, p.mode)
}

// writeFileAtomic replaces path with data through a temporary file in the
// same directory and a rename, so a reader (or a crash) sees the old file
// or the new one, never a mix.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(mode); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
