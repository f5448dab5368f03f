package runspec

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/envseal/envseal/internal/policy"
)

func TestGrantsFromFlags(t *testing.T) {
	f := Flags{Secrets: []string{"api-key.v2", "TOKEN=gh"}, FileSecrets: []string{"CERT=tls"}, StdinSecret: "pw"}
	gs, err := f.Grants(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := []policy.Grant{
		{Secret: "api-key.v2", Delivery: policy.DeliverEnv, Env: "API_KEY_V2"},
		{Secret: "gh", Delivery: policy.DeliverEnv, Env: "TOKEN"},
		{Secret: "tls", Delivery: policy.DeliverFD, Env: "CERT"},
		{Secret: "pw", Delivery: policy.DeliverStdin},
	}
	if !slices.Equal(gs, want) {
		t.Errorf("Grants = %+v, want %+v", gs, want)
	}
	for _, bad := range []Flags{{Secrets: []string{"=x"}}, {FileSecrets: []string{"x"}}, {Templates: []string{"T="}}} {
		var se *SpecError
		if _, err := bad.Grants(t.TempDir()); !errors.As(err, &se) {
			t.Errorf("Grants(%+v) = %v, want a SpecError", bad, err)
		}
	}
}

func TestGrantsFromEnvseal(t *testing.T) {
	dir := t.TempDir()
	var none Flags
	if _, err := none.Grants(dir); !errors.Is(err, ErrNothingRequested) {
		t.Fatalf("no flags, no file: %v, want ErrNothingRequested", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".envseal"), []byte("# nothing\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := none.Grants(dir); !errors.Is(err, ErrNoGrants) {
		t.Fatalf("empty file: %v, want ErrNoGrants", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".envseal"), []byte("DB_URL=db\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o700)
	gs, err := none.Grants(sub)
	if err != nil || len(gs) != 1 || gs[0] != (policy.Grant{Secret: "db", Delivery: policy.DeliverEnv, Env: "DB_URL"}) {
		t.Fatalf("Grants from the parent's .envseal = %+v, %v", gs, err)
	}
	// Flags and --envseal-file: both.
	both := Flags{Secrets: []string{"A=a"}, EnvsealFile: filepath.Join(dir, ".envseal")}
	if gs, err := both.Grants(sub); err != nil || len(gs) != 2 {
		t.Fatalf("flags and --envseal-file = %+v, %v", gs, err)
	}
	// A symlinked .envseal is found but refused.
	link := filepath.Join(dir, "l")
	os.Mkdir(link, 0o700)
	os.Symlink(filepath.Join(dir, ".envseal"), filepath.Join(link, ".envseal"))
	var fe *FindError
	if _, err := none.Grants(link); !errors.As(err, &fe) {
		t.Fatalf("symlinked .envseal: %v, want a FindError", err)
	}
}

func TestCanonical(t *testing.T) {
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	os.Symlink(dir, filepath.Join(dir, "l"))
	got := Canonical(dir, []string{"l", "a/../b", "/x/./y"})
	want := []string{dir, filepath.Join(dir, "b"), "/x/y"}
	if !slices.Equal(got, want) {
		t.Errorf("Canonical = %q, want %q", got, want)
	}
	f := Flags{Templates: []string{"CFG=conf/app.tmpl"}}
	if ts := f.TemplateList(dir); len(ts) != 1 || ts[0] != (policy.Template{Env: "CFG", Path: filepath.Join(dir, "conf/app.tmpl")}) {
		t.Errorf("TemplateList = %+v", ts)
	}
}
