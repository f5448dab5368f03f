package moving

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/envseal/envseal/internal/childenv"
	"github.com/envseal/envseal/internal/detect"
	"github.com/envseal/envseal/internal/envfile"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

// MovedComment ends each line whose value import took: the key stays so a
// reader of the file sees where the value went, the value does not.
const MovedComment = " # moved to envseal: secret "

// Select is which variables move: by default those detect.Classify calls
// secret; All every non-empty one; Only exactly those named; Except never
// those named.
type Select struct {
	All          bool
	Only, Except []string
}

// Check refuses a selection that contradicts itself.
func (s Select) Check() error {
	if s.All && len(s.Only) > 0 {
		return withHint(errors.New("--all and --only exclude each other"), "use one of them (--except works with either)")
	}
	for _, n := range append(slices.Clone(s.Only), s.Except...) {
		if slices.Contains(s.Only, n) && slices.Contains(s.Except, n) {
			return withHint(fmt.Errorf("%s is named by both --only and --except", n), "name it in one of them")
		}
	}
	return nil
}

// pick says whether kv moves, and why (for the table).
func (s Select) pick(kv envfile.KV) (bool, string) {
	secret, why := detect.Classify(kv.Key, kv.Value)
	switch {
	case len(kv.Value) == 0:
		return false, detect.WhyEmpty
	case slices.Contains(s.Except, kv.Key):
		return false, "--except"
	case len(s.Only) > 0:
		if slices.Contains(s.Only, kv.Key) {
			return true, "--only"
		}
		return false, "not named by --only"
	case s.All && !secret:
		return true, "--all (" + why + ")"
	}
	return secret, why
}

// Item is one value to move: the variable, and the secret it becomes.
type Item struct {
	KV     envfile.KV
	Secret string
}

// Row is one variable of the file, moved or not, and why: never a value.
type Row struct {
	Line     int
	Key, Why string
	Move     bool
	Secret   string
}

// DotenvPlan is everything import will do to a dotenv file, computed
// before any change so that every refusal happens while nothing has been
// touched.
type DotenvPlan struct {
	Path    string
	Items   []Item
	Rows    []Row
	Rewrite []byte // the file without the imported values
	// Mapping is the new .envseal: the old one and a line per item.
	Mapping []byte

	orig    []byte // the file as read; compared again before it is replaced
	mode    fs.FileMode
	mapping *mappingFile
}

// Wipe clears the values the plan holds.
func (p *DotenvPlan) Wipe() {
	clear(p.orig)
	for _, it := range p.Items {
		clear(it.KV.Value)
	}
}

// PlanDotenv reads the dotenv file at path and plans moving the values
// sel picks into secrets named prefix+KEY, mapped in envsealPath.
func PlanDotenv(path, prefix, envsealPath string, sel Select) (*DotenvPlan, error) {
	data, mode, err := readRegular(path)
	if err != nil {
		return nil, err
	}
	p := &DotenvPlan{Path: path, orig: data, mode: mode}
	ok := false
	defer func() {
		if !ok {
			p.Wipe()
		}
	}()
	kvs, err := envfile.ParseDotEnv(bytes.NewReader(data), path)
	if err != nil {
		if errors.Is(err, envfile.ErrDuplicate) {
			return nil, withHint(err, "keep one definition of the variable in the file; nothing was changed")
		}
		return nil, withHint(err, "fix that line; nothing was changed")
	}
	if p.Items, p.Rows, err = nameItems(path, prefix, kvs, sel); err != nil {
		return nil, err
	}
	if p.Rewrite, err = blankValues(data, p.Items); err != nil {
		return nil, err
	}
	if err := p.planMapping(envsealPath); err != nil {
		return nil, err
	}
	ok = true
	return p, nil
}

// nameItems pairs each value sel picks with its secret name and refuses,
// with the line, a variable a secret may not be delivered as. rows has one
// entry per variable, moved or not, for the table.
func nameItems(path, prefix string, kvs []envfile.KV, sel Select) (items []Item, rows []Row, err error) {
	seen := map[string]int{}
	have := map[string]bool{}
	for _, kv := range kvs {
		have[kv.Key] = true
	}
	for _, n := range append(slices.Clone(sel.Only), sel.Except...) {
		if !have[n] {
			return nil, nil, withHint(fmt.Errorf("%s has no variable %s", path, n), "name variables the file assigns; nothing was changed")
		}
	}
	for _, kv := range kvs {
		move, why := sel.pick(kv)
		row := Row{Line: kv.Line, Key: kv.Key, Why: why, Move: move}
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
		items = append(items, Item{KV: kv, Secret: name})
		row.Secret = name
		rows = append(rows, row)
	}
	return items, rows, nil
}

// blankValues returns data with each imported assignment (all its lines,
// for a multi-line quoted value) replaced by "KEY= # moved to envseal:
// secret NAME". Everything else, comments and line endings included, is
// kept byte for byte. The result is parsed again and must hold exactly the
// same keys with the imported ones empty: a wrong span would otherwise
// leave part of a value behind.
func blankValues(data []byte, items []Item) ([]byte, error) {
	byLine := map[int]Item{}
	for _, it := range items {
		byLine[it.KV.Line] = it
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
			return nil, fmt.Errorf("%s: line %d: no '=' where the parser found one", it.KV.Key, i+1)
		}
		end := valueEnd(lines, i, eq+1)
		out.Write(lines[i][:eq+1])
		out.WriteString(MovedComment + it.Secret)
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

func checkRewrite(orig, res []byte, items []Item) error {
	before, err := envfile.ParseDotEnv(bytes.NewReader(orig), "before")
	if err != nil {
		return err
	}
	defer wipeKVs(before)
	after, err := envfile.ParseDotEnv(bytes.NewReader(res), "after")
	if err != nil {
		return fmt.Errorf("rewritten file does not parse (%v): refusing to change it", errors.Unwrap(err))
	}
	defer wipeKVs(after)
	moved := map[string]bool{}
	for _, it := range items {
		moved[it.KV.Key] = true
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

func wipeKVs(kvs []envfile.KV) {
	for _, kv := range kvs {
		clear(kv.Value)
	}
}

// planMapping reads the existing mapping file, if any, and appends one
// line per imported variable. A variable already mapped is refused: which
// secret it should get would be a guess.
func (p *DotenvPlan) planMapping(envsealPath string) error {
	m, err := readMapping(envsealPath)
	if err != nil {
		return err
	}
	existing, err := m.mappings()
	if err != nil {
		return withHint(err, "fix the mapping file first; nothing was changed")
	}
	mapped := map[string]int{}
	for _, e := range existing {
		mapped[e.Env] = e.Line
	}
	var add []envfile.Mapping
	for _, it := range p.Items {
		if line, dup := mapped[it.KV.Key]; dup {
			return withHint(fmt.Errorf("%s:%d: %s is already mapped", envsealPath, line, it.KV.Key),
				"remove that line from the mapping file (or use --envseal-file); nothing was changed")
		}
		add = append(add, envfile.Mapping{Env: it.KV.Key, Secret: it.Secret})
	}
	p.mapping = m
	p.Mapping, err = m.with("imported from "+filepath.Base(p.Path)+" by envseal import", add)
	return err
}

// CheckVault refuses names that already exist: import never replaces a
// secret, and a rollback must only ever delete what this import created.
func (p *DotenvPlan) CheckVault(v Lister) error {
	have, err := secretNames(v)
	if err != nil {
		return err
	}
	var clash []string
	for _, it := range p.Items {
		if have[it.Secret] {
			clash = append(clash, it.Secret)
		}
	}
	if len(clash) > 0 {
		return withHint(fmt.Errorf("secrets already in the vault: %s", strings.Join(clash, ", ")),
			"import under other names with --prefix, or 'envseal revoke' them first; nothing was changed")
	}
	return nil
}

// Apply stores every value, then writes the mapping, then replaces the
// file (left as it is with keep), all or nothing (Tx).
func (p *DotenvPlan) Apply(st Store, k seal.Key, keep bool, stored func(secret string, gen uint64), revoked func(secret string)) error {
	tx := &Tx{Stored: stored, Revoked: revoked, Writes: []Write{p.mapping.write(p.Mapping)}}
	for _, it := range p.Items {
		tx.Values = append(tx.Values, Value{Secret: it.Secret, Value: it.KV.Value, Where: fmt.Sprintf("%s:%d", p.Path, it.KV.Line)})
	}
	if !keep {
		tx.Writes = append(tx.Writes, Write{Path: p.Path, Data: p.Rewrite, Mode: p.mode, Old: p.orig, Unchanged: p.orig})
	}
	return hinted(tx.Apply(st, k), "import", "the secrets stored so far were revoked; nothing was changed")
}
