package approve

import (
	"io"
	"strings"
)

// Test-only options: they exist only in the test binary.

func withTTYPath(p string) Option { return func(c *config) { c.ttyPath = p } }

func withRand(r io.Reader) Option { return func(c *config) { c.rand = r } }

func withTrust(f func(string) (string, error)) Option { return func(c *config) { c.trust = f } }

func withDialogDirs(dirs ...string) Option { return func(c *config) { c.dialogDirs = dirs } }

func withTTYName(name string) Option {
	return func(c *config) { c.ttyName = func() string { return name } }
}

// trustAll stands in for the root-owned check, for fake programs in a
// temporary directory.
func trustAll(p string) (string, error) { return p, nil }

func testRequest() *Request {
	return &Request{
		Path: "/usr/bin/wrangler", SHA256: strings.Repeat("ab", 32),
		Argv: []string{"wrangler", "deploy"}, Cwd: "/home/u/proj",
		Secrets: []Secret{{Name: "cf-token", Env: "CLOUDFLARE_API_TOKEN"}},
		Sandbox: "hardened",
	}
}
