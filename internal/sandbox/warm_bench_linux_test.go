//go:build linux && (amd64 || arm64)

package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkContainedTrue is the sandbox's share of a contained run of
// /bin/true (the broker's shape: lockdown layout, network kept, no
// terminal, a hidden dir): from the wrapped command to the target's exit
// status, with the helper started cold (clone, exec of this binary, Go
// start-up) or handed to a warm helper prepared beforehand (outside the
// timer, as the broker prepares it between runs). warm-report stops at
// the helper's report of the status (Handle.Ended), as a contained broker
// run does, and reaps the helper outside the timer. bare is /bin/true
// started directly, the baseline. The -pinned runs serve the image at its
// real path (the exec pin every contained run of envseal run has,
// exepin.go), watched by the pins' tripwire.
func BenchmarkContainedTrue(b *testing.B) {
	img := sealedImage(&testing.T{}, "/bin/true")
	dir, hidden := b.TempDir(), b.TempDir()
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devnull.Close()
	truePath, err := filepath.EvalSymlinks("/bin/true")
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, warm *Warm, report, pinned bool) {
		cmd := &exec.Cmd{Args: []string{"true"}, Dir: dir, Env: []string{"PATH=/usr/bin:/bin", "GORACE=" + os.Getenv("GORACE")}}
		if err := img.Prepare(cmd); err != nil {
			b.Fatal(err)
		}
		o := Options{Tier: Lockdown, Network: true, NoTTY: true, Hide: []string{hidden}}
		if pinned {
			f, err := img.OpenImage()
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			o.Pins = []Pin{{Path: truePath, Mode: 0o111, File: f, Exec: true}}
		}
		h, err := Wrap(cmd, self, o)
		if err != nil {
			b.Fatal(err)
		}
		cmd.Args[0] = os.Args[0]
		cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
		if warm != nil {
			err = warm.Start(cmd)
		} else {
			err = startNoNewPrivs(cmd)
		}
		if err != nil {
			h.Close()
			b.Fatal(err)
		}
		if err := h.AfterStart(); err != nil {
			b.Fatal(err)
		}
		if report {
			// The broker's path: the status from the helper's report,
			// the helper reaped after it (outside the timer).
			if code, ok := h.Ended(); !ok || code != 0 {
				b.Fatalf("report %d %v", code, ok)
			}
			b.StopTimer()
			cmd.Wait()
			b.StartTimer()
			return
		}
		if err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
		h.Leftover()
	}
	b.Run("bare", func(b *testing.B) {
		for b.Loop() {
			if err := exec.Command("/bin/true").Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			run(b, nil, false, false)
		}
	})
	for _, c := range []struct{ report, pinned bool }{{false, false}, {false, true}, {true, false}, {true, true}} {
		name := "warm"
		if c.report {
			name = "warm-report"
		}
		if c.pinned {
			name += "-pinned"
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				w, err := StartWarm(self, os.Args[0], Options{Tier: Lockdown, NoTTY: true}, startNoNewPrivs)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				run(b, w, c.report, c.pinned)
			}
		})
	}
}
