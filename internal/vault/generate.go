package vault

import "crypto/rand"

// GeneratedLen is how long a generated value is unless asked otherwise:
// 32 characters of 6 bits, 192 bits.
const GeneratedLen = 32

// The lengths `envseal store --generate=LEN` accepts: 16 characters are
// 96 bits.
const (
	MinGeneratedLen = 16
	MaxGeneratedLen = 4096
)

// urlSafe is the alphabet of generated values: RFC 4648 §5 base64url,
// safe in URLs, headers and shell words without quoting.
const urlSafe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// Generate returns a new value of n characters drawn uniformly from
// urlSafe (64 symbols, so masking 6 random bits has no modulo bias).
func Generate(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = urlSafe[b[i]&63]
	}
	return b
}
