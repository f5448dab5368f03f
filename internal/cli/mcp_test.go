package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMCPScripts runs testdata/mcp: 'envseal mcp config', whose checks
// need jsonvalid.
func TestMCPScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "mcp"),
		Setup: func(e *testscript.Env) error {
			e.Setenv("ENVSEAL_HOME", filepath.Join(e.WorkDir, "vault"))
			e.Setenv("HOME", filepath.Join(e.WorkDir, "home"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"jsonvalid": cmdJSONValid,
		},
	})
}

// jsonvalid FILE [PATH=VALUE]... checks that FILE (or stdout) is one JSON
// value as a client would parse it (no comments, nothing after it) and
// that each dotted PATH holds VALUE: a string as is, anything else as its
// compact JSON. Like any custom command it resets stdout and stderr, so
// a script checks those first.
func cmdJSONValid(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: jsonvalid file [path=value...]")
	}
	b := []byte(ts.ReadFile(args[0]))
	var v any
	err := json.Unmarshal(b, &v)
	if neg {
		if err == nil {
			ts.Fatalf("%s is valid JSON", args[0])
		}
		return
	}
	if err != nil {
		ts.Fatalf("%s is not valid JSON: %v", args[0], err)
	}
	for _, a := range args[1:] {
		path, want, ok := strings.Cut(a, "=")
		if !ok {
			ts.Fatalf("jsonvalid: %q is not PATH=VALUE", a)
		}
		cur := v
		for _, k := range strings.Split(path, ".") {
			m, ok := cur.(map[string]any)
			if !ok {
				ts.Fatalf("%s: %s: %q is not inside an object", args[0], path, k)
			}
			if cur, ok = m[k]; !ok {
				ts.Fatalf("%s: no %s", args[0], path)
			}
		}
		got, isStr := cur.(string)
		if !isStr {
			j, _ := json.Marshal(cur)
			got = string(j)
		}
		if got != want {
			ts.Fatalf("%s: %s = %s, want %s", args[0], path, got, want)
		}
	}
}
