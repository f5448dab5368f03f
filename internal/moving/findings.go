package moving

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/envseal/envseal/internal/detect"
	"github.com/envseal/envseal/internal/envfile"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

// IsDotenv: files `envseal import` handles better (it writes .envseal too).
func IsDotenv(path string) bool {
	b := filepath.Base(path)
	return b == ".env" || strings.HasPrefix(b, ".env.") || strings.HasSuffix(b, ".env")
}

// FreeName is the name to offer for f: suggested, or suggested-2, -3, …
// when taken; kind-line when suggested is not a valid secret name.
func FreeName(f *detect.Finding, suggested string, taken map[string]bool) string {
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
	return def
}

// Secret is one distinct value scan --import moves, with every place it
// occurs; Stored once a file's transaction has stored it.
type Secret struct {
	Name   string
	Value  []byte
	Finds  []*detect.Finding
	Stored bool
}

// Batch is the findings scan --import moves, by file and by value. The
// findings keep the values; the batch only points at them.
type Batch struct {
	Paths   []string // the files to rewrite, sorted
	Dotenv  []string // dotenv files found, left to 'envseal import'
	Secrets []*Secret

	byPath map[string][]*detect.Finding
	of     map[*detect.Finding]*Secret
}

// NewBatch groups findings by file, leaving out dotenv files and findings
// without a value.
func NewBatch(findings []detect.Finding) *Batch {
	b := &Batch{byPath: map[string][]*detect.Finding{}, of: map[*detect.Finding]*Secret{}}
	for i := range findings {
		f := &findings[i]
		if IsDotenv(f.Path) {
			if !slices.Contains(b.Dotenv, f.Path) {
				b.Dotenv = append(b.Dotenv, f.Path)
			}
			continue
		}
		if len(f.Value()) == 0 {
			continue
		}
		if _, ok := b.byPath[f.Path]; !ok {
			b.Paths = append(b.Paths, f.Path)
		}
		b.byPath[f.Path] = append(b.byPath[f.Path], f)
	}
	sort.Strings(b.Paths)
	return b
}

// Name gives every distinct value its secret, file by file: name is asked
// once per value, at its first finding.
func (b *Batch) Name(name func(f *detect.Finding) (string, error)) error {
	for _, p := range b.Paths {
		for _, f := range b.byPath[p] {
			var s *Secret
			for _, o := range b.Secrets {
				if bytes.Equal(o.Value, f.Value()) {
					s = o
				}
			}
			if s == nil {
				n, err := name(f)
				if err != nil {
					return err
				}
				s = &Secret{Name: n, Value: f.Value()}
				b.Secrets = append(b.Secrets, s)
			}
			s.Finds = append(s.Finds, f)
			b.of[f] = s
		}
	}
	return nil
}

// Finds is the findings in path.
func (b *Batch) Finds(path string) []*detect.Finding { return b.byPath[path] }

// Names is the secrets of path's findings, each once, in their order.
func (b *Batch) Names(path string) []string {
	var names []string
	for _, f := range b.byPath[path] {
		if n := b.of[f].Name; !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// FilePlan is the rewrite of one file and the secrets it stores first.
type FilePlan struct {
	Path string
	// Vars are the environment variables the rewritten program reads,
	// sorted, added to Mapping; none for a file given markers.
	Vars    []string
	Mapping string

	tx    Tx
	store map[string]*Secret
}

// PlanFile plans rewriting path with each value replaced: by a read of
// an environment variable in a program (mapped in the .envseal next to
// it), by "[envseal:NAME]" elsewhere. A file that cannot be rewritten into
// working code is a *RefusedError, before anything is stored.
func (b *Batch) PlanFile(path string) (*FilePlan, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := detect.ReadFile(path, detect.MaxFileSize)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	finds := b.byPath[path]
	for _, f := range finds {
		if !f.Matches(data) {
			return nil, withHint(fmt.Errorf("%s changed since it was scanned", path), "run 'envseal scan --import' again; nothing was changed for this file")
		}
	}
	p := &FilePlan{Path: path, store: map[string]*Secret{}}
	for _, f := range finds {
		if s := b.of[f]; !s.Stored && p.store[s.Name] == nil {
			p.store[s.Name] = s
			p.tx.Values = append(p.tx.Values, Value{Secret: s.Name, Value: s.Value, Where: path})
		}
	}
	refs, secretOf, err := b.references(path, data, finds)
	if err != nil {
		return nil, err
	}
	out := rewritten(data, refs)
	m, add, err := planMapping(path, refs, secretOf)
	if err != nil {
		clear(out.Bytes())
		return nil, err
	}
	if len(add) > 0 {
		b, err := m.with("for "+filepath.Base(path)+", by envseal scan --import", add)
		if err != nil {
			clear(out.Bytes())
			return nil, err
		}
		p.tx.Writes = append(p.tx.Writes, m.write(b))
		p.Mapping = m.path
		for env := range secretOf {
			p.Vars = append(p.Vars, env)
		}
		sort.Strings(p.Vars)
	}
	p.tx.Writes = append(p.tx.Writes, Write{Path: path, Data: out.Bytes(), Mode: fi.Mode().Perm()})
	return p, nil
}

// references are the replacements of finds in data (path's bytes), in
// order and not overlapping, and the secret each environment variable
// they read stands for.
func (b *Batch) references(path string, data []byte, finds []*detect.Finding) ([]replacement, map[string]string, error) {
	sort.Slice(finds, func(i, j int) bool { si, _ := finds[i].Span(); sj, _ := finds[j].Span(); return si < sj })
	lang := langOf(path, data)
	var refs []replacement
	secretOf := map[string]string{}
	last := 0
	for _, f := range finds {
		if s, _ := f.Span(); s < last {
			continue
		}
		secret := b.of[f].Name
		r, err := referenceFor(lang, path, data, f, secret)
		if err != nil {
			return nil, nil, err
		}
		if r.start < last {
			continue
		}
		refs = append(refs, r)
		last = r.end
		if r.env != "" {
			if prev, ok := secretOf[r.env]; ok && prev != secret {
				return nil, nil, &RefusedError{path, "two secrets would be read from " + r.env, "choose distinct secret names"}
			}
			secretOf[r.env] = secret
		}
	}
	return refs, secretOf, nil
}

// rewritten is data with every replacement made.
func rewritten(data []byte, refs []replacement) *bytes.Buffer {
	var out bytes.Buffer
	last := 0
	for _, r := range refs {
		out.Write(data[last:r.start])
		out.WriteString(r.text)
		last = r.end
	}
	out.Write(data[last:])
	return &out
}

// planMapping is what the .envseal next to file gains: ENV=secret for
// each variable refs read. A variable already mapped to another secret
// refuses the file: which one the program should get would be a guess.
func planMapping(file string, refs []replacement, secretOf map[string]string) (*mappingFile, []envfile.Mapping, error) {
	path := filepath.Join(filepath.Dir(file), envfile.FileName)
	m, err := readMapping(path)
	if err != nil {
		return nil, nil, &RefusedError{file, err.Error(), "fix " + path + " first"}
	}
	existing, err := m.mappings()
	if err != nil {
		return nil, nil, &RefusedError{file, err.Error(), "fix " + path + " first"}
	}
	mapped := map[string]string{}
	for _, e := range existing {
		mapped[e.Env] = e.Secret
	}
	var add []envfile.Mapping
	for _, r := range refs {
		if r.env == "" {
			continue
		}
		want := secretOf[r.env]
		if have, ok := mapped[r.env]; ok {
			if have != want {
				return nil, nil, &RefusedError{file, fmt.Sprintf("%s maps %s to secret %s already", path, r.env, have),
					"choose another secret name, or change that line of " + envfile.FileName}
			}
			continue
		}
		mapped[r.env] = want
		add = append(add, envfile.Mapping{Env: r.env, Secret: want})
	}
	return m, add, nil
}

// Apply stores the file's secrets not stored yet, then writes the
// mapping and the rewritten file, all or nothing (Tx).
func (p *FilePlan) Apply(st Store, k seal.Key, stored func(secret string, gen uint64), revoked func(secret string)) error {
	defer func() {
		for _, w := range p.tx.Writes {
			clear(w.Data)
		}
	}()
	p.tx.Stored = func(name string, gen uint64) {
		p.store[name].Stored = true
		stored(name, gen)
	}
	p.tx.Revoked = func(name string) {
		p.store[name].Stored = false
		revoked(name)
	}
	return hinted(p.tx.Apply(st, k), "scan --import", "the secrets stored for "+p.Path+" were revoked; the file was not changed")
}

// Moved is what Move did with one file: Refused (nothing stored for it,
// the file as it was), or its values moved into the vault (Plan says
// which variables the program now reads, and from which mapping file).
type Moved struct {
	Path    string
	Refused *RefusedError
	Plan    *FilePlan
	Finds   int      // the findings moved
	Names   []string // the secrets they went into
}

// Move plans and applies every file in turn, each all or nothing
// (PlanFile, Apply), telling report of each as it is done. A refused file
// is skipped; any other failure stops the move. moved counts the findings
// moved, also before a failure.
func (b *Batch) Move(st Store, k seal.Key, stored func(secret string, gen uint64), revoked func(secret string), report func(Moved)) (moved int, err error) {
	for _, p := range b.Paths {
		plan, err := b.PlanFile(p)
		if err == nil {
			err = plan.Apply(st, k, stored, revoked)
		}
		var ref *RefusedError
		if errors.As(err, &ref) {
			report(Moved{Path: p, Refused: ref})
			continue
		}
		if err != nil {
			return moved, err
		}
		n := len(b.Finds(p))
		moved += n
		report(Moved{Path: p, Plan: plan, Finds: n, Names: b.Names(p)})
	}
	return moved, nil
}
