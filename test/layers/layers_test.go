// Package layers holds the test that keeps envseal's package house in the
// shape docs/ARCHITECTURE.md draws: every internal package sits on a layer
// and imports only packages on lower layers. A new package fails the test
// until it is given a layer here and a line in docs/ARCHITECTURE.md.
package layers

import (
	"fmt"
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/envseal/envseal/test/repo"
)

const module = "github.com/envseal/envseal/"

// layer of every package under internal/ and cmd/ (docs/ARCHITECTURE.md,
// "The layers"). A package may import a package of a strictly lower layer.
var layer = map[string]int{
	// 0: leaves — no envseal imports.
	"internal/sys":        0,
	"internal/secretname": 0,
	"internal/seal":       0,
	"internal/term":       0,
	"internal/childenv":   0,
	"internal/closure":    0,
	"internal/detect":     0,
	"internal/widen":      0,
	// 1: mechanisms with one job each.
	"internal/safefile":  1,
	"internal/redact":    1,
	"internal/exeseal":   1,
	"internal/sandbox":   1,
	"internal/approve":   1,
	"internal/envfile":   1,
	"internal/shellhook": 1,
	"internal/inject":    1,
	// 2: stores and checks built on them.
	"internal/vault":       2,
	"internal/policy":      2,
	"internal/audit":       2,
	"internal/totp":        2,
	"internal/mcpconfig":   2,
	"internal/guard":       3,
	"internal/moving":      3,
	"internal/backup":      3,
	"internal/listing":     3,
	"internal/runspec":     3,
	"internal/broker/wire": 3,
	// 4: the checkpoint — the one way a value leaves the vault.
	"internal/launch": 4,
	// 5: transports onto the checkpoint.
	"internal/broker/server": 5,
	"internal/broker/client": 5,
	"internal/demo":          5,
	// 6: clients of the transports.
	"internal/mcpserver": 6,
	"internal/githook":   6,
	// 7: the command line, and main.
	"internal/cli": 7,
	"cmd/envseal":  8,
}

// forbidden are edges that the layers alone would allow but the design
// does not (docs/ARCHITECTURE.md, "The layers": the edges the design
// forbids).
var forbidden = map[string][]string{
	// The vault classifies values (detect) but never scrubs or matches.
	"internal/vault": {"internal/redact"},
	// The sandbox is a mechanism: it knows nothing of rules or keys.
	"internal/sandbox": {"internal/policy", "internal/seal", "internal/vault", "internal/guard"},
	// The front ends reach the broker through its client; only the
	// command that starts the daemon (internal/cli, 'envseal broker')
	// imports the server.
	"internal/mcpserver": {"internal/broker/server"},
	"internal/githook":   {"internal/broker/server"},
}

// imports lists pkg's envseal imports (non-test files) for one GOOS.
func imports(t *testing.T, root, pkg, goos string) []string {
	t.Helper()
	ctx := build.Default
	ctx.GOOS = goos
	ctx.CgoEnabled = false
	p, err := ctx.ImportDir(filepath.Join(root, pkg), 0)
	if _, ok := err.(*build.NoGoError); ok {
		return nil
	}
	if err != nil {
		t.Fatalf("%s (GOOS=%s): %v", pkg, goos, err)
	}
	var out []string
	for _, imp := range p.Imports {
		if strings.HasPrefix(imp, module) {
			out = append(out, strings.TrimPrefix(imp, module))
		}
	}
	return out
}

// packages lists every directory under internal/ and cmd/ holding Go files.
func packages(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, top := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() {
				return nil
			}
			if d.Name() == "testdata" {
				return filepath.SkipDir
			}
			ms, _ := filepath.Glob(filepath.Join(p, "*.go"))
			if len(ms) > 0 {
				rel, _ := filepath.Rel(root, p)
				out = append(out, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(out)
	return out
}

// violations checks the edges of every package against layers and
// forbidden, for the operating systems envseal builds on.
func violations(t *testing.T, root string, layer map[string]int, forbidden map[string][]string) []string {
	var bad []string
	for _, pkg := range packages(t, root) {
		l, ok := layer[pkg]
		if !ok {
			bad = append(bad, fmt.Sprintf("%s has no layer: add it to docs/ARCHITECTURE.md and to this test", pkg))
			continue
		}
		seen := map[string]bool{}
		for _, goos := range []string{"linux", "darwin", "windows"} {
			for _, imp := range imports(t, root, pkg, goos) {
				if seen[imp] {
					continue
				}
				seen[imp] = true
				il, ok := layer[imp]
				switch {
				case !ok:
					bad = append(bad, fmt.Sprintf("%s imports %s, which has no layer", pkg, imp))
				case il >= l:
					bad = append(bad, fmt.Sprintf("%s (layer %d) imports %s (layer %d): a package may import only lower layers", pkg, l, imp, il))
				case slices.Contains(forbidden[pkg], imp):
					bad = append(bad, fmt.Sprintf("%s must not import %s (docs/ARCHITECTURE.md)", pkg, imp))
				}
			}
		}
	}
	return bad
}

func TestLayers(t *testing.T) {
	for _, v := range violations(t, repo.Root(t), layer, forbidden) {
		t.Error(v)
	}
}

// TestLayersCatchViolations is the control: the same check over the real
// tree with the layers moved so that known edges break must report them.
func TestLayersCatchViolations(t *testing.T) {
	root := repo.Root(t)
	moved := map[string]int{}
	for k, v := range layer {
		moved[k] = v
	}
	moved["internal/seal"] = 9 // everything that imports seal now points up
	delete(moved, "internal/term")
	bad := violations(t, root, moved, map[string][]string{"internal/launch": {"internal/vault"}})
	want := []string{
		"internal/vault (layer 2) imports internal/seal (layer 9)",
		"internal/term has no layer",
		"internal/approve imports internal/term, which has no layer",
		"internal/launch must not import internal/vault",
	}
	for _, w := range want {
		if !slices.ContainsFunc(bad, func(b string) bool { return strings.HasPrefix(b, w) }) {
			t.Errorf("control: the check did not report %q; it reported:\n%s", w, strings.Join(bad, "\n"))
		}
	}
}
