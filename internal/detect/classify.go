package detect

import (
	"bytes"
	"strings"
)

// Why a dotenv variable was classified as it was: shown to the human in
// `envseal import`'s table, so they are short and never include the value.
const (
	WhyProvider   = "token shape" // followed by the provider's description
	WhyPEM        = "PEM key block"
	WhyURLPass    = "password in a URL"
	WhyName       = "secret-looking name"
	WhyEntropy    = "high-entropy value"
	WhyEmpty      = "empty value"
	WhyConfig     = "looks like plain config"
	WhyConfigName = "config-looking name" // *_URL, *_PORT, *_ID…
)

// Classify says whether the dotenv variable name=value looks like a secret
// and why. It exists so that `envseal import` moves API_KEY and DB_URL
// with a password, and leaves NODE_ENV, PORT and APP_NAME in .env: a
// plain config value moved to the vault gets scrubbed from every output
// ("listening in [envseal:NODE_ENV] mode").
//
// In order: a known token shape, a PEM block or a password in a URL is a
// secret whatever the name; then a secret-looking name (SecretName) is a
// secret whatever the value (a weak password is still a password: import
// marks it weak); then a config-looking name (API_URL, DB_PORT, CLIENT_ID)
// is config; last, a value that would pass scan's entropy bar is a
// secret. Everything else is config.
func Classify(name string, value []byte) (secret bool, why string) {
	v := bytes.TrimSpace(value)
	if len(v) == 0 {
		return false, WhyEmpty
	}
	if p := Provider(v); p != "" && p != KindPrivateKey {
		return true, WhyProvider + " (" + ProviderDescription(p) + ")"
	}
	if bytes.Contains(v, []byte("-----BEGIN ")) && bytes.Contains(v, []byte("-----END ")) {
		return true, WhyPEM
	}
	for _, m := range urlCredRE.FindAllSubmatchIndex(v, -1) {
		p := v[m[2]:m[3]]
		if !Placeholder(p) && p[0] != '$' && p[0] != '<' && !bytes.Contains(p, []byte("{{")) {
			return true, WhyURLPass
		}
	}
	if SecretName(name) {
		return true, WhyName
	}
	u := strings.ToUpper(name)
	if i := strings.LastIndexAny(u, "_.-"); i >= 0 {
		u = u[i+1:]
	}
	for _, s := range notSecretSuffixes {
		if u == s {
			return false, WhyConfigName
		}
	}
	if len(v) >= 16 && !bytes.Contains(v, []byte("://")) && plausibleValue(v) {
		return true, WhyEntropy
	}
	return false, WhyConfig
}
