//go:build linux

package moving

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/envseal/envseal/internal/vault"
)

// TestPlanTableAndWeak: the table names every variable with what happens
// to it and no value; Secrets lists the stored names; Weak picks the ones
// the vault marked weak.
func TestPlanTableAndWeak(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".env")
	os.WriteFile(path, []byte("API_TOKEN=changeme\nDEBUG=1\n"), 0o600)
	p, err := PlanDotenv(path, "", filepath.Join(dir, ".envseal"), Select{Only: []string{"API_TOKEN"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Wipe()
	var b bytes.Buffer
	if err := p.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "moves to secret API_TOKEN") || !strings.Contains(lines[2], "stays in .env") {
		t.Fatalf("table:\n%s", b.String())
	}
	if strings.Contains(b.String(), "changeme") {
		t.Fatal("the table shows a value")
	}
	if got := p.Secrets(); !slices.Equal(got, []string{"API_TOKEN"}) {
		t.Fatalf("Secrets = %v", got)
	}
	v, k := testVault(t)
	v.Store(k, "API_TOKEN", []byte("changeme"), vault.StoreOptions{})
	v.Store(k, "STRONG", []byte("Zq8xV2nLk4Rw9TbY7uPc3HsJ6mFd1GeA"), vault.StoreOptions{})
	if got := Weak(v, []string{"API_TOKEN", "STRONG", "MISSING"}); !slices.Equal(got, []string{"API_TOKEN"}) {
		t.Errorf("Weak = %v, want API_TOKEN", got)
	}
}
