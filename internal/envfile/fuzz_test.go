package envfile

import (
	"bytes"
	"errors"
	"testing"

	"github.com/envseal/envseal/internal/childenv"
)

// More seeds live in testdata/fuzz/FuzzParse and testdata/fuzz/FuzzParseDotEnv.
func FuzzParse(f *testing.F) {
	f.Add([]byte("A=a\n"))                           // minimal mapping
	f.Add([]byte("# c\n\n  A = a.b-c  \r\nB=a.b-c")) // comments, spaces, CRLF, shared secret, no final newline
	f.Add([]byte("\ufeffA=a"))                       // byte-order mark
	f.Add([]byte("export A=a"))                      // refused prefix
	f.Add([]byte("LD_PRELOAD=x\n"))                  // injection target
	f.Add([]byte("A=x\nA=y\n"))                      // duplicate
	f.Add([]byte("A=b # c\n"))                       // trailing comment
	f.Add([]byte("A=\x00"))                          // NUL
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := Parse(bytes.NewReader(data), "fuzz")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Path != "fuzz" || pe.Line < 0 || pe.Line > bytes.Count(data, []byte("\n"))+1 {
				t.Fatalf("Parse error is not a well-formed *ParseError: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		prevLine := 0
		for _, m := range ms {
			if childenv.ValidName(m.Env) != nil || !ValidSecretName(m.Secret) || seen[m.Env] || m.Line <= prevLine {
				t.Fatalf("Parse accepted an invalid mapping %v", m)
			}
			seen[m.Env] = true
			prevLine = m.Line
		}
		out, err := Format(ms)
		if err != nil {
			t.Fatalf("Format refused what Parse accepted: %v", err)
		}
		back, err := Parse(bytes.NewReader(out), "fuzz")
		if err != nil {
			t.Fatalf("Parse(Format(m)) failed: %v", err)
		}
		if len(back) != len(ms) {
			t.Fatalf("round trip changed the count: %d -> %d", len(ms), len(back))
		}
		for i := range ms {
			if back[i].Env != ms[i].Env || back[i].Secret != ms[i].Secret {
				t.Fatalf("round trip changed %v into %v", ms[i], back[i])
			}
		}
	})
}

// formatDotEnv writes kvs as double-quoted .env lines, the one quoting that
// can carry any byte but NUL.
func formatDotEnv(kvs []KV) []byte {
	var b bytes.Buffer
	for _, kv := range kvs {
		b.WriteString(kv.Key)
		b.WriteString(`="`)
		for _, c := range kv.Value {
			switch c {
			case '\\', '"':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteString("\"\n")
	}
	return b.Bytes()
}

func FuzzParseDotEnv(f *testing.F) {
	f.Add([]byte("A=1\n"))                                  // minimal
	f.Add([]byte("export A = 'x y' # c\nB=\"q\\n\\\"\"\n")) // export, single and double quotes
	f.Add([]byte("A=\"multi\nline\"\nB='also\nmulti'"))     // values spanning lines
	f.Add([]byte("A=a #c\nB=b#c\nC= #c\nD=#d"))             // the four comment cases
	f.Add([]byte("A='unterminated\n"))                      // error: unterminated
	f.Add([]byte("A=\"x\" y"))                              // error: text after quote
	f.Add([]byte("A=\\\r\nB=\"\\\r\n\""))                   // backslashes at line ends, CRLF
	f.Fuzz(func(t *testing.T, data []byte) {
		kvs, err := ParseDotEnv(bytes.NewReader(data), "fuzz")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Path != "fuzz" || pe.Line < 0 || pe.Line > bytes.Count(data, []byte("\n"))+1 {
				t.Fatalf("ParseDotEnv error is not a well-formed *ParseError: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		prevLine := 0
		for _, kv := range kvs {
			if errors.Is(childenv.ValidName(kv.Key), childenv.ErrBadName) {
				t.Fatalf("ParseDotEnv accepted a non-POSIX key %q", kv.Key)
			}
			if seen[kv.Key] || kv.Line <= prevLine || kv.Value == nil || bytes.IndexByte(kv.Value, 0) >= 0 {
				t.Fatalf("ParseDotEnv returned a bad entry for %s (line %d)", kv.Key, kv.Line)
			}
			seen[kv.Key] = true
			prevLine = kv.Line
		}
		back, err := ParseDotEnv(bytes.NewReader(formatDotEnv(kvs)), "fuzz")
		if err != nil {
			t.Fatalf("re-parsing the formatted entries failed: %v", err)
		}
		if len(back) != len(kvs) {
			t.Fatalf("round trip changed the count: %d -> %d", len(kvs), len(back))
		}
		for i := range kvs {
			if back[i].Key != kvs[i].Key || !bytes.Equal(back[i].Value, kvs[i].Value) {
				t.Fatalf("round trip changed entry %d (%s)", i, kvs[i].Key)
			}
		}
	})
}
