package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/detect"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/term"
	"github.com/envseal/envseal/internal/vault"
)

func (a *app) scanCmd() *cobra.Command {
	var (
		pf       passphraseFlag
		history  bool
		asJSON   bool
		doImport bool
		yes      bool
		prefix   string
	)
	c := &cobra.Command{
		Use:   "scan [PATHS...]",
		Short: "Find likely secrets in files and shell history (never printing them)",
		Long: `Look for likely secrets in PATHS (files, and directories recursively; default
".") and, with --history, in the bash, zsh and fish history files. Found:
tokens with a well-known shape (GitHub, GitLab, AWS, Slack, Stripe, OpenAI,
Anthropic, …), high-entropy values assigned to names like *_KEY, *_TOKEN,
*PASSWORD* (NAME=VALUE, NAME: VALUE, "name": "value", --token VALUE,
Authorization headers), and PEM private keys.

Each finding is printed as "file:line: kind (NAME)" — never the value, nor
any part of it. Binary files, files over 10 MiB, .git, node_modules, the
vault directory and symlinks are skipped.

Exit status: 0 when nothing was found, 1 when something was (so scan can
gate CI), other errors 1 with a message.

--import moves each value into the vault: it asks a secret name on the
terminal (--yes takes the suggested one), stores the values (the
passphrase is asked on the terminal, or read from --passphrase-fd), then
rewrites each file with the value replaced, everything else kept byte for
byte. In a program the value becomes a read of an environment variable
named after the secret (apiToken → API_TOKEN), added to the .envseal next
to the file so that 'envseal run -- ./deploy.sh' delivers it: "${VAR}" in
a shell script (quoted to fit where the value was), process.env.VAR in
JavaScript/TypeScript, os.environ["VAR"] in Python. A program in another
language, a value inside a longer string literal, or a shell value after a
here-document is refused (the file is left as it was, nothing is stored
for it) with a hint. Elsewhere (history, YAML, notes) the value becomes
"[envseal:NAME]". Per file it is all or nothing: if a store or the
rewrite fails, the secrets stored for that file are revoked and the file is
left as it was. Existing secrets are never replaced. Dotenv files (.env,
.env.*) are left to 'envseal import FILE', which also writes .envseal.`,
		RunE: func(c *cobra.Command, args []string) error {
			paths := args
			if len(paths) == 0 && !history {
				paths = []string{"."}
			}
			var skipDirs []string
			if home, err := vault.Home(); err == nil {
				skipDirs = append(skipDirs, home)
			}
			res := &detect.Result{}
			if len(paths) > 0 {
				r, err := detect.ScanPaths(paths, detect.WalkOptions{SkipDirs: skipDirs})
				if err != nil {
					return withHint(err, "name files or directories that exist")
				}
				res = r
			}
			if history {
				a.scanHistory(res)
			}
			defer func() {
				for i := range res.Findings {
					res.Findings[i].Wipe()
				}
			}()
			for _, s := range res.Skipped {
				if s.Notice {
					a.warnf("%s: skipped: %s", s.Path, s.Reason)
				}
			}
			if asJSON {
				out := struct {
					Findings []detect.Finding `json:"findings"`
					Skipped  []detect.Skipped `json:"skipped"`
				}{res.Findings, res.Skipped}
				if out.Findings == nil {
					out.Findings = []detect.Finding{}
				}
				if out.Skipped == nil {
					out.Skipped = []detect.Skipped{}
				}
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					return err
				}
			} else {
				for _, f := range res.Findings {
					fmt.Fprintln(a.stdout, f.String())
				}
			}
			if len(res.Findings) == 0 {
				a.infof("no likely secrets found")
				return nil
			}
			left := len(res.Findings)
			if doImport {
				moved, err := a.scanImport(res.Findings, prefix, yes, &pf)
				if err != nil {
					return err
				}
				left -= moved
				if left == 0 {
					return nil
				}
			}
			if !asJSON {
				hint := "move them into the vault with 'envseal scan --import' (or 'envseal import FILE' for a .env file)"
				if doImport {
					hint = "the findings not moved are still in place"
				}
				what := "likely secrets are"
				if left == 1 {
					what = "likely secret is"
				}
				a.infof("%d %s still in plain text; %s", left, what, hint)
			}
			return &exitErr{err: errors.New("likely secrets found"), code: exitError, silent: true}
		},
	}
	f := c.Flags()
	f.BoolVar(&history, "history", false, "also scan the bash, zsh and fish history files")
	f.BoolVar(&asJSON, "json", false, "print the findings as JSON (never with values)")
	f.BoolVar(&doImport, "import", false, "move each value into the vault and remove it from its file")
	f.BoolVar(&yes, "yes", false, "with --import: take the suggested secret names without asking")
	f.StringVar(&prefix, "prefix", "", "with --import: prepend `P` to every suggested secret name")
	f.IntVar(&pf.fd, "passphrase-fd", -1, "read the vault passphrase from file descriptor `N`")
	return c
}

func (a *app) scanHistory(res *detect.Result) {
	home, _ := os.UserHomeDir()
	for _, h := range detect.HistoryFiles(home, os.Getenv) {
		fi, err := os.Lstat(h.Path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil && !fi.Mode().IsRegular() {
			res.Skipped = append(res.Skipped, detect.Skipped{Path: h.Path, Reason: "not a regular file (a symlink?), not followed", Notice: true})
			continue
		}
		data, err := detect.ReadFile(h.Path, detect.MaxFileSize)
		if err != nil {
			res.Skipped = append(res.Skipped, detect.Skipped{Path: h.Path, Reason: err.Error(), Notice: true})
			continue
		}
		res.Files++
		res.Findings = append(res.Findings, detect.ScanHistory(h, data)...)
		clear(data)
	}
}

// isDotenv: files `envseal import` handles better (it writes .envseal too).
func isDotenv(path string) bool {
	b := filepath.Base(path)
	return b == ".env" || strings.HasPrefix(b, ".env.") || strings.HasSuffix(b, ".env")
}

// suggestName turns a finding into a secret name: its variable when it
// has one, else kind-line; with prefix.
func suggestName(f *detect.Finding, prefix string) string {
	base := f.Name
	if base == "" {
		base = f.Kind + "-" + strconv.Itoa(f.Line)
	}
	var b strings.Builder
	for _, c := range []byte(base) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b.WriteByte(c)
		}
	}
	name := prefix + b.String()
	if len(name) > 120 {
		name = name[:120]
	}
	return name
}

// scanItem is one value --import moves, with every place it occurs.
type scanItem struct {
	secret string
	value  []byte
	finds  []*detect.Finding
	stored bool
}

// scanImport moves the findings' values into the vault and out of their
// files, file by file. It returns how many findings it moved.
func (a *app) scanImport(findings []detect.Finding, prefix string, yes bool, pf *passphraseFlag) (int, error) {
	byPath := map[string][]*detect.Finding{}
	var paths []string
	for i := range findings {
		f := &findings[i]
		if isDotenv(f.Path) {
			continue
		}
		if len(f.Value()) == 0 {
			continue
		}
		if _, ok := byPath[f.Path]; !ok {
			paths = append(paths, f.Path)
		}
		byPath[f.Path] = append(byPath[f.Path], f)
	}
	dotenv := map[string]bool{}
	for _, f := range findings {
		if isDotenv(f.Path) && !dotenv[f.Path] {
			dotenv[f.Path] = true
			a.warnf("%s is a dotenv file: not rewritten; move its values with 'envseal import %s' (it also writes .envseal)", f.Path, f.Path)
		}
	}
	if len(paths) == 0 {
		return 0, nil
	}
	sort.Strings(paths)
	v, err := openVault()
	if err != nil {
		return 0, err
	}
	ents, err := v.List()
	if err != nil {
		return 0, err
	}
	taken := map[string]bool{}
	for _, e := range ents {
		taken[e.Name] = true
	}

	// Name every distinct value before anything changes.
	var tty *term.TTY
	if !yes {
		if tty, err = term.Open(); err != nil {
			return 0, withHint(err, "run from a terminal to choose names, or pass --yes to take the suggested ones")
		}
		defer tty.Close()
	}
	var items []*scanItem
	itemFor := map[*detect.Finding]*scanItem{}
	for _, p := range paths {
		for _, f := range byPath[p] {
			var it *scanItem
			for _, o := range items {
				if bytes.Equal(o.value, f.Value()) {
					it = o
				}
			}
			if it == nil {
				name, err := chooseName(tty, f, suggestName(f, prefix), taken)
				if err != nil {
					return 0, err
				}
				taken[name] = true
				it = &scanItem{secret: name, value: f.Value()}
				items = append(items, it)
			}
			it.finds = append(it.finds, f)
			itemFor[f] = it
		}
	}

	v, k, err := pf.unlock()
	if err != nil {
		return 0, err
	}
	defer k.Wipe()
	log := a.auditLog(v.Dir())
	moved := 0
	for _, p := range paths {
		var mine []*scanItem
		for _, f := range byPath[p] {
			it := itemFor[f]
			if !it.stored && !containsItem(mine, it) {
				mine = append(mine, it)
			}
		}
		err := a.moveFile(v, k, p, byPath[p], itemFor, mine, func(name string, gen uint64) {
			log.Event(k, audit.SecretStored, map[string]any{"secret": name, "generation": gen, "source": "scan"})
		}, func(name string) {
			log.Event(k, audit.SecretRevoked, map[string]any{"secret": name, "reason": "scan import rolled back"})
		})
		var ref *refusedFile
		if errors.As(err, &ref) {
			a.warnf("%s: not rewritten, nothing stored for it: %s; %s", ref.path, ref.why, ref.hint)
			continue
		}
		if err != nil {
			if moved > 0 {
				a.infof("moved %d values before this failure; those files are already rewritten", moved)
			}
			return moved, err
		}
		moved += len(byPath[p])
		var names []string
		for _, f := range byPath[p] {
			if n := itemFor[f].secret; !slicesContains(names, n) {
				names = append(names, n)
			}
		}
		a.infof("%s: moved %d values to the vault (%s)", p, len(byPath[p]), strings.Join(names, ", "))
	}
	return moved, nil
}

func containsItem(s []*scanItem, it *scanItem) bool {
	for _, x := range s {
		if x == it {
			return true
		}
	}
	return false
}

func slicesContains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// chooseName asks for a secret name on the terminal (tty nil: take the
// suggestion), refusing names that exist: import never replaces a secret.
func chooseName(tty *term.TTY, f *detect.Finding, suggested string, taken map[string]bool) (string, error) {
	free := func(n string) string {
		if !taken[n] {
			return n
		}
		for i := 2; ; i++ {
			if c := n + "-" + strconv.Itoa(i); !taken[c] {
				return c
			}
		}
	}
	def := free(suggested)
	if err := vault.ValidName(def); err != nil {
		def = free(f.Kind + "-" + strconv.Itoa(f.Line))
	}
	if tty == nil {
		return def, nil
	}
	for tries := 0; tries < 5; tries++ {
		b, err := tty.ReadHidden(fmt.Sprintf("Secret name for %s [%s]: ", f.String(), def))
		if err != nil {
			return "", err
		}
		name := strings.TrimSpace(string(b))
		if name == "" {
			name = def
		}
		if err := vault.ValidName(name); err != nil {
			tty.Printf("  %v\n", err)
			continue
		}
		if taken[name] {
			tty.Printf("  a secret named %s exists already; choose another name\n", name)
			continue
		}
		tty.Printf("  → %s\n", name)
		return name, nil
	}
	return "", withHint(errors.New("no usable secret name given"), "nothing was changed; pass --yes to take the suggested names")
}

// moveFile stores the values new to this file, then rewrites it with each
// value replaced by "[envseal:NAME]". A failure revokes what it stored.
func (a *app) moveFile(v *vault.Vault, k seal.Key, path string, finds []*detect.Finding, itemFor map[*detect.Finding]*scanItem,
	store []*scanItem, stored func(string, uint64), revoked func(string)) (err error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	data, err := detect.ReadFile(path, detect.MaxFileSize)
	if err != nil {
		return err
	}
	defer clear(data)
	for _, f := range finds {
		if !f.Matches(data) {
			return withHint(fmt.Errorf("%s changed since it was scanned", path), "run 'envseal scan --import' again; nothing was changed for this file")
		}
	}
	sort.Slice(finds, func(i, j int) bool { si, _ := finds[i].Span(); sj, _ := finds[j].Span(); return si < sj })
	// Every refusal (a file scan cannot rewrite into working code) comes
	// here, before anything is stored (scanref.go).
	lang := langOf(path, data)
	var refs []replacement
	secretOf := map[string]string{}
	last := 0
	for _, f := range finds {
		if s, _ := f.Span(); s < last {
			continue
		}
		r, err := referenceFor(lang, path, data, f, itemFor[f].secret)
		if err != nil {
			return err
		}
		if r.start < last {
			continue
		}
		refs = append(refs, r)
		last = r.end
		if r.env != "" {
			if prev, ok := secretOf[r.env]; ok && prev != itemFor[f].secret {
				return &refusedFile{path, "two secrets would be read from " + r.env, "choose distinct secret names"}
			}
			secretOf[r.env] = itemFor[f].secret
		}
	}
	var out bytes.Buffer
	last = 0
	for _, r := range refs {
		out.Write(data[last:r.start])
		out.WriteString(r.text)
		last = r.end
	}
	out.Write(data[last:])
	defer clear(out.Bytes())
	mapping, err := planMapping(filepath.Dir(path), path, refs, secretOf)
	if err != nil {
		return err
	}

	var done []*scanItem
	defer func() {
		if err == nil {
			return
		}
		var left []string
		for _, it := range done {
			if rerr := v.Revoke(k, it.secret); rerr != nil {
				left = append(left, it.secret)
			} else {
				it.stored = false
				revoked(it.secret)
			}
		}
		if len(left) > 0 {
			err = withHint(fmt.Errorf("%w; and undoing it failed for %s", err, strings.Join(left, ", ")), "'envseal revoke' those names, then scan --import again")
		} else if _, ok := err.(*exitErr); !ok {
			err = withHint(err, "the secrets stored for "+path+" were revoked; the file was not changed")
		}
	}()
	for _, it := range store {
		meta, err := v.Store(k, it.secret, it.value, vault.StoreOptions{})
		if err != nil {
			return fmt.Errorf("%s: store %s: %w", path, it.secret, err)
		}
		it.stored = true
		done = append(done, it)
		stored(it.secret, meta.Generation)
	}
	if mapping.new != nil {
		if err := writeFileAtomic(mapping.path, mapping.new, mapping.mode); err != nil {
			return err
		}
	}
	if err := writeFileAtomic(path, out.Bytes(), fi.Mode().Perm()); err != nil {
		if mapping.new != nil {
			if mapping.old != nil {
				writeFileAtomic(mapping.path, mapping.old, mapping.mode)
			} else {
				os.Remove(mapping.path)
			}
		}
		return err
	}
	if mapping.new != nil {
		a.infof("%s: the values are now read from the environment; added %s to %s", path, strings.Join(sortedKeys(secretOf), ", "), mapping.path)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
