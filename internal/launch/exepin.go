package launch

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/envseal/envseal/internal/exeseal"
	"github.com/envseal/envseal/internal/sandbox"
)

// imagePin serves the program's own image — the interpreter's, for a
// script — at its real path in a run that has a mount namespace anyway
// (contained, lockdown, or one with pinned files), and the helper execs
// that copy instead of the sealed memfd. /proc/self/exe, and so node's process.execPath, then
// names the real path: child_process.fork() and yarn 1's `node` wrapper
// start the same approved bytes again — as long as the path still names
// the served copy: the mount holds the file, not its name, and an agent
// outside the run that unlinks or renames over it (node in a directory
// the user can write) would have that fork run its own file. The
// sandbox's tripwire (internal/sandbox/tripwire_linux.go) kills the run
// at such a change; a fork within microseconds of the swap can still
// win that race. The copy is the sealed, hashed image, execute-only
// (mode 0111): the process stays non-dumpable exactly as one exec'd from
// the memfd (kernel facts 1 and 5).
//
// A run without a mount namespace (direct mode, standard or hardened
// tier, nothing pinned) keeps the memfd: a user namespace only for this
// would let every process running as the user ptrace the program (the
// direct-mode warning approve shows), and a hardened one would need what
// lockdown needs of the kernel — a worse trade than a wrong execPath;
// memfdNote says so on the screen.
//
// It adds the pin to r.pins; the returned function closes the image
// descriptor.
func (c *Checkpoint) imagePin(r *spawnRun) (func(), error) {
	if !c.hasMountNS(r.req, r.rc, r.pins) || c.imageCovered(r.req, r.rc, r.pin) {
		return func() {}, nil
	}
	f, err := r.sealed.OpenImage()
	if err != nil {
		return nil, err
	}
	path := imagePath(r.pin)
	// A closure entry for the same file (an interpreter under HOME) is
	// the same approved file: the image copy replaces it.
	r.pins = slices.DeleteFunc(r.pins, func(p sandbox.Pin) bool { return p.Path == path })
	r.pins = append(r.pins, sandbox.Pin{Path: path, Mode: 0o111, File: f, Exec: true})
	return func() { f.Close() }, nil
}

// hasMountNS is whether the run gets a mount namespace of its own
// without the image pin: lockdown (and so every contained run) or files
// to serve.
func (c *Checkpoint) hasMountNS(req *Request, rc *runContext, pins []sandbox.Pin) bool {
	o := c.sandboxOptions(req, rc, pins)
	return o.Tier == sandbox.Lockdown || len(o.Pins) > 0
}

// imageCovered is whether the image's path is one the run cannot see (a
// lockdown run's private /tmp, a hidden directory): it cannot be served
// there, and the run execs the memfd (memfdNote says so).
func (c *Checkpoint) imageCovered(req *Request, rc *runContext, pin *exeseal.Pinned) bool {
	return sandbox.Covered(c.sandboxOptions(req, rc, nil), imagePath(pin))
}

// imagePath is the path of the file exec'd: the program, or a script's
// interpreter.
func imagePath(pin *exeseal.Pinned) string {
	if pin.IsScript() {
		return pin.Interpreter.Path
	}
	return pin.Path
}

// selfExecRuntimes start their own binary again through /proc/self/exe
// (node: process.execPath, child_process.fork, yarn 1's wrapper).
var selfExecRuntimes = []string{"node", "nodejs", "bun", "deno"}

// memfdNote is the approval screen's note for a run that execs the sealed
// memfd (no mount namespace, see imagePin) of a runtime that starts
// itself again by its own path.
func (c *Checkpoint) memfdNote(req *Request, rc *runContext, pin *exeseal.Pinned) string {
	name, path := filepath.Base(imagePath(pin)), imagePath(pin)
	if !slices.Contains(selfExecRuntimes, name) {
		return ""
	}
	if c.hasMountNS(req, rc, nil) || rc.serves(pin) {
		if !c.imageCovered(req, rc, pin) {
			return ""
		}
		return fmt.Sprintf("%s runs from a sealed in-memory copy: %s lies under a directory this run cannot see (a private /tmp, a hidden directory), so it cannot be served at its path; its own path (process.execPath, /proc/self/exe) names the copy, and a program that starts it again (child_process.fork, yarn) fails — install it elsewhere, or give its directory with --rw", name, path)
	}
	return fmt.Sprintf("%s runs from a sealed in-memory copy (nothing is pinned, so the run has no mount namespace to serve it at %s): its own path (process.execPath, /proc/self/exe) names the copy, and a program that starts it again (child_process.fork, yarn) fails — --pin a file of the run to have it served at its real path", name, path)
}
