//go:build !linux || !(amd64 || arm64)

package sandbox

import (
	"fmt"
	"os"
	"os/exec"
)

const unsupportedReason = "sandbox tiers other than standard are not supported on this OS"

// Check reports that only the standard tier runs here. It never lets a
// stronger tier run as a weaker one.
func Check(tier Tier) error {
	switch tier {
	case Standard:
		return nil
	case Hardened, Lockdown:
		return &UnsupportedError{Tier: tier, Reason: unsupportedReason}
	}
	return tier.unknown()
}

// Supported runs Check for every tier.
func Supported() map[Tier]error {
	out := map[Tier]error{}
	for _, t := range Tiers() {
		out[t] = Check(t)
	}
	return out
}

// LandlockABI is 0: there is no Landlock here.
func LandlockABI() int { return 0 }

// Handle follows one wrapped command through its start.
type Handle struct{}

// Wrap leaves cmd unchanged for the standard tier and refuses every other.
func Wrap(cmd *exec.Cmd, self string, o Options) (*Handle, error) {
	if err := Check(o.Tier); err != nil {
		return nil, err
	}
	return &Handle{}, nil
}

// AfterStart has nothing to wait for.
func (h *Handle) AfterStart() error { return nil }

// holderChannel: no jail, so no pin holder.
func (h *Handle) holderChannel() (*os.File, error) { return nil, ErrUnsupported }

// openGate: no jail helper waits.
func (h *Handle) openGate(func()) {}

// Close has nothing to release.
func (h *Handle) Close() error { return nil }

// HelperMain refuses: there is no helper stage on this OS.
func HelperMain(args []string) int {
	os.Stderr.WriteString(helperPrefix + unsupportedReason + "\n")
	return HelperExitCode
}

// Ended has no helper report here: cmd.Wait's status counts.
func (h *Handle) Ended() (code int, ok bool) { return 0, false }

// Covered is false here: no run has a mount namespace.
func Covered(o Options, path string) bool { return false }

// Leftover is unknown here.
func (h *Handle) Leftover() int { return -1 }

// Tripped is nil: nothing is pinned on this OS.
func (h *Handle) Tripped() error { return nil }

// Warm is a pre-started helper stage; there is none on this OS.
type Warm struct{}

// ErrWarmUnusable is matched by every Warm.Start error.
var ErrWarmUnusable = fmt.Errorf("warm sandbox helper unusable")

// StartWarm refuses: there is no helper stage on this OS.
func StartWarm(self, arg0 string, o Options, start func(*exec.Cmd) error) (*Warm, error) {
	return nil, &UnsupportedError{Tier: o.Tier, Reason: unsupportedReason}
}

// Start refuses; start the command cold.
func (w *Warm) Start(cmd *exec.Cmd) error { return ErrWarmUnusable }

// Close does nothing.
func (w *Warm) Close() error { return nil }
