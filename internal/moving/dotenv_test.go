//go:build linux

package moving

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envseal/envseal/internal/envfile"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

func moved(name string) string { return MovedComment + name }

// importCases is the corpus of tricky dotenv files. want maps secret name
// to value; rewrite is FILE afterwards; err is a substring of the refusal.
var importCases = []struct {
	name    string
	prefix  string
	in      string
	want    map[string]string
	order   []string // secret names in file order (for the mapping)
	rewrite string
	skipped []string
	err     string
}{
	{
		name:    "basic",
		in:      "# settings\nexport A=one\nB = 'two words' # note\nC=\"x\\ny\\t\\\"q\\\"\"\n\nEMPTY=\nD=a#b\n",
		want:    map[string]string{"A": "one", "B": "two words", "C": "x\ny\t\"q\"", "D": "a#b"},
		order:   []string{"A", "B", "C", "D"},
		rewrite: "# settings\nexport A=" + moved("A") + "\nB =" + moved("B") + "\nC=" + moved("C") + "\n\nEMPTY=\nD=" + moved("D") + "\n",
		skipped: []string{"EMPTY"},
	},
	{
		name:    "multi-line values",
		in:      "K='line1\nline2 \"x\" # not a comment\n'\n# keep me\nJ=\"a\\\"b\nc\" # trailing\nX=1\n",
		want:    map[string]string{"K": "line1\nline2 \"x\" # not a comment\n", "J": "a\"b\nc", "X": "1"},
		order:   []string{"K", "J", "X"},
		rewrite: "K=" + moved("K") + "\n# keep me\nJ=" + moved("J") + "\nX=" + moved("X") + "\n",
	},
	{
		name:    "backslash-newline in double quotes",
		in:      "A=\"x\\\ny\"\nB=2\n",
		want:    map[string]string{"A": "x\\\ny", "B": "2"},
		order:   []string{"A", "B"},
		rewrite: "A=" + moved("A") + "\nB=" + moved("B") + "\n",
	},
	{
		name:    "single quotes are literal",
		in:      `A='a\"b\n'` + "\n",
		want:    map[string]string{"A": `a\"b\n`},
		order:   []string{"A"},
		rewrite: "A=" + moved("A") + "\n",
	},
	{
		name:    "CRLF",
		in:      "# c\r\nA=one\r\nB=\"two\r\nlines\"\r\nC = spaced value  \r\n",
		want:    map[string]string{"A": "one", "B": "two\nlines", "C": "spaced value"},
		order:   []string{"A", "B", "C"},
		rewrite: "# c\r\nA=" + moved("A") + "\r\nB=" + moved("B") + "\r\nC =" + moved("C") + "\r\n",
	},
	{
		name:    "no trailing newline and a BOM",
		in:      "\xEF\xBB\xBFA=1\nB=b=c",
		want:    map[string]string{"A": "1", "B": "b=c"},
		order:   []string{"A", "B"},
		rewrite: "\xEF\xBB\xBFA=" + moved("A") + "\nB=" + moved("B"),
	},
	{
		name:    "prefix",
		prefix:  "app.",
		in:      "_X=1\nY=2\n",
		want:    map[string]string{"app._X": "1", "app.Y": "2"},
		order:   []string{"app._X", "app.Y"},
		rewrite: "_X=" + moved("app._X") + "\nY=" + moved("app.Y") + "\n",
	},
	{name: "only empty values", in: "A=\nB=''\nC=\"\" # c\n", skipped: []string{"A", "B", "C"}, rewrite: "A=\nB=''\nC=\"\" # c\n"},
	{name: "duplicate", in: "A=1\nB=2\nA=3\n", err: "dotenv:3: A defined twice (first on line 1)"},
	{name: "invalid name", in: "A=1\n1A=x\n", err: "dotenv:2: invalid variable name"},
	{name: "not an assignment", in: "A=1\njust some text\n", err: "dotenv:2: expected KEY=value"},
	{name: "injection name", in: "OK=1\nLD_PRELOAD=/x.so\n", err: "dotenv:2: environment variable LD_PRELOAD: loader or interpreter injection"},
	{name: "reserved name", in: "ENVSEAL_HOME=/x\n", err: "dotenv:1: environment variable ENVSEAL_HOME: reserved"},
	{name: "leading underscore needs a prefix", in: "_X=1\n", err: `dotenv:1: secret name "_X" for _X`},
	{name: "unterminated", in: "A='x\nB=2\n", err: "dotenv:1: A: unterminated single-quoted value"},
	{name: "text after quote", in: "A='x' y\n", err: "dotenv:1: A: unexpected text after the closing quote"},
}

func TestImportCorpus(t *testing.T) {
	for _, tc := range importCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "dotenv")
			if err := os.WriteFile(path, []byte(tc.in), 0o600); err != nil {
				t.Fatal(err)
			}
			p, err := PlanDotenv(path, tc.prefix, filepath.Join(dir, ".envseal"), Select{All: true})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var skipped []string
			for _, r := range p.Rows {
				if !r.Move {
					skipped = append(skipped, r.Key)
				}
			}
			if strings.Join(skipped, ",") != strings.Join(tc.skipped, ",") {
				t.Errorf("skipped %v, want %v", skipped, tc.skipped)
			}
			var names []string
			for _, it := range p.Items {
				names = append(names, it.Secret)
				if want, ok := tc.want[it.Secret]; !ok || want != string(it.KV.Value) {
					t.Errorf("secret %s: wrong value (lengths %d, want %d)", it.Secret, len(it.KV.Value), len(want))
				}
			}
			if strings.Join(names, ",") != strings.Join(tc.order, ",") {
				t.Errorf("secrets %v, want %v", names, tc.order)
			}
			if string(p.Rewrite) != tc.rewrite {
				t.Errorf("rewrite =\n%q\nwant\n%q", p.Rewrite, tc.rewrite)
			}
			if len(p.Items) == 0 {
				return
			}
			ms, err := envfile.Parse(bytes.NewReader(p.Mapping), ".envseal")
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range ms {
				if m.Secret != tc.order[i] || tc.prefix+m.Env != m.Secret {
					t.Errorf("mapping %d = %s=%s", i, m.Env, m.Secret)
				}
			}

			// Apply for real: every value is in the vault and FILE has none.
			v, k := testVault(t)
			if err := p.CheckVault(v); err != nil {
				t.Fatal(err)
			}
			if err := p.Apply(v, k, false, nil, nil); err != nil {
				t.Fatal(err)
			}
			for name, want := range tc.want {
				got, _, err := v.Get(k, name)
				if err != nil {
					t.Fatalf("get %s: %v", name, err)
				}
				if string(got) != want {
					t.Errorf("stored %s differs from the file's value", name)
				}
			}
			if b, _ := os.ReadFile(path); string(b) != tc.rewrite {
				t.Errorf("FILE after import = %q", b)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, ".envseal")); !bytes.Equal(b, p.Mapping) {
				t.Errorf(".envseal after import = %q", b)
			}
		})
	}
}

func testVault(t *testing.T) (*vault.Vault, seal.Key) {
	t.Helper()
	v, k, err := vault.Create(filepath.Join(t.TempDir(), "vault"), []byte("pw"), seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Wipe)
	return v, k
}

// failingStore fails the n-th Store (1-based).
type failingStore struct {
	*vault.Vault
	n, calls int
}

var errInjected = errors.New("injected store failure")

func (f *failingStore) Store(k seal.Key, name string, value []byte, o vault.StoreOptions) (vault.Meta, error) {
	f.calls++
	if f.calls == f.n {
		return vault.Meta{}, errInjected
	}
	return f.Vault.Store(k, name, value, o)
}

func listNames(t *testing.T, v *vault.Vault) string {
	t.Helper()
	ents, err := v.List()
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range ents {
		n = append(n, e.Name)
	}
	return strings.Join(n, ",")
}

// A failure halfway leaves FILE, the mapping file and the vault as they
// were: at the second store, and after every store (FILE edited meanwhile).
func TestImportAllOrNothing(t *testing.T) {
	const in = "A=1\nB=2\nC=3\n"
	const oldMap = "OTHER=other\n"
	for _, tc := range []struct {
		name   string
		failAt int
		edit   bool
		keep   bool
	}{
		{name: "second store fails", failAt: 2},
		{name: "last store fails", failAt: 3},
		{name: "FILE changed before rewrite", edit: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, ".env")
			mapPath := filepath.Join(dir, ".envseal")
			os.WriteFile(path, []byte(in), 0o600)
			os.WriteFile(mapPath, []byte(oldMap), 0o644)
			v, k := testVault(t)
			if _, err := v.Store(k, "OTHER", []byte("x"), vault.StoreOptions{}); err != nil {
				t.Fatal(err)
			}
			before := listNames(t, v)
			p, err := PlanDotenv(path, "", mapPath, Select{All: true})
			if err != nil {
				t.Fatal(err)
			}
			wantFile := in
			if tc.edit {
				wantFile = in + "D=4\n"
				os.WriteFile(path, []byte(wantFile), 0o600)
			}
			var revoked []string
			err = p.Apply(&failingStore{Vault: v, n: tc.failAt}, k, tc.keep, nil, func(n string) { revoked = append(revoked, n) })
			if err == nil {
				t.Fatal("apply succeeded")
			}
			if tc.failAt > 0 && !errors.Is(err, errInjected) {
				t.Errorf("error = %v, want the injected one", err)
			}
			wantRevoked := "A,B,C"[:max(0, 2*(tc.failAt-1)-1)]
			if tc.edit {
				wantRevoked = "A,B,C"
			}
			if strings.Join(revoked, ",") != wantRevoked {
				t.Errorf("revoked %v, want %s", revoked, wantRevoked)
			}
			if got := listNames(t, v); got != before {
				t.Errorf("vault holds %s, want %s", got, before)
			}
			if b, _ := os.ReadFile(path); string(b) != wantFile {
				t.Errorf("FILE changed: %q", b)
			}
			if b, _ := os.ReadFile(mapPath); string(b) != oldMap {
				t.Errorf(".envseal changed: %q", b)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 2 {
				t.Errorf("temporary files left: %v", ents)
			}
		})
	}
}

// Existing secrets and mapped variables are refused before anything is
// stored.
func TestImportRefusesClashes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".env")
	os.WriteFile(path, []byte("A=1\nB=2\n"), 0o600)
	os.WriteFile(filepath.Join(dir, ".envseal"), []byte("B=other\n"), 0o644)
	if _, err := PlanDotenv(path, "", filepath.Join(dir, ".envseal"), Select{All: true}); err == nil || !strings.Contains(err.Error(), "B is already mapped") {
		t.Errorf("mapped variable: error = %v", err)
	}
	p, err := PlanDotenv(path, "", filepath.Join(dir, "other.envseal"), Select{All: true})
	if err != nil {
		t.Fatal(err)
	}
	v, k := testVault(t)
	v.Store(k, "B", []byte("x"), vault.StoreOptions{})
	if err := p.CheckVault(v); err == nil || !strings.Contains(err.Error(), "secrets already in the vault: B") {
		t.Errorf("existing secret: error = %v", err)
	}
	link := filepath.Join(dir, "link.env")
	os.Symlink(path, link)
	if _, err := PlanDotenv(link, "", filepath.Join(dir, "x.envseal"), Select{All: true}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("symlink: error = %v", err)
	}
}
