// Package checkpoint holds the deptest-style test (tailscale's
// tstest/deptest idea) of issue 16's "one checkpoint, enforced": it
// type-checks every package of the module with the compiler's export data
// (`go list -export`) and fails on a decryption or a checkpoint built
// outside internal/launch, or on sealed bytes opened outside the stores
// that own them.
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
	sealPkg   = module + "/internal/seal"
	policyPkg = module + "/internal/policy"
	totpPkg   = module + "/internal/totp"
)

// decrypting are the vault's methods that hand out a plaintext value.
var decrypting = []string{"Get"}

// mayDecrypt are the packages allowed to call them and to build a
// launch.Checkpoint: the checkpoint itself and the vault.
var mayDecrypt = []string{launchPkg, vaultPkg}

// opening are seal's functions that open sealed bytes (AEAD open, key
// unwrap): whoever calls them holds a plaintext.
var opening = []string{"Open", "UnwrapKey"}

// mayOpen are the packages allowed to call them: the stores that own a
// sealed file, each under its own subkey — the vault (secret values,
// master.key, backups), the policy (policy.seal, the rules) and the second
// factor (totp.seal, its seed). launch decrypts through the vault.
var mayOpen = []string{vaultPkg, policyPkg, totpPkg}

// valueDomains are the subkey domains whose keys open secret values (and
// archives of them); only the vault names them, so a store allowed to
// open its own file cannot derive the key of a value.
var valueDomains = []string{"DomainSecret", "DomainBackup"}

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
// enforced") for package pkg: outside launch and vault, nothing calls (or
// takes the method value of) a decrypting method of vault.Vault, builds a
// launch.Checkpoint by hand (a composite literal or new), or sets a field
// of one after New made it; outside the stores of mayOpen nothing calls
// (or takes) seal.Open or seal.UnwrapKey; outside the vault nothing names
// the subkey domain of secret values or backups.
func checkpointViolations(pkg string, fset *token.FileSet, files []*ast.File, info *types.Info) []string {
	var out []string
	report := func(n ast.Node, format string, args ...any) {
		out = append(out, fmt.Sprintf("%s: %s", fset.Position(n.Pos()), fmt.Sprintf(format, args...)))
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				obj := info.Uses[n.Sel]
				if obj == nil || obj.Pkg() == nil {
					break
				}
				fn, isFunc := obj.(*types.Func)
				var sig *types.Signature
				if isFunc {
					sig, _ = fn.Type().(*types.Signature)
				}
				switch from := obj.Pkg().Path(); {
				case from == vaultPkg && isFunc && sig != nil && sig.Recv() != nil && slices.Contains(decrypting, obj.Name()) && !slices.Contains(mayDecrypt, pkg):
					report(n, "calls vault.(*Vault).%s: only internal/launch decrypts (launch.New(...).Run / ScanValues / Readable)", obj.Name())
				case from == sealPkg && isFunc && sig != nil && sig.Recv() == nil && slices.Contains(opening, obj.Name()) && !slices.Contains(mayOpen, pkg):
					report(n, "calls seal.%s: only the stores that own a sealed file open one (vault, policy, totp); values come through launch", obj.Name())
				case from == sealPkg && slices.Contains(valueDomains, obj.Name()) && pkg != vaultPkg:
					report(n, "names seal.%s: only internal/vault derives the key of secret values", obj.Name())
				}
			case *ast.CompositeLit:
				if slices.Contains(mayDecrypt, pkg) {
					break
				}
				if tv, ok := info.Types[n]; ok && isCheckpoint(tv.Type) {
					report(n, "builds a launch.Checkpoint with a composite literal: use launch.New(launch.Config{...})")
				}
			case *ast.CallExpr:
				if slices.Contains(mayDecrypt, pkg) {
					break
				}
				if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "new" && len(n.Args) == 1 {
					if _, isBuiltin := info.Uses[id].(*types.Builtin); isBuiltin {
						if tv, ok := info.Types[n.Args[0]]; ok && isCheckpoint(tv.Type) {
							report(n, "builds a launch.Checkpoint with new: use launch.New(launch.Config{...})")
						}
					}
				}
			case *ast.AssignStmt:
				if slices.Contains(mayDecrypt, pkg) {
					break
				}
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
// launch.New; no other package of the module decrypts, and only the
// stores open their own sealed files.
func TestOneCheckpoint(t *testing.T) {
	checked := 0
	for _, p := range goList(t) {
		if p.Standard || !strings.HasPrefix(p.ImportPath, module+"/") || p.ImportPath == sealPkg || len(p.GoFiles) == 0 {
			continue
		}
		fset, files, info := typeCheck(t, p.ImportPath, moduleFiles(p))
		for _, v := range checkpointViolations(p.ImportPath, fset, files, info) {
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
	got := checkpointViolations(module+"/test/checkpoint/testdata/bad", fset, asts, info)
	want := []string{
		"bad.go:13:", // v.Get
		"bad.go:16:", // method value v.Get
		"bad.go:20:", // &launch.Checkpoint{}
		"bad.go:21:", // new(launch.Checkpoint)
		"bad.go:23:", // cp.Vault = v
		"bad.go:30:", // seal.DomainSecret
		"bad.go:31:", // seal.Open
		"bad.go:33:", // method value seal.Open
		"bad.go:34:", // seal.UnwrapKey
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

// TestOneCheckpointAllowList: the allow lists mean what they say. The
// policy store's own sources open policy.seal (allowed there); the same
// sources checked as another package are reported, and a store allowed to
// open its file still may not decrypt a value or name its domain
// (testdata/bad checked as the policy package).
func TestOneCheckpointAllowList(t *testing.T) {
	var pol listed
	for _, p := range goList(t) {
		if p.ImportPath == policyPkg {
			pol = p
		}
	}
	if pol.ImportPath == "" {
		t.Fatal("internal/policy not listed")
	}
	fset, files, info := typeCheck(t, policyPkg, moduleFiles(pol))
	if v := checkpointViolations(policyPkg, fset, files, info); len(v) != 0 {
		t.Errorf("policy as itself: %v", v)
	}
	v := checkpointViolations(module+"/internal/other", fset, files, info)
	if len(v) == 0 || !slices.ContainsFunc(v, func(s string) bool { return strings.Contains(s, "calls seal.Open") }) {
		t.Errorf("policy's sources as another package: %v, want a seal.Open violation", v)
	}
	bad, _ := filepath.Glob(filepath.Join("testdata", "bad", "*.go"))
	fset, asts, info := typeCheck(t, module+"/test/checkpoint/testdata/bad", bad)
	got := checkpointViolations(policyPkg, fset, asts, info)
	var kinds []string
	for _, g := range got {
		switch {
		case strings.Contains(g, "calls seal."):
			t.Errorf("policy may open sealed bytes, reported: %s", g)
		case strings.Contains(g, "vault.(*Vault).Get"):
			kinds = append(kinds, "get")
		case strings.Contains(g, "DomainSecret"):
			kinds = append(kinds, "domain")
		}
	}
	if !slices.Contains(kinds, "get") || !slices.Contains(kinds, "domain") {
		t.Errorf("testdata/bad as policy: %v, want vault.Get and DomainSecret reported", got)
	}
}
