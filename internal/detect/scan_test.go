package detect

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func randAlnum(n int) string {
	const set = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		b[i] = set[k.Int64()]
	}
	return string(b)
}

func randB64(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

func randHex(n int) string {
	b := make([]byte, n/2)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// fixtures copies testdata/scan into dir with fresh fake tokens in place
// of the {{…}} holes (generated, so no token-shaped string is committed),
// and returns every value it put in.
func fixtures(t *testing.T, dir string) [][]byte {
	t.Helper()
	var pem strings.Builder
	for i := 0; i < 6; i++ {
		pem.WriteString(base64.StdEncoding.EncodeToString([]byte(randAlnum(48))) + "\n")
	}
	holes := map[string]func() string{
		"{{HEX32}}":   func() string { return randHex(32) },
		"{{B64_24}}":  func() string { return randB64(24) + "9a" },
		"{{B64_40}}":  func() string { return randB64(40) + "7Q" },
		"{{GITHUB}}":  func() string { return "ghp_" + randAlnum(36) },
		"{{SLACK}}":   func() string { return randAlnum(10) + "-" + randAlnum(24) },
		"{{ALNUM24}}": func() string { return randAlnum(24) },
		"{{ALNUM36}}": func() string { return randAlnum(36) },
		"{{PEMBODY}}": func() string { return strings.TrimSuffix(pem.String(), "\n") },
		"{{META}}":    func() string { return "caf\x83\xa3" },
	}
	var values [][]byte
	ents, err := os.ReadDir("testdata/scan")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("testdata/scan", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for {
			i := bytes.Index(b, []byte("{{"))
			if i < 0 {
				break
			}
			j := bytes.Index(b[i:], []byte("}}"))
			gen := holes[string(b[i:i+j+2])]
			if gen == nil {
				t.Fatalf("%s: unknown hole %s", e.Name(), b[i:i+j+2])
			}
			v := gen()
			for strings.HasPrefix(string(b[i:]), "{{") && !strings.Contains("{{META}}{{PEMBODY}}", string(b[i:i+j+2])) && Weakness([]byte(v)) != "" {
				v = gen() // a random value can start like a placeholder ("abc…")
			}
			values = append(values, []byte(v))
			b = append(b[:i:i], append([]byte(v), b[i+j+2:]...)...)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return values
}

type want struct {
	file string
	line int
	kind string
	name string
}

func TestScanFixtures(t *testing.T) {
	dir := t.TempDir()
	values := fixtures(t, dir)
	// Things that must be skipped: a binary file with a token in it, a
	// directory named .git or node_modules, a symlink, the vault dir.
	bin := append([]byte("\x00ELF"), []byte("API_TOKEN="+randB64(30)+"\n")...)
	os.WriteFile(filepath.Join(dir, "tool.bin"), bin, 0o600)
	for _, d := range []string{".git", "node_modules", "vault"} {
		os.MkdirAll(filepath.Join(dir, d), 0o700)
		os.WriteFile(filepath.Join(dir, d, "x.env"), []byte("API_TOKEN="+randB64(30)+"\n"), 0o600)
	}
	os.Symlink(filepath.Join(dir, "deploy.sh"), filepath.Join(dir, "link.sh"))
	big := bytes.Repeat([]byte("API_TOKEN="+randB64(30)+"\n"), 1000)

	os.WriteFile(filepath.Join(dir, "big.txt"), big, 0o600)
	res, err := ScanPaths([]string{dir}, WalkOptions{SkipDirs: []string{filepath.Join(dir, "vault")}, MaxSize: int64(len(big) - 1)})
	if err != nil {
		t.Fatal(err)
	}
	// History formats go through ScanHistory.
	for _, h := range []HistoryFile{{filepath.Join(dir, "zsh_history"), HistoryZsh}, {filepath.Join(dir, "fish_history"), HistoryFish}} {
		data, err := os.ReadFile(h.Path)
		if err != nil {
			t.Fatal(err)
		}
		var kept []Finding
		for _, f := range res.Findings {
			if f.Path != h.Path {
				kept = append(kept, f)
			}
		}
		res.Findings = append(kept, ScanHistory(h, data)...)
	}
	wants := []want{
		{"app.env", 3, KindAssignment, "API_KEY"},
		{"app.env", 6, "openai", "OPENAI_API_KEY"},
		{"app.py", 2, KindAssignment, "API_SECRET"},
		{"app.py", 3, KindAssignment, "api_secret"},
		{"app.py", 7, KindAssignment, "client_secret"},
		{"bash_history", 3, "github", "GITHUB_TOKEN"},
		{"client.js", 1, KindAssignment, "apiToken"},
		{"client.js", 4, KindAssignment, "sessionSecret"},
		{"config.yaml", 3, KindAssignment, "auth_token"},
		{"config.yaml", 6, "slack", "slack"},
		{"deploy.sh", 3, KindAssignment, "Authorization"},
		{"deploy.sh", 4, KindAssignment, "api-token"},
		{"fish_history", 1, "npm", "token"},
		{"id_rsa.txt", 2, KindPrivateKey, ""},
		{"settings.json", 3, KindAssignment, "clientSecret"},
		{"settings.json", 5, "github", "github"},
		{"settings.toml", 2, KindAssignment, "token"},
		{"settings.toml", 3, KindAssignment, "api_key"},
		{"zsh_history", 2, KindAssignment, "AWS_SECRET_ACCESS_KEY"},
		{"zsh_history", 3, "stripe", "STRIPE_KEY"},
	}
	var got []want
	for _, f := range res.Findings {
		got = append(got, want{filepath.Base(f.Path), f.Line, f.Kind, f.Name})
	}
	sort.Slice(got, func(i, j int) bool {
		if got[i].file != got[j].file {
			return got[i].file < got[j].file
		}
		return got[i].line < got[j].line
	})
	if fmt.Sprint(got) != fmt.Sprint(wants) {
		t.Errorf("findings:\n got %v\nwant %v", got, wants)
	}
	skipped := map[string]string{}
	for _, s := range res.Skipped {
		skipped[filepath.Base(s.Path)] = s.Reason
	}
	if skipped["tool.bin"] != "binary" || !strings.Contains(skipped["big.txt"], "larger") || skipped["link.sh"] == "" {
		t.Errorf("skipped = %v", skipped)
	}

	// The value of every finding is in the file at its span, and is
	// one of the generated values (or the PEM block holding one).
	for _, f := range res.Findings {
		data, _ := os.ReadFile(f.Path)
		if !f.Matches(data) {
			t.Errorf("%s: value not at its span", f)
		}
		if s, _ := f.Span(); f.Column < 1 || !bytes.HasPrefix(data[s-f.Column+1:], nil) {
			t.Errorf("%s: bad column %d", f, f.Column)
		}
		ok := false
		for _, v := range values {
			if bytes.Contains(f.Value(), v) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s: the value found is none of the generated ones", f)
		}
	}
	// The zsh line with a metafied byte before the value: column counts
	// raw bytes, the value is found intact.
	for _, f := range res.Findings {
		if f.Kind == "stripe" {
			line := bytes.Split(mustRead(t, f.Path), []byte("\n"))[f.Line-1]
			if c := bytes.Index(line, []byte("sk_live_")) + 1; c != f.Column {
				t.Errorf("zsh stripe column %d, want %d", f.Column, c)
			}
		}
	}

	// No value, nor an 8-byte piece of one, in any output form.
	for _, f := range res.Findings {
		j, _ := json.Marshal(f)
		outs := []string{f.String(), fmt.Sprintf("%v %+v %#v %s %x %q", f, f, f, f, f, f), string(j)}
		for _, o := range outs {
			for i := 0; i+8 <= len(f.Value()); i += 4 {
				if strings.Contains(o, string(f.Value()[i:i+8])) {
					t.Fatalf("%s: output shows part of the value", f.String())
				}
			}
		}
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestScanLineFalsePositives(t *testing.T) {
	for _, l := range []string{
		`API_KEY=${API_KEY}`,
		`API_KEY=$API_KEY`,
		`export TOKEN="$(cat ~/.token)"`,
		`API_KEY=your-api-key-here`,
		`PASSWORD=changeme`,
		`password: <password>`,
		`API_URL=https://api.example.com/v1/aZ3kP9qW2xL7`,
		`KEY_FILE=/etc/ssl/private/aZ3kP9qW2xL7.pem`,
		`"message_key": "errors.validation.required"`,
		`PWD=/home/user/aZ3kP9qW2xL7/project`,
		`secret: '{{ .Values.secret }}'`,
		`token = "[envseal:GITHUB_TOKEN]"`,
		`aws_access_key_id = AKIAIOSFODNN7EXAMPLE`,
		`TOKEN=sk-xxxxxxxxxxxxxxxxxxxxxxxx`,
		`xghp_` + strings.Repeat("a1B2", 9),
		`"author": "Jane Q. Doe 2024"`,
	} {
		if ms := ScanLine([]byte(l)); len(ms) != 0 {
			t.Errorf("ScanLine(%q) = %+v, want nothing", l, ms)
		}
	}
}

func TestScanLineShapes(t *testing.T) {
	v := randB64(32) + "Z9"
	for _, c := range []struct{ line, kind, name string }{
		{"API_TOKEN=" + v, KindAssignment, "API_TOKEN"},
		{"export DB_PASSWORD='" + v + "'", KindAssignment, "DB_PASSWORD"},
		{"  client_secret: " + v, KindAssignment, "client_secret"},
		{`{"apiKey":"` + v + `"}`, KindAssignment, "apiKey"},
		{"deploy --auth-token=" + v + " --prod", KindAssignment, "auth-token"},
		{"curl -H 'X-Api-Key: " + v + "' https://x", KindAssignment, "X-Api-Key"},
		{"cd x && SECRET=" + v + " ./run", KindAssignment, "SECRET"},
		{"see glpat-" + randAlnum(20) + " for access", "gitlab", ""},
	} {
		ms := ScanLine([]byte(c.line))
		if len(ms) != 1 || ms[0].Kind != c.kind || ms[0].Name != c.name {
			t.Errorf("case %s/%s: got %d matches %+v", c.kind, c.name, len(ms), ms)
			continue
		}
		if got := c.line[ms[0].Start:ms[0].End]; c.kind == KindAssignment && got != v {
			t.Errorf("case %s: span covers %d bytes, not the value", c.name, len(got))
		}
	}
}

func TestHistoryFiles(t *testing.T) {
	env := map[string]string{"HISTFILE": "/h/custom_zsh_hist", "XDG_DATA_HOME": "/data"}
	got := HistoryFiles("/home/u", func(k string) string { return env[k] })
	want := []HistoryFile{{"/h/custom_zsh_hist", HistoryZsh}, {"/home/u/.bash_history", HistoryBash},
		{"/home/u/.zsh_history", HistoryZsh}, {"/data/fish/fish_history", HistoryFish}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("HistoryFiles = %v, want %v", got, want)
	}
}

func FuzzScanLine(f *testing.F) {
	f.Add([]byte("API_KEY=" + "aZ3kP9qW2xL7mN5bV8cX"))                    // assignment
	f.Add([]byte(`curl -H "Authorization: Bearer aZ3kP9qW2xL7mN5bV8cX"`)) // header
	f.Add([]byte(`{"token": "aZ3kP9qW2xL7mN5bV8cX", "k": "\"`))           // JSON, unterminated
	f.Add([]byte("ghp_" + strings.Repeat("a1B2", 9)))                     // provider token
	f.Add([]byte(": 1700000000:0;export X_TOKEN=\x83\xa3zz"))             // zsh, metafied
	f.Add([]byte("'\"`"))                                                 // quotes only
	f.Fuzz(func(t *testing.T, line []byte) {
		ms := ScanLine(line)
		last := 0
		for _, m := range ms {
			if m.Start < last || m.End <= m.Start || m.End > len(line) {
				t.Fatalf("bad span [%d,%d) after %d in a %d-byte line", m.Start, m.End, last, len(line))
			}
			if m.Kind == "" {
				t.Fatalf("empty kind")
			}
			last = m.End
		}
		// Same result for the line inside a text, and no panic in the
		// history transforms.
		fs := ScanText("f", line)
		_ = scanLines(HistoryFile{Path: "z", Format: HistoryZsh}, line, unmetafy)
		_ = scanLines(HistoryFile{Path: "f", Format: HistoryFish}, line, fishCommand)
		if bytes.IndexByte(line, '\n') < 0 && bytes.IndexByte(line, '\r') < 0 && !pemBeginRE.Match(line) && len(fs) != len(ms) {
			t.Fatalf("ScanText found %d, ScanLine %d", len(fs), len(ms))
		}
	})
}

// Passwords in URLs (database URLs, git remotes with a token) are found
// whatever their entropy; placeholders and variable references are not.
func TestScanLineURLPasswords(t *testing.T) {
	cases := []struct {
		line, kind, name string
		found            bool
	}{
		{`DATABASE_URL="postgres://app:Zq8xW2pL0vN4tR6yKd3@db:5432/x"`, KindURLPassword, "DATABASE_URL", true},
		{`REDIS=redis://:hunter2@cache:6379`, KindURLPassword, "REDIS", true},
		{`git clone https://oauth2:s3cr3t-t0k@git.example.com/x.git`, KindURLPassword, "", true},
		{`URL=https://user:${PASS}@host/`, "", "", false},
		{`URL=https://user:$PASS@host/`, "", "", false},
		{`URL=mysql://root:password@localhost/db`, "", "", false},
		{`URL=https://user:<password>@host/`, "", "", false},
		{`see https://example.com/a:b@c`, "", "", false},
	}
	for _, c := range cases {
		ms := ScanLine([]byte(c.line))
		var got *Match
		for i := range ms {
			if ms[i].Kind == KindURLPassword {
				got = &ms[i]
			}
		}
		if (got != nil) != c.found {
			t.Errorf("line %q: url password found = %v, want %v (matches %v)", c.name, got != nil, c.found, len(ms))
			continue
		}
		if got != nil && got.Name != c.name {
			t.Errorf("url password named %q, want %q", got.Name, c.name)
		}
	}
}

// Assignments in code and config: spaces around the operator, quotes,
// declarations; and the lines that look alike but assign no secret.
func TestScanLineCode(t *testing.T) {
	v := "Xk29fjQ0pLm3ZzR8wT5uQ7"
	for _, tc := range []struct {
		line, name string // name "" = no finding
	}{
		{`NAME_TOKEN = "` + v + `"`, "NAME_TOKEN"},
		{`api_secret = '` + v + `'`, "api_secret"},
		{`const apiToken = "` + v + `";`, "apiToken"},
		{`  private static final String API_KEY = "` + v + `";`, "API_KEY"},
		{`	token := "` + v + `"`, "token"},
		{`$password = '` + v + `';`, "password"},
		{`opts = {'client_secret': '` + v + `'}`, "client_secret"},
		{`secret = ` + v, "secret"},
		{`set -gx GITHUB_TOKEN ` + v, "GITHUB_TOKEN"},
		{`setenv API_KEY "` + v + `"`, "API_KEY"},
		{`set -x EDITOR vim`, ""},
		// Code that looks alike, seen in the Go module cache: expressions,
		// identifiers, words, and names where "key" qualifies another word.
		{`	hashedSecret = hashedSecret[n:]`, ""},
		{`		key = jwt.UnsafeAllowNoneSignatureType`, ""},
		{`	flagKey     = flag.String("key", "", "path to key file")`, ""},
		{`	EKEYREVOKED     = syscall.Errno(0x80)`, ""},
		{`	MetaKeyClientInfo = "io.modelcontextprotocol/clientInfo"`, ""},
		{`	KeyExchangeECDHP256 = "ecdh-sha2-nistp256"`, ""},
		{`		key = "friendlyName"`, ""},
		{`		token:     extractorTestTokenA,`, ""},
		{`if token == "` + v + `" {`, ""},
		{`if (password === "` + v + `") {`, ""},
		{`ok = secret != "` + v + `"`, ""},
		{`const apiUrl = "https://example.com/` + v + `";`, ""},
		{`const apiToken = process.env.API_TOKEN;`, ""},
		{`api_key = "your-api-key-here"`, ""},
		{`token = "changeme"`, ""},
		{`password = "correct horse battery staple"`, ""},
		{`const color = "` + v + `";`, ""},
	} {
		ms := ScanLine([]byte(tc.line))
		got := ""
		if len(ms) > 0 {
			got = ms[0].Name
			if s := tc.line[ms[0].Start:ms[0].End]; s != v {
				t.Errorf("%q: span is not the value", tc.name)
			}
		}
		if got != tc.name || len(ms) > 1 {
			t.Errorf("ScanLine(line for %q): %d findings, first named %q", tc.name, len(ms), got)
		}
	}
}
