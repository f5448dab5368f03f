package redact

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:noescape
func index2SSE(p *byte, n int, x0, x1, x2 uint64) int

//go:noescape
func index2AVX2(p *byte, n int, x0, x1, x2 uint64) int

// useAVX2 picks index2AVX2 over index2SSE (a variable so that TestIndex2
// checks both).
var useAVX2 = cpu.X86.HasAVX2

// index2 is bytes.Index for a two-byte needle, sixteen positions at a
// time (thirty-two with AVX2). The dump gate "\n0" starts with a byte
// every line of output has, which makes bytes.Index call IndexByte once a
// line; the eight-at-a-time SWAR loop (index2Words, other architectures)
// runs at about 5 GB/s here, SSE2 at 17 GB/s on a cached MiB, AVX2 at
// about twice that. The search runs over every byte of output (the dump
// and soft-break stages' gates), so its speed counts.
func index2(b []byte, c0, c1 byte) int { return index2Or(b, c0, c1, c1) }

// index2Or is index2 for c0 followed by c1 or c2.
func index2Or(b []byte, c0, c1, c2 byte) int {
	i := 0
	if len(b) >= 17 {
		var r int
		if useAVX2 && len(b) >= 33 {
			r = index2AVX2(unsafe.SliceData(b), len(b), ones*uint64(c0), ones*uint64(c1), ones*uint64(c2))
		} else {
			r = index2SSE(unsafe.SliceData(b), len(b), ones*uint64(c0), ones*uint64(c1), ones*uint64(c2))
		}
		if r >= 0 {
			return r
		}
		i = ^r
	}
	for ; i+1 < len(b); i++ {
		if b[i] == c0 && (b[i+1] == c1 || b[i+1] == c2) {
			return i
		}
	}
	return -1
}
