package mcpserver

import (
	"fmt"
	"slices"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/envseal/envseal/internal/sandbox"
)

// schemaFor is the JSON Schema of T as clients are shown it: plain JSON
// Schema with one type per property. The inferred schema types a Go slice
// or map as ["null", "array"], and clients that build a form or parse
// command-line arguments from the schema (the MCP Inspector CLI) then send
// such an argument as a string, which the server must refuse. A property
// that may be absent is optional instead (omitempty); null is never a
// value our tools take or return.
func schemaFor[T any]() *jsonschema.Schema {
	s, err := jsonschema.For[T](nil)
	if err != nil {
		// The types are ours and fixed; a failure is a programming error
		// caught by every test.
		panic(fmt.Sprintf("mcpserver: schema for %T: %v", *new(T), err))
	}
	plain(s)
	return s
}

// plain drops "null" from every type union, recursively.
func plain(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	if len(s.Types) > 0 {
		ts := slices.DeleteFunc(slices.Clone(s.Types), func(t string) bool { return t == "null" })
		if len(ts) == 1 {
			s.Type, s.Types = ts[0], nil
		} else {
			s.Types = ts
		}
	}
	plain(s.Items)
	plain(s.AdditionalProperties)
	for _, p := range s.Properties {
		plain(p)
	}
}

// runInputSchema adds what inference cannot know: argv names at least the
// program, and sandbox is one of the tiers.
func runInputSchema() *jsonschema.Schema {
	s := schemaFor[RunInput]()
	one := 1
	s.Properties["argv"].MinItems = &one
	for _, t := range sandbox.Tiers() {
		s.Properties["sandbox"].Enum = append(s.Properties["sandbox"].Enum, t)
	}
	return s
}
