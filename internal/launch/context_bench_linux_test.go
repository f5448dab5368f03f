package launch

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/envseal/envseal/internal/exeseal"
)

// BenchmarkContext measures what a warm re-run of a rule pays to learn and
// check its closure (and, cold, what its first run pays): discovery plus reading and hashing every file, for a
// python script with 200 modules beside it (each ~2 KiB) against the same
// kind of run with no closure (`sh -c`). Written to docs/BENCHMARKS.md.
func BenchmarkContext(b *testing.B) {
	for _, bc := range []struct {
		n    int
		cold bool
	}{{0, false}, {200, false}, {200, true}} {
		n := bc.n
		b.Run(fmt.Sprintf("files=%d/cold=%v", n, bc.cold), func(b *testing.B) {
			dir := b.TempDir()
			body := make([]byte, 2048)
			for i := range body {
				body[i] = 'a' + byte(i%26)
			}
			for i := 0; i < n; i++ {
				os.WriteFile(filepath.Join(dir, fmt.Sprintf("mod%03d.py", i)), body, 0o644)
			}
			argv := []string{"sh", "-c", "true"}
			if n > 0 {
				os.WriteFile(filepath.Join(dir, "deploy.py"), []byte("import mod000\n"), 0o644)
				argv = []string{"python3", "deploy.py"}
			}
			path, err := resolve(argv[0], dir, "/usr/bin:/bin")
			if err != nil {
				b.Fatal(err)
			}
			pin, err := exeseal.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			defer pin.Close()
			c := New(Config{HumanEnv: []string{"HOME=" + dir, "PATH=/usr/bin:/bin"}})
			req := &Request{Argv: argv, Cwd: dir}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if bc.cold { // the first run of a rule: nothing read before
					pinCache.mu.Lock()
					pinCache.m, pinCache.bytes = map[string]cachedFile{}, 0
					pinCache.mu.Unlock()
				}
				rc, err := c.newContext(req)
				if err != nil {
					b.Fatal(err)
				}
				if err := rc.discover(req, pin, ""); err != nil {
					b.Fatal(err)
				}
				if n > 0 && len(rc.files) < n {
					b.Fatalf("closure has %d files, want at least %d", len(rc.files), n)
				}
			}
		})
	}
}
