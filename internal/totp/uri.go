package totp

import (
	"crypto/rand"
	"encoding/base32"
	"net/url"
	"strconv"
	"strings"
)

// NewSeed returns SeedSize random bytes from crypto/rand.
func NewSeed() []byte {
	b := make([]byte, SeedSize)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand.Read never fails on supported platforms (Go 1.24+).
		panic("totp: crypto/rand failed: " + err.Error())
	}
	return b
}

// b32 is RFC 4648 base32 without padding, as otpauth:// URIs carry it.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// EncodeSeed is the seed as an authenticator app takes it typed in: upper
// case base32, no padding.
func EncodeSeed(seed []byte) string { return b32.EncodeToString(seed) }

// DecodeSeed parses base32 (case, spaces and padding tolerated, the way
// humans copy it).
func DecodeSeed(s string) ([]byte, error) {
	s = strings.ToUpper(strings.NewReplacer(" ", "", "-", "", "=", "").Replace(s))
	return b32.DecodeString(s)
}

// URI is the otpauth:// key URI authenticator apps scan (the Key Uri
// Format of Google Authenticator): label "envseal:ACCOUNT", issuer envseal,
// SHA1, 6 digits, 30 s. It holds the seed: show it to the human on the
// terminal only, never log it.
func URI(account string, seed []byte) string {
	label := url.PathEscape("envseal:" + account)
	q := "secret=" + EncodeSeed(seed) +
		"&issuer=envseal&algorithm=SHA1&digits=" + strconv.Itoa(Digits) +
		"&period=" + strconv.Itoa(int(Period.Seconds()))
	return "otpauth://totp/" + label + "?" + q
}
