// Package checkpoint holds the deptest-style test (tailscale's
// tstest/deptest idea) of issue 16's "one checkpoint, enforced": it
// type-checks every package of the module with the compiler's export data
// (`go list -export`) and fails on a decryption or a checkpoint built
// outside internal/launch.
package checkpoint

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

const (
	module    = "github.com/envseal/envseal"
	launchPkg = module + "/internal/launch"
	vaultPkg  = module + "/internal/vault"
)

// decrypting are the vault's methods that hand out a plaintext value.
var decrypting = []string{"Get"}

// mayDecrypt are the packages allowed to call them and to build a
// launch.Checkpoint: the checkpoint itself and the vault.
var mayDecrypt = []string{launchPkg, vaultPkg}

type listed struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Export     string
	Imports    []string
	Standard   bool
}

var (
	listOnce sync.Once
	listPkgs []listed
	listErr  error
)

// goList lists the module's packages and their dependencies with export
// data (the build cache's compiled packages).
func goList(t *testing.T) []listed {
	t.Helper()
	listOnce.Do(func() {
		root, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			listErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		cmd := exec.Command("go", "list", "-deps", "-export", "-json=ImportPath,Dir,GoFiles,Export,Imports,Standard", "./...")
		cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			listErr = fmt.Errorf("go list: %w", err)
			return
		}
		dec := json.NewDecoder(strings.NewReader(string(out)))
		for {
			var p listed
			if err := dec.Decode(&p); err == io.EOF {
				break
			} else if err != nil {
				listErr = err
				return
			}
			listPkgs = append(listPkgs, p)
		}
	})
	if listErr != nil {
		t.Fatal(listErr)
	}
	return listPkgs
}

// typeCheck parses files (the package's non-test sources) and type-checks
// them against the export data of their imports.
func typeCheck(t *testing.T, path string, files []string) (*token.FileSet, []*ast.File, *types.Info) {
	t.Helper()
	exports := map[string]string{}
	for _, p := range goList(t) {
		exports[p.ImportPath] = p.Export
	}
	fset := token.NewFileSet()
	var asts []*ast.File
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		asts = append(asts, af)
	}
	imp := importer.ForCompiler(fset, "gc", func(p string) (io.ReadCloser, error) {
		e, ok := exports[p]
		if !ok || e == "" {
			return nil, fmt.Errorf("no export data for %s", p)
		}
		return os.Open(e)
	})
	info := &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Uses:       map[*ast.Ident]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
	}
	conf := types.Config{Importer: imp}
	if _, err := conf.Check(path, fset, asts, info); err != nil {
		t.Fatalf("type-check %s: %v", path, err)
	}
	return fset, asts, info
}

// isCheckpoint reports whether t is launch.Checkpoint or a pointer to it.
func isCheckpoint(t types.Type) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := t.(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == launchPkg && n.Obj().Name() == "Checkpoint"
}

// checkpointViolations is the rule of issue 16 ("one checkpoint,
// enforced"): outside launch and vault, nothing calls (or takes the
// method value of) a decrypting method of vault.Vault, builds a
// launch.Checkpoint by hand (a composite literal or new), or sets a
// field of one after New made it.
func checkpointViolations(fset *token.FileSet, files []*ast.File, info *types.Info) []string {
	var out []string
	report := func(n ast.Node, format string, args ...any) {
		out = append(out, fmt.Sprintf("%s: %s", fset.Position(n.Pos()), fmt.Sprintf(format, args...)))
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				fn, ok := info.Uses[n.Sel].(*types.Func)
				if !ok || fn.Pkg() == nil || fn.Pkg().Path() != vaultPkg || !slices.Contains(decrypting, fn.Name()) {
					break
				}
				if sig, ok := fn.Type().(*types.Signature); ok && sig.Recv() != nil {
					report(n, "calls vault.(*Vault).%s: only internal/launch decrypts (launch.New(...).Run / ScanValues / Readable)", fn.Name())
				}
			case *ast.CompositeLit:
				if tv, ok := info.Types[n]; ok && isCheckpoint(tv.Type) {
					report(n, "builds a launch.Checkpoint with a composite literal: use launch.New(launch.Config{...})")
				}
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "new" && len(n.Args) == 1 {
					if _, isBuiltin := info.Uses[id].(*types.Builtin); isBuiltin {
						if tv, ok := info.Types[n.Args[0]]; ok && isCheckpoint(tv.Type) {
							report(n, "builds a launch.Checkpoint with new: use launch.New(launch.Config{...})")
						}
					}
				}
			case *ast.AssignStmt:
				for _, lhs := range n.Lhs {
					sel, ok := lhs.(*ast.SelectorExpr)
					if !ok {
						continue
					}
					if s, ok := info.Selections[sel]; ok && s.Kind() == types.FieldVal && isCheckpoint(s.Recv()) {
						report(sel, "sets launch.Checkpoint field %s after New: configure it in launch.Config", sel.Sel.Name)
					}
				}
			}
			return true
		})
	}
	return out
}

func moduleFiles(p listed) []string {
	var fs []string
	for _, f := range p.GoFiles {
		fs = append(fs, filepath.Join(p.Dir, f))
	}
	return fs
}

// TestOneCheckpoint: every path that decrypts or delivers a value (CLI
// run, broker run, MCP, the git hook's value scan) goes through
// launch.New; no other package of the module decrypts.
func TestOneCheckpoint(t *testing.T) {
	checked := 0
	for _, p := range goList(t) {
		if p.Standard || !strings.HasPrefix(p.ImportPath, module+"/") || slices.Contains(mayDecrypt, p.ImportPath) || len(p.GoFiles) == 0 {
			continue
		}
		fset, files, info := typeCheck(t, p.ImportPath, moduleFiles(p))
		for _, v := range checkpointViolations(fset, files, info) {
			t.Errorf("%s", v)
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("checked %d packages: the listing is wrong", checked)
	}
}

// TestOneCheckpointControl: the checker finds each kind of violation in
// testdata/bad, which breaks the rule on purpose, so TestOneCheckpoint's
// silence means something.
func TestOneCheckpointControl(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no control files: %v", err)
	}
	fset, asts, info := typeCheck(t, module+"/test/checkpoint/testdata/bad", files)
	got := checkpointViolations(fset, asts, info)
	want := []string{
		"bad.go:13:", // v.Get
		"bad.go:16:", // method value v.Get
		"bad.go:20:", // &launch.Checkpoint{}
		"bad.go:21:", // new(launch.Checkpoint)
		"bad.go:23:", // cp.Vault = v
	}
	sort.Strings(got)
	if len(got) != len(want) {
		t.Fatalf("control: %d violations, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i, w := range want {
		if !strings.Contains(got[i], w) {
			t.Errorf("control: violation %d = %s, want one at %s", i, got[i], w)
		}
	}
}
