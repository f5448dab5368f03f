package redact

import (
	"bytes"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// toolCase is a real program printing the value (on its stdin, or in $V)
// in some form, and what may be left of its output once every occurrence
// is replaced: allowed matches the bytes that carry no value byte
// (quotes, padding, line breaks, a tool's labels).
type toolCase struct {
	name    string
	tool    string // the program that must exist (CI installs it)
	script  string // sh -c script; the value is on stdin and in $V
	allowed string // regexp for every byte left between markers
	dump    bool   // a dump: check its text column instead (see dumpLeft)
}

var toolCases = []toolCase{
	{name: "base64 (76 columns)", tool: "base64", script: `base64`, allowed: `^[=\n]*$`},
	{name: "base64 -w 0", tool: "base64", script: `base64 -w 0`, allowed: `^=*$`},
	{name: "base64 -w 7 with CRLF", tool: "base64", script: `base64 -w 7 | sed 's/$/\r/'`, allowed: `^[=\r\n]*$`},
	{name: "base64 url, no padding", tool: "base64", script: `base64 -w 0 | tr '+/' '-_' | tr -d =`, allowed: `^$`},
	{name: "openssl base64 (64 columns)", tool: "openssl", script: `openssl base64`, allowed: `^[=\n]*$`},
	{name: "openssl base64 -A", tool: "openssl", script: `openssl base64 -A`, allowed: `^=*$`},
	{name: "Authorization: Basic user:value", tool: "base64", script: `printf 'Authorization: Basic %s\n' "$(printf 'deploy:%s' "$V" | base64 -w 0)"`, allowed: `^Authorization: Basic [A-Za-z0-9+/]{0,12}=*\n$`},
	{name: "xxd -p (60 columns)", tool: "xxd", script: `xxd -p`, allowed: `^\n*$`},
	{name: "xxd -p -u", tool: "xxd", script: `xxd -p -u`, allowed: `^\n*$`},
	{name: "xxd -p -c 7", tool: "xxd", script: `xxd -p -c 7`, allowed: `^\n*$`},
	{name: "fold -w 13", tool: "fold", script: `fold -w 13`, allowed: `^\n*$`},
	{name: "od -An -tx1 | tr -d ' \\n'", tool: "od", script: `od -An -tx1 | tr -d ' \n'`, allowed: `^$`},
	{name: "xxd text column", tool: "xxd", script: `xxd`, dump: true},
	{name: "xxd -c 32 text column", tool: "xxd", script: `xxd -c 32`, dump: true},
	{name: "hexdump -C text column", tool: "hexdump", script: `hexdump -C`, dump: true},
	{name: "od -c", tool: "od", script: `od -c`, dump: true},
	{name: "python3 json.dumps", tool: "python3", script: `python3 -c 'import json,sys; print(json.dumps(sys.stdin.buffer.read().decode()))'`, allowed: `^""\n$`},
	{name: "python3 json.dumps ensure_ascii=False", tool: "python3", script: `python3 -c 'import json,sys; print(json.dumps(sys.stdin.buffer.read().decode(), ensure_ascii=False))'`, allowed: `^""\n$`},
	{name: "python3 repr(str)", tool: "python3", script: `python3 -c 'import sys; print(repr(sys.stdin.buffer.read().decode()))'`, allowed: `^(''|"")\n$`},
	{name: "python3 repr(bytes)", tool: "python3", script: `python3 -c 'import sys; print(repr(sys.stdin.buffer.read()))'`, allowed: `^b(''|"")\n$`},
	{name: "python3 percent-encoding of every byte", tool: "python3", script: `python3 -c 'import sys; print("".join("%%%02X" % b for b in sys.stdin.buffer.read()))'`, allowed: `^\n$`},
	{name: "python3 urllib quote", tool: "python3", script: `python3 -c 'import sys,urllib.parse as u; print(u.quote(sys.stdin.buffer.read(), safe=""))'`, allowed: `^\n$`},
	{name: "python3 C \\xNN escapes", tool: "python3", script: `python3 -c 'import sys; print("".join("\\x%02x" % b for b in sys.stdin.buffer.read()))'`, allowed: `^\n$`},
	{name: "python3 octal escapes", tool: "python3", script: `python3 -c 'import sys; print("".join("\\%03o" % b for b in sys.stdin.buffer.read()))'`, allowed: `^\n$`},
	{name: "python3 \\u escapes of every character", tool: "python3", script: `python3 -c 'import sys; print("".join("\\u%04x" % ord(c) for c in sys.stdin.buffer.read().decode()))'`, allowed: `^\n$`},
	{name: "python3 urllib quote_plus", tool: "python3", script: `python3 -c 'import sys,urllib.parse as u; print(u.quote_plus(sys.stdin.buffer.read(), safe=""))'`, allowed: `^\n$`},
	{name: "node JSON.stringify", tool: "node", script: `node -e 'let s="";process.stdin.setEncoding("utf8").on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify({token:s})))'`, allowed: `^\{"token":""\}\n$`},
	{name: "python3 quopri (quoted-printable)", tool: "python3", script: `python3 -c 'import quopri,sys; sys.stdout.buffer.write(quopri.encodestring(sys.stdin.buffer.read()))'`, allowed: `^\n?$`},
	{name: "PEM armour of the value as DER (python3 ssl)", tool: "python3", script: `python3 -c 'import ssl,sys; print(ssl.DER_cert_to_PEM_cert(sys.stdin.buffer.read()), end="")'`, allowed: `^-----BEGIN CERTIFICATE-----\n[=\n]*-----END CERTIFICATE-----\n$`},
	{name: "bash printf %q", tool: "bash", script: `bash -c 'printf "%q\n" "$V"'`, allowed: `^(\$'')?\n$`},
}

// toolValues are the values each case prints: an API-token shape, and one
// with every character the quoting rules care about.
var toolValues = []Secret{
	{Name: "TOKEN", Value: []byte("ghp_R4nd0mT0k3nV4lu3Xq8Zp2Lm9Kd7Wc5Yb1Nf")},
	{Name: "TRICKY", Value: []byte("p@ss/w0rd\"q'uo\\te é\x01\t<&>+%=~ end-of-value-42")},
}

func TestRealToolsScrubbed(t *testing.T) {
	for _, tc := range toolCases {
		for _, sec := range toolValues {
			t.Run(tc.name+"/"+sec.Name, func(t *testing.T) {
				if _, err := exec.LookPath(tc.tool); err != nil {
					// .ci/run installs every tool listed; locally a missing
					// one is a setup problem, not a pass.
					t.Fatalf("%s is not installed (.ci/run installs it)", tc.tool)
				}
				cmd := exec.Command("sh", "-c", tc.script)
				cmd.Stdin = bytes.NewReader(sec.Value)
				cmd.Env = append(cmd.Environ(), "V="+string(sec.Value), "LC_ALL=C.UTF-8")
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("%s: %v", tc.script, err)
				}
				m, err := NewMatcher([]Secret{sec})
				if err != nil {
					t.Fatal(err)
				}
				// Split at every write boundary (two writes), and a byte
				// at a time.
				cuts := make([][]int, 0, len(out)+1)
				step := 1
				if raceEnabled {
					step = 7 // the race detector is 10x slower; still every shape of cut
				}
				for c := 1; c < len(out); c += step {
					cuts = append(cuts, []int{c, len(out)})
				}
				cuts = append(cuts, []int{1})
				for _, sizes := range cuts {
					before := m.Hits()[sec.Name]
					got := scrubSplit(t, m, out, sizes)
					markers := len(markerRE.FindAll(got, -1))
					if markers == 0 {
						t.Fatalf("writes %v: nothing replaced (output of %d bytes)", sizes, len(out))
					}
					if n := m.Hits()[sec.Name] - before; n != markers {
						t.Fatalf("writes %v: %d markers but the counter moved by %d", sizes, markers, n)
					}
					if tc.dump {
						if n := dumpLeft(sec.Value, got); n > 0 {
							t.Fatalf("writes %v: a text-column run of %d value bytes survived", sizes, n)
						}
						continue
					}
					rest := markerRE.ReplaceAll(got, nil)
					if !regexp.MustCompile(tc.allowed).Match(rest) {
						// rest is what survived: the value's bytes may be in it,
						// so only its length is printed.
						t.Fatalf("writes %v: %d bytes besides the markers survived, not matching %s", sizes, len(rest), tc.allowed)
					}
				}
			})
		}
	}
}

// dumpLeft returns the longest run of the value's dump text (printable
// bytes as themselves, others as '.', od -c cells trimmed) that survives
// in out between markers, counted in value bytes; runs shorter than
// minDumpShown at the first and last line are allowed by design, so only
// longer ones are reported.
func dumpLeft(v, out []byte) int {
	longest := 0
	dotted := make([]byte, len(v))
	for i, c := range v {
		dotted[i] = '.'
		if c >= 0x20 && c < 0x7f {
			dotted[i] = c
		}
	}
	cells := make([]string, len(v))
	for i, c := range v {
		cells[i] = odCell(c)
	}
	for _, seg := range markerRE.Split(string(out), -1) {
		for i := range v {
			for j := i + minDumpShown; j <= len(v); j++ {
				od := strings.TrimLeft(strings.Join(cells[i:j], ""), " ")
				if strings.Contains(seg, string(dotted[i:j])) && !onlyDots(dotted[i:j]) || strings.Contains(seg, od) {
					longest = max(longest, j-i)
				}
			}
		}
	}
	return longest
}

func onlyDots(b []byte) bool { return len(bytes.Trim(b, ".")) < minDumpShown/2 }
