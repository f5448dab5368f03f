package envfile

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/envseal/envseal/internal/childenv"
)

// marker stands for something that might be a real value; no error message
// may contain it.
const marker = "MARKERq7Zp"

func TestParse(t *testing.T) {
	input := "\ufeff# project secrets\n" +
		"\n" +
		"GITHUB_TOKEN=github-token\n" +
		"  AWS_ACCESS_KEY_ID = aws.prod.key-id  \n" +
		"\tAWS_SECRET_ACCESS_KEY\t=\taws.prod.secret\r\n" +
		"   # indented comment\n" +
		"TOKEN_ALIAS=github-token\n" + // two variables, one secret: fine
		"_X=0\n" +
		"LONG=" + strings.Repeat("a", MaxSecretNameLen) + "\n" +
		"LAST=no-trailing-newline"
	got, err := Parse(strings.NewReader(input), "test/.envseal")
	if err != nil {
		t.Fatal(err)
	}
	want := []Mapping{
		{"GITHUB_TOKEN", "github-token", 3},
		{"AWS_ACCESS_KEY_ID", "aws.prod.key-id", 4},
		{"AWS_SECRET_ACCESS_KEY", "aws.prod.secret", 5},
		{"TOKEN_ALIAS", "github-token", 7},
		{"_X", "0", 8},
		{"LONG", strings.Repeat("a", MaxSecretNameLen), 9},
		{"LAST", "no-trailing-newline", 10},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Parse:\n got %v\nwant %v", got, want)
	}
}

func TestParseEmpty(t *testing.T) {
	for _, in := range []string{"", "\n\n", "# only comments\n  # and more\n", "\ufeff"} {
		got, err := Parse(strings.NewReader(in), ".envseal")
		if err != nil || len(got) != 0 {
			t.Errorf("Parse(%q) = %v, %v; want nothing", in, got, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in   string
		line int
		want error
		msg  string
	}{
		{"A=a\n" + marker, 2, ErrSyntax, "missing '='"},
		{"sk-live-" + marker + " something", 1, ErrSyntax, "missing '='"},
		{"export FOO=bar", 1, ErrSyntax, `"export" prefix`},
		{"export\tFOO=bar", 1, ErrSyntax, `"export" prefix`},
		{"FOO=", 1, ErrSyntax, "empty secret name"},
		{"FOO=   \t", 1, ErrSyntax, "empty secret name"},
		{"FOO=a " + marker, 1, ErrSyntax, "invalid secret name"},
		{`FOO="` + marker + `"`, 1, ErrSyntax, "never values"},
		{"FOO='" + marker + "'", 1, ErrSyntax, "never values"},
		{"FOO=" + marker + "!", 1, ErrSyntax, "invalid secret name"},
		{"FOO=." + marker, 1, ErrSyntax, "invalid secret name"},
		{"FOO=-" + marker, 1, ErrSyntax, "invalid secret name"},
		{"FOO=" + strings.Repeat("a", MaxSecretNameLen+1), 1, ErrSyntax, "invalid secret name"},
		{"FOO=bar # the bar secret", 1, ErrSyntax, "own line"},
		{"FOO=bar#x", 1, ErrSyntax, "invalid secret name"},
		{"FOO BAR=x", 1, childenv.ErrBadName, "invalid environment variable name"},
		{marker + "-x=foo", 1, childenv.ErrBadName, "invalid environment variable name"},
		{"1FOO=x", 1, childenv.ErrBadName, "invalid environment variable name"},
		{"=x", 1, childenv.ErrBadName, "invalid environment variable name"},
		{strings.Repeat("A", 256) + "=x", 1, childenv.ErrBadName, "invalid environment variable name"},
		{"FOO.BAR=x", 1, childenv.ErrBadName, "invalid environment variable name"},
		{"\n\nLD_PRELOAD=x", 3, childenv.ErrInjectionName, "LD_PRELOAD is a loader"},
		{"node_options=x", 1, childenv.ErrInjectionName, "node_options is a loader"},
		{"ENVSEAL_HOME=x", 1, childenv.ErrReservedName, "reserved"},
		{"A=x\n# c\nA=y", 3, ErrDuplicate, "A defined twice (first on line 1)"},
		{"A=x\nB=y\x00", 2, ErrNULByte, "NUL"},
		{strings.Repeat("A=b\n", MaxFileSize/4+1), 0, ErrTooLarge, "larger than 1 MiB"},
	}
	for _, tt := range tests {
		short := tt.in
		if len(short) > 40 {
			short = short[:40] + "…"
		}
		_, err := Parse(strings.NewReader(tt.in), "dir/.envseal")
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, want *ParseError", short, err)
			continue
		}
		if !errors.Is(err, tt.want) || pe.Line != tt.line || pe.Path != "dir/.envseal" || !strings.Contains(pe.Msg, tt.msg) {
			t.Errorf("Parse(%q) = %v (line %d, sentinel %v), want line %d, %v, message with %q",
				short, err, pe.Line, pe.Err, tt.line, tt.want, tt.msg)
		}
		if strings.Contains(err.Error(), marker) {
			t.Errorf("Parse(%q): error echoes text that may be a value: %v", short, err)
		}
	}
}

func TestParseErrorString(t *testing.T) {
	e := &ParseError{Path: "/p/.envseal", Line: 4, Msg: "bad"}
	if got := e.Error(); got != "/p/.envseal:4: bad" {
		t.Errorf("Error() = %q", got)
	}
	e.Line = 0
	if got := e.Error(); got != "/p/.envseal: bad" {
		t.Errorf("Error() without a line = %q", got)
	}
}

func TestFormatRoundTrip(t *testing.T) {
	ms := []Mapping{{Env: "B", Secret: "b.1"}, {Env: "A", Secret: "a-2"}, {Env: "C", Secret: "b.1"}}
	data, err := Format(ms)
	if err != nil {
		t.Fatal(err)
	}
	if want := "B=b.1\nA=a-2\nC=b.1\n"; string(data) != want {
		t.Errorf("Format = %q, want %q", data, want)
	}
	back, err := Parse(strings.NewReader(string(data)), "x")
	if err != nil {
		t.Fatal(err)
	}
	for i := range ms {
		if back[i].Env != ms[i].Env || back[i].Secret != ms[i].Secret || back[i].Line != i+1 {
			t.Errorf("round trip [%d] = %v, want %v", i, back[i], ms[i])
		}
	}
}

func TestFormatRefuses(t *testing.T) {
	tests := []struct {
		ms   []Mapping
		want error
	}{
		{[]Mapping{{Env: "LD_AUDIT", Secret: "x"}}, childenv.ErrInjectionName},
		{[]Mapping{{Env: "A B", Secret: "x"}}, childenv.ErrBadName},
		{[]Mapping{{Env: "A", Secret: "x y"}}, ErrSyntax},
		{[]Mapping{{Env: "A", Secret: ""}}, ErrSyntax},
		{[]Mapping{{Env: "A", Secret: "x\nB=y"}}, ErrSyntax},
		{[]Mapping{{Env: "A", Secret: "x"}, {Env: "A", Secret: "y"}}, ErrDuplicate},
	}
	for _, tt := range tests {
		if _, err := Format(tt.ms); !errors.Is(err, tt.want) {
			t.Errorf("Format(%v) = %v, want %v", tt.ms, err, tt.want)
		}
	}
}

func TestValidSecretName(t *testing.T) {
	for _, ok := range []string{"a", "A", "0", "a.b", "a_b", "a-b", "github.token-2", strings.Repeat("x", 128)} {
		if !ValidSecretName(ok) {
			t.Errorf("ValidSecretName(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", ".a", "-a", "_a", "..", "a b", "a/b", "a\x00", "é", "a=b", strings.Repeat("x", 129)} {
		if ValidSecretName(bad) {
			t.Errorf("ValidSecretName(%q) = true", bad)
		}
	}
}
