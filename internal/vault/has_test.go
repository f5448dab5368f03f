package vault

import (
	"os"
	"path/filepath"
	"testing"
)

// TestNamesAndHas: every listed name counts as taken, an unreadable one
// too (an import must not write over it).
func TestNamesAndHas(t *testing.T) {
	v, k := newVault(t)
	if _, err := v.Store(k, "API_KEY", []byte("value-api-key-1"), StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(v.Dir(), SecretsDir, "junk.seal"), []byte("garbage"), 0o600)
	taken, err := v.Names()
	if err != nil {
		t.Fatal(err)
	}
	if len(taken) != 2 || !taken["API_KEY"] || !taken["junk"] {
		t.Errorf("Names = %v, want API_KEY and junk", taken)
	}
	if !v.Has("API_KEY") || !v.Has("junk") || v.Has("OTHER") {
		t.Error("Has does not follow the stored names")
	}
}
