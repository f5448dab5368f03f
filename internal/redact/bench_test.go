package redact

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"testing"
)

const benchSize = 64 << 20

// benchData is log-like ASCII (words, hex ids, numbers, key=value pairs),
// the kind of output `envseal run` mostly sees, containing no secret.
func benchData(size int) []byte {
	r := rand.New(rand.NewPCG(7, 7))
	words := []string{"INFO", "WARN", "request", "handled", "in", "ms", "user", "id=", "status=200",
		"GET", "/api/v1/items", "the", "build", "step", "finished", "cache", "hit", "deploy", "ok", "->"}
	const alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, 0, size+256)
	for len(b) < size {
		for range 4 + r.IntN(10) {
			switch r.IntN(5) {
			case 0:
				for range 8 + r.IntN(24) {
					b = append(b, alnum[r.IntN(16)])
				}
			case 1:
				b = fmt.Appendf(b, "%d", r.IntN(100000))
			default:
				b = append(b, words[r.IntN(len(words))]...)
			}
			b = append(b, ' ')
		}
		b = append(b, '\n')
	}
	return b[:size]
}

// benchSecrets returns n API-key-like values: 32 random alphanumerics.
func benchSecrets(n int) []Secret {
	r := rand.New(rand.NewPCG(uint64(n), 9))
	const alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	s := make([]Secret, n)
	for i := range s {
		v := make([]byte, 32)
		for j := range v {
			v[j] = alnum[r.IntN(len(alnum))]
		}
		s[i] = Secret{Name: fmt.Sprintf("KEY_%d", i), Value: v}
	}
	return s
}

// pipeCopy feeds data through an os.Pipe in 64 KiB writes from another
// goroutine and copies the read side into dst with 64 KiB reads: the shape
// of `cat BIG | cat`, and of envseal relaying a child's stdout.
func pipeCopy(b *testing.B, data []byte, dst io.Writer) {
	r, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		for i := 0; i < len(data); i += 64 << 10 {
			if _, err := w.Write(data[i:min(i+64<<10, len(data))]); err != nil {
				break
			}
		}
		w.Close()
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				b.Fatal(werr)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	r.Close()
}

// BenchmarkPlainCopy is the baseline for BenchmarkScrub: the same pipe and
// copy loop without scrubbing.
func BenchmarkPlainCopy(b *testing.B) {
	data := benchData(benchSize)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		pipeCopy(b, data, io.Discard)
	}
}

func BenchmarkScrub(b *testing.B) {
	data := benchData(benchSize)
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			m, err := NewMatcher(benchSecrets(n))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				w := m.NewWriter(io.Discard)
				pipeCopy(b, data, w)
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScrubMem is the scrubber alone, without the pipe: 64 KiB
// writes from memory.
func BenchmarkScrubMem(b *testing.B) {
	data := benchData(benchSize)
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			m, err := NewMatcher(benchSecrets(n))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				w := m.NewWriter(io.Discard)
				for i := 0; i < len(data); i += 64 << 10 {
					w.Write(data[i:min(i+64<<10, len(data))])
				}
				w.Close()
			}
		})
	}
}

func BenchmarkNewMatcher(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			s := benchSecrets(n)
			for b.Loop() {
				if _, err := NewMatcher(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScrubLeaky is output that leaks often: one occurrence of a
// secret, in some encoding, every 4 KiB.
func BenchmarkScrubLeaky(b *testing.B) {
	data := benchData(benchSize)
	secrets := benchSecrets(10)
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i+200 < len(data); i += 4 << 10 {
		encs := encodings(secrets[r.IntN(len(secrets))].Value)
		copy(data[i:], encs[r.IntN(len(encs))])
	}
	m, err := NewMatcher(secrets)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		w := m.NewWriter(io.Discard)
		for i := 0; i < len(data); i += 64 << 10 {
			w.Write(data[i:min(i+64<<10, len(data))])
		}
		w.Close()
	}
}

// BenchmarkScrubLarge is one large PEM-style secret (the piece stage)
// over the same output, at 64 KiB and at the store limit of 1 MiB;
// index-bytes is the matcher's table memory for it, shared by all of a
// run's streams (each stream's own buffers do not depend on the value).
func BenchmarkScrubLarge(b *testing.B) {
	data := benchData(benchSize)
	for _, size := range []int{64 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("value=%dKiB", size>>10), func(b *testing.B) {
			m, err := NewMatcher([]Secret{{Name: "KEY", Value: pemSecret(rand.New(rand.NewPCG(1, 2)), size)}})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				w := m.NewWriter(io.Discard)
				for i := 0; i < len(data); i += 64 << 10 {
					w.Write(data[i:min(i+64<<10, len(data))])
				}
				w.Close()
			}
			// After the loop: b.Loop's first call resets reported metrics.
			b.ReportMetric(float64(m.pieces.pieceBytes()), "index-bytes")
		})
	}
}
