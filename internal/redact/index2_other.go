//go:build !amd64

package redact

// index2 is bytes.Index for a two-byte needle (see index2Words).
func index2(b []byte, c0, c1 byte) int { return index2Words(b, c0, c1) }

// index2Or is index2 for c0 followed by c1 or c2.
func index2Or(b []byte, c0, c1, c2 byte) int {
	i, j := index2Words(b, c0, c1), index2Words(b, c0, c2)
	if i < 0 || j >= 0 && j < i {
		return j
	}
	return i
}
