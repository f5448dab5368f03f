package detect

import (
	"bytes"
	"regexp"
)

// A providerRule recognises one kind of credential by its shape. The
// patterns are anchored: they describe the whole value, not a substring.
type providerRule struct {
	id   string // stable, lower-case: shown in `envseal list`, stored in metadata
	desc string
	re   *regexp.Regexp
}

// providers is ordered most specific first (sk-ant- before sk-).
var providers = []providerRule{
	{"anthropic", "Anthropic API key", regexp.MustCompile(`^sk-ant-[A-Za-z0-9_-]{20,}$`)},
	{"openai", "OpenAI API key", regexp.MustCompile(`^sk-(proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}$`)},
	{"github", "GitHub token", regexp.MustCompile(`^(gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})$`)},
	{"gitlab", "GitLab token", regexp.MustCompile(`^gl(pat|dt|rt|ptt|cbt|ft|imt|oas|soat)-[A-Za-z0-9_-]{20,}$`)},
	{"aws", "AWS access key id", regexp.MustCompile(`^(AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}$`)},
	{"slack", "Slack token", regexp.MustCompile(`^xox[abposr]-[A-Za-z0-9-]{10,}$`)},
	{"slack-webhook", "Slack webhook URL", regexp.MustCompile(`^https://hooks\.slack\.com/services/[A-Za-z0-9/_-]{20,}$`)},
	{"stripe", "Stripe key", regexp.MustCompile(`^(sk|rk|pk)_(live|test)_[A-Za-z0-9]{16,}$`)},
	{"google", "Google API key", regexp.MustCompile(`^AIza[A-Za-z0-9_-]{35}$`)},
	{"npm", "npm token", regexp.MustCompile(`^npm_[A-Za-z0-9]{36}$`)},
	{"pypi", "PyPI token", regexp.MustCompile(`^pypi-[A-Za-z0-9_-]{50,}$`)},
	{"huggingface", "Hugging Face token", regexp.MustCompile(`^hf_[A-Za-z0-9]{30,}$`)},
	{"sendgrid", "SendGrid key", regexp.MustCompile(`^SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}$`)},
	{"twilio", "Twilio key", regexp.MustCompile(`^SK[0-9a-f]{32}$`)},
	{"digitalocean", "DigitalOcean token", regexp.MustCompile(`^do[opr]_v1_[0-9a-f]{64}$`)},
	{"jwt", "JSON Web Token", regexp.MustCompile(`^eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}$`)},
	{"private-key", "PEM private key", regexp.MustCompile(`^-----BEGIN ([A-Z]+ )?PRIVATE KEY-----`)},
}

// Provider guesses which service issued value, from its shape: "" when it
// does not look like any known credential. The value is only matched, never
// kept.
func Provider(value []byte) string {
	v := bytes.TrimSpace(value)
	for _, r := range providers {
		if r.re.Match(v) {
			return r.id
		}
	}
	return ""
}

// ProviderDescription is a human name for a provider id ("" if unknown).
func ProviderDescription(id string) string {
	for _, r := range providers {
		if r.id == id {
			return r.desc
		}
	}
	return ""
}

// ValidProviderID reports whether s could be a provider id stored in
// metadata: 1–32 bytes of [a-z0-9-].
func ValidProviderID(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
