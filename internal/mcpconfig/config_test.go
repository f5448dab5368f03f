package mcpconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMerge(t *testing.T) {
	entry := Clients["claude-code"].Entry
	const other = `{"z":1,"mcpServers":{"other":{"command":"x"}},"a":[true]}`
	out, changed, replaced, err := Merge([]byte(other), "mcpServers", "envseal", entry)
	if err != nil || !changed || replaced {
		t.Fatalf("merge = %v, changed %v, replaced %v", err, changed, replaced)
	}
	want := `{
  "z": 1,
  "mcpServers": {
    "other": {
      "command": "x"
    },
    "envseal": {
      "type": "stdio",
      "command": "envseal",
      "args": [
        "mcp"
      ]
    }
  },
  "a": [
    true
  ]
}
`
	if string(out) != want {
		t.Errorf("merged =\n%s\nwant\n%s", out, want)
	}
	if again, changed, _, err := Merge(out, "mcpServers", "envseal", entry); err != nil || changed || string(again) != string(out) {
		t.Errorf("second merge changed the file (%v, %v)", changed, err)
	}
	if _, changed, replaced, err := Merge([]byte(`{"mcpServers":{"envseal":{"command":"old"}}}`), "mcpServers", "envseal", entry); err != nil || !changed || !replaced {
		t.Errorf("a different entry: changed %v, replaced %v, %v", changed, replaced, err)
	}
	if out, _, _, err := Merge(nil, "servers", "envseal", entry); err != nil || !strings.HasPrefix(string(out), "{\n  \"servers\": {\n    \"envseal\"") {
		t.Errorf("a new file = %q, %v", out, err)
	}
	for in, msg := range map[string]string{
		"{\"a\":1 // c\n}":                   "not valid JSON",
		`[1]`:                                "the file is not a JSON object",
		`{"a":1,"a":2}`:                      `the file has the key "a" twice`,
		`{"mcpServers":[]}`:                  `"mcpServers" is not a JSON object`,
		`{"a":1} {}`:                         "data after the top-level object",
		`{"mcpServers":{"x":1,"x":2}}`:       `"mcpServers" has the key "x" twice`,
		`{"mcpServers":{"envseal":1}} trail`: "not valid JSON",
	} {
		if _, _, _, err := Merge([]byte(in), "mcpServers", "envseal", entry); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: error = %v, want %q", in, err, msg)
		}
	}
}

// Install keeps every earlier file aside, never over an earlier backup,
// and keeps the file's mode.
func TestInstall(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "mcp.json")
	if b, err := Install(path, nil, []byte("one"), 0o600); err != nil || b != "" {
		t.Fatalf("create: backup %q, %v", b, err)
	}
	os.Chmod(path, 0o640)
	for i, want := range []string{path + ".envseal-backup", path + ".envseal-backup-2"} {
		orig, mode, err := Read(path)
		if err != nil || mode != 0o640 {
			t.Fatalf("read: mode %v, %v", mode, err)
		}
		b, err := Install(path, orig, []byte{byte('a' + i)}, mode)
		if err != nil || b != want {
			t.Fatalf("install %d: backup %q, %v; want %s", i, b, err, want)
		}
	}
	if b, _ := os.ReadFile(path + ".envseal-backup"); string(b) != "one" {
		t.Errorf("first backup = %q", b)
	}
	if b, _ := os.ReadFile(path + ".envseal-backup-2"); string(b) != "a" {
		t.Errorf("second backup = %q", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640 kept", fi.Mode().Perm())
	}
	var fe *FileError
	if _, _, err := Read(dir); !errors.As(err, &fe) || fe.TooLarge {
		t.Errorf("a directory: error = %v, want a FileError", err)
	}
	if b, mode, err := Read(filepath.Join(dir, "none.json")); b != nil || mode != 0o600 || err != nil {
		t.Errorf("a missing file: %q, %v, %v", b, mode, err)
	}
}

// Write creates, leaves alone what already starts envseal, keeps the old
// file when it changes one, and leaves a file that is not JSON as it is.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	cl := Clients["claude-code"]
	path := filepath.Join(dir, ".mcp.json")
	if w, err := Write(path, cl); err != nil || !w.Changed || w.Backup != "" || w.Replaced {
		t.Fatalf("create: %+v, %v", w, err)
	}
	if w, err := Write(path, cl); err != nil || w.Changed {
		t.Fatalf("again: %+v, %v; want nothing changed", w, err)
	}
	os.WriteFile(path, []byte(`{"mcpServers": {"envseal": {"command": "old"}}, "x": 1}`), 0o600)
	if w, err := Write(path, cl); err != nil || !w.Changed || !w.Replaced || w.Backup != path+".envseal-backup" {
		t.Fatalf("replace: %+v, %v", w, err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{not json"), 0o600)
	var me *MergeError
	if _, err := Write(bad, cl); !errors.As(err, &me) {
		t.Fatalf("not JSON: %v, want a MergeError", err)
	}
	if b, _ := os.ReadFile(bad); string(b) != "{not json" {
		t.Errorf("a file that is not JSON was changed: %q", b)
	}
}
