package envfile

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

type wantKV struct {
	key, value string
	line       int
}

// checkKVs compares without ever printing a value: a mismatch is reported
// by key and length.
func checkKVs(t *testing.T, got []KV, want []wantKV) {
	t.Helper()
	if len(got) != len(want) {
		keys := make([]string, len(got))
		for i, kv := range got {
			keys[i] = kv.Key
		}
		t.Fatalf("got %d entries %q, want %d", len(got), keys, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Key != w.key || g.Line != w.line {
			t.Errorf("[%d] = %s line %d, want %s line %d", i, g.Key, g.Line, w.key, w.line)
		}
		if !bytes.Equal(g.Value, []byte(w.value)) {
			t.Errorf("[%d] %s: value differs (%d bytes, want %d)", i, w.key, len(g.Value), len(w.value))
		}
	}
}

func TestParseDotEnv(t *testing.T) {
	input := "\ufeff# comment\n" + // 1
		"PLAIN=value\n" + // 2
		"export EXPORTED=yes\n" + // 3
		"  SPACED  =  padded value  \n" + // 4
		"EMPTY=\n" + // 5
		"EMPTY_COMMENT= # nothing here\n" + // 6
		"HASH_IN_WORD=a#b\n" + // 7
		"HASH_FIRST=#notacomment\n" + // 8
		"INLINE=abc # comment\n" + // 9
		"TABCOMMENT=abc\t#c\n" + // 10
		"SINGLE='lit $X \\n \"q\" # not a comment'\n" + // 11
		`DOUBLE="a\nb\"c\\d\te\rf\$g\x"` + "\n" + // 12
		"DQ_COMMENT=\"v\" # after\n" + // 13
		"MULTI=\"line1\n" + // 14
		"line2\"\n" + // 15
		"SQ_MULTI='-----BEGIN KEY-----\n" + // 16
		"abc\n" + // 17
		"-----END KEY-----'\n" + // 18
		"CRLF=crlf\r\n" + // 19
		"EMPTY_DQ=\"\"\n" + // 20
		"EMPTY_SQ=''\n" + // 21
		"BACKTICK=`x`\n" + // 22
		"export=exportkey\n" + // 23
		"EXPAND=${PLAIN}\n" + // 24
		"   \n" + // 25
		"LAST=no newline" // 26
	got, err := ParseDotEnv(strings.NewReader(input), ".env")
	if err != nil {
		t.Fatal(err)
	}
	checkKVs(t, got, []wantKV{
		{"PLAIN", "value", 2},
		{"EXPORTED", "yes", 3},
		{"SPACED", "padded value", 4},
		{"EMPTY", "", 5},
		{"EMPTY_COMMENT", "", 6},
		{"HASH_IN_WORD", "a#b", 7},
		{"HASH_FIRST", "#notacomment", 8},
		{"INLINE", "abc", 9},
		{"TABCOMMENT", "abc", 10},
		{"SINGLE", `lit $X \n "q" # not a comment`, 11},
		{"DOUBLE", "a\nb\"c\\d\te\rf\\$g\\x", 12},
		{"DQ_COMMENT", "v", 13},
		{"MULTI", "line1\nline2", 14},
		{"SQ_MULTI", "-----BEGIN KEY-----\nabc\n-----END KEY-----", 16},
		{"CRLF", "crlf", 19},
		{"EMPTY_DQ", "", 20},
		{"EMPTY_SQ", "", 21},
		{"BACKTICK", "`x`", 22},
		{"export", "exportkey", 23},
		{"EXPAND", "${PLAIN}", 24},
		{"LAST", "no newline", 26},
	})
	for _, kv := range got {
		if kv.Value == nil {
			t.Errorf("%s: nil Value, want an empty slice", kv.Key)
		}
	}
}

func TestParseDotEnvErrors(t *testing.T) {
	tests := []struct {
		in   string
		line int
		want error
		msg  string
	}{
		{"A=1\nB='" + marker + "\nmore", 2, ErrSyntax, "B: unterminated single-quoted"},
		{"A=1\n\nB=\"" + marker + "\\\"", 3, ErrSyntax, "B: unterminated double-quoted"},
		{"B=\"" + marker + "\\", 1, ErrSyntax, "unterminated"},
		{"B=\"x\" " + marker, 1, ErrSyntax, "B: unexpected text after the closing quote"},
		{"B='a\nb' " + marker, 2, ErrSyntax, "unexpected text after"},
		{"B='" + marker + "''x'", 1, ErrSyntax, "unexpected text after"},
		{marker, 1, ErrSyntax, "expected KEY=value"},
		{"sk_live_" + marker, 1, ErrSyntax, "expected KEY=value"},
		{"export " + marker, 1, ErrSyntax, "expected KEY=value"},
		{marker + ".x=1", 1, ErrSyntax, "expected KEY=value"},
		{"A-B=" + marker, 1, ErrSyntax, "expected KEY=value"},
		{"1A=" + marker, 1, ErrSyntax, "invalid variable name"},
		{"=" + marker, 1, ErrSyntax, "invalid variable name"},
		{strings.Repeat("A", 256) + "=" + marker, 1, ErrSyntax, "invalid variable name"},
		{"K: " + marker, 1, ErrSyntax, "expected KEY=value"},
		{"A=1\nB=2\nA=" + marker, 3, ErrDuplicate, "A defined twice (first on line 1)"},
		{"A=1\nB=" + marker + "\x00", 2, ErrNULByte, "NUL"},
		{"A=" + marker + strings.Repeat("x", MaxFileSize), 0, ErrTooLarge, "larger"},
	}
	for i, tt := range tests {
		_, err := ParseDotEnv(strings.NewReader(tt.in), "app/.env")
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("case %d: err = %v, want *ParseError", i, err)
			continue
		}
		if strings.Contains(err.Error(), marker) {
			t.Errorf("case %d: error message contains the value", i)
			continue
		}
		if !errors.Is(err, tt.want) || pe.Line != tt.line || pe.Path != "app/.env" || !strings.Contains(pe.Msg, tt.msg) {
			t.Errorf("case %d: err = %v (line %d), want line %d, %v, message with %q", i, err, pe.Line, tt.line, tt.want, tt.msg)
		}
	}
}

func TestDotEnvKVFormatRedacts(t *testing.T) {
	kv := KV{Key: "TOKEN", Value: []byte(marker), Line: 3}
	hexed := fmt.Sprintf("%x", marker)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X"} {
		for _, arg := range []any{kv, &kv, []KV{kv}} {
			out := fmt.Sprintf(verb, arg)
			if strings.Contains(out, marker) || strings.Contains(strings.ToLower(out), hexed) || strings.Contains(out, "77 65 82") {
				t.Errorf("Sprintf(%s, %T) prints the value", verb, arg)
			}
		}
	}
}
