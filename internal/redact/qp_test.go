package redact

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"testing"
)

// TestQuotedPrintableSoftBreaks runs python3's quopri and email
// (quoprimime, with \n and with \r\n) over each tool value after 0 to 80
// bytes of other text, so the encoder's soft line break ("=" at column
// 76) falls at every place inside the value's form, and scrubs the output
// split at every write boundary: nothing of the value may survive, only
// the other text and soft breaks.
func TestQuotedPrintableSoftBreaks(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("python3 is not installed (.ci/run installs it)")
	}
	// Each prints the encodings of the value (on stdin) after 0 to 80 x's,
	// separated by NUL, which quoted-printable always escapes.
	encoders := []struct{ name, each string }{
		{"quopri", `quopri.encodestring(b)`},
		{"email quoprimime", `q.body_encode(b.decode("ascii")).encode()`},
		{"email quoprimime CRLF", `q.body_encode(b.decode("ascii"), eol="\r\n").encode()`},
	}
	allowed := regexp.MustCompile(`^x*\r?\n?$`)
	soft := regexp.MustCompile(`=\r?\n`)
	for _, sec := range toolValues {
		m, err := NewMatcher([]Secret{sec})
		if err != nil {
			t.Fatal(err)
		}
		for _, enc := range encoders {
			if enc.name != "quopri" && bytes.ContainsFunc(sec.Value, func(r rune) bool { return r > 0x7e }) {
				continue // quoprimime encodes a str's code points, not its UTF-8 bytes
			}
			script := fmt.Sprintf("import quopri, sys, email.quoprimime as q\nv = sys.stdin.buffer.read()\n"+
				"for n in range(81):\n    b = b'x' * n + v\n    sys.stdout.buffer.write(%s + b'\\0')\n", enc.each)
			cmd := exec.Command("python3", "-c", script)
			cmd.Stdin = bytes.NewReader(sec.Value)
			outs, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v", enc.name, err)
			}
			parts := bytes.Split(bytes.TrimSuffix(outs, []byte{0}), []byte{0})
			if len(parts) != 81 {
				t.Fatalf("%s: %d outputs, want 81", enc.name, len(parts))
			}
			broken := 0
			for n, out := range parts {
				if soft.Match(out) {
					broken++
				}
				for c := 1; c <= len(out); c++ {
					got := scrubSplit(t, m, out, []int{c, len(out)})
					rest := soft.ReplaceAll(markerRE.ReplaceAll(got, nil), nil)
					if !allowed.Match(rest) || !markerRE.Match(got) {
						t.Fatalf("%s of %s after %d bytes, writes of %d: %d bytes besides the markers and soft breaks survived", enc.name, sec.Name, n, c, len(rest))
					}
				}
			}
			if broken < 40 {
				t.Fatalf("%s: only %d of 81 outputs have a soft line break: the test does not test it", enc.name, broken)
			}
		}
	}
}

// TestSoftStageHoldsOnlyPrefixes: the soft-break stage holds back the
// last line's tail only when it could begin a broken form (the value's
// start, up to a '=' at the end of a write), never a prompt.
func TestSoftStageHoldsOnlyPrefixes(t *testing.T) {
	sec := toolValues[0]
	m, err := NewMatcher([]Secret{sec})
	if err != nil {
		t.Fatal(err)
	}
	var dst bytes.Buffer
	w := m.NewWriter(&dst)
	w.Write([]byte("log line\nEnter the code: "))
	if n := w.Buffered(); n != 0 {
		t.Fatalf("a prompt is held back: %d bytes", n)
	}
	half := append([]byte("x="), sec.Value[:20]...)
	w.Write(append(half, '='))
	if n := w.Buffered(); n < 21 || n > m.MaxDelay() {
		t.Fatalf("%d bytes held after the first half of a broken form, want 21 to %d", n, m.MaxDelay())
	}
	w.Write(append([]byte("\r\n"), sec.Value[20:]...))
	w.Write([]byte("\n"))
	w.Close()
	if !bytes.Equal(dst.Bytes(), []byte("log line\nEnter the code: x=[envseal:TOKEN]\n")) {
		t.Fatalf("the broken form was not replaced as one (%d bytes out)", dst.Len())
	}
}
