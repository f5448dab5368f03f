package audit

import (
	"bufio"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/seal"
)

// benchRecords is the size of the log BenchmarkVerify1M checks (issue 5:
// a 1,000,000-record log in under 3 s on the CI machine).
const benchRecords = 1_000_000

var (
	benchOnce sync.Once
	benchFile string
	benchErr  error
)

// writeBenchLog writes a realistic log of n records (a run's six events,
// one in eight unkeyed) straight through encodeLine, which is what Append
// writes minus the locking and fsync.
func writeBenchLog(path string, n int, master seal.Key) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	sub := master.Subkey(seal.DomainAudit)
	mac := seal.NewMAC(sub)
	var prev [HashSize]byte
	t := time.Date(2026, 11, 27, 1, 2, 3, 0, time.UTC)
	events := []struct {
		name   string
		fields string
	}{
		{"approval_requested", `{"argv":["wrangler","deploy"],"binary":"/home/me/.npm/bin/wrangler","cwd":"/home/me/src/site","secrets":["cf-token"],"sha256":"615c46b39130a04a08da04163542ce7ce1164fa4b35408efb43aac0a8a9f7ae5"}`},
		{"approval_decided", `{"binary":"/home/me/.npm/bin/wrangler","channel":"tty","decision":"once"}`},
		{"run_started", `{"argv":["wrangler","deploy"],"binary":"/home/me/.npm/bin/wrangler","pid":48213}`},
		{"run_finished", `{"binary":"/home/me/.npm/bin/wrangler","duration_ms":5123,"exit":0,"leaks":{"cf-token":0}}`},
		{"secret_stored", `{"generation":3,"secret":"cf-token","source":"stdin"}`},
		{"policy_changed", `{"action":"add","binary":"/home/me/.npm/bin/wrangler","rule":"r-5f2c9a1b"}`},
		{"unlock_failed", `{"chain":["4242 /usr/bin/node (claude)"],"reason":"wrong passphrase"}`},
	}
	for i := range n {
		e := events[i%len(events)]
		if i == 0 {
			e.name, e.fields = "vault_init", `{"kdf":"argon2id t=3 m=65536 p=4"}`
		}
		m := mac
		if e.name == "unlock_failed" && i%8 == 6 {
			m = nil
		}
		line := encodeLine(uint64(i+1), t.Add(time.Duration(i)*time.Millisecond), e.name, []byte(e.fields), &prev, m)
		prev = sha256.Sum256(line)
		w.Write(line)
		w.WriteByte('\n')
	}
	return w.Flush()
}

// benchLog writes the 1,000,000-record log the benchmarks share, once per
// process, to benchFile.
func benchLog(b *testing.B) {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "envseal-audit-bench-")
		if err != nil {
			benchErr = err
			return
		}
		benchFile = filepath.Join(dir, LogFile)
		benchErr = writeBenchLog(benchFile, benchRecords, testKey(b))
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
}

// BenchmarkVerify1M verifies a 1,000,000-record log (MACs and chain) and,
// in the same run, times `sha256sum` of the same file, reporting both and
// their ratio. Run with:
//
//	go test -run '^$' -bench Verify1M -benchtime 5x ./internal/audit
func BenchmarkVerify1M(b *testing.B) {
	k := testKey(b)
	benchLog(b)
	fi, err := os.Stat(benchFile)
	if err != nil {
		b.Fatal(err)
	}
	sha256sum, shaErr := exec.LookPath("sha256sum")
	var verifyTime, shaTime time.Duration
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		f, err := os.Open(benchFile)
		if err != nil {
			b.Fatal(err)
		}
		s, err := Verify(f, k)
		f.Close()
		if err != nil || s.Records != benchRecords {
			b.Fatalf("verify: %v (%d records)", err, s.Records)
		}
		verifyTime += time.Since(t0)
		if shaErr == nil {
			b.StopTimer()
			t1 := time.Now()
			if out, err := exec.Command(sha256sum, benchFile).CombinedOutput(); err != nil {
				b.Fatalf("sha256sum: %v: %s", err, out)
			}
			shaTime += time.Since(t1)
			b.StartTimer()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(verifyTime.Milliseconds())/float64(b.N), "verify-ms/op")
	if shaErr == nil {
		b.ReportMetric(float64(shaTime.Milliseconds())/float64(b.N), "sha256sum-ms/op")
		b.ReportMetric(float64(verifyTime)/float64(shaTime), "x-sha256sum")
	}
	b.ReportMetric(float64(fi.Size())/float64(benchRecords), "bytes/record")
}

// BenchmarkLastUse1M: what `envseal list` pays to show last use with a
// 1,000,000-record log (it reads only the last LastUseScan bytes).
func BenchmarkLastUse1M(b *testing.B) {
	benchLog(b)
	l := New(filepath.Dir(benchFile))
	for b.Loop() {
		if _, _, err := l.LastUse([]string{"cf-token", "never-used"}); err != nil {
			b.Fatal(err)
		}
	}
}
