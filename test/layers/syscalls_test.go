package layers

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/envseal/envseal/test/repo"
)

// boundaryCalls are the calls whose errors decide whether envseal may
// touch a key: making the process non-dumpable and dropping core dumps.
// They live in internal/sys (Harden, SetDumpable), which returns their
// errors, so that every caller fails closed in one way.
var boundaryCalls = map[string][]string{
	"Prctl":     {"PR_SET_DUMPABLE", "PR_GET_DUMPABLE"},
	"Setrlimit": {"RLIMIT_CORE"},
}

// syscallFindings reports, for the Go files under dirs (tests and
// testdata aside unless dirs names a testdata tree), every hand-written
// EINTR check — interrupted calls go through sys.Retry/RetryErr, the one
// retry rule — and every dumpable/core-limit call made outside
// internal/sys.
func syscallFindings(t *testing.T, root string, dirs ...string) []string {
	t.Helper()
	var bad []string
	fset := token.NewFileSet()
	for _, d := range dirs {
		err := filepath.WalkDir(filepath.Join(root, d), func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if e.IsDir() {
				if rel == "internal/sys" || (e.Name() == "testdata" && !strings.Contains(d, "testdata")) {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, p, nil, 0)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.SelectorExpr:
					if x, ok := n.X.(*ast.Ident); ok && (x.Name == "unix" || x.Name == "syscall") && n.Sel.Name == "EINTR" {
						bad = append(bad, fmt.Sprintf("%s: checks %s.EINTR by hand: retry through sys.Retry or sys.RetryErr", fset.Position(n.Pos()), x.Name))
					}
				case *ast.CallExpr:
					sel, ok := n.Fun.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					x, ok := sel.X.(*ast.Ident)
					if !ok || (x.Name != "unix" && x.Name != "syscall") {
						return true
					}
					opts, watched := boundaryCalls[strings.TrimSuffix(sel.Sel.Name, "RetInt")]
					if !watched || len(n.Args) == 0 {
						return true
					}
					if a, ok := n.Args[0].(*ast.SelectorExpr); ok && slices.Contains(opts, a.Sel.Name) {
						bad = append(bad, fmt.Sprintf("%s: %s.%s(%s) outside internal/sys: use sys.Harden, sys.SetDumpable or sys.Dumpable, which fail closed", fset.Position(n.Pos()), x.Name, sel.Sel.Name, a.Sel.Name))
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, b := range bad {
		if r, err := filepath.Rel(root, strings.SplitN(b, ":", 2)[0]); err == nil {
			bad[i] = r + ":" + strings.SplitN(b, ":", 2)[1]
		}
	}
	return bad
}

// TestOneSyscallBoundary: EINTR is retried in one place (internal/sys),
// and the hardening calls are made only there (docs/ARCHITECTURE.md, "The
// layers": sys is layer 0).
func TestOneSyscallBoundary(t *testing.T) {
	for _, b := range syscallFindings(t, repo.Root(t), "cmd", "internal") {
		t.Error(b)
	}
}

// TestOneSyscallBoundaryControl: testdata/syscalls has one of each.
func TestOneSyscallBoundaryControl(t *testing.T) {
	got := syscallFindings(t, repo.Root(t), "test/layers/testdata/syscalls")
	want := []string{"checks unix.EINTR by hand", "checks syscall.EINTR by hand", "unix.Prctl(PR_SET_DUMPABLE)", "unix.Setrlimit(RLIMIT_CORE)"}
	if len(got) != len(want) {
		t.Fatalf("control: %d findings, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.Contains(g, w) }) {
			t.Errorf("control: no finding %q in:\n%s", w, strings.Join(got, "\n"))
		}
	}
}
