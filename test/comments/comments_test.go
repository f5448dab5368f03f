// Package comments holds the test that keeps envseal's comments true where
// they point at something: a comment that names a Go file (`spawn.go`,
// `internal/sandbox/pins_linux.go`), a test (`TestContainedRun`), a
// numbered kernel fact of docs/ARCHITECTURE.md, a document of docs/ (and
// the section it cites: docs/FORMAT.md, "audit.log") or a DESIGN document
// fails the test when the thing it names does not exist (issue 14:
// "every comment that names a file or a rule is true").
package comments

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/envseal/envseal/test/repo"
)

var (
	// goFileRE is a Go file's name, perhaps with a slash path before it.
	goFileRE = regexp.MustCompile(`(?:^|[^A-Za-z0-9_./*-])([A-Za-z0-9][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_.-]+)*\.go)\b`)
	// testRE is a test, benchmark or fuzz function's name; with a "*"
	// after it, a prefix of such names (TestFilter*).
	testRE = regexp.MustCompile(`\b((?:Test|Benchmark|Fuzz)[A-Z][A-Za-z0-9_]*)(\*?)`)
	// factRE is a citation of a kernel fact.
	factRE = regexp.MustCompile(`(?i)kernel\s+facts?\s+(\d+)`)
	// designRE is a citation of a design document: the repository has
	// docs/ARCHITECTURE.md and docs/THREAT_MODEL.md, not a DESIGN.
	designRE = regexp.MustCompile(`\bDESIGN(?:\.md)?\b`)
	// docRE is a document of the repository's, with the section a
	// comment may cite after it: docs/FORMAT.md, "audit.log" or
	// docs/THREAT_MODEL.md ("Known to fail").
	docRE = regexp.MustCompile(`\b((?:docs/[A-Za-z_]+|README)\.md)\b(?:,\s*|\s*\(\s*)?(?:"([^"]+)")?`)
	// numberedRE is an entry of the kernel facts' numbered list.
	numberedRE = regexp.MustCompile(`(?m)^(\d+)\. `)
)

// tree is what the comments may point at.
type tree struct {
	root  string
	files map[string]bool   // every file, by slash path from root
	tests map[string]bool   // every Test/Benchmark/Fuzz function (and subtest table name) in a _test.go file
	facts int               // the number of kernel facts
	docs  map[string]string // README.md and docs/*.md, by slash path from root
}

func load(t *testing.T, root string) *tree {
	t.Helper()
	tr := &tree{root: root, files: map[string]bool{}, tests: map[string]bool{}, docs: map[string]string{}}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == ".git" || (p != root && strings.HasPrefix(n, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		tr.files[filepath.ToSlash(rel)] = true
		if strings.HasSuffix(p, "_test.go") {
			f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			for _, decl := range f.Decls {
				if fd, ok := decl.(*ast.FuncDecl); ok && fd.Recv == nil {
					tr.tests[fd.Name.Name] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for f := range tr.files {
		if f == "README.md" || strings.HasPrefix(f, "docs/") && strings.HasSuffix(f, ".md") {
			b, err := os.ReadFile(filepath.Join(root, f))
			if err != nil {
				t.Fatal(err)
			}
			tr.docs[f] = string(b)
		}
	}
	s := tr.docs["docs/ARCHITECTURE.md"]
	if i := strings.Index(s, "## Kernel facts"); i >= 0 {
		s = s[i:]
		if j := strings.Index(s[3:], "\n## "); j >= 0 {
			s = s[:j+3]
		}
		for _, m := range numberedRE.FindAllStringSubmatch(s, -1) {
			if n, _ := strconv.Atoi(m[1]); n > tr.facts {
				tr.facts = n
			}
		}
	}
	return tr
}

// fileExists resolves a Go file named in a comment (text) of the file at
// dir (slash path from root): beside it, from the repository root, under
// internal/, or — a bare name — in another package that the comment
// names ("internal/approve (tty_unix.go)").
func (tr *tree) fileExists(dir, name, text string) bool {
	name = strings.TrimPrefix(name, "./")
	for _, p := range []string{dir + "/" + name, name, "internal/" + name} {
		if tr.files[filepath.ToSlash(filepath.Clean(p))] {
			return true
		}
	}
	if !strings.Contains(name, "/") {
		for f := range tr.files {
			if filepath.Base(f) != name {
				continue
			}
			pkg := filepath.ToSlash(filepath.Dir(f))
			if regexp.MustCompile(`\b` + regexp.QuoteMeta(filepath.Base(pkg)) + `\b`).MatchString(text) {
				return true
			}
		}
		return false
	}
	// A path below some package: pkg/file.go under internal/x/.
	for f := range tr.files {
		if strings.HasSuffix(f, "/"+name) {
			return true
		}
	}
	return false
}

// hasSection reports whether doc has a heading, or a paragraph led by a
// bold phrase, that starts with section (case and spacing aside).
func hasSection(doc, section string) bool {
	want := strings.ToLower(strings.Join(strings.Fields(section), " "))
	for _, line := range strings.Split(doc, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "#"):
			line = strings.TrimLeft(line, "# ")
		case strings.HasPrefix(line, "**"):
			line = strings.TrimPrefix(line, "**")
		default:
			continue
		}
		if strings.HasPrefix(strings.ToLower(line), want) {
			return true
		}
	}
	return false
}

// testExists reports whether a test function is called name (or, for a
// prefix, whether one's name starts with it).
func (tr *tree) testExists(name string, prefix bool) bool {
	if !prefix {
		return tr.tests[name]
	}
	for n := range tr.tests {
		if strings.HasPrefix(n, name) {
			return true
		}
	}
	return false
}

// check reports every comment of the Go files under dirs (slash paths
// from tr.root) that names something that is not there.
func (tr *tree) check(t *testing.T, dirs ...string) []string {
	t.Helper()
	var bad []string
	for f := range tr.files {
		if !strings.HasSuffix(f, ".go") || !slices.ContainsFunc(dirs, func(d string) bool { return strings.HasPrefix(f, d+"/") }) {
			continue
		}
		if strings.HasPrefix(f, "test/comments/") && !slices.Contains(dirs, "test/comments/testdata") {
			continue // this test's comments describe the rules; its control breaks them
		}
		fset := token.NewFileSet()
		af, err := parser.ParseFile(fset, filepath.Join(tr.root, f), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			continue // testdata that is not Go
		}
		dir := filepath.ToSlash(filepath.Dir(f))
		for _, cg := range af.Comments {
			text := cg.Text()
			at := fset.Position(cg.Pos())
			where := fmt.Sprintf("%s:%d", f, at.Line)
			for _, m := range goFileRE.FindAllStringSubmatch(text, -1) {
				if !tr.fileExists(dir, m[1], text) {
					bad = append(bad, fmt.Sprintf("%s: names %s, which does not exist", where, m[1]))
				}
			}
			for _, m := range testRE.FindAllStringSubmatch(text, -1) {
				if !tr.testExists(m[1], m[2] == "*") {
					bad = append(bad, fmt.Sprintf("%s: names %s, which no _test.go file defines", where, m[1]))
				}
			}
			for _, m := range factRE.FindAllStringSubmatch(text, -1) {
				if n, _ := strconv.Atoi(m[1]); n < 1 || n > tr.facts {
					bad = append(bad, fmt.Sprintf("%s: cites kernel fact %s; docs/ARCHITECTURE.md has %d", where, m[1], tr.facts))
				}
			}
			flat := strings.Join(strings.Fields(text), " ")
			for _, m := range docRE.FindAllStringSubmatch(flat, -1) {
				doc, ok := tr.docs[m[1]]
				switch {
				case !ok:
					bad = append(bad, fmt.Sprintf("%s: names %s, which does not exist", where, m[1]))
				case m[2] != "" && !hasSection(doc, m[2]):
					bad = append(bad, fmt.Sprintf("%s: cites section %q of %s, which has no such heading", where, m[2], m[1]))
				}
			}
			if designRE.MatchString(text) {
				bad = append(bad, fmt.Sprintf("%s: cites a DESIGN document, which is not in the repository (cite docs/ARCHITECTURE.md or docs/THREAT_MODEL.md)", where))
			}
		}
	}
	slices.Sort(bad)
	return bad
}

// TestCommentsPointAtRealThings: every comment in cmd/, internal/ and
// test/ that names a Go file, a test, a kernel fact or a DESIGN document
// names something that exists.
func TestCommentsPointAtRealThings(t *testing.T) {
	tr := load(t, repo.Root(t))
	if tr.facts < 5 || len(tr.tests) < 100 {
		t.Fatalf("%d kernel facts, %d tests: the tree was not read", tr.facts, len(tr.tests))
	}
	for _, b := range tr.check(t, "cmd", "internal", "test") {
		t.Error(b)
	}
}

// TestCommentsControl: testdata/bad/bad.go names one of each kind of
// thing that does not exist, beside one of each that does, and a file of
// another package without naming the package; the check reports exactly
// those seven.
func TestCommentsControl(t *testing.T) {
	tr := load(t, repo.Root(t))
	got := tr.check(t, "test/comments/testdata")
	want := []string{
		"names internal/launch/nosuch.go",
		"names TestNoSuchThing",
		"cites kernel fact 99",
		"cites a DESIGN document",
		"names tty_unix.go",
		"names docs/NOSUCH.md",
		`cites section "No such section" of docs/FORMAT.md`,
	}
	if len(got) != len(want) {
		t.Fatalf("control: %d findings, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.Contains(g, w) }) {
			t.Errorf("control: no finding %q in:\n%s", w, strings.Join(got, "\n"))
		}
	}
}

// docTests reports every test that doc (a Markdown file, shown as name)
// names and no _test.go file defines.
func (tr *tree) docTests(name, doc string) []string {
	var bad []string
	for i, line := range strings.Split(doc, "\n") {
		for _, m := range testRE.FindAllStringSubmatch(line, -1) {
			if !tr.testExists(m[1], m[2] == "*") {
				bad = append(bad, fmt.Sprintf("%s:%d: names %s, which no _test.go file defines", name, i+1, m[1]))
			}
		}
	}
	return bad
}

// TestDocsNameRealTests: every test README.md and docs/*.md name as the
// proof of a claim exists.
func TestDocsNameRealTests(t *testing.T) {
	tr := load(t, repo.Root(t))
	if len(tr.docs) < 4 {
		t.Fatalf("%d documents read", len(tr.docs))
	}
	for name, doc := range tr.docs {
		for _, b := range tr.docTests(name, doc) {
			t.Error(b)
		}
	}
	b, err := os.ReadFile(filepath.Join("testdata", "bad.md"))
	if err != nil {
		t.Fatal(err)
	}
	got := tr.docTests("bad.md", string(b))
	if len(got) != 1 || !strings.Contains(got[0], "TestNoSuchClaim") {
		t.Errorf("control testdata/bad.md: %v, want TestNoSuchClaim alone", got)
	}
}
