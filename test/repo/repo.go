// Package repo finds the repository's root for the tests under test/ that
// read the tree as files (test/layers, test/comments).
package repo

import (
	"os"
	"path/filepath"
	"testing"
)

// Root is the repository's root seen from a package two levels below it
// (test/NAME, where go test runs a package's tests); it fails tb when
// there is no go.mod there.
func Root(tb testing.TB) string {
	tb.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		tb.Fatalf("repository root not found from %s: %v", root, err)
	}
	return root
}
