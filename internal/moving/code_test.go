package moving

import (
	"bytes"
	"errors"
	"testing"

	"github.com/envseal/envseal/internal/detect"
)

func TestLangOf(t *testing.T) {
	for _, tc := range []struct {
		path, data string
		want       fileLang
	}{
		{"deploy.sh", "", langShell},
		{"deploy", "#!/usr/bin/env bash\n", langShell},
		{"run", "#!/bin/sh -e\n", langShell},
		{"tool", "#!/usr/bin/env -S node --no-warnings\n", langJS},
		{"job", "#!/usr/bin/python3\n", langPython},
		{"app.ts", "", langJS},
		{"main.go", "", langCode},
		{"x.pl", "", langCode},
		{"script", "#!/usr/bin/perl\n", langCode},
		{"config.yaml", "a: b\n", langText},
		{".bash_history", "ls\n", langText},
	} {
		if got := langOf(tc.path, []byte(tc.data)); got != tc.want {
			t.Errorf("langOf(%s) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

func TestEnvVarFor(t *testing.T) {
	for in, want := range map[string]string{
		"apiToken": "API_TOKEN", "SLACK_TOKEN": "SLACK_TOKEN", "hist.auth-token": "HIST_AUTH_TOKEN",
		"API_TOKEN-2": "API_TOKEN_2", "github-12": "GITHUB_12", "1pass": "SECRET_1PASS",
	} {
		if got, err := envVarFor(in); got != want || err != nil {
			t.Errorf("envVarFor(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// rewriteOne finds the only secret in src (a file named path) and returns
// the file as scan --import would rewrite it, or the refusal.
func rewriteOne(t *testing.T, path, src string) (string, error) {
	t.Helper()
	fs := detect.ScanText(path, []byte(src))
	if len(fs) != 1 {
		t.Fatalf("%s: %d findings, want 1", path, len(fs))
	}
	data := []byte(src)
	r, err := referenceFor(langOf(path, data), path, data, &fs[0], "apiToken")
	if err != nil {
		return "", err
	}
	return string(data[:r.start]) + r.text + string(data[r.end:]), nil
}

func TestReferenceFor(t *testing.T) {
	const v = "Xk29fjQ0pLm3ZzR8wT5uQ7"
	for _, tc := range []struct{ path, src, want string }{
		{"a.sh", "TOKEN=" + v + "\n", `TOKEN="${TOKEN}"` + "\n"},
		{"a.sh", `echo "x TOKEN=` + v + `"` + "\n", `echo "x TOKEN=${TOKEN}"` + "\n"},
		{"a.sh", "echo 'it''s' \"ok\" && TOKEN='" + v + "'\n", "echo 'it''s' \"ok\" && TOKEN=\"${TOKEN}\"\n"},
		{"a.sh", "# TOKEN=" + v + "\n", "# TOKEN=[envseal:apiToken]\n"},
		{"a.js", "let apiToken = '" + v + "'\n", "let apiToken = process.env.API_TOKEN\n"},
		{"c.sh", "H='Authorization: Bearer " + v + "'\n", "H='Authorization: Bearer '\"${AUTHORIZATION}\"''\n"},
		{"b.sh", "deploy --auth-token " + v + "\n", "deploy --auth-token \"${AUTH_TOKEN}\"\n"},
		{"a.py", "token = \"" + v + "\"\n", "token = __import__(\"os\").environ[\"TOKEN\"]\n"},
		{"a.py", "import sys, os\ntoken = \"" + v + "\"\n", "import sys, os\ntoken = os.environ[\"TOKEN\"]\n"},
		{"notes.md", "token = " + v + "\n", "token = [envseal:apiToken]\n"},
	} {
		got, err := rewriteOne(t, tc.path, tc.src)
		if err != nil || got != tc.want {
			t.Errorf("%s: rewrite = %q, %v; want %q", tc.path, bytes.ReplaceAll([]byte(got), []byte(v), []byte("VALUE")), err, tc.want)
		}
	}
	for _, tc := range []struct{ path, src string }{
		{"a.go", "var apiToken = \"" + v + "\"\n"},
		{"a.py", "h = 'Authorization: Bearer " + v + "'\n"},
		{"a.rb", "token = '" + v + "'\n"},
		{"a.sh", "cat <<EOF\nTOKEN=" + v + "\nEOF\n"},
	} {
		_, err := rewriteOne(t, tc.path, tc.src)
		var ref *RefusedError
		if !errors.As(err, &ref) {
			t.Errorf("%s: rewrite not refused (err %v)", tc.path, err)
		}
	}
}
