package redact

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// TestIndex2BothPaths runs TestIndex2's cases through index2SSE and,
// where the CPU has it, index2AVX2 (index2 takes one of them).
func TestIndex2BothPaths(t *testing.T) {
	defer func(v bool) { useAVX2 = v }(useAVX2)
	useAVX2 = false
	t.Run("sse2", testIndex2)
	if !cpu.X86.HasAVX2 {
		t.Skip("no AVX2 on this CPU: only the SSE2 path checked")
	}
	useAVX2 = true
	t.Run("avx2", testIndex2)
}
