package sandbox

import (
	"errors"
	"fmt"
	"github.com/envseal/envseal/internal/sys"
	"os"
	"strings"
)

// Tier is a sandbox tier. Its value is the name written in policy rules,
// in the broker's messages and on the command line ("standard",
// "hardened", "lockdown"): the type changes no byte of any format.
type Tier string

// The tiers, weakest first.
const (
	Standard Tier = "standard"
	Hardened Tier = "hardened"
	Lockdown Tier = "lockdown"
)

// ErrUnknownTier is matched (errors.Is) by ParseTier's error for a name
// that is not a tier.
var ErrUnknownTier = errors.New("unknown sandbox tier")

// ParseTier returns the tier named s. The empty name is no tier: a caller
// with a default ("" means standard in a run request) applies it first.
func ParseTier(s string) (Tier, error) {
	t := Tier(s)
	if !t.Valid() {
		return "", t.unknown()
	}
	return t, nil
}

// Valid reports whether t is one of the three tiers.
func (t Tier) Valid() bool { return t.Rank() >= 0 }

// Rank orders tiers by strength (standard 0 < hardened 1 < lockdown 2), so
// a policy can refuse a run that asks for less than its rule says. It
// returns -1 for an unknown name.
func (t Tier) Rank() int {
	switch t {
	case Standard:
		return 0
	case Hardened:
		return 1
	case Lockdown:
		return 2
	}
	return -1
}

// unknown is the error for a name that is not a tier; it names the three.
func (t Tier) unknown() error {
	return fmt.Errorf("%w %q (want %s, %s or %s)", ErrUnknownTier, string(t), Standard, Hardened, Lockdown)
}

// HelperArg is the hidden subcommand that runs the helper stage:
// cmd/envseal dispatches `envseal __sandbox_helper ARGS…` to
// HelperMain(ARGS) before any other argument parsing.
const HelperArg = "__sandbox_helper"

// HelperExitCode is the helper's exit status when it refuses or fails
// before the target runs (env(1)'s "command could not be run").
const HelperExitCode = 127

// Tiers lists the tiers, weakest first.
func Tiers() []Tier { return []Tier{Standard, Hardened, Lockdown} }

// Options selects a tier and, for lockdown, what stays reachable.
// Pin is one file to serve: File is a read-only descriptor of the pinned
// bytes (a sealed memfd), Mode the permission bits the copy gets.
//
// Exec marks the program's own image (at most one pin, Mode
// execute-only, File read only at explicit offsets): the target is
// exec'd from the copy served at Path instead of the sealed memfd, so
// /proc/self/exe — node's process.execPath — names its real path, and
// the process stays non-dumpable (an execute-only file).
type Pin struct {
	Path string
	Mode uint32
	File *os.File
	Exec bool
}

type Options struct {
	Tier Tier

	// Network keeps the host network namespace (lockdown only). Without
	// it the child gets an empty network namespace with only loopback.
	Network bool

	// RW are extra directories that stay writable under lockdown
	// (absolute paths). Everything else outside the fresh /tmp, /var/tmp
	// and /dev/shm is read-only.
	RW []string

	// Cwd is the child's working directory; under lockdown it is re-bound
	// writable so a build can write its output. Empty means cmd.Dir, or
	// envseal's own working directory if that is empty too.
	Cwd string

	// Pins are files served, inside the run's own mount namespace, as a
	// read-only copy of the bytes that were hashed, mounted over their
	// real path (docs/ARCHITECTURE.md kernel fact 5): the program reads exactly what was
	// approved, at the path it expects, whatever the path holds outside.
	// Any tier: pins give a standard run a user and mount namespace too.
	Pins []Pin

	// NoTTY starts the run in a session of its own with no controlling
	// terminal, and (lockdown) a fresh /dev/pts: /dev/tty and the
	// launcher's terminal — the human's — are out of its reach.
	NoTTY bool

	// Hide are directories covered by an empty read-only tmpfs under
	// lockdown (the vault dir, the broker socket dir): the child cannot
	// read, list or write what is beneath them. Missing ones are skipped.
	Hide []string
}

// ErrUnsupported is matched (errors.Is) by every "this tier cannot run
// here" error. A requested tier that cannot run fails closed: callers
// must never fall back to a weaker tier on their own.
var ErrUnsupported = sys.Unsupported("sandbox tier not supported")

// ErrHelper is matched (errors.Is) by *HelperError: the helper stage
// refused or failed before the target was started.
var ErrHelper = errors.New("sandbox helper failed")

// UnsupportedError says why a tier cannot run and which setting to
// change. It matches ErrUnsupported.
type UnsupportedError struct {
	Tier   Tier
	Reason string // lower-case, what is missing
	Hint   string // what to change ("" if nothing can be changed)
}

func (e *UnsupportedError) Error() string {
	msg := fmt.Sprintf("sandbox tier %s: %s", e.Tier, e.Reason)
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

// Is makes errors.Is(err, ErrUnsupported) true.
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }

// HelperError carries the helper's one-line failure message (without the
// "envseal __sandbox_helper: " prefix). It matches ErrHelper.
type HelperError struct {
	Msg string
}

func (e *HelperError) Error() string { return "sandbox helper: " + e.Msg }

// Is makes errors.Is(err, ErrHelper) true.
func (e *HelperError) Is(target error) bool { return target == ErrHelper }

// ErrPinReplaced is matched (errors.Is) by *PinReplacedError.
var ErrPinReplaced = errors.New("pinned file replaced during the run")

// PinReplacedError: the pins' tripwire stopped the run — a pinned path
// (Path) was unlinked, renamed or replaced, or one of its directories
// renamed or removed, while the run was going, and every process of the
// run was SIGKILLed. Path is empty when the watch lost events (its queue
// overflowed), which stops the run the same way. It matches
// ErrPinReplaced.
type PinReplacedError struct {
	Path string
}

func (e *PinReplacedError) Error() string {
	if e.Path == "" {
		return "the watch on the pinned files lost events while the run was going (a pinned file may have been replaced); the run was stopped"
	}
	return "pinned file " + e.Path + " was replaced while the run was going; the run was stopped"
}

// Is makes errors.Is(err, ErrPinReplaced) true.
func (e *PinReplacedError) Is(target error) bool { return target == ErrPinReplaced }

// helperPrefix starts every line the helper writes on stderr.
const helperPrefix = "envseal " + HelperArg + ": "

// oneLine flattens a message so the helper's report is exactly one line
// (a path with a newline in it must not forge a second line).
func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", `\n`)
	return strings.ReplaceAll(s, "\r", `\r`)
}
