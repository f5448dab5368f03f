package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/envseal/envseal/internal/sandbox"
)

// jsonTypes are the type names of plain JSON Schema; "null" is left out on
// purpose: no tool takes or returns null.
var jsonTypes = []string{"object", "array", "string", "integer", "number", "boolean"}

// checkPlain walks a schema as a client receives it (decoded JSON) and
// reports what the MCP TypeScript SDK and the Inspector do not take as
// written: a type that is not one plain name (a ["null","array"] union
// makes the Inspector CLI send the argument as a string), a property
// without a description (the model is told nothing about it), references
// the Inspector does not resolve, and a top level that is not an object
// (the TypeScript SDK's ToolSchema requires type "object").
func checkPlain(path string, s map[string]any, top bool) []string {
	var bad []string
	t, ok := s["type"].(string)
	switch {
	case !ok:
		bad = append(bad, fmt.Sprintf("%s: type is %v, want one plain type name", path, s["type"]))
	case !slices.Contains(jsonTypes, t):
		bad = append(bad, fmt.Sprintf("%s: type %q", path, t))
	case top && t != "object":
		bad = append(bad, fmt.Sprintf("%s: top-level type %q, want object", path, t))
	}
	for _, k := range []string{"$ref", "$defs", "definitions", "anyOf", "oneOf", "allOf"} {
		if _, ok := s[k]; ok {
			bad = append(bad, fmt.Sprintf("%s: uses %s", path, k))
		}
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for name, p := range props {
			ps, ok := p.(map[string]any)
			if !ok {
				bad = append(bad, fmt.Sprintf("%s.%s: not a schema", path, name))
				continue
			}
			if d, _ := ps["description"].(string); strings.TrimSpace(d) == "" {
				bad = append(bad, fmt.Sprintf("%s.%s: no description", path, name))
			}
			bad = append(bad, checkPlain(path+"."+name, ps, false)...)
		}
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := props[r.(string)]; !ok {
					bad = append(bad, fmt.Sprintf("%s: requires %v, which is not a property", path, r))
				}
			}
		}
	}
	if it, ok := s["items"].(map[string]any); ok {
		bad = append(bad, checkPlain(path+"[]", it, false)...)
	} else if t == "array" {
		bad = append(bad, fmt.Sprintf("%s: array without items", path))
	}
	if ap, ok := s["additionalProperties"].(map[string]any); ok {
		bad = append(bad, checkPlain(path+"{}", ap, false)...)
	}
	return bad
}

func asJSON(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Every tool's input and output schema, as listed to a client, is plain
// JSON Schema with a description on every property; run_command's argv is
// a required array of strings and sandbox an enum of the tiers.
func TestSchemasPlain(t *testing.T) {
	cs := connect(t, Config{Socket: noBroker(t)})
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	props := 0
	for _, tl := range res.Tools {
		for kind, sc := range map[string]any{"input": tl.InputSchema, "output": tl.OutputSchema} {
			m := asJSON(t, sc)
			for _, b := range checkPlain(tl.Name+" "+kind, m, true) {
				t.Error(b)
			}
			props += countProps(m)
		}
		if tl.Name != "run_command" {
			continue
		}
		in := asJSON(t, tl.InputSchema)
		p := in["properties"].(map[string]any)
		argv := p["argv"].(map[string]any)
		if argv["type"] != "array" || argv["items"].(map[string]any)["type"] != "string" || argv["minItems"] != 1.0 {
			t.Errorf("argv schema = %v", argv)
		}
		if req, _ := in["required"].([]any); !slices.Contains(req, any("argv")) || !slices.Contains(req, any("cwd")) {
			t.Errorf("run_command requires %v, want argv and cwd", in["required"])
		}
		var enum []sandbox.Tier
		for _, e := range p["sandbox"].(map[string]any)["enum"].([]any) {
			enum = append(enum, sandbox.Tier(e.(string)))
		}
		if !slices.Equal(enum, sandbox.Tiers()) {
			t.Errorf("sandbox enum = %v, want %v", enum, sandbox.Tiers())
		}
	}
	if props < 50 {
		t.Fatalf("only %d properties walked; the walk misses nested schemas", props)
	}
}

func countProps(m map[string]any) int {
	n := 0
	if ps, ok := m["properties"].(map[string]any); ok {
		for _, p := range ps {
			n += 1 + countProps(p.(map[string]any))
		}
	}
	if it, ok := m["items"].(map[string]any); ok {
		n += countProps(it)
	}
	return n
}

// The walk catches what the inferred schema had: a slice typed
// ["null","array"] and undescribed properties. Without this, a walk that
// accepts everything would pass the test above.
func TestCheckPlainRejectsUnions(t *testing.T) {
	type raw struct {
		Argv []string          `json:"argv"`
		Env  map[string]string `json:"env" jsonschema:"described"`
	}
	s, err := jsonschema.For[raw](nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Join(checkPlain("raw", asJSON(t, s), true), "\n")
	for _, want := range []string{"raw.argv: type is [null array]", "raw.argv: no description"} {
		if !strings.Contains(bad, want) {
			t.Errorf("walk missed %q; it reported:\n%s", want, bad)
		}
	}
	plain(s)
	bad = strings.Join(checkPlain("raw", asJSON(t, s), true), "\n")
	if strings.Contains(bad, "type is") {
		t.Errorf("plain left a union:\n%s", bad)
	}
}
