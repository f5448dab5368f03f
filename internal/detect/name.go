package detect

import (
	"strconv"
	"strings"
)

// SuggestName turns a finding into a secret name (for `envseal scan
// --import` and the shell hook's advice): its variable when it
// has one, else kind-line; with prefix.
func SuggestName(f *Finding, prefix string) string {
	base := f.Name
	if base == "" {
		base = f.Kind + "-" + strconv.Itoa(f.Line)
	}
	var b strings.Builder
	for _, c := range []byte(base) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b.WriteByte(c)
		}
	}
	name := prefix + b.String()
	if len(name) > 120 {
		name = name[:120]
	}
	return name
}
