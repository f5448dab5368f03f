package totp

import (
	"os"
	"os/user"
	"strings"
)

// Account is USER@HOST, the label an authenticator app shows.
func Account() string {
	name := "user"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return name + "@" + host
}

// Grouped is the seed in base32, in groups of four for typing by hand.
func Grouped(seed []byte) string {
	s := EncodeSeed(seed)
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}
