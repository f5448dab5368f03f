//go:build linux

package moving

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envseal/envseal/internal/detect"
)

// A write that fails puts back the files written before it and revokes
// every secret stored, and says so with no names left.
func TestTxUndoesEarlierWrites(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(dir, "first")
	os.WriteFile(first, []byte("old"), 0o640)
	v, k := testVault(t)
	var revoked []string
	tx := &Tx{
		Values: []Value{{Secret: "A", Value: []byte("1"), Where: "f"}, {Secret: "B", Value: []byte("2"), Where: "f"}},
		Writes: []Write{
			{Path: first, Data: []byte("new"), Mode: 0o640, Old: []byte("old")},
			{Path: filepath.Join(dir, "created"), Data: []byte("x"), Mode: 0o644},
			{Path: filepath.Join(dir, "no-such-dir", "f"), Data: []byte("x"), Mode: 0o644},
		},
		Revoked: func(n string) { revoked = append(revoked, n) },
	}
	err := tx.Apply(v, k)
	var re *RollbackError
	if !errors.As(err, &re) || len(re.Left) != 0 {
		t.Fatalf("error = %v, want a RollbackError with nothing left", err)
	}
	if strings.Join(revoked, ",") != "A,B" {
		t.Errorf("revoked %v, want A,B", revoked)
	}
	if got := listNames(t, v); got != "" {
		t.Errorf("vault holds %s", got)
	}
	if b, _ := os.ReadFile(first); string(b) != "old" {
		t.Errorf("first file = %q, want it put back", b)
	}
	if fi, err := os.Stat(first); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("first file mode = %v (%v), want 0640", fi.Mode().Perm(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "created")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file the transaction created is still there (%v)", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("files left: %v", ents)
	}
}

// scan --import's plan for a shell script: the value becomes "${VAR}",
// .envseal maps VAR, and a failing store leaves both files and the vault
// as they were, with the hint that says so.
func TestFilePlanShellScript(t *testing.T) {
	const val = "Xk29fjQ0pLm3ZzR8wT5uQ7"
	for _, fail := range []bool{false, true} {
		dir := t.TempDir()
		path := filepath.Join(dir, "deploy.sh")
		src := "#!/bin/sh\nexport DEPLOY_TOKEN=" + val + "\ncurl -H \"x: $DEPLOY_TOKEN\" example\n"
		os.WriteFile(path, []byte(src), 0o755)
		findings := detect.ScanText(path, []byte(src))
		if len(findings) != 1 {
			t.Fatalf("%d findings, want 1", len(findings))
		}
		b := NewBatch(findings)
		if err := b.Name(func(f *detect.Finding) (string, error) { return detect.SuggestName(f, "app."), nil }); err != nil {
			t.Fatal(err)
		}
		p, err := b.PlanFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(p.Vars, ",") != "DEPLOY_TOKEN" || p.Mapping != filepath.Join(dir, ".envseal") {
			t.Errorf("vars %v in %s", p.Vars, p.Mapping)
		}
		v, k := testVault(t)
		var st Store = v
		if fail {
			st = &failingStore{Vault: v, n: 1}
		}
		err = p.Apply(st, k, func(string, uint64) {}, func(string) {})
		got, _ := os.ReadFile(path)
		mapping, _ := os.ReadFile(filepath.Join(dir, ".envseal"))
		if fail {
			var he *HintError
			if !errors.Is(err, errInjected) || !errors.As(err, &he) || !strings.Contains(he.Hint, "were revoked; the file was not changed") {
				t.Fatalf("error = %v, want the injected one with the rollback hint", err)
			}
			if string(got) != src || mapping != nil || listNames(t, v) != "" || b.Secrets[0].Stored {
				t.Errorf("a failed plan changed something: file same %v, mapping %q, vault %q", string(got) == src, mapping, listNames(t, v))
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.Replace(src, val, `"${DEPLOY_TOKEN}"`, 1); string(got) != want {
			t.Errorf("rewrite = %q, want %q", got, want)
		}
		if !strings.Contains(string(mapping), "DEPLOY_TOKEN=app.DEPLOY_TOKEN\n") {
			t.Errorf(".envseal = %q", mapping)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o755 {
			t.Errorf("mode %v, want 0755 kept", fi.Mode().Perm())
		}
		if s, _, err := v.Get(k, "app.DEPLOY_TOKEN"); err != nil || string(s) != val {
			t.Errorf("stored secret app.DEPLOY_TOKEN differs from the file's value (%v)", err)
		}
		if !b.Secrets[0].Stored {
			t.Error("secret not marked stored")
		}
	}
}

func TestIsDotenvAndNames(t *testing.T) {
	for p, want := range map[string]bool{".env": true, "a/.env.local": true, "prod.env": true, "env.sh": false, "notes": false} {
		if IsDotenv(p) != want {
			t.Errorf("IsDotenv(%s) != %v", p, want)
		}
	}
	f := &detect.Finding{Kind: "github", Line: 7}
	taken := map[string]bool{"github-7": true, "github-7-2": true}
	if got := FreeName(f, detect.SuggestName(f, ""), taken); got != "github-7-3" {
		t.Errorf("FreeName = %s, want github-7-3", got)
	}
	f.Name = "api key!"
	if got := detect.SuggestName(f, "p."); got != "p.apikey" {
		t.Errorf("SuggestName = %s, want p.apikey", got)
	}
	if got := FreeName(f, "-bad", nil); got != "github-7" {
		t.Errorf("FreeName of an invalid name = %s, want github-7", got)
	}
}

// Move applies each file on its own: a file that cannot be rewritten is
// reported refused and skipped, the others are moved and counted.
func TestBatchMoveSkipsRefusedFiles(t *testing.T) {
	const val = "Xk29fjQ0pLm3ZzR8wT5uQ7"
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.txt")
	prog := filepath.Join(dir, "main.rb")
	os.WriteFile(notes, []byte("DEPLOY_TOKEN="+val+"\n"), 0o600)
	os.WriteFile(prog, []byte("#!/usr/bin/env ruby\nAPI_TOKEN = \"Qz81mVb4NcW6yT2pLr9sKd\"\n"), 0o600)
	var findings []detect.Finding
	for _, p := range []string{notes, prog} {
		b, _ := os.ReadFile(p)
		findings = append(findings, detect.ScanText(p, b)...)
	}
	if len(findings) != 2 {
		t.Fatalf("%d findings, want 2", len(findings))
	}
	b := NewBatch(findings)
	if err := b.Name(func(f *detect.Finding) (string, error) { return detect.SuggestName(f, ""), nil }); err != nil {
		t.Fatal(err)
	}
	v, k := testVault(t)
	var reports []string
	n, err := b.Move(v, k, func(string, uint64) {}, func(string) {}, func(m Moved) {
		if m.Refused != nil {
			reports = append(reports, "refused "+filepath.Base(m.Path))
		} else {
			reports = append(reports, "moved "+filepath.Base(m.Path)+" "+strings.Join(m.Names, ","))
		}
	})
	if err != nil || n != 1 {
		t.Fatalf("Move = %d, %v; want 1 finding moved", n, err)
	}
	if got := strings.Join(reports, "; "); got != "refused main.rb; moved notes.txt DEPLOY_TOKEN" {
		t.Errorf("reports %q", got)
	}
	if got := listNames(t, v); got != "DEPLOY_TOKEN" {
		t.Errorf("vault holds %q, want DEPLOY_TOKEN only", got)
	}
}
