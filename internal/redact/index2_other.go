//go:build !amd64

package redact

// index2 is bytes.Index for a two-byte needle (see index2Words).
func index2(b []byte, c0, c1 byte) int { return index2Words(b, c0, c1) }
