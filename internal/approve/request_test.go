package approve

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// hostile holds strings an agent would put in argv, paths or names to
// rewrite the approval screen.
var hostile = map[string]string{
	"clear screen":    "\x1b[2J\x1b[H",
	"OSC title":       "\x1b]0;approved\x07",
	"CSI cursor up":   "x\x1b[3Ay",
	"carriage return": "rm -rf ~\rls",
	"newline":         "a\n  sha256       0000",
	"backspace":       "evil\b\b\b\bgood",
	"C1 CSI":          "\u009b2J",
	"bidi override":   "deploy\u202Etxt.exe",
	"bidi isolate":    "\u2066x\u2069",
	"zero width":      "wran\u200bgler\u200d\u2060\ufeff",
	"soft hyphen":     "pass\u00adwd",
	"homoglyph":       "/usr/bin/wr\u0430ngler",
	"tag chars":       "a\U000E0041b",
	"line separator":  "a\u2028b",
	"nbsp":            "--shell\u00a0x",
	"invalid utf8":    "a\xff\xfeb",
	"NUL":             "a\x00b",
}

// safeScreenText is what Text may contain: printable ASCII and newlines.
func safeScreenText(t *testing.T, what, s string) {
	t.Helper()
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\n' && (c < 0x20 || c >= 0x7f) {
			t.Fatalf("%s: Text contains byte %#x at %d", what, c, i)
		}
	}
}

func TestTextNeutralizesHostileFields(t *testing.T) {
	for name, h := range hostile {
		t.Run(name, func(t *testing.T) {
			r := &Request{
				Path: "/opt/" + h, SHA256: h, PrevSHA256: h, Interpreter: "/usr/bin/" + h,
				Argv: []string{h, "--x=" + h}, Cwd: h, Sandbox: h,
				Secrets:      []Secret{{Name: h, Env: h}, {Name: "n", Delivery: DeliverFD, Env: h, FD: 3}},
				Chain:        []Proc{{PID: 1, Exe: h, Comm: h}},
				ShortSecrets: []string{h}, Warnings: []string{h},
			}
			text := r.Text()
			safeScreenText(t, name, text)
			if !strings.Contains(text, "shown escaped") {
				t.Errorf("Text does not say that characters were escaped:\n%s", text)
			}
			safeScreenText(t, name+" (compact)", r.compact(990))
		})
	}
}

func TestTextEscapesAreVisible(t *testing.T) {
	r := &Request{Path: "/usr/bin/wr\u0430ngler", Argv: []string{"x\x1b[2J", "a\rb", "deploy\u202Etxt", "a\u200bb", `lit\u202e`}}
	text := r.Text()
	for _, want := range []string{
		`/usr/bin/wr\u0430ngler`, `[0] "x\x1b[2J"`, `[1] "a\rb"`, `[2] "deploy\u202Etxt"`, `[3] "a\u200Bb"`,
		`[4] "lit\\u202e"`, // a literal backslash is doubled: not mistaken for an escape made here
	} {
		if !strings.Contains(text, want) {
			t.Errorf("Text does not contain %s:\n%s", want, text)
		}
	}
}

// An argument holding a newline must not be able to forge a row of the
// request: every row starts with a label or the argv continuation.
func TestTextArgumentCannotForgeRow(t *testing.T) {
	r := testRequest()
	r.Argv = append(r.Argv, "x\n  sha256       0000000000\nFORGED")
	text := r.Text()
	if strings.Count(text, "\n  sha256 ") != 1 || strings.Contains(text, "\nFORGED") {
		t.Fatalf("argument forged a row:\n%s", text)
	}
}

func TestTextShowsEverything(t *testing.T) {
	r := &Request{
		Path: "/home/u/bin/deploy.py", SHA256: strings.Repeat("1", 64),
		Interpreter: "/usr/bin/python3.12", InterpreterSHA256: strings.Repeat("2", 64), PrevInterpreterSHA256: strings.Repeat("3", 64),
		Argv: []string{"deploy.py", "--prod"}, Cwd: "/home/u/proj",
		Secrets: []Secret{
			{Name: "api", Delivery: DeliverEnv, Env: "API_KEY"},
			{Name: "db", Delivery: DeliverStdin},
			{Name: "tls", Delivery: DeliverFD, Env: "TLS_KEY_FILE", FD: 3},
		},
		Sandbox:      "lockdown",
		Chain:        []Proc{{PID: 42, PPID: 7, Exe: "/usr/bin/node", Comm: "node"}, {PID: 7, Comm: "sshd"}},
		ShortSecrets: []string{"pin"},
		Warnings:     []string{"remote session detected"},
	}
	text := squeeze(r.Text())
	for _, want := range []string{
		"script /home/u/bin/deploy.py", "script sha256" + " " + strings.Repeat("1", 64),
		"interpreter /usr/bin/python3.12", "interp sha256" + " " + strings.Repeat("2", 64),
		"short hash 111111111111",
		`[0] "deploy.py"`, `[1] "--prod"`, "cwd /home/u/proj",
		"api -> env API_KEY", "db -> stdin", "tls -> fd 3 (TLS_KEY_FILE=/dev/fd/3)",
		"sandbox lockdown", "pid 42 /usr/bin/node [node]", "pid 7 (exe unreadable) [sshd]",
		"interpreter changed since you approved it: sha256 was " + strings.Repeat("3", 64),
		"secret pin is shorter than 6 bytes", "remote session detected",
		"#! script run by /usr/bin/python3.12",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("Text does not show %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "shown escaped") {
		t.Errorf("clean request flagged as escaped:\n%s", text)
	}
}

// squeeze collapses runs of spaces, so tests do not depend on column widths.
func squeeze(s string) string {
	for strings.Contains(s, "  ") {
		s = strings.ReplaceAll(s, "  ", " ")
	}
	return s
}

func TestTextBoundsHugeFields(t *testing.T) {
	argv := []string{"tool", strings.Repeat("A", 100000)}
	for i := 0; i < 200; i++ {
		argv = append(argv, fmt.Sprint(i))
	}
	r := &Request{Path: "/usr/bin/tool", Argv: argv}
	text := r.Text()
	if len(text) > 16000 {
		t.Fatalf("Text is %d bytes for a huge argv", len(text))
	}
	for _, want := range []string{"argument 1 is longer than 512 bytes", "only the first 64 of 202 arguments are shown", "138 more arguments not shown"} {
		if !strings.Contains(text, want) {
			t.Errorf("Text does not say %q", want)
		}
	}
}

func TestCompactFitsBudget(t *testing.T) {
	r := testRequest()
	r.Argv = append(r.Argv, strings.Repeat("x", 3000))
	r.Warnings = []string{"w1"}
	for _, budget := range []int{100, 300, 700, 990} {
		s := r.compact(budget)
		if len(s) > budget {
			t.Fatalf("compact(%d) is %d bytes", budget, len(s))
		}
	}
	s := r.compact(600)
	if !strings.Contains(s, "program /usr/bin/wrangler") || !strings.Contains(s, "more not shown") {
		t.Fatalf("compact form lost the program or the cut note:\n%s", s)
	}
	if !utf8.ValidString(s) {
		t.Fatal("compact form is not valid UTF-8")
	}
}

func TestCleanTruncatesOnRuneBoundary(t *testing.T) {
	c := clean(strings.Repeat("\u202e", 1000), false)
	if c.truncated == 0 || !strings.HasSuffix(c.text, "more bytes not shown]") {
		t.Fatalf("not truncated: %d", len(c.text))
	}
	body := strings.TrimSuffix(c.text, fmt.Sprintf("...[%d more bytes not shown]", c.truncated))
	if strings.Count(body, `\u202E`)*len(`\u202E`) != len(body) {
		t.Fatalf("cut inside an escape: %q", body[len(body)-10:])
	}
	if (1000*3-c.truncated)/3 != strings.Count(body, `\u202E`) {
		t.Fatalf("truncated count %d does not match what is shown", c.truncated)
	}
}

func FuzzText(f *testing.F) {
	for _, h := range hostile {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := &Request{Path: s, Argv: []string{s, s}, Cwd: s, Secrets: []Secret{{Name: s, Env: s}}, Warnings: []string{s}}
		safeScreenText(t, "fuzz", r.Text())
		if c := r.compact(990); len(c) > 990 {
			t.Fatalf("compact is %d bytes", len(c))
		}
	})
}
