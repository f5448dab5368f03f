package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/childenv"
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
	)
	c := &cobra.Command{
		Use:   "import FILE",
		Short: "Move the values of a .env file into the vault and write .envseal",
		Long: `Read the dotenv file FILE (quotes, escapes, 'export', multi-line values,
comments), store each value in the vault as a secret named after its key
(with --prefix P prepended), add KEY=secret lines to the .envseal next to
FILE (or --envseal-file PATH), and rewrite FILE with every imported value
removed ("KEY= # moved to envseal: secret NAME"); --keep leaves FILE as it
was. Keys with an empty value are left alone.

Nothing is half done: every value is stored first; if one store fails, the
secrets this import stored are revoked and no file is touched. Existing
secrets are never replaced. Values are never printed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			path := args[0]
			if envsealFile == "" {
				envsealFile = filepath.Join(filepath.Dir(path), envfile.FileName)
			}
			p, err := planImport(path, prefix, envsealFile)
			if err != nil {
				return err
			}
			defer p.wipe()
			for _, s := range p.skipped {
				a.warnf("%s:%d: %s has an empty value; left in %s, not imported", path, s.Line, s.Key, filepath.Base(path))
			}
			if len(p.items) == 0 {
				return withHint(fmt.Errorf("%s has no values to import", path), "nothing was changed")
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
				log.Event(k, "secret_stored", map[string]any{"secret": name, "generation": gen, "source": "import"})
			}, func(name string) {
				log.Event(k, "secret_revoked", map[string]any{"secret": name, "reason": "import rolled back"})
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
	f.IntVar(&pf.fd, "passphrase-fd", -1, "read the vault passphrase from file descriptor `N`")
	return c
}

// importItem is one value to move: the variable, its secret, and where.
type importItem struct {
	kv     envfile.KV
	secret string
}

// importPlan is everything import will do, computed before any change so
// that every refusal happens while nothing has been touched.
type importPlan struct {
	path    string
	orig    []byte // FILE as read; compared again before it is replaced
	mode    fs.FileMode
	items   []importItem
	skipped []envfile.KV
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

func planImport(path, prefix, envsealPath string) (*importPlan, error) {
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
	if p.items, p.skipped, err = nameItems(path, prefix, kvs); err != nil {
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

// nameItems pairs each non-empty value with its secret name and refuses,
// with the line, a variable a secret may not be delivered as.
func nameItems(path, prefix string, kvs []envfile.KV) (items []importItem, skipped []envfile.KV, err error) {
	seen := map[string]int{}
	for _, kv := range kvs {
		if err := childenv.ValidName(kv.Key); err != nil {
			return nil, nil, withHint(fmt.Errorf("%s:%d: %w", path, kv.Line, err),
				"a secret cannot be delivered as that variable; move the line out of the file, then import again")
		}
		if len(kv.Value) == 0 {
			skipped = append(skipped, kv)
			continue
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
	}
	return items, skipped, nil
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
