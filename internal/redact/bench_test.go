package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
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
			scrubLoop(b, m, data, 64<<10)
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
			scrubLoop(b, m, data, 64<<10)
			// After the loop: b.Loop's first call resets reported metrics.
			b.ReportMetric(float64(m.pieces.pieceBytes()), "index-bytes")
		})
	}
}

// formsData mirrors bench/scrub.sh: ten 64-character base64 secrets, a
// 64 KiB PEM-style key, and one MiB of log-like output holding each secret
// in eleven encodings (raw, base64 at 76 columns, base64url, hex at 60
// columns, HEX, `\/`-escaped JSON, `\u` everything, %XX every byte, C
// \xNN, quoted-printable, Authorization: Basic) and three fragments of the
// key, repeated to size.
func formsData(size int) (ten []Secret, key Secret, data []byte) {
	r := rand.New(rand.NewPCG(17, 17))
	rnd := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return b
	}
	wrap := func(s string, n int) string {
		var b strings.Builder
		for i := 0; i < len(s); i += n {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(s[i:min(i+n, len(s))])
		}
		return b.String()
	}
	every := func(v []byte, format string) string {
		var b strings.Builder
		for _, c := range v {
			fmt.Fprintf(&b, format, c)
		}
		return b.String()
	}
	var forms []string
	for i := range 10 {
		v := []byte(base64.StdEncoding.EncodeToString(rnd(48)))
		ten = append(ten, Secret{Name: fmt.Sprintf("S%d", i), Value: v})
		forms = append(forms,
			string(v),
			wrap(base64.StdEncoding.EncodeToString(v), 76),
			base64.RawURLEncoding.EncodeToString(v),
			wrap(hex.EncodeToString(v), 60),
			strings.ToUpper(hex.EncodeToString(v)),
			strings.ReplaceAll(string(v), "/", `\/`),
			every(v, `\u%04x`),
			every(v, "%%%02X"),
			every(v, `\x%02x`),
			string(v)+"=3D",
			"Authorization: Basic "+base64.StdEncoding.EncodeToString(append([]byte("deploy:"), v...)),
		)
	}
	keyText := pemSecret(r, 64<<10)
	key = Secret{Name: "KEY", Value: keyText}
	lines := strings.Split(string(keyText), "\n")
	forms = append(forms, lines[100], string(keyText[5000:5400]), base64.StdEncoding.EncodeToString(keyText[9000:9300]))
	words := []string{"INFO", "WARN", "request", "handled", "in", "ms", "user", "id=", "status=200", "GET", "/api/v1/items", "the", "build", "step", "ok"}
	var mib []byte
	fi := 0
	for len(mib) < 1<<20 {
		for k := range 4 + r.IntN(11) {
			if k > 0 {
				mib = append(mib, ' ')
			}
			if r.Float64() < 0.7 {
				mib = append(mib, words[r.IntN(len(words))]...)
			} else {
				mib = fmt.Appendf(mib, "%x", r.Uint64())
			}
		}
		mib = append(mib, '\n')
		if r.Float64() < 0.01 && fi < len(forms) {
			mib = append(append(append(mib, "leak: "...), forms[fi]...), '\n')
			fi++
		}
	}
	if fi != len(forms) {
		panic("formsData: the MiB is too small for every form")
	}
	mib = mib[:1<<20]
	data = bytes.Repeat(mib, (size+len(mib)-1)/len(mib))[:size]
	return ten, key, data
}

// BenchmarkScrubForms is bench/scrub.sh's end-to-end data in memory: the
// ten secrets, and the key, over output that leaks every form every MiB,
// in 1 MiB writes (the relay's buffer, see launch's pumpBufs).
func BenchmarkScrubForms(b *testing.B) {
	ten, key, data := formsData(benchSize)
	for _, c := range []struct {
		name    string
		secrets []Secret
	}{{"secrets=10", ten}, {"key=64KiB", []Secret{key}}} {
		b.Run(c.name, func(b *testing.B) {
			m, err := NewMatcher(c.secrets)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			scrubLoop(b, m, data, 1<<20)
		})
	}
}

// scrubLoop is the loop of the in-memory benchmarks: data through a
// fresh Writer of m in writes of size bytes, each op; it reports the CPU
// time an op took (reportCPU).
func scrubLoop(b *testing.B, m *Matcher, data []byte, size int) {
	b.Helper()
	cpu := cpuTime()
	for b.Loop() {
		w := m.NewWriter(io.Discard)
		for i := 0; i < len(data); i += size {
			w.Write(data[i:min(i+size, len(data))])
		}
		w.Close()
	}
	reportCPU(b, cpu)
}

// reportCPU reports the CPU time per op since start as cpu-ns/op: on a
// machine shared with other work it moves far less than the wall time
// ns/op does (a descheduled benchmark uses no CPU).
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
