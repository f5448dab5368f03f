package inject

import (
	"errors"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	vals := map[string][]byte{"db-pass": []byte("v-one"), "API_KEY": []byte("v-two")}
	for _, tc := range []struct {
		src, want string
		names     []string
	}{
		{"plain text, no placeholders\n", "plain text, no placeholders\n", nil},
		{`password: {{ secret "db-pass" }}` + "\n", "password: v-one\n", []string{"db-pass"}},
		{`a={{secret "db-pass"}} b={{  secret   "API_KEY"  }} c={{ secret "db-pass" }}`, "a=v-one b=v-two c=v-one", []string{"db-pass", "API_KEY"}},
		{"x {{\tsecret\t\"API_KEY\"\t}} y", "x v-two y", []string{"API_KEY"}},
		{`literal {{ "{{" }} braces }} stay`, "literal {{ braces }} stay", nil},
		{"}} alone and { single {", "}} alone and { single {", nil},
		{"", "", nil},
	} {
		tp, err := Parse([]byte(tc.src))
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.src, err)
		}
		if got := tp.Names(); strings.Join(got, ",") != strings.Join(tc.names, ",") {
			t.Errorf("Parse(%q).Names() = %v, want %v", tc.src, got, tc.names)
		}
		out, err := tp.Render(vals)
		if err != nil {
			t.Fatalf("Render(%q): %v", tc.src, err)
		}
		// The inputs are test values, not secrets: showing them is fine.
		if string(out) != tc.want {
			t.Errorf("Render(%q) = %q, want %q", tc.src, out, tc.want)
		}
	}
}

func TestRenderMissingValue(t *testing.T) {
	tp, err := Parse([]byte(`{{ secret "A" }} {{ secret "B" }}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tp.Render(map[string][]byte{"A": []byte("x")}); !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), `"B"`) {
		t.Fatalf("Render without B: %v, want ErrMissing naming B", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		src       string
		line, col int
		want      string
	}{
		{`a: {{ secret NAME }}`, 1, 4, "double-quoted"},
		{`a: {{ secret 'NAME' }}`, 1, 4, "double-quoted"},
		{`a: {{ secret "A" "B" }}`, 1, 4, "double-quoted"},
		{`a: {{ secret "" }}`, 1, 4, "empty"},
		{"ok\nb: {{ op://vault/item/field }}", 2, 4, "unknown placeholder"},
		{`{{ env "HOME" }}`, 1, 1, "unknown placeholder"},
		{`{{ secret "A" | base64 }}`, 1, 1, "double-quoted"},
		{`x {{ }}`, 1, 3, "empty placeholder"},
		{"line1\nline2 {{ secret \"A\"\n}}", 2, 7, "one line"},
		{"x\n\n  {{ secret \"A\" ", 3, 3, "never closed"},
		{`{{ secret "-bad" }}`, 1, 1, "not a secret name"},
		{`{{ secret "a b" }}`, 1, 1, "not a secret name"},
	} {
		_, err := Parse([]byte(tc.src))
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) = %v, want a *SyntaxError", tc.src, err)
			continue
		}
		if se.Line != tc.line || se.Col != tc.col || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v (line %d col %d), want line %d col %d with %q", tc.src, err, se.Line, se.Col, tc.line, tc.col, tc.want)
		}
	}
}

func TestParseLimits(t *testing.T) {
	if _, err := Parse(make([]byte, MaxSize+1)); !errors.Is(err, ErrSyntax) {
		t.Errorf("a template over MaxSize: %v, want ErrSyntax", err)
	}
	var b strings.Builder
	for i := 0; i <= MaxNames; i++ {
		b.WriteString(`{{ secret "s` + strings.Repeat("x", i) + `" }}`)
	}
	if _, err := Parse([]byte(b.String())); !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), "different secrets") {
		t.Errorf("a template with %d names: %v, want ErrSyntax", MaxNames+1, err)
	}
	long := `{{ nope ` + strings.Repeat("z", 500) + ` }}`
	if _, err := Parse([]byte(long)); err == nil || len(err.Error()) > 200 {
		t.Errorf("the error for a long placeholder is not clipped: %d bytes", len(err.Error()))
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`a {{ secret "x" }} b {{ "{{" }} }}`))
	f.Add([]byte("{{"))
	f.Fuzz(func(t *testing.T, src []byte) {
		tp, err := Parse(src)
		if err != nil {
			return
		}
		vals := map[string][]byte{}
		for _, n := range tp.Names() {
			vals[n] = []byte("V")
		}
		if _, err := tp.Render(vals); err != nil {
			t.Fatalf("Render after a good Parse: %v", err)
		}
	})
}
