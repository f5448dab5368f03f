package detect

import (
	"bytes"
)

// A providerRule recognises one kind of credential by its shape. The
// patterns are anchored: they describe the whole value, not a substring.
type providerRule struct {
	id   string // stable, lower-case: shown in `envseal list`, stored in metadata
	desc string
	re   *lazyRE
}

// providers is ordered most specific first (sk-ant- before sk-).
var providers = []providerRule{
	{"anthropic", "Anthropic API key", lazy(`^sk-ant-[A-Za-z0-9_-]{20,}$`)},
	{"openai", "OpenAI API key", lazy(`^sk-(proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}$`)},
	{"github", "GitHub token", lazy(`^(gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})$`)},
	{"gitlab", "GitLab token", lazy(`^gl(pat|dt|rt|ptt|cbt|ft|imt|oas|soat)-[A-Za-z0-9_-]{20,}$`)},
	{"aws", "AWS access key id", lazy(`^(AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}$`)},
	{"slack", "Slack token", lazy(`^xox[abposr]-[A-Za-z0-9-]{10,}$`)},
	{"slack-webhook", "Slack webhook URL", lazy(`^https://hooks\.slack\.com/services/[A-Za-z0-9/_-]{20,}$`)},
	{"stripe", "Stripe key", lazy(`^(sk|rk|pk)_(live|test)_[A-Za-z0-9]{16,}$`)},
	{"google", "Google API key", lazy(`^AIza[A-Za-z0-9_-]{35}$`)},
	{"npm", "npm token", lazy(`^npm_[A-Za-z0-9]{36}$`)},
	{"pypi", "PyPI token", lazy(`^pypi-[A-Za-z0-9_-]{50,}$`)},
	{"huggingface", "Hugging Face token", lazy(`^hf_[A-Za-z0-9]{30,}$`)},
	{"sendgrid", "SendGrid key", lazy(`^SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}$`)},
	{"twilio", "Twilio key", lazy(`^SK[0-9a-f]{32}$`)},
	{"digitalocean", "DigitalOcean token", lazy(`^do[opr]_v1_[0-9a-f]{64}$`)},
	{"jwt", "JSON Web Token", lazy(`^eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}$`)},
	{"private-key", "PEM private key", lazy(`^-----BEGIN ([A-Z]+ )?PRIVATE KEY-----`)},
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
